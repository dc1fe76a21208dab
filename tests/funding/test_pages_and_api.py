"""The explorer and program pages (both languages), the API, the policy on who changes
what, and query counts that do not grow with the data."""

from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from joinedup import kept
from joinedup.funding import explorer
from joinedup.funding.models import Allocation, ChangeRecord, Expenditure, Scenario

from .conftest import allocate, staff_client

pytestmark = pytest.mark.django_db


def _grow(world, count):
    """More allocations and programs, so that query counts can be compared at two sizes."""
    from joinedup.federation.models import Program

    for index in range(count):
        program = Program.objects.create(
            key=f"extra-{index}", agency=world.esdc, names={"en": f"Extra {index}"}
        )
        allocate(f"extra-{index}", world.esdc, world.toronto, program, "5.00")


@pytest.mark.parametrize("language", ["en", "fr"])
def test_the_explorer_is_public_in_both_languages(world, language):
    Allocation.objects.filter(key="fed-housing").update(published=False)
    page = Client().get(f"/{language}/funding/", {"year": 2025})
    assert page.status_code == 200
    text = page.content.decode()
    heading = "Where the money goes" if language == "en" else "Où va l’argent"
    assert heading in text
    figure = json.loads(re.search(r'id="flows-data"[^>]*>(.*?)</script>', text, re.S).group(1))
    assert figure["data"][0]["type"] == "sankey"
    assert sorted(figure["data"][0]["link"]["value"]) == [40.0, 60.0, 100.0]
    # Money entering the selection, each transfer once; the unpublished allocation hidden.
    expected = "100.00 CAD" if language == "en" else "100,00 CAD"
    assert expected in text and "Housing" not in text and "Logement" not in text


def test_staff_analysts_see_their_unpublished_allocations(world):
    Allocation.objects.filter(key="fed-housing").update(published=False)
    analyst, _user = staff_client(world.esdc, "analyst")
    text = analyst.get("/en/funding/", {"year": 2025}).content.decode()
    assert "150.00 CAD" in text


def test_a_bad_filter_is_a_400_with_a_message(world):
    page = Client().get("/en/funding/", {"year": "1999"})
    assert page.status_code == 400
    assert "No allocation is recorded for that fiscal year." in page.content.decode()


def test_the_explorer_and_the_list_api_do_not_grow_in_queries(world):
    def count(url, params):
        client = Client()
        # Measured cold: an answer kept per process would be read in one measurement only.
        kept.forget_all()
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url, params).status_code == 200
        return len(queries)

    small = (count("/en/funding/", {"year": 2025}), count("/api/v1/funding/allocations", {}))
    _grow(world, 6)
    large = (count("/en/funding/", {"year": 2025}), count("/api/v1/funding/allocations", {}))
    assert small == large


def test_the_program_page_traces_the_money_down_to_the_community_organisation(world):
    text = Client().get("/en/funding/programs/jobs/", {"year": 2025}).content.decode()
    chain = text[text.index("Where its money comes from") :]
    assert chain.index("Employment and Social Development Canada") < chain.index("— ServiceOntario")
    assert chain.index("— ServiceOntario") < chain.index(
        "— — City of Toronto</th><td>Helping Hands"
    )


