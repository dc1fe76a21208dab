"""An agency's staffing page: its offices and channels on one page, with the figures each
office's own page gives, for the agency's staff only, in a constant number of queries."""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from joinedup.federation.models import Jurisdiction, Office
from joinedup.performance import agency_staffing, planning
from joinedup.performance.models import Transaction

from .test_pages_and_api import _staff_client
from .test_planning import TORONTO, counter_history  # noqa: F401 (the fixture)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("counter_history")]
URL = "/{language}/performance/agencies/esdc/staffing/"


def _toronto() -> Office:
    """The office `counter_history` gave two years of counter visits."""
    return Office.objects.select_related("agency", "jurisdiction").get(key="esdc-toronto")


def _copy_office(
    template: Office, number: int, weeks: int = 20, jurisdiction=None, zone=TORONTO
) -> Office:
    """Another ESDC office (in the same city unless told): phone calls on Thursdays from
    14:00 to 14:59 in `zone`, `weeks` weeks."""
    office = Office.objects.create(
        agency=template.agency,
        key=f"esdc-extra-{number}",
        names={"en": f"Extra office {number}", "fr": f"Bureau supplémentaire {number}"},
        jurisdiction=jurisdiction or template.jurisdiction,
    )
    today = timezone.localdate()
    monday = today - datetime.timedelta(days=today.weekday())
    rows = []
    for back in range(weeks, 0, -1):
        thursday = monday - datetime.timedelta(weeks=back) + datetime.timedelta(days=3)
        for i in range(30 + number):
            started = datetime.datetime.combine(thursday, datetime.time(14, i % 60), zone)
            rows.append(
                Transaction(
                    source=f"extra:{number}:{back}:{i}",
                    service_key="ca.sin",
                    jurisdiction="CA",
                    agency="esdc",
                    channel="phone",
                    started_at=started,
                    start_day=thursday,
                    ended_at=started,
                    end_day=thursday,
                    outcome="completed",
                    handle_seconds=300,
                    office=office.key,
                )
            )
    Transaction.objects.bulk_create(rows)
    return office


def test_each_office_gets_the_figures_of_its_own_page(tmp_path, settings):
    office = _toronto()
    roster = tmp_path / "roster.csv"
    roster.write_text("office,weekday,start,end,agents\nesdc-toronto,2,10:00,11:00,2\n")
    settings.PERFORMANCE_ROSTER_FILE = str(roster)
    quiet = Office.objects.create(
        agency=office.agency,
        key="esdc-quiet",
        names={"en": "Quiet office", "fr": "Bureau calme"},
        jurisdiction=office.jurisdiction,
    )
    context = agency_staffing.page(office.agency)
    (row,) = context["rows"]
    office_page = planning.page(office, "counter")
    assert (row.office.key, row.channel) == ("esdc-toronto", "counter")
    assert row.next_week == office_page["forecast"]["next"]
    assert row.mape == office_page["forecast"]["mape"]
    assert row.busiest_day == office_page["busiest_day"]
    peak = max(office_page["slots"], key=lambda slot: (slot["needed"], slot["arrivals"]))
    assert (row.peak_slot, row.needed, row.needed_a) == (
        peak["slot"],
        peak["needed"],
        peak["needed_a"],
    )
    assert row.needed > 2 and row.rostered == 2 and row.gap == 2 - row.needed
    assert row.agent_hours == sum(slot["needed"] for slot in office_page["slots"]) / 2
    assert context["quiet"] == [quiet]
    chart = context["charts"][0]
    assert chart.rows == [
        ["Service Canada Centre Toronto — In person", row.needed, row.needed_a, 2]
    ]


def test_the_agency_page_staffs_next_week_as_the_office_page_does():
    """Both pages staff next week — the week after the one under way — not this week."""
    office = _toronto()
    today = timezone.localdate()
    next_monday = today - datetime.timedelta(days=today.weekday()) + datetime.timedelta(days=7)
    context = agency_staffing.page(office.agency, today)
    (row,) = context["rows"]
    assert context["week"] == next_monday
    assert next_monday <= row.busiest_day < next_monday + datetime.timedelta(days=7)
    assert row.next_week == planning.page(office, "counter", today)["forecast"]["next"]


