"""An office's staffing page: forecast with its held-out error, agents per half-hour from
Erlang C, the roster's gap, and who may read it."""

from __future__ import annotations

import datetime
import math
import random
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.utils import timezone

from joinedup.demo.history.rosters import make_rosters
from joinedup.demo.history.run import HistoryRun
from joinedup.federation.models import Office
from joinedup.performance import planning, staffing
from joinedup.performance.models import Transaction

from .test_pages_and_api import _staff_client

pytestmark = pytest.mark.django_db
TORONTO = ZoneInfo("America/Toronto")


@pytest.fixture
def counter_history(small_federation):
    """Two years of counter visits at one office: a yearly wave, Tuesdays 10:00–11:00."""
    today = timezone.localdate()
    monday = today - datetime.timedelta(days=today.weekday())
    rows, number = [], 0
    for back in range(104, 0, -1):
        week = monday - datetime.timedelta(weeks=back)
        count = round(40 + 15 * math.sin(2 * math.pi * week.timetuple().tm_yday / 365.25))
        tuesday = week + datetime.timedelta(days=1)
        for i in range(count):
            started = datetime.datetime.combine(
                tuesday, datetime.time(10, 0 if i % 2 else 40), TORONTO
            )
            number += 1
            rows.append(
                Transaction(
                    source=f"test:{number}",
                    service_key="ca.sin",
                    jurisdiction="CA",
                    agency="esdc",
                    channel="counter",
                    started_at=started,
                    start_day=tuesday,
                    ended_at=started,
                    end_day=tuesday,
                    outcome="completed",
                    handle_seconds=1200,
                    office="esdc-toronto",
                )
            )
    Transaction.objects.bulk_create(rows)
    return Office.objects.select_related("jurisdiction", "agency").get(key="esdc-toronto")


def test_weekly_counts_profile_and_staffing(counter_history, tmp_path, settings):
    today = timezone.localdate()
    weeks, volumes = planning.weekly_counts(counter_history, "counter", today)
    assert len(weeks) == 104 and all(v > 0 for v in volumes)
    since = today - datetime.timedelta(weeks=planning.PROFILE_WEEKS)
    shares = planning.profile(counter_history, "counter", TORONTO, since)
    # Half at 10:00–10:29 (slot 20), half at 10:30–10:59 (slot 21), all on Tuesday (2).
    assert set(shares) == {(2, 20), (2, 21)}
    assert sum(shares.values()) == pytest.approx(1.0)
    roster = tmp_path / "roster.csv"
    roster.write_text(
        "office,weekday,start,end,agents\n"
        "esdc-toronto,2,10:00,11:00,3\n"
        "esdc-toronto,2,bad,11:00,3\n"
        "other-office,2,10:00,11:00,9\n"
    )
    settings.PERFORMANCE_ROSTER_FILE = str(roster)
    context = planning.page(counter_history, "counter", today)
    assert context["forecast"]["mape"] is not None and context["forecast"]["mape"] < 25
    assert context["busiest"] == 2
    by_slot = {row["slot"]: row for row in context["slots"]}
    next_week = context["forecast"]["next"]
    half = next_week * shares[(2, 20)]
    expected = staffing.agents_needed(half, 1200, 0.85, 1500)
    assert by_slot["10:00"]["needed"] == expected
    assert by_slot["10:00"]["rostered"] == 3
    assert by_slot["10:00"]["gap"] == 3 - expected


@pytest.mark.parametrize("language", ["en", "fr"])
def test_the_staffing_page_is_for_the_offices_agency(counter_history, language):
    url = f"/{language}/performance/offices/esdc-toronto/staffing/"
    analyst = _staff_client("esdc", "analyst")
    page = analyst.get(url)
    assert page.status_code == 200
    text = page.content.decode()
    assert "chart-forecast" in text and "chart-staffing" in text and "<table" in text
    assert ("Agents needed" if language == "en" else "Agents nécessaires") in text
    assert analyst.get(url + "?channel=mail").status_code == 400
    assert analyst.get(f"/{language}/performance/offices/nowhere/staffing/").status_code == 404
    other = _staff_client("serviceontario", "analyst")
    assert other.get(url).status_code == 403
    assert Client().get(url).status_code == 302


def test_the_demo_writes_a_roster_near_the_needs(counter_history, tmp_path, settings):
    settings.PERFORMANCE_ROSTER_FILE = str(tmp_path / "performance" / "roster.csv")
    today = timezone.localdate()
    run = HistoryRun(1, 2, today, today, random.Random(5))
    written = make_rosters(run)
    assert written > 0
    context = planning.page(counter_history, "counter")
    assert context["has_roster"]
    gaps = [row["gap"] for row in context["slots"] if row["needed"]]
    assert gaps and all(-1 <= gap <= 1 for gap in gaps)


ONTARIO = planning.Calendar(sources=(("CA", "ON"),), time_zone="America/Toronto")


