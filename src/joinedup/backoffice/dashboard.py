"""A provider's dashboard: volumes, backlog, service levels met per client and per service,
charges against the forecast and against the cost (cost recovery), client satisfaction; and
the same figures for every provider, side by side (benchmarking). A fixed number of queries,
whatever the number of requests.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

from django.db.models import Avg, Count, Q, Sum
from django.db.models.functions import TruncDate
from django.utils.translation import gettext as _

from joinedup.delivery.models import CLOSED_STATUSES, WorkItem
from joinedup.federation.localization import pick
from joinedup.federation.models import Agency, Offering, Service
from joinedup.performance import charts, costs, measures
from joinedup.performance.models import OverheadPool, SurveyResponse, Transaction

from . import levels
from .models import ClientSurveyAnswer, Request, ServiceLevel, TimeEntry, next_month


@dataclass
class Row:
    label: str
    requests: int
    backlog: int
    resolved: int
    within: int
    charged: Decimal
    forecast: int
    satisfaction: float | None

    @property
    def met_share(self) -> float | None:
        return round(self.within / self.resolved, 3) if self.resolved else None


def _aggregate(rows, *keys: str):
    return (
        rows.values(*keys)
        .annotate(
            n=Count("pk"),
            backlog=Count("pk", filter=~Q(application__status__in=list(CLOSED_STATUSES))),
            resolved=Count("pk", filter=Q(application__met_standard__isnull=False)),
            within=Count("pk", filter=Q(application__met_standard=True)),
            charged=Sum("unit_price"),
            satisfaction=Avg("satisfaction"),
        )
        .order_by(*keys)
    )


def by_client(provider: Agency, start, end) -> list[Row]:
    names = {a.pk: a.name for a in Agency.objects.filter(pk__in=_clients(provider))}
    rows = Request.objects.filter(provider=provider, submitted_at__gte=start, submitted_at__lt=end)
    return [
        Row(
            names.get(r["client_id"], ""),
            r["n"],
            r["backlog"],
            r["resolved"],
            r["within"],
            r["charged"] or Decimal(0),
            0,
            r["satisfaction"],
        )
        for r in _aggregate(rows, "client_id")
    ]


def _clients(provider: Agency):
    return Request.objects.filter(provider=provider).values("client_id")


def by_service(provider: Agency, start, end) -> list[Row]:
    rows = Request.objects.filter(provider=provider, submitted_at__gte=start, submitted_at__lt=end)
    levels = {
        level.pk: level
        for level in ServiceLevel.objects.filter(pk__in=rows.values("level_id")).select_related(
            "service"
        )
    }
    merged: dict[str, Row] = {}
    for r in _aggregate(rows, "level_id"):
        level = levels[r["level_id"]]
        label = pick(level.service.names)
        row = merged.setdefault(label, Row(label, 0, 0, 0, 0, Decimal(0), 0, None))
        row.requests += r["n"]
        row.backlog += r["backlog"]
        row.resolved += r["resolved"]
        row.within += r["within"]
        row.charged += r["charged"] or Decimal(0)
        row.forecast += level.forecast_monthly_volume
        if r["satisfaction"] is not None:
            row.satisfaction = r["satisfaction"]
    return list(merged.values())


def across_providers(start, end) -> list[Row]:
    """Every provider's figures over the same period (benchmarking)."""
    rows = Request.objects.filter(submitted_at__gte=start, submitted_at__lt=end)
    names = {a.pk: a.name for a in Agency.objects.filter(kind=Agency.Kind.SHARED_SERVICES)}
    return [
        Row(
            names.get(r["provider_id"], ""),
            r["n"],
            r["backlog"],
            r["resolved"],
            r["within"],
            r["charged"] or Decimal(0),
            0,
            r["satisfaction"],
        )
        for r in _aggregate(rows, "provider_id")
    ]


