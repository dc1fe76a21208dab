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