def test_only_the_funders_supervisors_change_allocations(world):
    body = {
        "key": "fed-jobs-2",
        "kind": "appropriation",
        "funder": "esdc",
        "recipient": "serviceontario",
        "program": "jobs",
        "fiscal_year": 2025,
        "amount": "10.00",
        "instrument": "transfer",
        "reason": "budget",
    }
    analyst, _u = staff_client(world.esdc, "analyst")
    assert (
        analyst.post(
            "/api/v1/funding/allocations", body, content_type="application/json"
        ).status_code
        == 403
    )
    other, _u = staff_client(world.ontario, "supervisor")
    refused = other.post("/api/v1/funding/allocations", body, content_type="application/json")
    assert refused.status_code == 403 and "your own agency" in refused.json()["detail"]
    supervisor, user = staff_client(world.esdc, "supervisor")
    made = supervisor.post("/api/v1/funding/allocations", body, content_type="application/json")
    assert made.status_code == 201 and made.json()["amount"] == "10.00"
    assert made.json()["fiscal_year_label"] == "2025–26"
    change = ChangeRecord.objects.get(record_key="fed-jobs-2")
    assert (change.user_id, change.reason) == (user.pk, "budget")
    over = supervisor.patch(
        "/api/v1/funding/allocations/fed-jobs",
        {"amount": "59.99", "reason": "cut"},
        content_type="application/json",
    )
    assert over.status_code == 400 and "cannot drop below" in over.json()["detail"]
    negative = supervisor.patch(
        "/api/v1/funding/allocations/fed-jobs",
        {"amount": "-5", "reason": "cut"},
        content_type="application/json",
    )
    assert negative.status_code == 400 and "negative" in negative.json()["detail"]
    assert Allocation.objects.get(key="fed-jobs").amount == Decimal("100.00")


def test_recipients_report_their_own_expenditures_only(world):
    line = {
        "allocation": "tor-jobs",
        "period": "2025-05",
        "category": "staff",
        "phase": "executed",
        "amount": "12.50",
        "reason": "May",
    }
    funder, _u = staff_client(world.toronto, "supervisor")
    assert (
        funder.post(
            "/api/v1/funding/expenditures", line, content_type="application/json"
        ).status_code
        == 403
    )
    recipient, _u = staff_client(world.hands, "analyst")
    made = recipient.post("/api/v1/funding/expenditures", line, content_type="application/json")
    assert made.status_code == 201
    late = recipient.post(
        "/api/v1/funding/expenditures",
        {**line, "period": "2026-04"},
        content_type="application/json",
    )
    assert late.status_code == 400 and "outside fiscal year 2025–26" in late.json()["detail"]
    assert Expenditure.objects.count() == 1
    listed = Client().get("/api/v1/funding/expenditures", {"allocation": "tor-jobs"}).json()
    assert listed["items"] == [
        {
            "allocation": "tor-jobs",
            "period": "2025-05",
            "category": "staff",
            "phase": "executed",
            "amount": "12.50",
            "ftes": "0.00",
        }
    ]
    totals = (
        Client().get("/api/v1/funding/totals", {"fiscal_year": 2025, "place": "CA-ON-TOR"}).json()
    )
    # Money entering Toronto: the province's 60.00 to the city (the city's 40.00 to the
    # community organisation is a transfer inside the place).
    assert totals["allocated"] == "60.00" and totals["phases"]["executed"] == "12.50"


def test_the_explorer_totals_for_a_program_and_a_place(world):
    selection = explorer.Selection(2025, world.jobs)
    figures = explorer.totals(selection)
    assert (figures.allocated, figures.gross, figures.allocations) == (
        Decimal("100.00"),
        Decimal("200.00"),
        3,
    )
    toronto = explorer.totals(explorer.Selection(2025, place=world.toronto.jurisdiction))
    # The city and the community organisation are in Toronto: 60.00 entered, 40.00 of it
    # passed on inside the place.
    assert (toronto.allocated, toronto.gross, toronto.allocations) == (
        Decimal("60.00"),
        Decimal("100.00"),
        2,
    )


def test_the_totals_statement_is_compiled_once_and_answers_each_selection(world):
    """`explorer.TOTALS` is compiled once per shape of selection; each call puts its own
    program, place and levels in it, so selections of one shape give their own figures."""
    ontario = world.ontario.jurisdiction
    toronto = world.toronto.jurisdiction
    expected = {
        # Ontario and below: 100.00 + 50.00 enter; 60.00 and 40.00 are passed on inside.
        ontario: (Decimal("150.00"), Decimal("250.00"), 4),
        toronto: (Decimal("60.00"), Decimal("100.00"), 2),
    }
    for place in (toronto, ontario, toronto, ontario):
        figures = explorer.totals(explorer.Selection(2025, place=place))
        assert (figures.allocated, figures.gross, figures.allocations) == expected[place]
    compiled = len(explorer.TOTALS._compiled)
    housing = explorer.totals(explorer.Selection(2025, world.housing))
    jobs = explorer.totals(explorer.Selection(2025, world.jobs))
    assert (housing.allocated, housing.gross, housing.allocations) == (
        Decimal("50.00"),
        Decimal("50.00"),
        1,
    )
    assert (jobs.allocated, jobs.gross, jobs.allocations) == (
        Decimal("100.00"),
        Decimal("200.00"),
        3,
    )
    assert len(explorer.TOTALS._compiled) <= compiled + 1  # one shape for both programs