def level_chart(chart_id: str, title: str, rows: list[Row]) -> charts.Chart:
    """Share of resolved requests within the level, one bar per row, with its table."""
    met = [r for r in rows if r.met_share is not None]
    best = max(met, key=lambda r: r.met_share) if met else None
    summary = (
        _("%(name)s met its level most often: %(share).0f %% of resolved requests.")
        % {"name": best.label, "share": best.met_share * 100}
        if best
        else _("No request has been resolved in this period.")
    )
    return charts.bar_chart(
        chart_id,
        title,
        [r.label for r in rows],
        [r.met_share for r in rows],
        _("Resolved within the level (%)"),
        summary,
    )


#: A task's staff time counts at most one working day (a task left claimed over days is
#: not days of work).
TASK_CAP_SECONDS = levels.DAY_HOURS * 3600


@dataclass
class Recovery:
    """What the provider charged for a service, a client (or in all) against what the requests
    cost it: channel unit costs, staff time at the provider's hourly staff cost and the
    provider's overheads apportioned to the requests."""

    label: str
    requests: int
    charged: Decimal
    channel_cost: Decimal
    staff_seconds: int
    staff_cost: Decimal
    currency: str
    overhead: Decimal = Decimal(0)

    @property
    def cost(self) -> Decimal:
        return self.channel_cost + self.staff_cost + self.overhead

    @property
    def staff_hours(self) -> Decimal:
        return (Decimal(self.staff_seconds) / 3600).quantize(Decimal("0.1"))

    @property
    def share(self) -> Decimal | None:
        return (self.charged / self.cost).quantize(Decimal("0.001")) if self.cost else None

    @property
    def cost_per_request(self) -> Decimal | None:
        return (self.cost / self.requests).quantize(Decimal("0.01")) if self.requests else None


def _cents(amount: int) -> Decimal:
    return Decimal(amount) / 100


@dataclass
class _Cost:
    """What one client's requests for one level, received in one month, charged and cost
    (whole cents; staff time in seconds)."""

    n: int = 0
    charged: Decimal = Decimal(0)
    channel: int = 0
    seconds: int = 0
    staff: int = 0
    overhead: int = 0


def _month_of(calendar: levels.Calendar, moment) -> datetime.date:
    return calendar.local_date(moment).replace(day=1)


def _direct_costs(provider: Agency, start, end) -> dict[tuple[int, int, datetime.date], _Cost]:
    """Channel unit costs and staff time of the provider's requests received in the period,
    per (client, level, month received), in a fixed number of queries."""
    rows = Request.objects.filter(provider=provider, submitted_at__gte=start, submitted_at__lt=end)
    place = provider.jurisdiction.code if provider.jurisdiction_id else ""
    calendar = levels.calendar_of(provider)
    zone = ZoneInfo(calendar.time_zone)
    unit_costs, rates = costs.UnitCosts(), costs.StaffRates()
    found: dict[tuple[int, int, datetime.date], _Cost] = defaultdict(_Cost)
    for row in (
        rows.annotate(day=TruncDate("submitted_at", tzinfo=zone))
        .values("client_id", "level_id", "application__channel", "day")
        .annotate(n=Count("pk"), charged=Sum("unit_price"))
        .order_by()
    ):
        entry = found[(row["client_id"], row["level_id"], row["day"].replace(day=1))]
        entry.n += row["n"]
        entry.charged += row["charged"] or Decimal(0)
        entry.channel += row["n"] * unit_costs.cost(place, row["application__channel"], row["day"])
    recorded = TimeEntry.objects.filter(request__in=rows, task__agency=provider)
    for entry_row in recorded.values(
        "request__client_id", "request__level_id", "request__submitted_at", "minutes", "logged_at"
    ):
        seconds = entry_row["minutes"] * 60
        entry = found[
            (
                entry_row["request__client_id"],
                entry_row["request__level_id"],
                _month_of(calendar, entry_row["request__submitted_at"]),
            )
        ]
        entry.seconds += seconds
        entry.staff += rates.cost(
            provider.key, seconds, calendar.local_date(entry_row["logged_at"])
        )
    prefix = "application__shared_request__"
    for task in (
        WorkItem.objects.filter(
            application__shared_request__in=rows,
            agency=provider,
            status=WorkItem.Status.COMPLETED,
            completed_at__isnull=False,
        )
        .exclude(pk__in=recorded.values("task_id"))
        .values(
            f"{prefix}client_id",
            f"{prefix}level_id",
            f"{prefix}submitted_at",
            "claimed_at",
            "created_at",
            "completed_at",
        )
    ):
        began = task["claimed_at"] or task["created_at"]
        seconds = levels.working_seconds(calendar, began, task["completed_at"], TASK_CAP_SECONDS)
        entry = found[
            (
                task[f"{prefix}client_id"],
                task[f"{prefix}level_id"],
                _month_of(calendar, task[f"{prefix}submitted_at"]),
            )
        ]
        entry.seconds += seconds
        entry.staff += rates.cost(provider.key, seconds, calendar.local_date(task["completed_at"]))
    handled = {
        txn["source"].removeprefix("application:"): txn
        for txn in Transaction.objects.filter(
            agency=provider.key, handle_seconds__gt=0, source__startswith="application:"
        ).values("source", "handle_seconds", "handle_cost")
    }
    if handled:
        for pk, client_id, level_id, submitted_at in rows.filter(pk__in=list(handled)).values_list(
            "pk", "client_id", "level_id", "submitted_at"
        ):
            entry = found[(client_id, level_id, _month_of(calendar, submitted_at))]
            entry.seconds += handled[str(pk)]["handle_seconds"]
            entry.staff += handled[str(pk)]["handle_cost"]
    return found


