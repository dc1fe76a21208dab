"""Contracted providers beside in-house delivery of the same service: cost per outcome and
the share within the service standard, by hand; the page asks the policy, shows a chart
with its data table in English and French, and its queries do not grow with the data."""

from __future__ import annotations

import datetime
from decimal import Decimal as D

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from joinedup.federation.models import Service
from joinedup.funding import expenditures, indicators, providers
from joinedup.funding.models import Allocation, Indicator, Result
from joinedup.performance.models import MonthlyRollup

from .conftest import allocate, staff_client

MAY = datetime.date(2025, 5, 1)
SERVICE = "ca.parking-permit"


def _spend(allocation, amount, month=MAY, phase="executed"):
    expenditures.report_expenditure(
        allocation,
        period=month,
        category="staff",
        phase=phase,
        amount=amount,
        user_id=None,
        agency=allocation.recipient.key,
        reason="monthly",
    )


def _outcomes(world, owner, value):
    result, _made = Result.objects.get_or_create(
        key="people-in-work",
        defaults={"program": world.jobs, "level": Result.Level.IMMEDIATE, "names": {"en": "Work"}},
    )
    indicator = Indicator.objects.create(
        key=f"placements-{owner.key}",
        result=result,
        names={"en": "Placements"},
        unit=Indicator.Unit.COUNT,
        direction=Indicator.Direction.INCREASE,
        target_type=Indicator.TargetType.AT_LEAST,
        target_min=D("1"),
        frequency=Indicator.Frequency.ANNUAL,
        data_owner=owner,
        source=Indicator.Source.REPORTED,
        is_outcome_count=True,
    )
    indicators.report_value(
        indicator,
        period_start=datetime.date(2025, 4, 1),
        period_end=datetime.date(2026, 3, 31),
        value=value,
        user_id=None,
        agency=owner.key,
        reason="annual report",
    )


def _delivered(agency, completed, met, month=MAY, cost_cents=0):
    MonthlyRollup.objects.create(
        month=month,
        service_key=SERVICE,
        jurisdiction="CA-ON-TOR",
        agency=agency.key,
        channel="online",
        started=completed,
        completed=completed,
        with_standard=completed,
        met_standard=met,
        channel_cost=cost_cents,
    )


@pytest.fixture
def delivered(world):
    """Toronto delivers the service itself; Helping Hands delivers it under a contract.

    Toronto received 60.00 (a transfer), passed 40.00 on by transfer and 10.00 by contract
    to Helping Hands, and spent 10.00 itself: 4 outcomes, 2.50 each; 18 of 20 within the
    standard. Helping Hands spent 30.00 + 10.00 = 40.00 for 8 outcomes, 5.00 each; 6 of 10
    within the standard.
    """
    service = Service.objects.get(key=SERVICE)
    service.program = world.jobs
    service.save()
    contract = allocate(
        "tor-jobs-contract",
        world.toronto,
        world.hands,
        world.jobs,
        "10.00",
        source=world.provincial,
        instrument=Allocation.Instrument.CONTRACT,
    )
    _spend(world.provincial, "10.00")
    _spend(world.municipal, "30.00")
    _spend(contract, "10.00")
    _spend(contract, "99.00", phase="approved")  # a plan is not spending
    _outcomes(world, world.toronto, "4")
    _outcomes(world, world.hands, "8")
    _delivered(world.toronto, 20, 18, cost_cents=20_000)
    _delivered(world.hands, 10, 6, cost_cents=5_000)
    return service


def test_contracted_and_in_house_delivery_by_hand(world, delivered):
    comparison = providers.compare(delivered, 2025)
    by_key = {p.agency.key: p for p in comparison.providers}
    assert set(by_key) == {"toronto", "helping-hands"}
    hands, city = by_key["helping-hands"], by_key["toronto"]
    assert hands.kind == providers.CONTRACTED and city.kind == providers.IN_HOUSE
    assert hands.figures.spending == D("40.00") and hands.figures.outcomes == D("8")
    assert hands.figures.cost_per_outcome == D("5.00")
    assert hands.figures.within_standard == pytest.approx(0.6)
    assert hands.figures.spending_per_completion == D("4.00")
    assert hands.figures.cost_per_transaction == D("5.00")  # 50.00 CAD ÷ 10
    assert city.figures.cost_per_outcome == D("2.50")
    assert city.figures.within_standard == pytest.approx(0.9)
    assert city.figures.cost_per_transaction == D("10.00")  # 200.00 CAD ÷ 20
    assert comparison.both
    lines = providers.findings(comparison)
    assert lines[0] == (
        "An outcome cost 5.00 CAD from contracted providers and 2.50 CAD in house (2.00 times)."
    )
    assert lines[1] == (
        "60.0 % of contracted providers' completed transactions were within the service "
        "standard, against 90.0 % in house."
    )


def test_groups_divide_sums_not_average_providers(world, delivered):
    other = world.ontario  # a second in-house provider with many transactions
    _delivered(other, 80, 40)
    comparison = providers.compare(delivered, 2025)
    own = comparison.groups[providers.IN_HOUSE]
    # (18 + 40) ÷ (20 + 80) = 58 %, not the mean of 90 % and 50 %.
    assert own.within_standard == pytest.approx(0.58)
    assert own.spending == D("10.00") and own.outcomes == D("4")