def test_an_analyst_builds_compares_and_proposes_a_scenario(world):
    analyst, _u = staff_client(world.esdc, "analyst")
    assert Client().get("/en/funding/scenarios/").status_code == 302
    made = analyst.post("/en/funding/scenarios/", {"name": "Shift to housing", "year": "2025"})
    scenario = Scenario.objects.get()
    assert made.status_code == 302 and made["Location"].endswith(
        f"/funding/scenarios/{scenario.pk}/"
    )
    moved = analyst.post(
        f"/en/funding/scenarios/{scenario.pk}/",
        {"action": "move", "source": "jobs", "target": "housing", "percent": "10"},
    )
    assert moved.status_code == 302
    text = analyst.get(f"/en/funding/scenarios/{scenario.pk}/").content.decode()
    assert "90.00 CAD" in text and "60.00 CAD" in text and "-10.00 CAD" in text
    bad = analyst.post(
        f"/en/funding/scenarios/{scenario.pk}/",
        {"action": "move", "source": "jobs", "target": "housing", "percent": "lots"},
    )
    assert bad.status_code == 400
    analyst.post(f"/en/funding/scenarios/{scenario.pk}/", {"action": "propose"})
    scenario.refresh_from_db()
    assert scenario.status == "proposed"
    assert Allocation.objects.get(key="fed-jobs").amount == Decimal("100.00")
    other, _u = staff_client(world.ontario, "analyst")
    assert other.get(f"/en/funding/scenarios/{scenario.pk}/").status_code == 403


def test_the_data_owner_reports_indicator_values_through_the_api(world):
    from joinedup.funding.models import Indicator, Result

    result = Result.objects.create(
        key="work", program=world.jobs, level="immediate", names={"en": "Work"}
    )
    Indicator.objects.create(
        key="placements",
        result=result,
        names={"en": "Placements", "fr": "Placements"},
        unit="count",
        direction="increase",
        target_type="at_least",
        target_min=Decimal("5"),
        frequency="quarterly",
        data_owner=world.hands,
        source="reported",
    )
    body = {"period_start": "2025-04-01", "period_end": "2025-06-30", "value": "7", "reason": "Q1"}
    other, _u = staff_client(world.toronto, "analyst")
    url = "/api/v1/funding/indicators/placements/values"
    assert other.post(url, body, content_type="application/json").status_code == 403
    owner, _u = staff_client(world.hands, "analyst")
    made = owner.post(url, body, content_type="application/json")
    assert made.status_code == 201 and made.json()["status"] == "met"
    bad = owner.post(url, {**body, "value": "lots"}, content_type="application/json")
    assert bad.status_code == 400 and "not a number" in bad.json()["detail"]
    read = Client().get("/api/v1/funding/indicators/placements").json()
    assert [v["value"] for v in read["values"]] == ["7.0000"]
    programs = Client().get("/api/v1/funding/programs").json()["items"]
    assert programs[0]["results"][0]["indicators"][0]["key"] == "placements"