def test_a_week_is_spread_over_its_business_days_and_a_holiday_is_closed():
    even = dict.fromkeys(range(1, 6), 0.2)
    # 14–18 December 2026: five business days, 20 each.
    plain = planning.spread(datetime.date(2026, 12, 14), 100, even, ONTARIO)
    assert [round(v, 6) for _d, v in plain] == [20.0] * 5
    # 21–25 December: Christmas Day is closed, its fifth goes to the four other days.
    christmas = planning.spread(datetime.date(2026, 12, 21), 100, even, ONTARIO)
    assert [d.day for d, _v in christmas] == [21, 22, 23, 24]
    assert [round(v, 6) for _d, v in christmas] == [25.0] * 4
    # 28 December–1 January: Boxing Day observed (Monday) and New Year's Day (Friday).
    shares = {1: 0.4, 2: 0.15, 3: 0.15, 4: 0.15, 5: 0.15}
    new_year = planning.spread(datetime.date(2026, 12, 28), 90, shares, ONTARIO)
    assert [(d.day, round(v, 6)) for d, v in new_year] == [(29, 30.0), (30, 30.0), (31, 30.0)]


def test_weekday_shares_leave_out_the_weeks_with_a_holiday():
    mondays = [datetime.date(2026, 12, 14), datetime.date(2026, 12, 21)]
    counts = {datetime.date(2026, 12, 14): 30, datetime.date(2026, 12, 15): 10}
    counts |= {datetime.date(2026, 12, 21): 500}  # a holiday week: not measured
    shares = planning.weekday_shares(counts, mondays, ONTARIO)
    assert shares == {1: 0.75, 2: 0.25, 3: 0.0, 4: 0.0, 5: 0.0}


def test_holidays_are_named_in_the_readers_language():
    start, end = datetime.date(2026, 12, 20), datetime.date(2027, 1, 3)
    english = planning.holiday_names(ONTARIO, start, end, "en")
    french = planning.holiday_names(ONTARIO, start, end, "fr")
    assert (
        [d for d, _n in english]
        == [d for d, _n in french]
        == [
            datetime.date(2026, 12, 25),
            datetime.date(2026, 12, 26),
            datetime.date(2026, 12, 28),
            datetime.date(2027, 1, 1),
        ]
    )
    assert english[0][1] == "Christmas Day" and french[0][1] == "Jour de Noël"


def test_the_page_forecasts_each_business_day_and_lists_the_holidays(counter_history):
    today = timezone.localdate()
    context = planning.page(counter_history, "counter", today)
    calendar = planning.calendar_for(counter_history.jurisdiction)
    days = context["days"]
    assert days and all(calendar.is_business_day(row["day"]) for row in days)
    assert all(row["day"] >= today for row in days)
    until = context["forecast"]["until"]
    assert days[-1]["day"] <= until < days[-1]["day"] + datetime.timedelta(days=7)
    yesterday = today - datetime.timedelta(days=1)
    listed = [row["day"] for row in context["holidays"]]
    assert listed == [day for day, _name in calendar.holidays_between(yesterday, until)]
    assert not set(listed) & {row["day"] for row in days}
    assert context["forecast"]["day_mape"] is not None
    assert "chart-days" in [chart.id for chart in context["charts"]]


def test_the_staffing_page_takes_a_service(counter_history):
    analyst = _staff_client("esdc", "analyst")
    url = "/en/performance/offices/esdc-toronto/staffing/"
    page = analyst.get(url + "?service=ca.sin")
    assert page.status_code == 200 and page.context["service"] == "ca.sin"
    assert page.context["forecast"] is not None
    other = analyst.get(url + "?service=ca.birth-registration")
    assert other.status_code == 400
    assert "Choose one of the services this office delivers." in other.content.decode()
    french = analyst.get("/fr/performance/offices/esdc-toronto/staffing/?service=nothing")
    assert french.status_code == 400
    assert "Choisissez l’un des services que ce bureau offre." in french.content.decode()
    assert "Jours fériés des semaines prévues" in french.content.decode()


def test_erlang_a_is_shown_beside_erlang_c(counter_history):
    context = planning.page(counter_history, "counter")
    busy = [row for row in context["slots"] if row["needed"]]
    assert busy
    for row in busy:
        assert row["needed_a"] <= row["needed"]
        assert 0 <= row["abandonment"] < 100
    chart = next(chart for chart in context["charts"] if chart.id == "chart-staffing")
    assert chart.headers[2] == "Agents needed if clients give up (Erlang A)"
    page = _staff_client("esdc", "analyst").get("/fr/performance/offices/esdc-toronto/staffing/")
    text = page.content.decode()
    assert "Agents nécessaires si des clients abandonnent (Erlang A)" in text
    assert "la patience est une hypothèse" in text


def test_next_week_is_the_week_after_the_one_under_way(counter_history):
    """The history stops at the last complete week, so the forecast's first week is the one
    under way; the page's "next week" (its volume, its busiest day, the agents per half-hour)
    is the week after it, the one a roster can still be changed for."""
    today = timezone.localdate()
    this_monday = today - datetime.timedelta(days=today.weekday())
    next_monday = this_monday + datetime.timedelta(days=7)
    context = planning.page(counter_history, "counter", today)
    _weeks, volumes = planning.weekly_counts(counter_history, "counter", today)
    result = staffing.forecast(volumes)
    assert context["forecast"]["next_monday"] == next_monday
    assert context["forecast"]["next"] == round(result.forecast[1], 1)
    # All the visits are on Tuesdays: the busiest day is next week's Tuesday, not this one's.
    assert context["busiest_day"] == next_monday + datetime.timedelta(days=1)
