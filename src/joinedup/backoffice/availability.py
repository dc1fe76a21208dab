"""Availability of running services (hosting): outages the provider records, measured
against the availability target of each service level.

    record_outage(context, provider, level_id, "2026-03-04T09:00", "2026-03-04T10:30", "...")
    rows = availability(provider, start, end)

Times are entered in the provider's time zone. Overlapping outages of one level count once.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.utils import timezone
from django.utils.translation import gettext as _

from joinedup.federation.localization import pick
from joinedup.federation.models import Agency, Agreement
from joinedup.identity import policy
from joinedup.identity.acting import ActingContext

from . import levels
from .models import Outage, ServiceLevel

__all__ = [
    "OutageError",
    "availability",
    "downtime",
    "levels_with_target",
    "of_levels",
    "record_outage",
]


class OutageError(Exception):
    """An outage refused, with a message for the person."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def levels_with_target(provider: Agency):
    """The provider's service levels that carry an availability target (running services)."""
    return (
        ServiceLevel.objects.filter(
            availability_target__isnull=False,
            agreement__kind=Agreement.Kind.SHARED_SERVICE,
            agreement__parties__agency=provider,
            agreement__parties__role=levels.PROVIDER_ROLE,
        )
        .select_related("service", "agreement")
        .order_by("service__key", "agreement__key")
    )


def _moment(value: str, zone: ZoneInfo) -> datetime.datetime | None:
    try:
        moment = datetime.datetime.fromisoformat((value or "").strip())
    except ValueError:
        return None
    return moment.replace(tzinfo=zone) if moment.tzinfo is None else moment


def record_outage(
    context: ActingContext,
    provider: Agency,
    level_id: str,
    started: str,
    ended: str,
    description: str = "",
) -> Outage:
    """Record an outage of one of the provider's running services. Raises PolicyDenied and
    OutageError (bad input; nothing is written)."""
    policy.require(context, "backoffice.record_outage", provider)
    try:
        level = levels_with_target(provider).get(pk=int(level_id))
    except (ValueError, ServiceLevel.DoesNotExist):
        raise OutageError(
            _("Choose one of your services that has an availability target.")
        ) from None
    zone = ZoneInfo(levels.calendar_of(provider).time_zone)
    start, end = _moment(started, zone), _moment(ended, zone)
    if start is None or end is None:
        raise OutageError(_("Give when the outage began and ended, as a date and a time."))
    if end <= start:
        raise OutageError(_("The service must be available again after the outage began."))
    if end > timezone.now():
        raise OutageError(_("Record an outage once it is over: its end cannot be in the future."))
    return Outage.objects.create(
        level=level,
        started_at=start,
        ended_at=end,
        description=(description or "").strip()[:500],
        recorded_by_id=context.user_id,
    )


@dataclass
class AvailabilityRow:
    level_id: int
    label: str
    agreement: str
    target: Decimal
    period_seconds: int
    down_seconds: int
    outages: int

    @property
    def achieved(self) -> Decimal | None:
        if self.period_seconds <= 0:
            return None
        up = Decimal(self.period_seconds - self.down_seconds) / Decimal(self.period_seconds)
        return up.quantize(Decimal("0.00001"))

    @property
    def met(self) -> bool | None:
        return None if self.achieved is None else self.achieved >= self.target

    @property
    def down_minutes(self) -> int:
        return -(-self.down_seconds // 60)


def _merged(spans: list[tuple[datetime.datetime, datetime.datetime]]) -> int:
    """Seconds covered by the spans, overlaps counted once."""
    total, current = 0, None
    for begin, finish in sorted(spans):
        if current is None or begin > current[1]:
            if current is not None:
                total += int((current[1] - current[0]).total_seconds())
            current = [begin, finish]
        else:
            current[1] = max(current[1], finish)
    if current is not None:
        total += int((current[1] - current[0]).total_seconds())
    return total


def availability(
    provider: Agency, start: datetime.datetime, end: datetime.datetime
) -> list[AvailabilityRow]:
    """Each running service's availability over [start, end) against its target (two
    queries, whatever the number of outages)."""
    return of_levels(list(levels_with_target(provider)), start, end)


def downtime(
    level_ids: list[int], start: datetime.datetime, end: datetime.datetime
) -> dict[int, tuple[int, int]]:
    """For each level, the seconds it was down within [start, end) (overlapping outages
    counted once, clipped to the period) and how many outages touched it: one query."""
    spans: dict[int, list] = {level_id: [] for level_id in level_ids}
    if spans:
        for outage in Outage.objects.filter(
            level__in=level_ids, started_at__lt=end, ended_at__gt=start
        ).values("level_id", "started_at", "ended_at"):
            spans[outage["level_id"]].append(
                (max(outage["started_at"], start), min(outage["ended_at"], end))
            )
    return {level_id: (_merged(found), len(found)) for level_id, found in spans.items()}


def of_levels(
    found: list[ServiceLevel], start: datetime.datetime, end: datetime.datetime
) -> list[AvailabilityRow]:
    """The availability of these levels (each with a target) over [start, end), labelled
    with their service and agreement (loaded with them): one query for their outages."""
    down = downtime([level.pk for level in found], start, end)
    period = max(int((end - start).total_seconds()), 0)
    return [
        AvailabilityRow(
            level.pk,
            pick(level.service.names),
            pick(level.agreement.names),
            level.availability_target,
            period,
            *down[level.pk],
        )
        for level in found
    ]
