"""Chargeback: each month, each client agency's statement from its provider.

A line per service: the requests received in the month (a dispute of a statement is never
charged), how many of those resolved met the level, the charge (the sum of the prices the
requests were made at) and the service credits: for resolution when the share met fell below
the level's target, and for availability when a running service (hosting) was available less
than its availability target over the month, from the outages the provider recorded. The
figures come from one GROUP BY over the month's requests and one read of the month's
outages; everything else is arithmetic on `Decimal`, so a statement's total is, to the cent,
the sum of its requests' prices less its credits.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Count, Q, Sum
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from joinedup.delivery.applications import SubmissionError
from joinedup.federation.models import Agency
from joinedup.identity.acting import ActingContext

from . import availability
from .availability import AvailabilityRow
from .catalogue import DISPUTE_EVIDENCE
from .levels import calendar_of
from .models import Outage, Request, ServiceLevel, Statement, StatementLine, next_month
from .requests import submit_request

CENT = Decimal("0.01")


def month_bounds(provider: Agency, month: datetime.date) -> tuple[datetime.datetime, ...]:
    """The month, from midnight to midnight in the provider's time zone."""
    zone = ZoneInfo(calendar_of(provider).time_zone)
    start = datetime.datetime.combine(month.replace(day=1), datetime.time(), tzinfo=zone)
    end = datetime.datetime.combine(next_month(month), datetime.time(), tzinfo=zone)
    return start, end


@dataclass
class Line:
    level_id: int
    requests: int
    resolved: int
    within_level: int
    amount: Decimal
    credit: Decimal = Decimal("0.00")
    resolution_target: Decimal | None = None
    availability: Decimal | None = None
    availability_target: Decimal | None = None
    unavailable_minutes: int | None = None
    availability_credit: Decimal = Decimal("0.00")

    @property
    def resolution_credit(self) -> Decimal:
        return self.credit - self.availability_credit


@dataclass
class Figures:
    client_id: int
    currency: str = "CAD"
    lines: list[Line] = field(default_factory=list)

    @property
    def charges(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal("0.00"))

    @property
    def credits(self) -> Decimal:
        return sum((line.credit for line in self.lines), Decimal("0.00"))

    @property
    def total(self) -> Decimal:
        return self.charges - self.credits


def credit_for(level: ServiceLevel, line: Line) -> Decimal:
    """The level's credit rate of the line's charge, when the share met missed the target."""
    if not level.credit_rate or not line.resolved:
        return Decimal("0.00")
    if Decimal(line.within_level) >= level.target * line.resolved:
        return Decimal("0.00")
    return (line.amount * level.credit_rate).quantize(CENT, rounding=ROUND_HALF_UP)


def availability_credit_for(level: ServiceLevel, line: Line) -> Decimal:
    """The level's availability credit rate of the line's charge, when the service was
    available less than its target; never more than what the resolution credit left."""
    if (
        not level.availability_credit_rate
        or line.availability is None
        or line.availability_target is None
        or line.availability >= line.availability_target
    ):
        return Decimal("0.00")
    credit = (line.amount * level.availability_credit_rate).quantize(CENT, rounding=ROUND_HALF_UP)
    return min(credit, line.amount - line.credit)


def month_availability(
    levels: dict[int, ServiceLevel], start: datetime.datetime, end: datetime.datetime
) -> dict[int, AvailabilityRow]:
    """Each running service's availability over the month (one read of its outages)."""
    running = [level for level in levels.values() if level.availability_target is not None]
    down = availability.downtime([level.pk for level in running], start, end)
    period = max(int((end - start).total_seconds()), 0)
    return {
        level.pk: AvailabilityRow(
            level.pk, "", "", level.availability_target, period, *down[level.pk]
        )
        for level in running
    }


