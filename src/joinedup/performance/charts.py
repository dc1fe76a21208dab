"""Charts as data: each one a plotly figure (plain JSON), a text summary and the table it draws.

The page puts the figure in a `<script type="application/json">` block and a small static
script draws it with plotly.js (served from our own origin): no inline script, so the
Content Security Policy stays strict. The table always follows the chart — it is what screen
readers and people without JavaScript read, and the summary says in words what the chart
shows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from . import benchmarking
from .benchmarking import DriverPoint, Funnel, Unit

#: Colours with at least 3:1 contrast on white, told apart by marker shape too.
INK = "#1b1b1b"
BLUE = "#005ea2"
ORANGE = "#c05600"
GREEN = "#00754a"
GREY = "#71767a"
PALETTE = (BLUE, ORANGE, GREEN, "#8b0a03", "#4d4d9f", GREY)


@dataclass
class Chart:
    id: str
    title: str
    summary: str
    figure: dict[str, Any]
    headers: list[str]
    rows: list[list[Any]] = field(default_factory=list)


def _layout(x_title: str, y_title: str, **extra) -> dict[str, Any]:
    layout = {
        "font": {"family": "Source Sans Pro, Helvetica, Arial, sans-serif", "size": 14},
        "margin": {"l": 64, "r": 16, "t": 16, "b": 56},
        "xaxis": {"title": {"text": x_title}, "zeroline": False},
        "yaxis": {"title": {"text": y_title}, "zeroline": False},
        "legend": {"orientation": "h", "y": -0.25},
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
        "hovermode": "closest",
    }
    layout.update(extra)
    return layout


def funnel_chart(
    chart_id: str,
    title: str,
    units: Sequence[Unit],
    fitted: Funnel,
    measure_label: str,
    of_groups: bool = False,
) -> Chart:
    """Each jurisdiction's share against its size, with 95 % and 99.8 % limits (each client
    group's, `of_groups`)."""
    if of_groups:
        words = {
            "all": _("All groups"),
            "units": _("Groups"),
            "unit": _("Group"),
            "summary": _(
                "%(measure)s of %(count)s groups of clients against their number of cases; "
                "all together %(target)s. %(outside)s"
            ),
            "every": _("Every group is within the %(level)s limits."),
        }
    else:
        words = {
            "all": _("All jurisdictions"),
            "units": _("Jurisdictions"),
            "unit": _("Jurisdiction"),
            "summary": _(
                "%(measure)s of %(count)s jurisdictions against their number of cases; all "
                "together %(target)s. %(outside)s"
            ),
            "every": _("Every jurisdiction is within the %(level)s limits."),
        }
    largest = max(unit.n for unit in units)
    steps = 60
    sizes = sorted(
        {max(1, round(math.exp(math.log(largest * 1.1) * i / steps))) for i in range(1, steps + 1)}
    )
    lines = []
    for z, name, dash in (
        (benchmarking.Z95, _("%(level)s limits") % {"level": "95 %"}, "dash"),
        (benchmarking.Z998, _("%(level)s limits") % {"level": "99.8 %"}, "dot"),
    ):
        lows, highs = zip(*(fitted.limits(n, z) for n in sizes), strict=True)
        for values, show in ((lows, True), (highs, False)):
            lines.append(
                {
                    "type": "scatter",
                    "mode": "lines",
                    "x": sizes,
                    "y": [round(v * 100, 2) for v in values],
                    "name": name,
                    "legendgroup": name,
                    "showlegend": show,
                    "line": {"color": GREY, "dash": dash, "width": 1.5},
                    "hoverinfo": "skip",
                }
            )
    target = round(fitted.target * 100, 2)
    lines.append(
        {
            "type": "scatter",
            "mode": "lines",
            "x": [sizes[0], sizes[-1]],
            "y": [target, target],
            "name": words["all"],
            "line": {"color": INK, "width": 1},
            "hoverinfo": "skip",
        }
    )
    rows = []
    for unit in units:
        position = fitted.position(unit, benchmarking.Z998)
        low, high = benchmarking.wilson_interval(unit.successes, unit.n) or (0, 0)
        rows.append(
            [
                unit.label,
                unit.n,
                f"{unit.share * 100:.1f}",
                f"{low * 100:.1f}–{high * 100:.1f}",
                POSITIONS[position](),
            ]
        )
    lines.append(
        {
            "type": "scatter",
            "mode": "markers+text",
            "x": [unit.n for unit in units],
            "y": [round(unit.share * 100, 2) for unit in units],
            "text": [unit.label for unit in units],
            "textposition": "top center",
            "name": words["units"],
            "marker": {"color": BLUE, "size": 10, "symbol": "circle"},
            "hovertemplate": "%{text}: %{y:.1f} % (n = %{x})<extra></extra>",
        }
    )
    outside = [
        row[0] for row, unit in zip(rows, units, strict=True) if row[4] != POSITIONS["within"]()
    ]
    summary = words["summary"] % {
        "measure": measure_label,
        "count": len(units),
        "target": f"{fitted.target * 100:.1f} %",
        "outside": (
            _("Outside the %(level)s limits: %(names)s.")
            % {"level": "99.8 %", "names": ", ".join(outside)}
            if outside
            else words["every"] % {"level": "99.8 %"}
        ),
    }
    figure = {
        "data": lines,
        "layout": _layout(
            _("Number of cases"),
            _("%(measure)s (%(unit)s)") % {"measure": measure_label, "unit": "%"},
            xaxis={"title": {"text": _("Number of cases")}, "type": "log"},
        ),
    }
    return Chart(
        chart_id,
        title,
        summary,
        figure,
        [
            words["unit"],
            _("Cases"),
            _("Share (%(unit)s)") % {"unit": "%"},
            _("%(level)s interval (Wilson)") % {"level": "95 %"},
            _("Against the %(level)s limits") % {"level": "99.8 %"},
        ],
        rows,
    )