def _split_cents(amount: Fraction, weights: dict) -> dict:
    """Whole cents for each key, in proportion to its weight, adding up to `amount` rounded
    half up (largest remainders take the cents left; ties by key order)."""
    total = sum(weights.values())
    if total <= 0 or amount <= 0:
        return {}
    exact = {key: amount * weight / total for key, weight in weights.items()}
    whole = {key: int(value) for key, value in exact.items()}
    left = int(sum(exact.values()) + Fraction(1, 2)) - sum(whole.values())
    for key in sorted(exact, key=lambda k: (-(exact[k] - whole[k]), str(k)))[:left]:
        whole[key] += 1
    return whole


def _add_overheads(provider: Agency, start, end, found: dict) -> None:
    """Each of the provider's overhead pools (`performance`'s `OverheadPool`, per month and
    basis) apportioned to the requests received in its month, by their number (basis
    transactions) or their staff time (basis handle time), in whole cents that add up to the
    pool. A period covering only part of a month gets its requests' part of the pool."""
    calendar = levels.calendar_of(provider)
    first = calendar.local_date(start).replace(day=1)
    last = calendar.local_date(end - datetime.timedelta(microseconds=1)).replace(day=1)
    months = []
    while first <= last:
        months.append(first)
        first = next_month(first)
    pools = costs.overhead_pools(months, [provider.key])
    if not pools:
        return
    month_start = datetime.datetime.combine(
        months[0], datetime.time(), tzinfo=ZoneInfo(calendar.time_zone)
    )
    month_end = datetime.datetime.combine(
        next_month(months[-1]), datetime.time(), tzinfo=ZoneInfo(calendar.time_zone)
    )
    whole = found
    if (month_start, month_end) != (start, end):
        whole = _direct_costs(provider, month_start, month_end)
    basis = {
        OverheadPool.Basis.TRANSACTIONS: lambda cost: cost.n,
        OverheadPool.Basis.HANDLE_TIME: lambda cost: cost.seconds,
    }
    for (_agency, month, pool_basis), amount in pools.items():
        weight = basis.get(pool_basis)
        if weight is None:
            continue
        of_month = {key: weight(cost) for key, cost in whole.items() if key[2] == month}
        total = sum(of_month.values())
        if not total:
            continue
        in_period = {key: weight(found[key]) for key in of_month if key in found}
        part = Fraction(amount * sum(in_period.values()), total)
        for key, cents in _split_cents(part, in_period).items():
            found[key].overhead += cents