def test_the_data_owner_reports_and_corrects_a_value_on_the_program_page(world):
    from joinedup.funding.models import Indicator, IndicatorValue, Result

    result = Result.objects.create(
        key="work", program=world.jobs, level="immediate", names={"en": "Work"}
    )
    Indicator.objects.create(
        key="placements",
        result=result,
        names={"en": "Placements", "fr": "Placements"},
        unit="count",
        direction="increase",
        target_type="at_least",
        target_min=Decimal("5"),
        frequency="quarterly",
        data_owner=world.hands,
        source="reported",
    )
    page = "/en/funding/programs/jobs/"
    form = {
        "indicator": "placements",
        "period_start": "2025-04-01",
        "period_end": "2025-06-30",
        "value": "7",
        "reason": "First quarter",
    }
    # The public and another agency's staff see no form; their posts change nothing.
    assert "Report the value" not in Client().get(page).content.decode()
    other, _u = staff_client(world.toronto, "analyst")
    assert "Report the value" not in other.get(page).content.decode()
    assert other.post(page, form).status_code == 403
    owner, user = staff_client(world.hands, "analyst")
    assert "Report the value" in owner.get(page).content.decode()
    made = owner.post(page + "?year=2025", form)
    assert made.status_code == 302 and made["Location"].endswith("?year=2025#placements")
    # Bad input: a translated 400 with the message, the form kept, nothing written.
    bad = owner.post("/fr/funding/programs/jobs/", {**form, "value": "beaucoup"})
    assert bad.status_code == 400 and "pas un nombre" in bad.content.decode()
    assert owner.post(page, {**form, "reason": ""}).status_code == 400
    assert owner.post(page, {**form, "indicator": "nothing"}).status_code == 400
    # A second value for the period corrects the first, which is kept, with who and why.
    owner.post(page, {**form, "value": "9", "reason": "Late placements counted"})
    values = IndicatorValue.objects.order_by("pk")
    assert [(v.value, v.current, v.reported_by_id) for v in values] == [
        (Decimal("7"), False, user.pk),
        (Decimal("9"), True, user.pk),
    ]
    change = ChangeRecord.objects.filter(record="indicator_value").order_by("pk").last()
    assert (change.action, change.reason, change.agency) == (
        "correct",
        "Late placements counted",
        world.hands.key,
    )
    assert "9" in Client().get(page).content.decode()


def test_a_recipient_withdraws_an_expenditure_line_through_the_api(world):
    report = {
        "allocation": "tor-jobs",
        "period": "2025-05",
        "category": "staff",
        "phase": "executed",
        "amount": "12.50",
        "reason": "May",
    }
    recipient, user = staff_client(world.hands, "analyst")
    assert (
        recipient.post(
            "/api/v1/funding/expenditures", report, content_type="application/json"
        ).status_code
        == 201
    )
    withdrawal = {key: report[key] for key in ("allocation", "period", "category", "phase")}
    url = "/api/v1/funding/expenditures/withdraw"

    def withdraw(client, **changes):
        body = {**withdrawal, "reason": "entered twice", **changes}
        return client.post(url, body, content_type="application/json")

    funder, _u = staff_client(world.toronto, "supervisor")
    assert withdraw(funder).status_code == 403
    assert withdraw(Client()).status_code in (401, 403)
    for changes, status, words in [
        ({"period": "May 2025"}, 400, "YYYY-MM"),
        ({"phase": "spent"}, 400, "is not a phase"),
        ({"category": "travel"}, 400, "is not a spending category"),
        ({"reason": "  "}, 400, "Say why"),
        ({"period": "2025-06"}, 404, "no such expenditure line"),
        ({"allocation": "nowhere"}, 404, "Not found"),
    ]:
        refused = withdraw(recipient, **changes)
        assert refused.status_code == status, changes
        assert words in refused.json()["detail"], changes
    assert Expenditure.objects.count() == 1
    totals = {"fiscal_year": 2025, "place": "CA-ON-TOR"}
    assert Client().get("/api/v1/funding/totals", totals).json()["phases"]["executed"] == "12.50"

    done = withdraw(recipient)
    assert done.status_code == 200 and done.json()["amount"] == "12.50"
    assert not Expenditure.objects.exists()
    assert Client().get("/api/v1/funding/totals", totals).json()["phases"]["executed"] == "0.00"
    change = ChangeRecord.objects.get(action="withdraw")
    assert (change.user_id, change.agency, change.reason) == (
        user.pk,
        "helping-hands",
        "entered twice",
    )
    assert withdraw(recipient).status_code == 404
