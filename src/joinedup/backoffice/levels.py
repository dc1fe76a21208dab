"""Service levels on the provider's calendar: which level applies to a request, when the
response is due (business hours of the provider's working day) and whether a resolved
request met its level.

Resolution is the delivery clock itself (the application's standard is the level's
resolution time, counted on the delivering agency's calendar, with its pauses), so a breach
is found by the engine's own periodic check; only the response time, in hours, is counted
here.
"""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo

from django.db.models import Q

from joinedup.federation.calendars import Calendar, calendar_for
from joinedup.federation.models import Agency, Agreement, AgreementParty, Service

from .models import ServiceLevel

#: The provider's working day, in its own time zone: 08:30 to 16:30.
DAY_START = datetime.time(8, 30)
DAY_HOURS = 8

PROVIDER_ROLE = "provider"
CLIENT_ROLE = "client"


def calendar_of(agency: Agency) -> Calendar:
    """The provider's working calendar (its jurisdiction's holidays and time zone)."""
    return calendar_for(agency.jurisdiction)


def add_business_hours(
    calendar: Calendar, start: datetime.datetime, hours: int
) -> datetime.datetime:
    """`hours` working hours after `start`: only the provider's working day on its business
    days counts (a request received on Friday evening with four hours is due on Monday at
    12:30, or Tuesday when Monday is a holiday)."""
    zone = ZoneInfo(calendar.time_zone)
    local = start.astimezone(zone)
    remaining = datetime.timedelta(hours=hours)
    day = local.date()
    while True:
        opens = datetime.datetime.combine(day, DAY_START, tzinfo=zone)
        closes = opens + datetime.timedelta(hours=DAY_HOURS)
        if calendar.is_business_day(day) and local < closes:
            begin = max(local, opens)
            available = closes - begin
            if remaining <= available:
                return begin + remaining
            remaining -= available
        day += datetime.timedelta(days=1)
        local = datetime.datetime.combine(day, DAY_START, tzinfo=zone)


def working_seconds(
    calendar: Calendar,
    start: datetime.datetime,
    end: datetime.datetime,
    cap: int | None = None,
) -> int:
    """Seconds of the provider's working day (08:30–16:30 on its business days) between two
    moments, stopping at `cap` when given (a task held over a weekend counts only its working
    hours)."""
    if end <= start:
        return 0
    zone = ZoneInfo(calendar.time_zone)
    local, until = start.astimezone(zone), end.astimezone(zone)
    total = 0
    day = local.date()
    while day <= until.date() and (cap is None or total < cap):
        if calendar.is_business_day(day):
            opens = datetime.datetime.combine(day, DAY_START, tzinfo=zone)
            closes = opens + datetime.timedelta(hours=DAY_HOURS)
            begin, finish = max(local, opens), min(until, closes)
            if finish > begin:
                total += int((finish - begin).total_seconds())
        day += datetime.timedelta(days=1)
    return min(total, cap) if cap is not None else total


def agreements_between(client: Agency, day: datetime.date):
    """Shared-service agreements in force on `day` in which `client` is a client."""
    return Agreement.objects.in_force_on(day).filter(
        kind=Agreement.Kind.SHARED_SERVICE,
        parties__agency=client,
        parties__role=CLIENT_ROLE,
    )


def provider_of(agreement: Agreement) -> Agency | None:
    party = (
        AgreementParty.objects.filter(agreement=agreement, role=PROVIDER_ROLE)
        .select_related("agency", "agency__jurisdiction")
        .first()
    )
    return party.agency if party else None


def levels_for(client: Agency, day: datetime.date) -> list[ServiceLevel]:
    """The services the client may order on `day`: the levels of its agreements in force."""
    return list(
        ServiceLevel.objects.filter(agreement__in=agreements_between(client, day).values("pk"))
        .select_related("service", "agreement")
        .order_by("service__key")
    )


def level_for(client: Agency, service: Service, day: datetime.date) -> ServiceLevel | None:
    return (
        ServiceLevel.objects.filter(
            agreement__in=agreements_between(client, day).values("pk"), service=service
        )
        .select_related("agreement", "service")
        .first()
    )


def clients_of(provider: Agency, day: datetime.date | None = None) -> list[Agency]:
    """The agencies a provider serves under agreements (in force on `day`, or ever)."""
    agreements = Agreement.objects.filter(
        kind=Agreement.Kind.SHARED_SERVICE, parties__agency=provider, parties__role=PROVIDER_ROLE
    )
    if day is not None:
        agreements = agreements.filter(pk__in=Agreement.objects.in_force_on(day).values("pk"))
    return list(
        Agency.objects.filter(
            Q(agreements__agreement__in=agreements.values("pk")) & Q(agreements__role=CLIENT_ROLE)
        )
        .distinct()
        .order_by("key")
    )
