"""What each performance page shows: figures, names and charts, ready for the templates."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from joinedup.federation.localization import pick
from joinedup.federation.models import Agency, Channel, Jurisdiction, Service

from . import benchmarking, charts, kpis, surveys
from .models import PeerGroup, SurveyResponse

MEASURES = {
    "within_standard": gettext_lazy("Within the service standard"),
    "completion_rate": gettext_lazy("Completion rate"),
    "digital_take_up": gettext_lazy("Digital take-up"),
}


def localized(names: dict[str, dict]) -> dict[str, str]:
    return {key: pick(value) or key for key, value in names.items()}


def service_names(keys) -> dict[str, str]:
    return localized(dict(Service.objects.filter(key__in=set(keys)).values_list("key", "names")))


def jurisdiction_names(codes) -> dict[str, str]:
    return localized(
        dict(Jurisdiction.objects.filter(code__in=set(codes)).values_list("code", "names"))
    )


def _rows(figures: list[kpis.Figures], min_count: int | None = None) -> list[dict[str, Any]]:
    return [item.published(min_count) for item in figures]


def overview(period: kpis.Period) -> dict[str, Any]:
    """The all-services page: one row per service, and where they are delivered."""
    figures = kpis.compute(period, ("service_key",))
    rows = _rows(figures)
    names = service_names(r["service_key"] for r in rows)
    for row in rows:
        row["name"] = names.get(row["service_key"], row["service_key"])
        row["link"] = reverse("performance:service", args=[row["service_key"]])
    rows.sort(key=lambda r: r["name"].lower())
    places = kpis.compute(period, ("jurisdiction",))
    place_names = jurisdiction_names(p.key["jurisdiction"] for p in places)
    jurisdictions = sorted(
        (
            {"code": p.key["jurisdiction"], "name": place_names.get(p.key["jurisdiction"], "")}
            for p in places
        ),
        key=lambda j: j["code"],
    )
    chart = charts.bar_chart(
        "chart-overview",
        _("Share completed within the service standard, by service"),
        [r["name"] for r in rows],
        [r["within_standard"] for r in rows],
        str(MEASURES["within_standard"]) + " (%)",
        _(
            "Each bar is a service's share of completions within its standard over the period; "
            "services with too few completions to publish have no bar."
        ),
    )
    return {
        "period": period,
        "rows": rows,
        "jurisdictions": jurisdictions,
        "charts": [chart] if any(r["within_standard"] is not None for r in rows) else [],
        "min_count": settings.PERFORMANCE_MIN_COUNT,
    }


def _units(figures: list[kpis.Figures], measure: str, names: dict[str, str]):
    units, hidden = [], []
    for item in figures:
        successes, n = {
            "within_standard": (item.met_standard, item.with_standard),
            "completion_rate": (item.completions, item.ended),
            "digital_take_up": (item.digital_completions, item.completions),
        }[measure]
        code = item.key["jurisdiction"]
        label = f"{names.get(code, code)} ({code})"
        if benchmarking.is_suppressed(n):
            hidden.append(label)
        else:
            units.append(benchmarking.Unit(label, successes, n))
    return units, hidden


def service(service: Service, period: kpis.Period, measure: str, peer_group: str) -> dict:
    """One service across the jurisdictions that deliver it (or a peer group of them)."""
    measure = measure if measure in MEASURES else "within_standard"
    groups = list(PeerGroup.objects.all())
    chosen = next((g for g in groups if g.key == peer_group), None)
    jurisdictions = chosen.jurisdictions if chosen else None
    figures = kpis.compute(
        period, ("jurisdiction",), service=service.key, jurisdictions=jurisdictions
    )
    names = jurisdiction_names(f.key["jurisdiction"] for f in figures)
    rows = _rows(figures)
    for row in rows:
        row["name"] = (
            f"{names.get(row['jurisdiction'], row['jurisdiction'])} ({row['jurisdiction']})"
        )
        row["link"] = reverse("performance:jurisdiction", args=[row["jurisdiction"]])
    total = kpis.compute(period, (), service=service.key, jurisdictions=jurisdictions)
    summary = total[0].published() if total else None
    charts_shown = []
    units, hidden = _units(figures, measure, names)
    fitted = benchmarking.funnel(units) if len(units) >= 2 else None
    if fitted is not None:
        charts_shown.append(
            charts.funnel_chart(
                "chart-funnel",
                _("Funnel plot: %(measure)s by jurisdiction") % {"measure": MEASURES[measure]},
                units,
                fitted,
                str(MEASURES[measure]),
            )
        )
    monthly = kpis.compute(
        period, ("month", "channel"), service=service.key, jurisdictions=jurisdictions
    )
    if monthly:
        months = [m.strftime("%Y-%m") for m in period.months()]
        series: dict[str, list[int]] = defaultdict(lambda: [0] * len(months))
        for item in monthly:
            index = months.index(item.key["month"].strftime("%Y-%m"))
            series[item.key["channel"]][index] += item.completions
        charts_shown.append(
            charts.trend_chart(
                "chart-trend",
                _("Completions per month by channel"),
                months,
                dict(sorted(series.items())),
                {value: str(label) for value, label in Channel.choices},
            )
        )
    quadrant = _drivers(service.key, period, jurisdictions)
    if quadrant is not None:
        charts_shown.append(quadrant)
    return {
        "service": service,
        "period": period,
        "rows": sorted(rows, key=lambda r: r["jurisdiction"]),
        "summary": summary,
        "charts": charts_shown,
        "hidden": hidden,
        "measure": measure,
        "measures": [(key, str(label)) for key, label in MEASURES.items()],
        "peer_groups": groups,
        "peer_group": chosen,
        "min_count": settings.PERFORMANCE_MIN_COUNT,
    }


def _drivers(service_key: str, period: kpis.Period, jurisdictions) -> charts.Chart | None:
    """The drivers quadrant, from the anonymous answers of the period (enough of them)."""
    answers = SurveyResponse.objects.filter(
        service_key=service_key, month__range=(period.first, period.last)
    )
    if jurisdictions:
        answers = answers.filter(jurisdiction__in=jurisdictions)
    responses = list(answers.values("satisfaction", *surveys.DRIVERS))
    if benchmarking.is_suppressed(len(responses)):
        return None
    points = benchmarking.driver_points(responses, surveys.DRIVERS)
    if len(points) < 2:
        return None
    return charts.quadrant_chart(
        "chart-drivers",
        _("Drivers of satisfaction: importance and performance"),
        points,
        {key: str(label) for key, label in surveys.DRIVER_LABELS.items()},
    )


def jurisdiction(place: Jurisdiction, period: kpis.Period) -> dict[str, Any]:
    """Every service delivered in one jurisdiction."""
    figures = kpis.compute(period, ("service_key",), jurisdictions=[place.code])
    rows = _rows(figures)
    names = service_names(r["service_key"] for r in rows)
    for row in rows:
        row["name"] = names.get(row["service_key"], row["service_key"])
        row["link"] = reverse("performance:service", args=[row["service_key"]])
    rows.sort(key=lambda r: r["name"].lower())
    shown = []
    if any(r["within_standard"] is not None for r in rows):
        shown.append(
            charts.bar_chart(
                "chart-jurisdiction",
                _("Share completed within the service standard, by service"),
                [r["name"] for r in rows],
                [r["within_standard"] for r in rows],
                str(MEASURES["within_standard"]) + " (%)",
                _("Each bar is a service's share of completions within its standard in %(place)s.")
                % {"place": place.name},
            )
        )
    return {
        "jurisdiction": place,
        "period": period,
        "rows": rows,
        "charts": shown,
        "min_count": settings.PERFORMANCE_MIN_COUNT,
    }


def dashboard(agency: Agency, period: kpis.Period, goal: float) -> dict[str, Any]:
    """An agency's own figures, unsuppressed, with its costs and the take-up target."""
    figures = kpis.compute(period, ("service_key", "jurisdiction"), agency=agency.key)
    names = service_names(f.key["service_key"] for f in figures)
    rows = []
    for item in figures:
        row = item.published(min_count=0)
        row["name"] = names.get(item.key["service_key"], item.key["service_key"])
        row["channel_cost"] = item.channel_cost / 100
        row["handle_cost"] = item.handle_cost / 100
        row["handle_hours"] = round(item.handle_seconds / 3600, 1)
        row["overhead"] = float(item.overhead) / 100
        row["total_cost"] = float(item.total_cost) / 100
        target = item.take_up_target_cost(goal)
        row["target_cost"] = None if target is None else float(target) / 100
        row["abandoned"] = item.abandoned
        row["invited"] = item.invited
        rows.append(row)
    rows.sort(key=lambda r: (r["name"].lower(), r["jurisdiction"]))
    return {
        "agency": agency,
        "period": period,
        "rows": rows,
        "goal": goal,
        "charts": [],
    }