POSITIONS = {
    "above": lambda: _("Above"),
    "below": lambda: _("Below"),
    "within": lambda: _("Within"),
}


def trend_chart(
    chart_id: str,
    title: str,
    months: Sequence[str],
    series: dict[str, list[int]],
    labels: dict[str, str],
) -> Chart:
    """Completions per month, stacked by channel."""
    data = [
        {
            "type": "bar",
            "x": list(months),
            "y": values,
            "name": labels.get(channel, channel),
            "marker": {"color": PALETTE[index % len(PALETTE)]},
        }
        for index, (channel, values) in enumerate(series.items())
    ]
    totals = [sum(values) for values in zip(*series.values(), strict=True)] if series else []
    busiest = months[totals.index(max(totals))] if totals and max(totals) else None
    summary = _("Completions per month over %(count)s months, by channel.") % {"count": len(months)}
    if busiest:
        summary += " " + _("The busiest month was %(month)s, with %(total)s.") % {
            "month": busiest,
            "total": max(totals),
        }
    rows = [
        [month, *(series[channel][i] for channel in series), totals[i]]
        for i, month in enumerate(months)
    ]
    return Chart(
        chart_id,
        title,
        summary,
        {"data": data, "layout": _layout(_("Month"), _("Completions"), barmode="stack")},
        [_("Month"), *(labels.get(c, c) for c in series), _("Total")],
        rows,
    )


QUADRANT_LABELS = {
    "strength": lambda: _("Strength"),
    "priority": lambda: _("Priority for improvement"),
    "maintain": lambda: _("Maintain"),
    "secondary": lambda: _("Secondary"),
}


def quadrant_chart(
    chart_id: str, title: str, points: Sequence[DriverPoint], labels: dict[str, str]
) -> Chart:
    """Importance (correlation with overall satisfaction) against performance (0–100)."""
    mean_x = sum(p.performance for p in points) / len(points)
    mean_y = sum(p.importance for p in points) / len(points)
    data = [
        {
            "type": "scatter",
            "mode": "markers+text",
            "x": [round(p.performance, 1) for p in points],
            "y": [round(p.importance, 3) for p in points],
            "text": [labels.get(p.driver, p.driver) for p in points],
            "textposition": "top center",
            "marker": {"color": ORANGE, "size": 12, "symbol": "diamond"},
            "name": _("Drivers of satisfaction"),
            "hovertemplate": "%{text}: %{x:.0f} / 100, r = %{y:.2f}<extra></extra>",
        }
    ]
    shapes = [
        {
            "type": "line",
            "x0": mean_x,
            "x1": mean_x,
            "yref": "paper",
            "y0": 0,
            "y1": 1,
            "line": {"color": GREY, "dash": "dash", "width": 1},
        },
        {
            "type": "line",
            "y0": mean_y,
            "y1": mean_y,
            "xref": "paper",
            "x0": 0,
            "x1": 1,
            "line": {"color": GREY, "dash": "dash", "width": 1},
        },
    ]
    priorities = [labels.get(p.driver, p.driver) for p in points if p.quadrant == "priority"]
    summary = (
        _("Priorities for improvement (important, scored lower): %(names)s.")
        % {"names": ", ".join(priorities)}
        if priorities
        else _("No driver is both important and scored below the others.")
    )
    rows = [
        [
            labels.get(p.driver, p.driver),
            f"{p.performance:.0f}",
            f"{p.importance:.2f}",
            p.answers,
            QUADRANT_LABELS[p.quadrant](),
        ]
        for p in points
    ]
    layout = _layout(_("Score (0–100)"), _("Importance (correlation with satisfaction)"))
    layout["shapes"] = shapes
    layout["showlegend"] = False
    return Chart(
        chart_id,
        title,
        summary,
        {"data": data, "layout": layout},
        [_("Driver"), _("Score (0–100)"), _("Importance"), _("Answers"), _("Quadrant")],
        rows,
    )