def _recovery(provider: Agency, start, end, label_of) -> list[Recovery]:
    found = _direct_costs(provider, start, end)
    _add_overheads(provider, start, end, found)
    place = provider.jurisdiction.code if provider.jurisdiction_id else ""
    currency = costs.Currencies().of(place) or "CAD"
    labels = label_of({key[:2] for key in found})
    merged: dict[str, Recovery] = {}
    for key, entry in found.items():
        label = labels.get(key[:2], "")
        row = merged.setdefault(
            label, Recovery(label, 0, Decimal(0), Decimal(0), 0, Decimal(0), currency)
        )
        row.requests += entry.n
        row.charged += entry.charged
        row.channel_cost += _cents(entry.channel)
        row.staff_seconds += entry.seconds
        row.staff_cost += _cents(entry.staff)
        row.overhead += _cents(entry.overhead)
    return sorted(merged.values(), key=lambda r: r.label)


def recovery_by_service(provider: Agency, start, end) -> list[Recovery]:
    """Cost recovery per service of the requests received in the period: the provider's full
    cost of them, with `performance`'s costs (a fixed number of queries, whatever the number
    of requests):

    - channel unit costs where the provider is, on the day each request was received (one
      GROUP BY per client, level, channel and day);
    - staff time on the provider's tasks of the requests: the minutes its staff recorded on a
      task (`timesheets`), else, for a completed task nobody recorded time on, from claimed
      (or created) to completed, in the provider's working hours, at most one working day;
    - staff handle time `performance` recorded on the requests (interactions that touched
      them: calls, visits);
    both priced at the provider's hourly staff cost on the day (`performance`'s staff rates);
    - the provider's overheads (`performance`'s overhead pools) apportioned to the requests
      of each pool's month (`_add_overheads`).
    """

    def names(keys):
        return {
            (client_id, level.pk): pick(level.service.names)
            for level in ServiceLevel.objects.filter(pk__in={k[1] for k in keys}).select_related(
                "service"
            )
            for client_id in {k[0] for k in keys if k[1] == level.pk}
        }

    return _recovery(provider, start, end, names)


def recovery_by_client(provider: Agency, start, end) -> list[Recovery]:
    """The same full cost, per client agency (what each client's requests cost the provider
    against what it was charged)."""

    def names(keys):
        agencies = {a.pk: a.name for a in Agency.objects.filter(pk__in={k[0] for k in keys})}
        return {key: agencies.get(key[0], "") for key in keys}

    return _recovery(provider, start, end, names)


def total(rows: list[Recovery], label: str = "", currency: str = "CAD") -> Recovery:
    """The rows added up (the provider's cost recovery in all)."""
    return Recovery(
        label,
        sum(r.requests for r in rows),
        sum((r.charged for r in rows), Decimal(0)),
        sum((r.channel_cost for r in rows), Decimal(0)),
        sum(r.staff_seconds for r in rows),
        sum((r.staff_cost for r in rows), Decimal(0)),
        rows[0].currency if rows else currency,
        sum((r.overhead for r in rows), Decimal(0)),
    )


def cost_recovery(provider: Agency, start, end) -> Recovery:
    """The provider's cost recovery over the period, all services together."""
    return total(recovery_by_service(provider, start, end))


# --- Client satisfaction: performance's survey, asked of client agencies -------------------


#: A client agency's survey figures are shown from this many answers; below, they are
#: suppressed (a small agency's few answers could point to the person who gave them).
SURVEY_MIN_ANSWERS = 5


@dataclass
class SurveyRow:
    """Answers to the satisfaction survey (per service, per provider, or per client agency),
    on `performance`'s 0–100 scale."""

    label: str
    responses: int = 0
    total: int = 0
    timely_total: int = 0
    timely_count: int = 0
    suppressed: bool = False

    @property
    def satisfaction(self) -> float | None:
        return measures.satisfaction_score(self.total, self.responses)

    @property
    def timeliness(self) -> float | None:
        return measures.satisfaction_score(self.timely_total, self.timely_count)


