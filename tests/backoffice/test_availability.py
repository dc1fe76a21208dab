"""Availability of running services: the provider records outages, the dashboard measures
each running service's availability against the level's target, and a month below the
target gives the client the agreement's availability credit on its statement."""

from __future__ import annotations

import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.template.loader import render_to_string
from django.test import Client
from django.utils import translation

from joinedup.backoffice import availability, levels, statements
from joinedup.backoffice.models import Outage, ServiceLevel
from joinedup.backoffice.requests import submit_request
from joinedup.delivery.models import Application
from joinedup.identity import tokens

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


def _hosting_orders(make_staff, shared, met: list[bool]) -> None:
    """ESDC orders the federal provider's hosting in March, resolved within the level or not."""
    requester = make_staff(shared["department"], "service_requester")
    for day, within in enumerate(met, start=2):
        request, _ = submit_request(
            requester,
            shared["department"],
            "ca.hosting",
            {"details": f"Environment {day}"},
            at=datetime.datetime(2026, 3, day, 11, tzinfo=ZoneInfo("America/Toronto")),
        )
        Application.objects.filter(pk=request.pk).update(met_standard=within, status="approved")


def _outage(level, zone, day: int, start: str, end: str, what: str = "") -> Outage:
    def at(hour_minute: str) -> datetime.datetime:
        hour, minute = (int(part) for part in hour_minute.split(":"))
        return datetime.datetime(2026, 3, day, hour, minute, tzinfo=zone)

    return Outage.objects.create(
        level=level, started_at=at(start), ended_at=at(end), description=what
    )