def test_another_year_and_too_few_transactions(world, delivered):
    assert providers.compare(delivered, 2024).providers == [] or all(
        p.figures.spending == 0 for p in providers.compare(delivered, 2024).providers
    )
    MonthlyRollup.objects.filter(agency="helping-hands").update(
        completed=3, with_standard=3, met_standard=3
    )
    comparison = providers.compare(delivered, 2025)
    hands = next(p for p in comparison.providers if p.agency.key == "helping-hands")
    row = providers.row(comparison, "x", "y", hands.figures)
    assert row[5:] == ["—", "—", "—", "—"]  # fewer than PERFORMANCE_MIN_COUNT: not published
    assert "Too few transactions" in providers.findings(comparison)[1]


def test_one_way_only_is_said_so(world, delivered):
    Allocation.objects.filter(key="tor-jobs-contract").update(
        instrument=Allocation.Instrument.TRANSFER
    )
    comparison = providers.compare(delivered, 2025)
    assert not comparison.both
    assert "nothing to compare" in providers.findings(comparison)[0]


def test_unpublished_spending_is_for_analysts(world, delivered):
    Allocation.objects.filter(key="tor-jobs-contract").update(published=False)
    public = providers.compare(delivered, 2025)
    hands = next(p for p in public.providers if p.agency.key == "helping-hands")
    assert hands.kind == providers.IN_HOUSE and hands.figures.spending == D("30.00")
    other = providers.compare(delivered, 2025, analyst_of="esdc")  # not the funder
    hands = next(p for p in other.providers if p.agency.key == "helping-hands")
    assert hands.kind == providers.IN_HOUSE
    staff = providers.compare(delivered, 2025, analyst_of="toronto")
    hands = next(p for p in staff.providers if p.agency.key == "helping-hands")
    assert hands.kind == providers.CONTRACTED and hands.figures.spending == D("40.00")


def test_the_page_in_english_and_french_with_chart_and_table(world, delivered):
    client = Client()
    page = client.get(f"/en/funding/services/{SERVICE}/providers/?year=2025")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Contracted and in-house delivery" in text
    assert 'id="providers-data"' in text  # the chart's figure
    assert "Data of the chart" in text
    assert "All contracted providers" in text and "5.00 CAD" in text and "60.0 %" in text
    french = client.get(f"/fr/funding/services/{SERVICE}/providers/?year=2025")
    assert french.status_code == 200
    body = french.content.decode()
    assert "Prestation sous contrat et en régie" in body
    assert "5,00 CAD" in body
    # The program page links to it.
    program = client.get("/en/funding/programs/jobs/?year=2025").content.decode()
    assert f"/en/funding/services/{SERVICE}/providers/" in program


def test_bad_input_is_a_clear_4xx(world, delivered):
    client = Client()
    assert client.get("/en/funding/services/no.such-service/providers/").status_code == 404
    page = client.get(f"/en/funding/services/{SERVICE}/providers/?year=1999")
    assert page.status_code == 400
    assert "No allocation is recorded for that fiscal year." in page.content.decode()
    page = client.get(f"/en/funding/services/{SERVICE}/providers/?year=abc")
    assert page.status_code == 400


def test_analysts_see_unpublished_contracts_on_the_page(world, delivered):
    Allocation.objects.filter(key="tor-jobs-contract").update(published=False)
    anonymous = Client().get(f"/en/funding/services/{SERVICE}/providers/?year=2025")
    assert "All contracted providers" in anonymous.content.decode()
    assert "nothing to compare" in anonymous.content.decode()
    analyst, _user = staff_client(world.toronto, "analyst")
    page = analyst.get(f"/en/funding/services/{SERVICE}/providers/?year=2025")
    assert "An outcome cost 5.00 CAD" in page.content.decode()


def test_queries_do_not_grow_with_the_data(world, delivered):
    client = Client()
    url = f"/en/funding/services/{SERVICE}/providers/?year=2025"
    client.get(url)
    with CaptureQueriesContext(connection) as small:
        assert client.get(url).status_code == 200
    for month in range(6, 13):
        day = datetime.date(2025, month, 1)
        _spend(world.municipal, "0.50", month=day)
        _delivered(world.toronto, 5, 5, month=day)
        _delivered(world.hands, 5, 4, month=day)
        _delivered(world.ontario, 5, 4, month=day)
    with CaptureQueriesContext(connection) as large:
        assert client.get(url).status_code == 200
    assert len(large) == len(small)


def test_the_api_gives_the_same_comparison(world, delivered):
    client = Client()
    response = client.get(f"/api/v1/funding/services/{SERVICE}/providers?fiscal_year=2025")
    assert response.status_code == 200
    body = response.json()
    assert body["compared"] is True and body["currency"] == "CAD"
    assert body["fiscal_year_label"] == "2025–26"
    hands = next(p for p in body["providers"] if p["agency"] == "helping-hands")
    assert hands["delivery"] == "contracted"
    assert hands["cost_per_outcome"] == "5.00" and hands["within_standard"] == 0.6
    assert body["totals"]["in_house"]["cost_per_outcome"] == "2.50"
    missing = client.get("/api/v1/funding/services/no.such/providers?fiscal_year=2025")
    assert missing.status_code == 404 and "detail" in missing.json()
    bad = client.get(f"/api/v1/funding/services/{SERVICE}/providers?fiscal_year=soon")
    assert bad.status_code in (400, 422) and "detail" in bad.json()


@pytest.mark.parametrize("year", ["9223372036854775808", "99999", "0", "-5", "1899", "²"])
def test_a_year_without_calendar_dates_is_refused_not_a_500(world, delivered, year):
    response = Client().get(f"/api/v1/funding/services/{SERVICE}/providers?fiscal_year={year}")
    assert response.status_code == 422 and "detail" in response.json()
