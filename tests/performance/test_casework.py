"""Caseworker hours for the back-office queues: the formulas on hand-computed cases, the
caseworker time a done work item adds, the office and agency pages in English and French,
and a number of queries that does not grow with the offices or the data."""

from __future__ import annotations

import datetime
import random
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.db.models import Count
from django.test.utils import CaptureQueriesContext
from django.utils import formats, timezone, translation

from joinedup.delivery import queues
from joinedup.delivery.applications import submit_application
from joinedup.delivery.models import WorkItem
from joinedup.demo.history import run as history
from joinedup.demo.history.rosters import make_casework_rosters
from joinedup.demo.history.run import HistoryRun
from joinedup.federation.models import Agency, Office, Service
from joinedup.performance import casework
from joinedup.performance.models import Transaction
from joinedup.sharing import dispatch
from tests.delivery.conftest import birth_answers, person_context

from .test_pages_and_api import _staff_client

pytestmark = pytest.mark.django_db
TORONTO = ZoneInfo("America/Toronto")
OFFICE_URL = "/{language}/performance/offices/esdc-toronto/staffing/"
AGENCY_URL = "/{language}/performance/agencies/esdc/staffing/"


def test_a_standards_window_is_its_whole_weeks():
    assert casework.window_weeks(10, "business") == 2
    assert casework.window_weeks(14, "business") == 2
    assert casework.window_weeks(3, "business") == 1  # at least a week
    assert casework.window_weeks(20, "calendar") == 2
    assert casework.window_weeks(21, "calendar") == 3
    assert casework.window_weeks(None) == 1  # no standard: within the week
    assert casework.median_window({1: 3, 2: 5}) == 2
    assert casework.median_window({1: 5, 4: 5}) == 1
    assert casework.median_window({}) == 1


def test_arrivals_are_worked_over_their_window_and_the_backlog_up_to_its_due_week():
    # 10, 20, 30 applications of half an hour, each week's over two weeks.
    assert casework.arrival_hours([10, 20, 30], 0.5, 2) == [2.5, 7.5, 12.5]
    assert casework.arrival_hours([10, 20, 30], 0.5, 1) == [5.0, 10.0, 15.0]
    # 6 hours due this week (or overdue: -3), 9 due in two weeks: 3 a week from now.
    assert casework.backlog_hours({0: 4.0, -3: 2.0, 2: 9.0}, 4) == [9.0, 3.0, 3.0, 0.0]
    # Due past the horizon: only the horizon's weeks get their share.
    assert casework.backlog_hours({5: 6.0}, 2) == [1.0, 1.0]


def test_the_roster_file(tmp_path):
    path = tmp_path / "caseworkers.csv"
    path.write_text(
        "office,week,hours\n"
        "esdc-toronto,,40\n"
        "esdc-toronto,2026-03-04,12\n"  # a Wednesday: its week's Monday
        "esdc-toronto,2026-03-04,8\n"
        "esdc-toronto,not a date,99\n"
        "esdc-toronto,,-5\n"
        "esdc,,100.5\n"
    )
    roster = casework.load_roster(path)
    assert casework.rostered(roster, "esdc-toronto", datetime.date(2026, 3, 2)) == 20
    assert casework.rostered(roster, "esdc-toronto", datetime.date(2026, 3, 9)) == 40
    assert casework.rostered(roster, "esdc", datetime.date(2026, 3, 9)) == 100.5
    assert casework.rostered(roster, "elsewhere", datetime.date(2026, 3, 9)) is None
    assert casework.load_roster(tmp_path / "missing.csv") == {}


def _txn(number: int, office: str, day: datetime.date, **fields) -> Transaction:
    started = datetime.datetime.combine(day, datetime.time(10), TORONTO)
    decided = fields.get("outcome", "completed") != "in_progress"
    values = {
        "source": f"casework:{office}:{number}",
        "service_key": "ca.sin",
        "jurisdiction": "CA",
        "agency": "esdc",
        "channel": "counter",
        "started_at": started,
        "start_day": day,
        "ended_at": started if decided else None,
        "end_day": day if decided else None,
        "outcome": "completed",
        "standard_days": 10,
        "office": office,
    }
    values.update(fields)
    return Transaction(**values)


