"""Insight for planners: every measure by client group, and the channel each group uses.

Both pages read the client-group rollups (one dimension at a time, never a cross-product),
publish with primary and secondary suppression (`groups.publish_cells`), and give each
share its Wilson interval.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from joinedup.federation.models import Channel

from . import benchmarking, charts, costs, groups, kpis, pages
from .models import MonthlyRollup

#: The shares a reader may chart by group: (successes, cases) of a Figures.
SHARES = {
    "completion_rate": (gettext_lazy("Completion rate"), lambda f: (f.completions, f.ended)),
    "digital_take_up": (
        gettext_lazy("Digital take-up"),
        lambda f: (f.digital_completions, f.completions),
    ),
    "within_standard": (
        gettext_lazy("Within the service standard"),
        lambda f: (f.met_standard, f.with_standard),
    ),
}
#: A group is flagged when its online completion share is this far (in points) below the
#: share of every other group of the dimension together.
GAP_POINTS = 10


class InsightError(ValueError):
    """A choice the page does not know; the message is for people."""


def check(dimension: str, measure: str) -> None:
    if dimension not in groups.DIMENSIONS:
        raise InsightError(_("Choose one of the client-group dimensions offered."))
    if measure not in SHARES:
        raise InsightError(_("Choose one of the measures offered."))


def interval(successes: int, n: int) -> str:
    found = benchmarking.wilson_interval(successes, n)
    return "" if found is None else f"{found[0] * 100:.1f}–{found[1] * 100:.1f}"


def by_group(
    period: kpis.Period, dimension: str, measure: str, service: str | None = None
) -> dict[str, Any]:
    """Every measure of one dimension's groups, the total, and a chart of one share with
    Wilson intervals (shown only for the groups whose figure is published)."""
    check(dimension, measure)
    cells = groups.ordered(
        dimension, kpis.compute(period, ("group",), service=service, dimension=dimension)
    )
    records = groups.publish_cells(cells)
    for cell, record in zip(cells, records, strict=True):
        record["name"] = groups.label(dimension, cell.key["group"])
    # The total is the groups' figures added up: one dimension's groups hold every
    # transaction and every survey answer once, so the rollups need not be read again.
    total = kpis.total_of(cells)
    summary = total.published() if total else None
    if summary is not None:
        summary["name"] = _("All clients")
    label, counts = SHARES[measure]
    table, bars, lows, highs = [], [], [], []
    for cell, record in zip(cells, records, strict=True):
        successes, n = counts(cell)
        value = record.get(measure)
        shown = value is not None
        table.append(
            [
                record["name"],
                # The cases only beside a published share: a share's small base is hidden.
                n if shown else "—",
                f"{value * 100:.1f}" if shown else "—",
                interval(successes, n) if shown else "—",
            ]
        )
        if shown:
            low, high = benchmarking.wilson_interval(successes, n)
            bars.append((record["name"], value))
            lows.append(round((value - low) * 100, 2))
            highs.append(round((high - value) * 100, 2))
    shown_charts: list[charts.Chart] = []
    if bars:
        shown_charts.append(
            charts.interval_chart(
                "chart-groups",
                _("%(measure)s by %(dimension)s, with likely ranges")
                % {"measure": label, "dimension": str(groups.DIMENSIONS[dimension]).lower()},
                bars,
                lows,
                highs,
                str(label) + " (%)",
                _(
                    "Each bar is a group's share over the period; the line across its end is the "
                    "range where the true share lies 95 times in 100 (Wilson interval). Groups "
                    "with too few cases to publish have no bar."
                ),
                [_("Group"), _("Cases"), str(label) + " (%)", _("Likely range")],
                table,
            )
        )
    funnel = _group_funnel(dimension, cells, records, measure)
    if funnel is not None:
        shown_charts.append(funnel)
    satisfaction = _satisfaction_chart(dimension, records)
    if satisfaction is not None:
        shown_charts.append(satisfaction)
    return {
        "period": period,
        "dimension": dimension,
        "dimensions": [(key, str(name)) for key, name in groups.DIMENSIONS.items()],
        "measure": measure,
        "measures": [(key, str(name)) for key, (name, _f) in SHARES.items()],
        "service_key": service or "",
        "services": _services(period),
        "rows": records,
        "summary": summary,
        "summary_rows": [summary] if summary else [],
        "charts": shown_charts,
        "min_count": settings.PERFORMANCE_MIN_COUNT,
    }


def _group_funnel(
    dimension: str, cells: list[kpis.Figures], records: list[dict], measure: str
) -> charts.Chart | None:
    """A funnel plot of the measure by group: each published group's share against its
    cases, with the 95 % and 99.8 % limits of chance alone around the share of all groups
    together (at least three groups). No overdispersion is allowed for: between
    jurisdictions it stands for differences nobody controls, between client groups the
    differences are what the page looks for."""
    label, counts = SHARES[measure]
    units = []
    for cell, record in zip(cells, records, strict=True):
        successes, n = counts(cell)
        if record.get(measure) is not None and n > 0:
            units.append(benchmarking.Unit(record["name"], successes, n))
    if len(units) < 3:
        return None
    fitted = benchmarking.funnel(units, overdispersion=False)
    if fitted is None:
        return None
    return charts.funnel_chart(
        "chart-group-funnel",
        _("Funnel plot: %(measure)s by %(dimension)s")
        % {"measure": label, "dimension": str(groups.DIMENSIONS[dimension]).lower()},
        units,
        fitted,
        str(label),
        of_groups=True,
    )


def _satisfaction_chart(dimension: str, records: list[dict]) -> charts.Chart | None:
    """Each group's overall satisfaction (0–100) from its survey answers, groups whose
    answers are too few to publish named in the table only."""
    if not any(record.get("satisfaction") is not None for record in records):
        return None
    return charts.bar_chart(
        "chart-group-satisfaction",
        _("Satisfaction by %(dimension)s")
        % {"dimension": str(groups.DIMENSIONS[dimension]).lower()},
        [record["name"] for record in records],
        [
            None if record.get("satisfaction") is None else record["satisfaction"] / 100
            for record in records
        ],
        _("Satisfaction (0–100)"),
        _(
            "Each bar is a group's mean overall satisfaction with the service, rescaled to "
            "0–100, from the survey answers of its clients over the period. Groups with too "
            "few answers to publish have no bar."
        ),
        unit="",
    )


def _services(period: kpis.Period) -> list[tuple[str, str]]:
    """The services with figures in the period, by name: the keys of the period's monthly
    rollup rows (one DISTINCT query, not every service's figures)."""
    keys = list(
        MonthlyRollup.objects.filter(month__range=(period.first, period.last))
        .values_list("service_key", flat=True)
        .distinct()
        .order_by()
    )
    names = pages.service_names(keys)
    return sorted(((key, names.get(key, key)) for key in keys), key=lambda p: p[1].lower())


def channels(period: kpis.Period, dimension: str, service: str | None = None) -> dict[str, Any]:
    """Channel appropriateness: for each group of a dimension, its mix of channels, the
    completion rate and direct cost per completion in each, the assisted share, and a flag
    where the group completes far less online than the others (a digital-inclusion gap)."""
    check(dimension, "completion_rate")
    minimum = settings.PERFORMANCE_MIN_COUNT
    cells = kpis.compute(period, ("group", "channel"), service=service, dimension=dimension)
    digital = costs.digital_channels()
    per_group: dict[str, list[kpis.Figures]] = defaultdict(list)
    for cell in cells:
        per_group[cell.key["group"]].append(cell)
    totals = {value: sum(c.completions for c in found) for value, found in per_group.items()}
    online = {
        value: sum(c.completions for c in found if c.key["channel"] in digital)
        for value, found in per_group.items()
    }
    all_done, all_online = sum(totals.values()), sum(online.values())
    channel_names = {value: str(name) for value, name in Channel.choices}
    rows = []
    for value in groups.order_of(dimension, per_group):
        done = totals[value]
        hidden = done < minimum
        others_done, others_online = all_done - done, all_online - online[value]
        share = online[value] / done if done else None
        others = others_online / others_done if others_done else None
        gap = (
            None
            if hidden or share is None or others is None or others_done < minimum
            else round((others - share) * 100, 1)
        )
        mix = []
        cells_of = sorted(per_group[value], key=lambda c: c.key["channel"])
        # The group's total is shown: one hidden channel would be its total minus the others,
        # so the next smallest channel is hidden with it (secondary suppression).
        secret = {i for i, c in enumerate(cells_of) if 0 < c.completions < minimum}
        if len(secret) == 1:
            others = sorted(
                (c.completions, i)
                for i, c in enumerate(cells_of)
                if c.completions and i not in secret
            )
            secret |= {others[0][1]} if others else set()
        for index, cell in enumerate(cells_of):
            small = cell.completions < max(minimum, 1) or hidden or index in secret
            direct = cell.channel_cost + cell.handle_cost
            mix.append(
                {
                    "channel": channel_names.get(cell.key["channel"], cell.key["channel"]),
                    "share": None if small else round(cell.completions / done, 4),
                    "completion_rate": None
                    if cell.ended < minimum or hidden
                    else round(cell.completion_rate, 4),
                    "cost": None if small else round(direct / cell.completions / 100, 2),
                    "currency": cell.currency,
                }
            )
        rows.append(
            {
                "name": groups.label(dimension, value),
                "completions": None if hidden else done,
                "online_share": None if hidden or share is None else round(share, 4),
                "online_interval": "" if hidden else interval(online[value], done),
                "assisted_share": None if hidden or share is None else round(1 - share, 4),
                "gap_points": gap,
                "flagged": gap is not None and gap >= GAP_POINTS,
                "channels": mix,
            }
        )
    # One hidden group among shown ones could be recovered from the total: hide the next.
    shown = [r for r in rows if r["completions"] is not None]
    if len(shown) == len(rows) - 1 and shown:
        smallest = min(shown, key=lambda r: r["completions"])
        smallest.update(
            completions=None, online_share=None, online_interval="", assisted_share=None
        )
        smallest.update(gap_points=None, flagged=False)
        for item in smallest["channels"]:
            item.update(share=None, completion_rate=None, cost=None)
    chart_rows = [r for r in rows if r["online_share"] is not None]
    shown_charts = []
    if chart_rows:
        shown_charts.append(
            charts.bar_chart(
                "chart-channels",
                _("Share of completions online, by %(dimension)s")
                % {"dimension": str(groups.DIMENSIONS[dimension]).lower()},
                [r["name"] for r in chart_rows],
                [r["online_share"] for r in chart_rows],
                _("Completed online (%)"),
                _(
                    "Each bar is a group's share of completions in the digital channels; a "
                    "group %(points)s points or more below the others is flagged in the table."
                )
                % {"points": GAP_POINTS},
            )
        )
    per_channel = []
    for item in kpis.compute(period, ("channel",), service=service):
        record = item.published()
        record["name"] = channel_names.get(item.key["channel"], item.key["channel"])
        per_channel.append(record)
    return {
        "period": period,
        "dimension": dimension,
        "dimensions": [(key, str(name)) for key, name in groups.DIMENSIONS.items()],
        "service_key": service or "",
        "services": _services(period),
        "rows": rows,
        "per_channel": per_channel,
        "charts": shown_charts,
        "gap_points": GAP_POINTS,
        "min_count": minimum,
    }