def test_an_office_with_too_little_history_is_said_so():
    office = _toronto()
    _copy_office(office, 1, weeks=5)
    rows = {row.office.key: row for row in agency_staffing.page(office.agency)["rows"]}
    assert rows["esdc-extra-1"].too_little_history and rows["esdc-extra-1"].needed is None
    assert rows["esdc-toronto"].needed


def test_each_office_is_read_in_its_own_time_zone():
    office = _toronto()
    west = Jurisdiction.objects.get(code="CA-QC")
    west.time_zone = "America/Vancouver"  # a test-only move, to have two time zones
    west.save(update_fields=["time_zone"])
    _copy_office(office, 1, jurisdiction=west, zone=ZoneInfo("America/Vancouver"))
    rows = {row.office.key: row for row in agency_staffing.page(office.agency)["rows"]}
    far = rows["esdc-extra-1"]
    # 14:00–14:59 in Vancouver (17:00–17:59 in Toronto), on Thursdays.
    assert far.peak_slot in {"14:00", "14:30"} and far.busiest_day.isoweekday() == 4
    own = planning.page(Office.objects.get(key="esdc-extra-1"), "phone")
    assert far.needed == max(slot["needed"] for slot in own["slots"])
    assert rows["esdc-toronto"].peak_slot in {"10:00", "10:30"}


@pytest.mark.parametrize("language", ["en", "fr"])
def test_the_page_is_for_the_agencys_staff_and_linked_from_the_dashboard(language):
    url = URL.format(language=language)
    supervisor = _staff_client("esdc", "supervisor")
    page = supervisor.get(url)
    assert page.status_code == 200
    text = page.content.decode()
    assert "chart-agency-staffing" in text and "<table" in text
    assert f'href="/{language}/performance/offices/esdc-toronto/staffing/?channel=counter"' in text
    today = timezone.localdate()
    monday = today - datetime.timedelta(days=today.weekday()) + datetime.timedelta(days=7)
    if language == "en":
        assert "Agents needed if clients give up (Erlang A)" in text
        assert f"In the week starting {monday.day} {monday:%B} {monday.year}, about" in text
    else:
        assert "Agents nécessaires si des clients abandonnent (Erlang A)" in text
        assert "Dans la semaine commençant le" in text
        assert "Effectifs des bureaux : Emploi et Développement social Canada" in text
    dashboard = supervisor.get(f"/{language}/performance/agencies/esdc/").content.decode()
    assert f'href="{url}"' in dashboard
    office = supervisor.get(f"/{language}/performance/offices/esdc-toronto/staffing/")
    assert f'href="{url}"' in office.content.decode()
    assert _staff_client("serviceontario", "supervisor").get(url).status_code == 403
    assert _staff_client("esdc", "caseworker").get(url).status_code == 403
    assert Client().get(url).status_code == 302
    assert supervisor.get(f"/{language}/performance/agencies/nowhere/staffing/").status_code == 404


def test_the_queries_do_not_grow_with_the_offices():
    office = _toronto()
    analyst = _staff_client("esdc", "analyst")
    url = URL.format(language="en")

    def count() -> int:
        analyst.get(url)  # warm the per-process caches
        with CaptureQueriesContext(connection) as queries:
            assert analyst.get(url).status_code == 200
        return len(queries)

    _copy_office(office, 1)
    with_two = count()
    for number in range(2, 6):
        _copy_office(office, number)
    with_six = count()
    print(f"queries with 2 offices: {with_two}, with 6: {with_six}")
    assert with_two == with_six
    context = agency_staffing.page(office.agency)
    assert len([row for row in context["rows"] if row.needed]) == 6


def test_an_agency_without_assisted_transactions_is_told_so():
    page = _staff_client("serviceontario", "analyst").get(
        "/en/performance/agencies/serviceontario/staffing/"
    )
    assert page.status_code == 200
    text = page.content.decode()
    assert "None of this agency's offices has recorded transactions by phone" in text
    assert "chart-agency-staffing" not in text