def bar_chart(
    chart_id: str,
    title: str,
    labels: Sequence[str],
    values: Sequence[float | None],
    value_label: str,
    summary: str,
    unit: str = " %",
) -> Chart:
    """One measure per item (shares in %, or scores 0–1 shown 0–100 with `unit=""`),
    horizontal bars; items without a figure are left out of the bars but kept in the
    table."""
    shown = [(label, v) for label, v in zip(labels, values, strict=True) if v is not None]
    data = [
        {
            "type": "bar",
            "orientation": "h",
            "y": [label for label, _v in shown],
            "x": [round(v * 100, 1) for _label, v in shown],
            "marker": {"color": BLUE},
            "name": value_label,
            "hovertemplate": "%{y}: %{x:.1f}" + unit + "<extra></extra>",
        }
    ]
    layout = _layout(value_label, "", showlegend=False)
    layout["margin"]["l"] = 240
    layout["yaxis"]["automargin"] = True
    layout["xaxis"]["range"] = [0, 100]
    rows = [
        [label, "—" if v is None else f"{v * 100:.1f}"]
        for label, v in zip(labels, values, strict=True)
    ]
    return Chart(
        chart_id, title, summary, {"data": data, "layout": layout}, ["", value_label], rows
    )


def interval_chart(
    chart_id: str,
    title: str,
    bars: Sequence[tuple[str, float]],
    below: Sequence[float],
    above: Sequence[float],
    value_label: str,
    summary: str,
    headers: list[str],
    rows: list[list[Any]],
) -> Chart:
    """Shares (0–1) as horizontal bars with asymmetric error bars (points below and above,
    in %), e.g. Wilson intervals; the table is given whole (it names hidden groups too)."""
    data = [
        {
            "type": "bar",
            "orientation": "h",
            "y": [label for label, _v in bars],
            "x": [round(v * 100, 1) for _label, v in bars],
            "error_x": {
                "type": "data",
                "symmetric": False,
                "array": list(above),
                "arrayminus": list(below),
                "color": INK,
            },
            "marker": {"color": BLUE},
            "name": value_label,
            "hovertemplate": "%{y}: %{x:.1f} %<extra></extra>",
        }
    ]
    layout = _layout(value_label, "", showlegend=False)
    layout["margin"]["l"] = 240
    layout["yaxis"]["automargin"] = True
    layout["xaxis"]["range"] = [0, 100]
    return Chart(chart_id, title, summary, {"data": data, "layout": layout}, headers, rows)


def line_chart(
    chart_id: str,
    title: str,
    x: Sequence[str],
    series: list[tuple[str, list[float | None]]],
    axes: tuple[str, str],
    summary: str,
    first_header: str,
) -> Chart:
    """Several lines over one axis (weeks, half-hours); the table has one column per line."""
    dashes = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")
    data = [
        {
            "type": "scatter",
            "mode": "lines+markers",
            "x": list(x),
            "y": values,
            "name": name,
            "line": {"color": PALETTE[index % len(PALETTE)], "dash": dashes[index % len(dashes)]},
            "connectgaps": False,
        }
        for index, (name, values) in enumerate(series)
    ]
    rows = [
        [label, *("—" if values[i] is None else values[i] for _name, values in series)]
        for i, label in enumerate(x)
    ]
    return Chart(
        chart_id,
        title,
        summary,
        {"data": data, "layout": _layout(*axes)},
        [first_header, *(name for name, _values in series)],
        rows,
    )