def applications(office: str = "esdc-toronto", weeks: int = 20, scale: int = 1) -> list:
    """`weeks` weeks of 10 × `scale` applications a week at an office (Tuesdays), plus one
    abandoned a week. Decided ones: 8 in 10 with 37.5 minutes of caseworker time, 2 in 10
    with none — 0.5 hours each on average; 2 hours each 14 weeks back and more (outside the
    weeks measured). Open ones: last week's ten, 4 of them with a 10-day standard worked a
    quarter of an hour, 6 with a 20-day standard; 2 of the week 10 weeks back (overdue),
    whose 8 decided ones had half an hour each."""
    today = timezone.localdate()
    monday = today - datetime.timedelta(days=today.weekday())
    rows, number = [], 0
    for back in range(weeks, 0, -1):
        tuesday = monday - datetime.timedelta(weeks=back) + datetime.timedelta(days=1)
        for i in range(10 * scale):
            number += 1
            slot = i % 10
            if back == 1:
                standard = 10 if slot < 4 else 20
                done = 900 if slot < 4 else 0
                rows.append(
                    _txn(
                        number,
                        office,
                        tuesday,
                        outcome="in_progress",
                        standard_days=standard,
                        casework_seconds=done,
                    )
                )
            elif back == 10:  # 2 open, the 8 decided worked half an hour each
                rows.append(
                    _txn(number, office, tuesday, outcome="in_progress")
                    if slot >= 8
                    else _txn(number, office, tuesday, casework_seconds=1800)
                )
            elif back >= 14:
                rows.append(_txn(number, office, tuesday, casework_seconds=7200))
            else:
                rows.append(_txn(number, office, tuesday, casework_seconds=2250 if slot < 8 else 0))
        number += 1
        rows.append(_txn(number, office, tuesday, outcome="abandoned", casework_seconds=0))
    Transaction.objects.bulk_create(rows)
    return rows


@pytest.fixture
def office(small_federation) -> Office:
    Service.objects.filter(key="ca.sin").update(standard_day_kind="business")
    applications()
    return Office.objects.select_related("agency", "jurisdiction").get(key="esdc-toronto")


def test_hours_needed_from_a_known_history(office, tmp_path, settings):
    """Ten applications a week of half an hour each, a two-week window:
    arrivals: week 0 = 0.5 × 10 ÷ 2 = 2.5 (last week's are in the backlog), then 5.0;
    backlog: 4 × (0.5 − 0.25) = 1.0 due this week, 2 × 0.5 = 1.0 overdue, and 6 × 0.5 = 3.0
    due in two weeks (1.0 a week for weeks 0, 1, 2): 3.0, 1.0, 1.0, then 0."""
    today = timezone.localdate()
    monday = today - datetime.timedelta(days=today.weekday())
    roster = tmp_path / "caseworkers.csv"
    roster.write_text(
        "office,week,hours\n"
        f"esdc-toronto,,5.5\nesdc-toronto,{monday + datetime.timedelta(weeks=1)},4\n"
    )
    settings.PERFORMANCE_CASEWORK_ROSTER_FILE = str(roster)
    (plan,) = casework.plans(office.agency, {office.key: office.name}, today, office.key)
    assert plan.handle_hours == pytest.approx(0.5)
    assert plan.window == 2
    assert plan.open_applications == 12 and plan.open_hours == pytest.approx(5.0)
    assert len(plan.weeks) == 12 and plan.weeks[0].monday == monday
    assert [w.applications for w in plan.weeks] == pytest.approx([10.0] * 12, abs=0.05)
    assert [w.arrival_hours for w in plan.weeks] == pytest.approx([2.5] + [5.0] * 11, abs=0.05)
    assert [w.backlog_hours for w in plan.weeks] == [3.0, 1.0, 1.0] + [0.0] * 9
    assert [w.needed for w in plan.weeks] == pytest.approx([5.5, 6.0, 6.0] + [5.0] * 9, abs=0.05)
    assert [w.rostered for w in plan.weeks[:3]] == [5.5, 4.0, 5.5]
    assert [w.gap for w in plan.weeks[:3]] == pytest.approx([0.0, -2.0, -0.5], abs=0.05)
    assert plan.mape is not None and plan.mape < 1
    # One service: the same here; an office with no applications: too little history.
    (same,) = casework.plans(office.agency, {office.key: ""}, today, office.key, "ca.sin")
    assert [w.needed for w in same.weeks] == [w.needed for w in plan.weeks]
    (none,) = casework.plans(office.agency, {office.key: ""}, today, office.key, "ca.other")
    assert none.too_little_history and not none.weeks