def _offered(provider: Agency | None = None):
    """(service key, delivering jurisdiction code) → (provider id, service names) of shared
    services, for one provider or all."""
    offerings = Offering.objects.filter(
        service__client_type=Service.ClientType.AGENCY, agency__kind=Agency.Kind.SHARED_SERVICES
    )
    if provider is not None:
        offerings = offerings.filter(agency=provider)
    return {
        (key, code or ""): (agency_id, names)
        for key, code, agency_id, names in offerings.values_list(
            "service__key", "agency__jurisdiction__code", "agency_id", "service__names"
        )
    }


def _survey_groups(offered: dict, first, last):
    return (
        SurveyResponse.objects.filter(
            service_key__in={key for key, _code in offered}, month__gte=first, month__lte=last
        )
        .values("service_key", "jurisdiction")
        .annotate(
            n=Count("pk"),
            total=Sum("satisfaction"),
            timely_total=Sum("timeliness"),
            timely_count=Count("timeliness"),
        )
        .order_by()
    )


def _add(row: SurveyRow, group: dict) -> None:
    row.responses += group["n"]
    row.total += group["total"] or 0
    row.timely_total += group["timely_total"] or 0
    row.timely_count += group["timely_count"]


def survey_by_service(provider: Agency, first, last) -> list[SurveyRow]:
    """The provider's client agencies' answers per service, months `first` to `last`."""
    offered = _offered(provider)
    rows: dict[str, SurveyRow] = {}
    for group in _survey_groups(offered, first, last):
        found = offered.get((group["service_key"], group["jurisdiction"]))
        if found is None:
            continue
        label = pick(found[1])
        _add(rows.setdefault(label, SurveyRow(label)), group)
    return sorted(rows.values(), key=lambda r: r.label)


def survey_across_providers(first, last) -> list[SurveyRow]:
    """Every provider's answers over the same months (benchmarking)."""
    offered = _offered()
    names = {a.pk: a.name for a in Agency.objects.filter(kind=Agency.Kind.SHARED_SERVICES)}
    rows: dict[int, SurveyRow] = {}
    for group in _survey_groups(offered, first, last):
        found = offered.get((group["service_key"], group["jurisdiction"]))
        if found is None:
            continue
        _add(rows.setdefault(found[0], SurveyRow(names.get(found[0], ""))), group)
    return sorted(rows.values(), key=lambda r: r.label)


def survey_by_client(provider: Agency, first, last) -> list[SurveyRow]:
    """The provider's client agencies' answers per client agency, months `first` to `last`
    (one GROUP BY). A client with fewer than `SURVEY_MIN_ANSWERS` answers is suppressed (its
    figures are not given); when only one client is suppressed, the next smallest is too, so
    the suppressed figures cannot be worked out from the provider's totals."""
    groups = list(
        ClientSurveyAnswer.objects.filter(provider=provider, month__gte=first, month__lte=last)
        .values("client_id")
        .annotate(
            n=Count("pk"),
            total=Sum("satisfaction"),
            timely_total=Sum("timeliness"),
            timely_count=Count("timeliness"),
        )
        .order_by()
    )
    names = {a.pk: a.name for a in Agency.objects.filter(pk__in=[g["client_id"] for g in groups])}
    rows = []
    for group in groups:
        row = SurveyRow(names.get(group["client_id"], ""))
        _add(row, group)
        row.suppressed = row.responses < SURVEY_MIN_ANSWERS
        rows.append(row)
    hidden = [r for r in rows if r.suppressed]
    shown = sorted((r for r in rows if not r.suppressed), key=lambda r: r.responses)
    if len(hidden) == 1 and shown:
        shown[0].suppressed = True
    for row in rows:
        if row.suppressed:
            row.responses = row.total = row.timely_total = row.timely_count = 0
    return sorted(rows, key=lambda r: r.label)
