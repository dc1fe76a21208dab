"""A provider's dashboard: volumes, backlog, service levels met per client and per service,
charges against the forecast, client satisfaction; and the same figures for every provider,
side by side (benchmarking). One GROUP BY each, whatever the number of requests.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Avg, Count, Q, Sum
from django.db.models.functions import TruncDate
from django.utils.translation import gettext as _

from joinedup.delivery.models import CLOSED_STATUSES
from joinedup.federation.localization import pick
from joinedup.federation.models import Agency
from joinedup.performance import charts, costs

from .models import Request, ServiceLevel


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


@dataclass
class Recovery:
    charged: Decimal
    cost: Decimal
    currency: str

    @property
    def share(self) -> Decimal | None:
        return (self.charged / self.cost).quantize(Decimal("0.001")) if self.cost else None


def cost_recovery(provider: Agency, start, end) -> Recovery:
    """What the provider charged its clients against what the requests cost it, priced with
    `performance`'s channel unit costs where the provider is (one GROUP BY per channel and
    day; staff time is not yet counted per request)."""
    rows = Request.objects.filter(provider=provider, submitted_at__gte=start, submitted_at__lt=end)
    charged = rows.aggregate(total=Sum("unit_price"))["total"] or Decimal(0)
    place = provider.jurisdiction.code if provider.jurisdiction_id else ""
    unit_costs = costs.UnitCosts()
    cents = 0
    for row in (
        rows.annotate(day=TruncDate("submitted_at"))
        .values("application__channel", "day")
        .annotate(n=Count("pk"))
        .order_by()
    ):
        cents += row["n"] * unit_costs.cost(place, row["application__channel"], row["day"])
    currency = costs.Currencies().of(place) or "CAD"
    return Recovery(Decimal(charged), Decimal(cents) / 100, currency)