def test_the_agency_adds_its_offices_and_its_applications_at_no_office(office):
    Office.objects.create(
        agency=office.agency,
        key="esdc-extra",
        names={"en": "Extra office", "fr": "Bureau supplémentaire"},
        jurisdiction=office.jurisdiction,
    )
    applications("esdc-extra")
    applications("", scale=2)  # online: twice the work
    context = casework.agency_context(
        office.agency, list(Office.objects.filter(agency__key="esdc"))
    )
    units = {plan.key: plan for plan in context["casework_units"]}
    assert set(units) == {"esdc-toronto", "esdc-extra", ""}
    assert units[""].open_applications == 24  # 20 last week, 4 overdue
    summed = context["casework_total"]
    for k in range(12):
        assert summed.weeks[k].needed == pytest.approx(
            sum(plan.weeks[k].needed for plan in units.values()), abs=0.05
        )
    assert summed.weeks[1].needed == pytest.approx(6.0 + 6.0 + 12.0, abs=0.1)
    assert summed.handle_hours == pytest.approx(0.5) and summed.window == 2
    assert context["casework_chart"].id == "chart-agency-casework"


@pytest.mark.parametrize("language", ["en", "fr"])
def test_the_office_page_shows_the_hours_needed_and_the_gap(office, language, tmp_path, settings):
    roster = tmp_path / "caseworkers.csv"
    roster.write_text("office,week,hours\nesdc-toronto,,5.5\n")
    settings.PERFORMANCE_CASEWORK_ROSTER_FILE = str(roster)
    page = _staff_client("esdc", "supervisor").get(OFFICE_URL.format(language=language))
    assert page.status_code == 200
    text = page.content.decode()
    assert "chart-casework" in text
    today = timezone.localdate()
    next_monday = today - datetime.timedelta(days=today.weekday()) + datetime.timedelta(weeks=1)
    with translation.override(language):
        label = formats.date_format(next_monday, "SHORT_DATE_FORMAT")
    assert f'<th scope="row">{label}</th>' in text
    if language == "en":
        assert "Caseworker hours needed per week to keep the service standards" in text
        assert "Mean caseworker time per application: 0.50 hours." in text
        assert "still open: 12, with 5.0 hours of work left" in text
        assert "6.0 caseworker hours are needed." in text
        assert "5.5 hours are rostered: 0.5 hours short." in text
    else:
        assert "Heures d’agents de dossiers nécessaires par semaine" in text
        assert "Temps moyen d’un agent de dossiers par demande : 0,50 heures." in text
        assert "encore ouvertes : 12, avec 5,0 heures de travail restantes" in text
        assert "il faut 6,0 heures d’agents de dossiers." in text
        assert "5,5 heures sont à l’horaire : il en manque 0,5." in text
    for code in ("in_progress", "casework_seconds", "None"):
        assert code not in text.split("<main", 1)[-1]


@pytest.mark.parametrize("language", ["en", "fr"])
def test_the_agency_page_shows_each_offices_hours(office, language):
    page = _staff_client("esdc", "analyst").get(AGENCY_URL.format(language=language))
    assert page.status_code == 200
    text = page.content.decode()
    assert "chart-agency-casework" in text
    link = f"/{language}/performance/offices/esdc-toronto/staffing/#casework"
    assert f'href="{link}"' in text
    if language == "en":
        assert "Caseworker hours of each office in the week starting" in text
        assert "No caseworker roster was loaded" in text
    else:
        assert "Heures d’agents de dossiers de chaque bureau dans la semaine commençant le" in text
        assert "Aucun horaire des agents de dossiers n’a été chargé" in text


def test_an_office_without_caseworker_time_says_so(small_federation):
    Transaction.objects.bulk_create(
        _txn(number, "esdc-toronto", day, casework_seconds=0)
        for number, day in enumerate(
            timezone.localdate() - datetime.timedelta(weeks=back) for back in range(1, 20)
        )
    )
    text = (
        _staff_client("esdc", "supervisor").get(OFFICE_URL.format(language="en")).content.decode()
    )
    assert "No caseworker time was recorded on the applications decided" in text


