"""The model's charts for data stewards: each a plotly figure (plain JSON), a summary in
words and the table it draws (shown under the chart, read without JavaScript)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from . import weights

BLUE = "#005ea2"
ORANGE = "#c05600"


@dataclass
class Chart:
    id: str
    title: str
    summary: str
    figure: dict[str, Any]
    headers: list[str]
    rows: list[list[Any]] = field(default_factory=list)


def _layout(x_title: str, height: int) -> dict[str, Any]:
    return {
        "font": {"family": "Source Sans Pro, Helvetica, Arial, sans-serif", "size": 13},
        "margin": {"l": 320, "r": 16, "t": 16, "b": 48},
        "xaxis": {"title": {"text": x_title}, "zeroline": True},
        "yaxis": {"automargin": True, "autorange": "reversed"},
        "height": height,
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
        "showlegend": True,
        "legend": {"orientation": "h", "y": -0.15},
    }


def _label(row: dict[str, Any]) -> str:
    return f"{row['comparison']}: {row['level']}"


def match_weights(model: dict[str, Any]) -> Chart:
    """How much each level of each comparison moves a pair towards (or away from) a match."""
    rows = weights.parameters(model)
    labels = [_label(r) for r in rows]
    values = [r["weight"] if r["weight"] is not None else 0 for r in rows]
    figure = {
        "data": [
            {
                "type": "bar",
                "orientation": "h",
                "x": values,
                "y": labels,
                "marker": {"color": [BLUE if v >= 0 else ORANGE for v in values]},
                "name": _("match weight"),
            }
        ],
        "layout": _layout(_("match weight (log2 of the Bayes factor)"), 28 * len(rows) + 80),
    }
    return Chart(
        id="match-weights",
        title=_("Match weight of each comparison level"),
        summary=_(
            "Bars to the right make a pair more likely the same person, bars to the left less "
            "likely. The strongest evidence is %(top)s."
        )
        % {"top": labels[values.index(max(values))] if values else "-"},
        figure=figure,
        headers=[_("Comparison level"), _("Match weight")],
        rows=[[label, f"{value:.2f}"] for label, value in zip(labels, values, strict=True)],
    )


def m_and_u(model: dict[str, Any]) -> Chart:
    """m (share among true matches) and u (share among non-matches) of every level."""
    rows = weights.parameters(model)
    labels = [_label(r) for r in rows]
    figure = {
        "data": [
            {
                "type": "bar",
                "orientation": "h",
                "x": [r["m"] or 0 for r in rows],
                "y": labels,
                "name": _("m: among the same person"),
                "marker": {"color": BLUE},
            },
            {
                "type": "bar",
                "orientation": "h",
                "x": [r["u"] or 0 for r in rows],
                "y": labels,
                "name": _("u: among different people"),
                "marker": {"color": ORANGE},
            },
        ],
        "layout": dict(_layout(_("probability"), 36 * len(rows) + 100), barmode="group"),
    }
    return Chart(
        id="m-u",
        title=_("m and u probabilities"),
        summary=_(
            "For each level, how often it is seen between records of the same person (m) and "
            "between records of different people (u), as the training estimated them."
        ),
        figure=figure,
        headers=[_("Comparison level"), "m", "u"],
        rows=[
            [label, f"{r['m']:.4f}" if r["m"] else "-", f"{r['u']:.6f}" if r["u"] else "-"]
            for label, r in zip(labels, rows, strict=True)
        ],
    )