def test_outages_below_the_target_give_an_availability_credit_on_the_statement(
    shared, hosting, make_staff, staff_client
):
    hosting.target = Decimal("0.900")
    hosting.credit_rate = Decimal("0.100")
    hosting.availability_credit_rate = Decimal("0.150")
    hosting.save()
    zone = ZoneInfo(levels.calendar_of(shared["federal"]).time_zone)
    # Two of three resolved within the level (67 % < 90 %): 10 % of the charge.
    _hosting_orders(make_staff, shared, [True, True, False])
    # 90 minutes down in March (the overlap once): 99.798 % < 99.9 %: 15 % of the charge.
    _outage(hosting, zone, 4, "09:00", "10:00", "Storage controller failed")
    _outage(hosting, zone, 4, "09:30", "10:30")
    # April's outage is not March's.
    Outage.objects.create(
        level=hosting,
        started_at=datetime.datetime(2026, 4, 1, 0, 0, tzinfo=zone),
        ended_at=datetime.datetime(2026, 4, 2, 0, 0, tzinfo=zone),
    )
    (statement,) = statements.issue_statements(shared["federal"], MARCH)
    line = statement.lines.get()
    assert line.amount == Decimal("3600.00")
    assert line.availability == Decimal("0.99798")
    assert line.availability_target == Decimal("0.9990")
    assert line.unavailable_minutes == 90
    assert line.availability_credit == Decimal("540.00")
    assert line.resolution_credit == Decimal("360.00")
    assert line.credit == Decimal("900.00")
    assert statement.credits == Decimal("900.00")
    assert statement.total == Decimal("2700.00")
    assert statement.charges == sum(r.unit_price for r in statements.requests_of(statement))

    # The client reads why, in words, with the outages in the provider's time zone.
    browser, _ = staff_client(shared["department"], "supervisor")
    page = browser.get(f"/en/backoffice/statements/{statement.pk}/").content.decode()
    assert "Why there are service credits" in page
    assert (
        "2 of the 3 requests resolved were resolved within the service level (66.7%), "
        "below the target of 90%: $360.00 is credited." in page
    )
    assert (
        "The service was available 99.798% of the month (90 minutes unavailable), below the "
        "availability target of 99.9%: $540.00 is credited." in page
    )
    assert "Storage controller failed" in page
    assert "March 4, 2026, 9 a.m." in page  # the provider's time, not UTC
    french = browser.get(f"/fr/backoffice/statements/{statement.pk}/").content.decode()
    assert "Pourquoi il y a des crédits de service" in french
    assert "99,798\u00a0%" in french and "540,00" in french
    pdf = browser.get(f"/fr/backoffice/statements/{statement.pk}/pdf/")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    with translation.override("en"):
        html = render_to_string(
            "backoffice/statement_pdf.html",
            {
                "statement": statement,
                "lines": [line],
                "language": "en",
                **statements.statement_context(statement, [line]),
            },
        )
    assert "Why there are service credits" in html and "Storage controller failed" in html

    # The API splits the credits.
    _client, secret = tokens.create_api_client(
        shared["department"], name="Finance", role="supervisor", scopes=("read",)
    )
    data = (
        Client()
        .get(f"/api/v1/backoffice/statements/{statement.pk}", HTTP_AUTHORIZATION=f"Bearer {secret}")
        .json()
    )
    assert Decimal(data["credits"]) == Decimal("900.00")
    assert Decimal(data["resolution_credits"]) == Decimal("360.00")
    assert Decimal(data["availability_credits"]) == Decimal("540.00")
    (api_line,) = data["lines"]
    assert Decimal(api_line["availability_credit"]) == Decimal("540.00")
    assert Decimal(api_line["resolution_credit"]) == Decimal("360.00")
    assert Decimal(api_line["availability"]) == Decimal("0.99798")
    assert api_line["unavailable_minutes"] == 90
    assert Decimal(api_line["resolution_target"]) == Decimal("0.900")

    # The agreement's levels change later: the issued statement keeps the targets it was
    # issued with (page, PDF and API), its credits unchanged.
    hosting.target = Decimal("0.500")
    hosting.availability_target = Decimal("0.9900")
    hosting.save()
    line.refresh_from_db()
    assert line.resolution_target == Decimal("0.900") and line.credit == Decimal("900.00")
    page = browser.get(f"/en/backoffice/statements/{statement.pk}/").content.decode()
    assert "below the target of 90%: $360.00 is credited." in page
    assert "availability target of 99.9%: $540.00 is credited." in page
    data = (
        Client()
        .get(f"/api/v1/backoffice/statements/{statement.pk}", HTTP_AUTHORIZATION=f"Bearer {secret}")
        .json()
    )
    assert Decimal(data["lines"][0]["resolution_target"]) == Decimal("0.900")
    assert Decimal(data["lines"][0]["availability_target"]) == Decimal("0.9990")


def test_no_availability_credit_when_the_target_is_met_and_never_more_than_the_charge(
    shared, hosting, make_staff
):
    hosting.availability_credit_rate = Decimal("0.600")
    hosting.credit_rate = Decimal("0.600")
    hosting.save()
    zone = ZoneInfo(levels.calendar_of(shared["federal"]).time_zone)
    _hosting_orders(make_staff, shared, [False])
    _outage(hosting, zone, 5, "02:00", "02:30")  # 30 minutes: 99.933 %, the target is met
    (line,) = statements.month_figures(MARCH, shared["federal"])[
        (shared["federal"].pk, shared["department"].pk)
    ].lines
    assert line.availability == Decimal("0.99933") and line.availability_credit == 0
    assert line.credit == Decimal("720.00")  # resolution only
    _outage(hosting, zone, 6, "02:00", "04:00")
    (line,) = statements.month_figures(MARCH, shared["federal"])[
        (shared["federal"].pk, shared["department"].pk)
    ].lines
    # 60 % + 60 % of the charge: credited up to the charge, never below nothing due.
    assert line.credit == line.amount == Decimal("1200.00")
    assert line.availability_credit == Decimal("480.00")
    # A service without an availability target has no availability on its line.
    onboarding = statements.month_figures(MARCH, shared["provincial"])
    assert all(line.availability is None for f in onboarding.values() for line in f.lines)