def test_the_queries_do_not_grow_with_the_offices_or_the_data(office):
    analyst = _staff_client("esdc", "analyst")
    agency = Agency.objects.get(key="esdc")

    def count(url: str) -> int:
        analyst.get(url)  # warm the per-process caches
        with CaptureQueriesContext(connection) as queries:
            assert analyst.get(url).status_code == 200
        return len(queries)

    def direct() -> int:
        offices = list(Office.objects.filter(agency=agency))
        with CaptureQueriesContext(connection) as queries:
            context = casework.agency_context(agency, offices)
        assert context["casework_units"]
        return len(queries)

    small = (count(AGENCY_URL.format(language="en")), count(OFFICE_URL.format(language="en")))
    small_direct = direct()
    for number in range(3):
        Office.objects.create(
            agency=agency,
            key=f"esdc-more-{number}",
            names={"en": f"More {number}", "fr": f"Encore {number}"},
            jurisdiction=Office.objects.get(key="esdc-toronto").jurisdiction,
        )
        applications(f"esdc-more-{number}", scale=3)
    applications("", weeks=30, scale=2)
    large = (count(AGENCY_URL.format(language="en")), count(OFFICE_URL.format(language="en")))
    print(f"queries (agency, office) with 1 office: {small}, with 4 and more data: {large}")
    assert small == large
    assert small_direct == direct() == 5


def test_a_done_work_item_adds_its_caseworker_time(
    birth_registration, applicant, federation, make_staff
):
    submit_application(
        person_context(applicant), "ca.birth-registration", birth_answers(), "online", "one"
    )
    dispatch.dispatch_pending()
    registrar = make_staff(federation["serviceontario"], "caseworker")
    item = queues.queue(registrar, federation["serviceontario"]).get()
    item = queues.claim(registrar, item)
    WorkItem.objects.filter(pk=item.pk).update(
        claimed_at=timezone.now() - datetime.timedelta(minutes=40)
    )
    item.refresh_from_db()
    queues.complete(registrar, item, "approve", "")
    dispatch.dispatch_pending()
    txn = Transaction.objects.get()
    assert 2400 <= txn.casework_seconds <= 2460
    # A claim left open for days counts a working day at most; the applicant's tasks none.
    item.refresh_from_db()
    WorkItem.objects.filter(pk=item.pk).update(
        claimed_at=item.completed_at - datetime.timedelta(days=3)
    )
    data = {"work_item": item.pk, "role": item.role}
    assert casework.record_work_item(data) == casework.WORKDAY
    assert casework.record_work_item({**data, "role": WorkItem.APPLICANT}) == 0
    assert casework.record_work_item({"work_item": 0, "role": "caseworker"}) == 0


def test_the_demo_writes_a_caseworker_roster_near_the_needs(office, tmp_path, settings):
    settings.PERFORMANCE_CASEWORK_ROSTER_FILE = str(tmp_path / "performance" / "caseworkers.csv")
    today = timezone.localdate()
    assert make_casework_rosters(HistoryRun(1, 2, today, today, random.Random(5))) == 2
    (plan,) = casework.plans(office.agency, {office.key: office.name}, today, office.key)
    usual = plan.weeks[1].rostered
    assert 0.85 * 6.0 - 0.5 <= usual <= 1.15 * 6.0 + 0.5
    leave = [week for week in plan.weeks if week.rostered != usual]
    assert len(leave) == 1 and leave[0].rostered == round(usual * 0.7)


def test_the_demo_history_gives_caseworker_figures_to_show(small_federation, tmp_path, settings):
    """`generate-history` writes caseworker time and a caseworker roster: the busiest
    agency's page has hours needed and rostered for its weeks."""
    settings.PERFORMANCE_CASEWORK_ROSTER_FILE = str(tmp_path / "caseworkers.csv")
    history.generate_history(3000, years=2, seed=7)
    decided = Transaction.objects.filter(outcome="completed")
    assert decided.filter(casework_seconds__gte=1200).count() == decided.count() > 0
    assert not Transaction.objects.filter(outcome="abandoned", casework_seconds__gt=0).exists()
    busiest = Transaction.objects.values("agency").annotate(n=Count("id")).order_by("-n").first()
    agency = Agency.objects.get(key=busiest["agency"])
    context = casework.agency_context(agency, list(Office.objects.filter(agency=agency)))
    summed = context["casework_total"]
    assert summed is not None and 20 / 60 <= summed.handle_hours <= 70 / 60
    assert all(week.needed > 0 for week in summed.weeks)
    assert all(week.rostered is not None and week.gap is not None for week in summed.weeks)
