"""How often caseworkers' decisions depart from what the rules compute.

Delivery keeps, with each decision on an application of a service some rule package grants,
whether it followed the entitlement the rules computed (`WorkItem.follows_rules`), why not
(`rules_departure`, one of `WorkItem.RulesDeparture`) and the packages and versions that
computed it (`rules_version`). Performance sits above delivery in the import order, so it
reads those work items directly: one aggregate query whatever the number of decisions, and
one for the services' names.

Per service and version of the rules: the decisions compared with the rules, how many
departed, the share, and the count per reason. A figure resting on fewer decisions than
`PERFORMANCE_MIN_COUNT` is not shown, and when a single reason of a row is hidden the next
smallest is hidden with it, so that no hidden count can be recovered from the row's total.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Count
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from joinedup.delivery.models import WorkItem
from joinedup.federation.localization import pick
from joinedup.federation.models import Agency, Service

from . import benchmarking, charts
from .kpis import Period


@dataclass
class Row:
    """One service and version of the rules: the counts (None when suppressed)."""

    service_key: str
    service: str
    version: str
    decisions: int
    departures: int | None
    share: float | None
    #: Per reason (its words): the count, None when suppressed.
    reasons: dict[str, int | None] = field(default_factory=dict)

    @property
    def suppressed(self) -> bool:
        return self.departures is None


def _bounds(period: Period) -> tuple[datetime.datetime, datetime.datetime]:
    start = datetime.datetime.combine(period.first, datetime.time.min)
    end = datetime.datetime.combine(period.end + datetime.timedelta(days=1), datetime.time.min)
    return timezone.make_aware(start), timezone.make_aware(end)


def counts(agency: Agency, period: Period) -> dict[tuple[int, str], dict[str, int]]:
    """Raw counts (unsuppressed; for this module and its tests only): per (service id,
    version), the decisions that followed the rules ("") and that departed, per reason."""
    start, end = _bounds(period)
    rows = (
        WorkItem.objects.filter(
            agency=agency,
            status=WorkItem.Status.COMPLETED,
            follows_rules__isnull=False,
            completed_at__gte=start,
            completed_at__lt=end,
        )
        .values("application__service_id", "rules_version", "follows_rules", "rules_departure")
        .annotate(n=Count("pk"))
        .order_by()
    )
    found: dict[tuple[int, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in rows:
        key = (row["application__service_id"], row["rules_version"])
        reason = "" if row["follows_rules"] else (row["rules_departure"] or "other")
        found[key][reason] += row["n"]
    return found


def _suppress(reasons: dict[str, int], minimum: int) -> dict[str, int | None]:
    hidden = {k for k, n in reasons.items() if 0 < n < minimum}
    if len(hidden) == 1:
        shown = sorted((n, k) for k, n in reasons.items() if n > 0 and k not in hidden)
        if shown:
            hidden.add(shown[0][1])
    return {k: (None if k in hidden else n) for k, n in reasons.items()}


def report(agency: Agency, period: Period, language: str = "en") -> list[Row]:
    """The agency's decisions compared with the rules in the period, per service and version
    of the rules, small counts suppressed; ordered by service and version."""
    minimum = settings.PERFORMANCE_MIN_COUNT
    raw = counts(agency, period)
    services = {
        s.pk: s for s in Service.objects.filter(pk__in={key[0] for key in raw}).only("key", "names")
    }
    labels = dict(WorkItem.RulesDeparture.choices)
    rows = []
    for (service_id, version), by_reason in raw.items():
        service = services[service_id]
        decisions = sum(by_reason.values())
        departed = {code: by_reason.get(code, 0) for code in labels}
        total = sum(departed.values())
        row = Row(
            service_key=service.key,
            service=pick(service.names, language) or service.key,
            version=version or _("not recorded"),
            decisions=decisions,
            departures=None,
            share=None,
        )
        if not benchmarking.is_suppressed(decisions, minimum):
            row.departures = total
            row.share = total / decisions
            published = _suppress(departed, minimum)
            row.reasons = {str(labels[code]): n for code, n in published.items()}
        rows.append(row)
    rows.sort(key=lambda r: (r.service, r.version))
    return rows


def _count(n: int | None) -> str:
    return "—" if n is None else str(n)


def page(agency: Agency, period: Period, language: str = "en") -> dict:
    """The page's rows, the chart of the share departing with its data table, and the
    reasons' headers."""
    rows = report(agency, period, language)
    reasons = [str(label) for _code, label in WorkItem.RulesDeparture.choices]
    labels = [f"{row.service} — {row.version}" for row in rows]
    chart = charts.bar_chart(
        "chart-rules-departures",
        _("Decisions that depart from what the rules compute"),
        labels,
        [row.share for row in rows],
        _("Departing from the rules") + " (%)",
        _(
            "Each bar is the share of the decisions on a service, under one version of the "
            "rules, that departed from the entitlement the rules computed; a service and "
            "version with too few decisions to show has no bar."
        ),
    )
    chart.headers = [
        _("Service and version of the rules"),
        _("Departing from the rules") + " (%)",
    ]
    table = [
        {
            "service": row.service,
            "version": row.version,
            "decisions": row.decisions
            if not benchmarking.is_suppressed(row.decisions)
            else _("fewer than %(n)s") % {"n": settings.PERFORMANCE_MIN_COUNT},
            "departures": _count(row.departures),
            "share": "—" if row.share is None else f"{formats.number_format(row.share * 100, 1)} %",
            "reasons": [
                _count(row.reasons.get(label)) if row.reasons else "—" for label in reasons
            ],
        }
        for row in rows
    ]
    return {
        "agency": agency,
        "period": period,
        "rows": table,
        "reasons": reasons,
        "chart": chart,
        "min_count": settings.PERFORMANCE_MIN_COUNT,
    }