def month_figures(
    month: datetime.date, provider: Agency | None = None, zone: str | None = None
) -> dict[tuple[int, int], Figures]:
    """Every (provider, client) statement of the month, from one GROUP BY.

    `provider`: one provider's; else every provider's, with the month taken in `zone` (the
    benchmark's case; a real run is per provider, in its own time zone)."""
    if provider is not None:
        start, end = month_bounds(provider, month)
    else:
        tz = ZoneInfo(zone or timezone.get_current_timezone_name())
        start = datetime.datetime.combine(month, datetime.time(), tzinfo=tz)
        end = datetime.datetime.combine(next_month(month), datetime.time(), tzinfo=tz)
    rows = Request.objects.filter(
        submitted_at__gte=start, submitted_at__lt=end, disputes__isnull=True
    )
    if provider is not None:
        rows = rows.filter(provider=provider)
    grouped = (
        rows.values("provider_id", "client_id", "level_id")
        .annotate(
            n=Count("pk"),
            resolved=Count("pk", filter=Q(application__met_standard__isnull=False)),
            within=Count("pk", filter=Q(application__met_standard=True)),
            amount=Sum("unit_price"),
        )
        .order_by("provider_id", "client_id", "level_id")
    )
    levels: dict[int, ServiceLevel] = {}
    figures: dict[tuple[int, int], Figures] = defaultdict(lambda: Figures(0))
    for row in grouped:
        level = levels.get(row["level_id"])
        if level is None:
            level = ServiceLevel.objects.only(
                "target",
                "credit_rate",
                "currency",
                "availability_target",
                "availability_credit_rate",
            ).get(pk=row["level_id"])
            levels[level.pk] = level
        line = Line(
            row["level_id"],
            row["n"],
            row["resolved"],
            row["within"],
            Decimal(row["amount"] or 0).quantize(CENT),
            resolution_target=level.target,
        )
        line.credit = credit_for(level, line)
        statement = figures[(row["provider_id"], row["client_id"])]
        statement.client_id = row["client_id"]
        statement.currency = level.currency
        statement.lines.append(line)
    running = month_availability(levels, start, end)
    for statement in figures.values():
        for line in statement.lines:
            measured = running.get(line.level_id)
            if measured is None:
                continue
            line.availability = measured.achieved
            line.availability_target = measured.target
            line.unavailable_minutes = measured.down_minutes
            line.availability_credit = availability_credit_for(levels[line.level_id], line)
            line.credit += line.availability_credit
    return dict(figures)


@transaction.atomic
def issue_statements(provider: Agency, month: datetime.date) -> list[Statement]:
    """Write the month's statements of a provider (once: an issued statement stays as it
    was issued, whatever happens to its requests later)."""
    month = month.replace(day=1)
    done = set(
        Statement.objects.filter(provider=provider, month=month).values_list("client_id", flat=True)
    )
    pending = [
        figures
        for (_provider, client_id), figures in month_figures(month, provider).items()
        if client_id not in done
    ]
    # Two INSERTs whatever the number of clients: the statements, then all their lines.
    issued = Statement.objects.bulk_create(
        Statement(
            provider=provider,
            client_id=figures.client_id,
            month=month,
            currency=figures.currency,
            charges=figures.charges,
            credits=figures.credits,
            total=figures.total,
        )
        for figures in pending
    )
    StatementLine.objects.bulk_create(
        StatementLine(
            statement=statement,
            level_id=line.level_id,
            requests=line.requests,
            resolved=line.resolved,
            within_level=line.within_level,
            amount=line.amount,
            credit=line.credit,
            resolution_target=line.resolution_target,
            availability=line.availability,
            availability_target=line.availability_target,
            unavailable_minutes=line.unavailable_minutes,
            availability_credit=line.availability_credit,
        )
        for statement, figures in zip(issued, pending, strict=True)
        for line in figures.lines
    )
    return issued


def requests_of(statement: Statement):
    """The requests a statement charges for (what it reconciles with)."""
    start, end = month_bounds(statement.provider, statement.month)
    return Request.objects.filter(
        provider=statement.provider,
        client=statement.client,
        submitted_at__gte=start,
        submitted_at__lt=end,
        disputes__isnull=True,
    )


