"""Availability of running services: the provider records outages, and the dashboard
measures each running service's availability against the level's target."""

from __future__ import annotations

import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from joinedup.backoffice import availability, levels, statements
from joinedup.backoffice.models import Outage, ServiceLevel

MARCH = datetime.date(2026, 3, 1)


@pytest.fixture
def hosting(shared):
    level = ServiceLevel.objects.get(service=shared["hosting"])
    level.availability_target = Decimal("0.9990")
    level.save()
    return level


def test_a_supervisor_records_outages_with_clear_messages(shared, hosting, staff_client):
    browser, _ = staff_client(shared["federal"], "supervisor")
    url = "/en/backoffice/provider/outages/"
    page = browser.get(url).content.decode()
    assert "Record an outage" in page and "Hosting environment" in page
    onboarding = ServiceLevel.objects.get(service=shared["onboarding"])
    future = (datetime.datetime.now() + datetime.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    for form, message in (
        ({"level": hosting.pk, "started": "", "ended": ""}, "as a date and a time"),
        (
            {"level": hosting.pk, "started": "2026-03-04T10:00", "ended": "2026-03-04T09:00"},
            "available again after the outage began",
        ),
        (
            {"level": hosting.pk, "started": "2026-03-04T10:00", "ended": future},
            "its end cannot be in the future",
        ),
        (
            {"level": onboarding.pk, "started": "2026-03-04T09:00", "ended": "2026-03-04T10:00"},
            "Choose one of your services that has an availability target.",
        ),
    ):
        refused = browser.post(url, form)
        assert refused.status_code == 400
        assert message in refused.content.decode()
    french = browser.post(url.replace("/en/", "/fr/"), {"level": hosting.pk})
    assert french.status_code == 400 and "une date et une heure" in french.content.decode()
    assert not Outage.objects.exists()

    for started, ended in (
        ("2026-03-04T09:00", "2026-03-04T10:00"),
        ("2026-03-04T09:30", "2026-03-04T10:30"),
    ):
        sent = browser.post(url, {"level": hosting.pk, "started": started, "ended": ended})
        assert sent.status_code == 302
    first = Outage.objects.order_by("started_at").first()
    zone = ZoneInfo(levels.calendar_of(shared["federal"]).time_zone)
    assert first.started_at == datetime.datetime(2026, 3, 4, 9, tzinfo=zone)  # the provider's time

    # Analysts read the dashboard but record nothing; caseworkers and other providers neither.
    analyst, _ = staff_client(shared["federal"], "analyst")
    assert analyst.get(url).status_code == 403
    caseworker, _ = staff_client(shared["federal"], "caseworker")
    assert caseworker.post(url, {"level": hosting.pk}).status_code == 403
    other, _ = staff_client(shared["provincial"], "supervisor")
    refused = other.post(
        url, {"level": hosting.pk, "started": "2026-03-05T09:00", "ended": "2026-03-05T10:00"}
    )
    assert refused.status_code == 400  # not one of its services
    assert Outage.objects.count() == 2

    # The dashboard measures March: 90 minutes down (the overlap counted once).
    start, end = statements.month_bounds(shared["federal"], MARCH)
    (row,) = availability.availability(shared["federal"], start, end)
    assert row.down_seconds == 90 * 60 and row.outages == 2
    assert row.achieved == Decimal("0.99798") and row.met is False
    page = analyst.get("/en/backoffice/provider/dashboard/?month=2026-03").content.decode()
    assert "Availability against the service level" in page
    assert "99.798%" in page and "Missed" in page and "99.9%" in page
    assert "/backoffice/provider/outages/" not in page
    french = analyst.get("/fr/backoffice/provider/dashboard/?month=2026-03").content.decode()
    assert "Disponibilité par rapport au niveau de service" in french and "Manqué" in french
    february = analyst.get("/en/backoffice/provider/dashboard/?month=2026-02").content.decode()
    assert "100%" in february and "Met" in february


def test_availability_counts_only_the_period_and_each_level(shared, hosting):
    zone = ZoneInfo(levels.calendar_of(shared["federal"]).time_zone)
    Outage.objects.create(  # from the last hour of February to the first of March
        level=hosting,
        started_at=datetime.datetime(2026, 2, 28, 23, tzinfo=zone),
        ended_at=datetime.datetime(2026, 3, 1, 1, tzinfo=zone),
    )
    start, end = statements.month_bounds(shared["federal"], MARCH)
    (row,) = availability.availability(shared["federal"], start, end)
    assert row.down_seconds == 3600  # the hour in March only
    expected = (1 - Decimal(3600) / Decimal(row.period_seconds)).quantize(Decimal("0.00001"))
    assert row.achieved == expected
    assert row.met is False  # 99.9 % allows some 44 minutes a month
    # The provincial provider has no running service with a target.
    start, end = statements.month_bounds(shared["provincial"], MARCH)
    assert availability.availability(shared["provincial"], start, end) == []
