"""Complaint measures on performance's pages: complaints per 1,000 transactions, time to
resolve and share upheld — by service, agency or jurisdiction — and the themes staff tagged,
month by month.

Complaints are recorded by an app above performance (engagement), which performance may not
import. That app registers where its figures come from in its `ready()`
(`register_complaint_source`), as apps register their open data exporters; with nothing
registered the page says there is nothing to show.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from joinedup.federation.models import Agency

from . import charts, kpis
from .pages import jurisdiction_names, localized, service_names

GROUPS = ("service", "agency", "jurisdiction")


class ComplaintFigures(Protocol):
    """One group's figures, as the registered source gives them."""

    group: str
    transactions: int
    complaints: int
    per_thousand: float | None
    resolved: int
    median_days_to_resolve: float | None
    upheld_share: float | None


@dataclass(frozen=True)
class ComplaintSource:
    #: (by, start, end) → the figures of each group.
    measures: Callable[[str, datetime.datetime, datetime.datetime], list[ComplaintFigures]]
    #: (start, end) → {"YYYY-MM": {theme: complaints}}.
    themes: Callable[[datetime.datetime, datetime.datetime], dict[str, dict[str, int]]]


_SOURCES: list[ComplaintSource] = []


def register_complaint_source(source: ComplaintSource) -> None:
    """Give performance the complaint figures (called once from the recording app's ready())."""
    _SOURCES[:] = [source]


def source() -> ComplaintSource | None:
    return _SOURCES[0] if _SOURCES else None


def _bounds(period: kpis.Period) -> tuple[datetime.datetime, datetime.datetime]:
    zone = timezone.get_current_timezone()
    start = datetime.datetime.combine(period.first, datetime.time.min, tzinfo=zone)
    end = datetime.datetime.combine(
        period.end + datetime.timedelta(days=1), datetime.time.min, tzinfo=zone
    )
    return start, end


def _names(by: str, keys: list[str]) -> dict[str, str]:
    if by == "service":
        return service_names(keys)
    if by == "agency":
        return localized(dict(Agency.objects.filter(key__in=keys).values_list("key", "names")))
    return jurisdiction_names(keys)


def page(by: str, period: kpis.Period) -> dict[str, Any]:
    """The figures per group, published: a share or a time resting on fewer complaints than
    the publication threshold is left out and the group named, as for the other measures."""
    by = by if by in GROUPS else "service"
    found = source()
    context: dict[str, Any] = {
        "by": by,
        "period": period,
        "registered": found is not None,
        "rows": [],
        "charts": [],
        "hidden": [],
    }
    if found is None:
        return context
    start, end = _bounds(period)
    figures = found.measures(by, start, end)
    names = _names(by, [f.group for f in figures])
    least = settings.PERFORMANCE_MIN_COUNT
    rows, hidden = [], []
    for figure in figures:
        name = names.get(figure.group, figure.group)
        publish = figure.complaints >= least
        if not publish and figure.complaints:
            hidden.append(name)
        rows.append(
            {
                "name": name,
                "transactions": figure.transactions,
                "complaints": figure.complaints,
                "per_thousand": figure.per_thousand,
                "resolved": figure.resolved,
                "median_days": figure.median_days_to_resolve if publish else None,
                "upheld_share": figure.upheld_share if publish else None,
            }
        )
    rows.sort(key=lambda r: str(r["name"]).lower())
    context.update(rows=rows, hidden=hidden)
    with_rate = [r for r in rows if r["per_thousand"] is not None]
    if with_rate:
        context["charts"].append(_rate_chart(with_rate))
    themes = found.themes(start, end)
    if themes:
        context["charts"].append(_themes_chart(themes))
    return context


def _rate_chart(rows: list[dict[str, Any]]) -> charts.Chart:
    labels = [str(r["name"]) for r in rows]
    values = [r["per_thousand"] for r in rows]
    layout = charts._layout(_("Complaints per 1,000 transactions"), "", showlegend=False)
    layout["margin"]["l"] = 240
    layout["yaxis"]["automargin"] = True
    return charts.Chart(
        "chart-complaint-rate",
        _("Complaints per 1,000 transactions"),
        _(
            "Each bar is the number of complaints for every 1,000 applications received in "
            "the period; the table gives the counts, the time to resolve and the share upheld."
        ),
        {
            "data": [
                {
                    "type": "bar",
                    "orientation": "h",
                    "y": labels,
                    "x": values,
                    "marker": {"color": charts.BLUE},
                    "hovertemplate": "%{y}: %{x:.2f}<extra></extra>",
                }
            ],
            "layout": layout,
        },
        ["", _("Complaints per 1,000 transactions")],
        [[label, f"{value:.2f}"] for label, value in zip(labels, values, strict=True)],
    )


def _themes_chart(themes: dict[str, dict[str, int]]) -> charts.Chart:
    months = sorted(themes)
    names = sorted({theme for counts in themes.values() for theme in counts})
    series = {name: [themes[m].get(name, 0) for m in months] for name in names}
    chart = charts.trend_chart(
        "chart-complaint-themes",
        _("Themes of complaints, month by month"),
        months,
        series,
        {name: name for name in names},
    )
    chart.summary = _(
        "Complaints per month by the themes staff tagged; a complaint with two themes counts "
        "in both."
    )
    chart.figure["layout"]["yaxis"]["title"]["text"] = _("Complaints")
    return chart