class StatementError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def _open_line(line: StatementLine) -> StatementLine:
    locked = StatementLine.objects.select_for_update().get(pk=line.pk)
    if locked.status != StatementLine.Status.OPEN:
        raise StatementError("answered", _("This line was already acknowledged or disputed."))
    return locked


@transaction.atomic
def acknowledge(context: ActingContext, line: StatementLine) -> StatementLine:
    locked = _open_line(line)
    locked.status = StatementLine.Status.ACKNOWLEDGED
    locked.responded_at = timezone.now()
    locked.responded_by_id = context.user_id
    locked.save(update_fields=["status", "responded_at", "responded_by"])
    return locked


def dispute_service(statement: Statement):
    """The provider's service for disputes in the client's agreement (by what it produces)."""
    levels = (
        ServiceLevel.objects.filter(agreement__parties__agency=statement.client)
        .filter(agreement__parties__agency=statement.provider)
        .select_related("service", "agreement")
    )
    for level in levels:
        if DISPUTE_EVIDENCE in (level.service.evidence or []):
            return level.service
    return None


@transaction.atomic
def dispute(context: ActingContext, line: StatementLine, reason: str) -> Request:
    """Dispute a line: a request of its own to the provider, worked in its queues."""
    reason = (reason or "").strip()
    if not reason:
        raise StatementError("no_reason", _("Say why you dispute this line."))
    locked = _open_line(line)
    statement = locked.statement
    service = dispute_service(statement)
    if service is None:
        raise StatementError(
            "no_dispute_service",
            _("The agreement names no service for disputes: contact the provider."),
        )
    try:
        request, _created = submit_request(
            context,
            statement.client,
            service.key,
            {"reason": reason[:2000], "line": str(locked.pk)},
            disputes=locked,
        )
    except SubmissionError as error:
        raise StatementError(error.code, error.message) from None
    locked.status = StatementLine.Status.DISPUTED
    locked.responded_at = timezone.now()
    locked.responded_by_id = context.user_id
    locked.save(update_fields=["status", "responded_at", "responded_by"])
    return request


@dataclass
class CreditReason:
    """Why a line has credits: its share resolved within the level below the target, its
    service available less than its target (with the month's outages), or both."""

    line: StatementLine
    resolution_target: Decimal | None
    outages: list[Outage]


def credit_reasons(statement: Statement, lines: list[StatementLine]) -> list[CreditReason]:
    """The reasons for the statement's credits, line by line (lines loaded with their level
    and service; one query for the outages of the month of the lines with an availability
    credit)."""
    credited = [line for line in lines if line.credit]
    running = [line.level_id for line in credited if line.availability_credit]
    outages: dict[int, list[Outage]] = defaultdict(list)
    if running:
        start, end = month_bounds(statement.provider, statement.month)
        for outage in Outage.objects.filter(
            level__in=running, started_at__lt=end, ended_at__gt=start
        ).order_by("started_at"):
            outages[outage.level_id].append(outage)
    return [
        CreditReason(
            line,
            line.target_issued if line.resolution_credit else None,
            outages[line.level_id],
        )
        for line in credited
    ]


def statement_context(statement: Statement, lines: list[StatementLine]) -> dict:
    """What the statement's page and PDF show besides the statement and its lines."""
    return {
        "reasons": credit_reasons(statement, lines),
        "time_zone": calendar_of(statement.provider).time_zone,
    }


def render_pdf(statement: Statement, lines: list[StatementLine], language: str) -> bytes:
    """The statement as an accessible PDF (PDF/UA-1, tagged, in the reader's language)."""
    import weasyprint  # 0.4 s to import (Pango, fonts): only a process rendering PDFs pays it

    with translation.override(language):
        html = render_to_string(
            "backoffice/statement_pdf.html",
            {
                "statement": statement,
                "lines": lines,
                "language": language,
                **statement_context(statement, lines),
            },
        )
    return weasyprint.HTML(string=html).write_pdf(pdf_variant="pdf/ua-1")
