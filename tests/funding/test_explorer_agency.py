"""The explorer by agency: the allocations an agency funds or receives, each transfer once,
with the spending reported against them — the page, the API and `explorer.totals` alike."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from joinedup import kept
from joinedup.funding import explorer
from joinedup.funding.expenditures import report_expenditure
from joinedup.funding.models import Allocation

from .conftest import allocate

pytestmark = pytest.mark.django_db


def _spend(allocation, phase, amount, ftes="0"):
    report_expenditure(
        allocation,
        period=datetime.date(2025, 5, 1),
        category="staff",
        phase=phase,
        amount=amount,
        ftes=ftes,
        user_id=None,
        agency=allocation.recipient.key,
        reason="test",
    )


@pytest.fixture
def spent(world):
    _spend(world.municipal, "executed", "12.50")
    _spend(world.housing_money, "executed", "7.25", ftes="1.5")
    _spend(world.provincial, "proposed", "20.00")
    return world


def test_an_agency_s_totals_count_the_money_passing_through_it_once(spent):
    ontario = explorer.totals(explorer.Selection(2025, agency=spent.ontario))
    # Ontario receives 100.00 (jobs) and 50.00 (housing) from ESDC and passes 60.00 of the
    # jobs money on to Toronto: 150.00 entered, 210.00 along the chain, three allocations.
    assert (ontario.allocated, ontario.gross, ontario.allocations) == (
        Decimal("150.00"),
        Decimal("210.00"),
        3,
    )
    assert ontario.executed == Decimal("7.25") and ontario.ftes == Decimal("1.50")
    assert ontario.phases["proposed"] == Decimal("20.00")
    assert ontario.currency == "CAD"
    with CaptureQueriesContext(connection) as queries:
        toronto = explorer.totals(explorer.Selection(2025, agency=spent.toronto))
    assert len(queries) == 1  # one statement, as without an agency
    # Toronto receives 60.00 and passes 40.00 of it to Helping Hands.
    assert (toronto.allocated, toronto.gross, toronto.allocations) == (
        Decimal("60.00"),
        Decimal("100.00"),
        2,
    )
    assert toronto.executed == Decimal("12.50")
    both = explorer.totals(explorer.Selection(2025, spent.housing, agency=spent.ontario))
    assert (both.allocated, both.executed) == (Decimal("50.00"), Decimal("7.25"))
    hands = explorer.totals(explorer.Selection(2025, agency=spent.hands))
    assert (hands.allocated, hands.gross, hands.executed) == (
        Decimal("40.00"),
        Decimal("40.00"),
        Decimal("12.50"),
    )


def test_an_agency_s_unpublished_allocations_follow_the_policy(spent):
    Allocation.objects.filter(key="fed-housing").update(published=False)
    public = explorer.totals(explorer.Selection(2025, agency=spent.ontario))
    assert (public.allocated, public.gross, public.executed) == (
        Decimal("100.00"),
        Decimal("160.00"),
        Decimal("0"),
    )
    funder = explorer.totals(explorer.Selection(2025, agency=spent.ontario, unpublished_of="esdc"))
    assert (funder.allocated, funder.executed) == (Decimal("150.00"), Decimal("7.25"))
    api = Client().get("/api/v1/funding/totals", {"fiscal_year": 2025, "agency": "serviceontario"})
    assert api.status_code == 200
    assert api.json()["allocated"] == "100.00" and api.json()["phases"]["executed"] == "0.00"


@pytest.mark.parametrize(
    ("language", "message"),
    [("en", "No such agency."), ("fr", "Cet organisme n’existe pas.")],
)
def test_an_unknown_agency_is_a_translated_400(world, language, message):
    page = Client().get(f"/{language}/funding/", {"year": 2025, "agency": "nobody"})
    assert page.status_code == 400 and message in page.content.decode()
    api = Client().get(
        "/api/v1/funding/totals",
        {"fiscal_year": 2025, "agency": "nobody"},
        HTTP_ACCEPT_LANGUAGE=language,
    )
    assert api.status_code == 400 and api.json() == {"detail": message}


def test_the_page_shows_an_agency_s_totals(spent):
    page = Client().get("/en/funding/", {"year": 2025, "agency": "toronto"})
    assert page.status_code == 200
    text = page.content.decode()
    assert '<option value="toronto" selected>' in text
    assert "<td>60.00 CAD</td>" in text and "<td>100.00 CAD</td>" in text
    assert "<td>12.50 CAD</td>" in text
    french = Client().get("/fr/funding/", {"year": 2025, "agency": "toronto"}).content.decode()
    assert "Organisme (bailleur de fonds ou bénéficiaire)" in french and "60,00 CAD" in french


def test_an_agency_s_page_and_totals_do_not_grow_in_queries(spent):
    def count(url, params):
        # Measured cold: an answer kept per process would be read in one measurement only.
        kept.forget_all()
        with CaptureQueriesContext(connection) as queries:
            assert Client().get(url, params).status_code == 200
        return len(queries)

    def both():
        return (
            count("/en/funding/", {"year": 2025, "agency": "toronto"}),
            count("/api/v1/funding/totals", {"fiscal_year": 2025, "agency": "toronto"}),
        )

    small = both()
    for index in range(6):
        extra = allocate(f"more-{index}", spent.ontario, spent.toronto, spent.jobs, "5.00")
        _spend(extra, "executed", "1.00")
    large = both()
    assert small == large
    totals = Client().get("/api/v1/funding/totals", {"fiscal_year": 2025, "agency": "toronto"})
    assert totals.json()["allocated"] == "90.00" and totals.json()["phases"]["executed"] == "18.50"
