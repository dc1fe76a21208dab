"""Where integration would pay: the agencies that serve the same people in a jurisdiction.

Transactions keep no person, so the counts come from the client index: a linked person (a
live `Cluster`) holds source records of several agencies. For a jurisdiction J:

- the people of J are the linked persons holding a record of an agency of J or of a
  jurisdiction under it;
- an agency's count is how many people of J it holds a record of (an agency above J, or a
  community organisation, counts only the people of J);
- a pair's count is how many people of J both agencies hold a record of.

Only counts leave this module: no person, no record, no client index id. Counts between 1
and `PERFORMANCE_MIN_COUNT` − 1 are not published. The pair counts do not add up to any
published total (a person held by three agencies counts in three pairs, and nobody held by
one agency alone is published), so no hidden cell can be worked out by subtraction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Q
from django.utils.translation import gettext as _

from joinedup.clientindex.models import SourceRecord
from joinedup.federation.models import Agency, Jurisdiction

from . import charts


@dataclass(frozen=True)
class Shared:
    """The published counts of one jurisdiction: agencies in order, their people, and each
    pair's shared people (None: hidden, fewer than the minimum)."""

    agencies: list[Agency]
    people: dict[int, int | None]
    pairs: dict[tuple[int, int], int | None]
    min_count: int


def _hide(n: int, minimum: int) -> int | None:
    return None if 0 < n < minimum else n


def counts(jurisdiction: Jurisdiction) -> tuple[dict[int, int], dict[tuple[int, int], int]]:
    """Raw counts (unsuppressed; for this module and its tests only): people of the
    jurisdiction per agency, and per pair of agencies (lower id first). One query."""
    path = jurisdiction.path
    local = SourceRecord.objects.filter(
        # The jurisdiction itself or one below it (CA-ON must not take a CA-ONX).
        Q(agency__jurisdiction__path=path) | Q(agency__jurisdiction__path__startswith=path + "/"),
        cluster__isnull=False,
        cluster__merged_into__isnull=True,
        cluster__retired_at__isnull=True,
    )
    people = local.order_by().values("cluster_id")
    held = (
        SourceRecord.objects.filter(cluster_id__in=people)
        .order_by()  # the model's ordering would join the DISTINCT
        .values("cluster_id", "agency_id")
        .distinct()
    )
    # The ORM's own SQL (values stay parameters), joined to itself: the ORM has no self-join.
    sql, params = held.query.sql_with_params()
    cursor_sql = (
        f"SELECT a.agency_id, b.agency_id, COUNT(*) FROM ({sql}) a "  # noqa: S608
        f"JOIN ({sql}) b ON a.cluster_id = b.cluster_id AND a.agency_id <= b.agency_id "
        "GROUP BY a.agency_id, b.agency_id"
    )
    totals: dict[int, int] = {}
    pairs: dict[tuple[int, int], int] = {}
    with connection.cursor() as cursor:
        cursor.execute(cursor_sql, [*params, *params])
        for first, second, n in cursor.fetchall():
            if first == second:
                totals[first] = n
            else:
                pairs[(first, second)] = n
    return totals, pairs


def shared(jurisdiction: Jurisdiction, min_count: int | None = None) -> Shared:
    """The published matrix: agencies by how many people of the jurisdiction they hold."""
    minimum = settings.PERFORMANCE_MIN_COUNT if min_count is None else min_count
    totals, pairs = counts(jurisdiction)
    people = {pk: _hide(n, minimum) for pk, n in totals.items()}
    # By the published count (a hidden one as 0): the order tells nothing of hidden counts.
    agencies = sorted(
        Agency.objects.filter(pk__in=totals),
        key=lambda a: (-(people[a.pk] or 0), a.name.casefold()),
    )
    return Shared(
        agencies,
        people,
        {pair: _hide(n, minimum) for pair, n in pairs.items()},
        minimum,
    )


def pair_count(found: Shared, first: int, second: int) -> int | None:
    """The published count of a pair (0 when the two share nobody)."""
    if first == second:
        return found.people.get(first, 0)
    return found.pairs.get((min(first, second), max(first, second)), 0)


def _share(part: int | None, whole: int | None) -> str:
    """Part of whole in %; — when either is hidden (sharing nobody is 0, not a secret)."""
    if part is None or not whole:
        return "—"
    return f"{part / whole * 100:.0f}"


def network_chart(found: Shared) -> charts.Chart | None:
    """Agencies on a circle (marker area by their people), a line for each published pair
    sharing people (width by the count); the table lists every pair, hidden ones as —."""
    agencies = found.agencies
    if len(agencies) < 2:
        return None
    where = {}
    for index, agency in enumerate(agencies):
        angle = math.pi / 2 - 2 * math.pi * index / len(agencies)
        where[agency.pk] = (round(math.cos(angle), 4), round(math.sin(angle), 4))
    shown = [n for n in found.pairs.values() if n]
    widest = max(shown, default=1)
    data: list[dict[str, Any]] = []
    rows = []
    for i, first in enumerate(agencies):
        for second in agencies[i + 1 :]:
            n = pair_count(found, first.pk, second.pk)
            rows.append(
                [
                    f"{first.name} — {second.name}",
                    "—" if n is None else n,
                    _share(n, found.people.get(first.pk)),
                    _share(n, found.people.get(second.pk)),
                ]
            )
            if not n:
                continue
            (x1, y1), (x2, y2) = where[first.pk], where[second.pk]
            data.append(
                {
                    "type": "scatter",
                    "mode": "lines",
                    "x": [x1, x2],
                    "y": [y1, y2],
                    "line": {"color": charts.GREY, "width": round(1 + 11 * n / widest, 1)},
                    "hoverinfo": "text",
                    "text": f"{first.name} — {second.name}: {n}",
                    "showlegend": False,
                }
            )
    largest = max((n for n in found.people.values() if n), default=1)
    data.append(
        {
            "type": "scatter",
            "mode": "markers+text",
            "x": [where[a.pk][0] for a in agencies],
            "y": [where[a.pk][1] for a in agencies],
            "text": [a.short_name for a in agencies],
            "textposition": "top center",
            "hovertext": [
                f"{a.name}: {found.people.get(a.pk) if found.people.get(a.pk) else '—'}"
                for a in agencies
            ],
            "hoverinfo": "text",
            "marker": {
                "color": charts.BLUE,
                "symbol": "circle",
                "size": [
                    round(12 + 28 * math.sqrt((found.people.get(a.pk) or 0) / largest), 1)
                    for a in agencies
                ],
                "line": {"color": charts.INK, "width": 1},
            },
            "showlegend": False,
        }
    )
    hidden_axis = {"visible": False, "range": [-1.5, 1.5], "fixedrange": True}
    layout = {
        "font": {"family": "Source Sans Pro, Helvetica, Arial, sans-serif", "size": 14},
        "margin": {"l": 16, "r": 16, "t": 16, "b": 16},
        "xaxis": hidden_axis,
        "yaxis": {**hidden_axis, "scaleanchor": "x"},
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
        "hovermode": "closest",
        "showlegend": False,
    }
    return charts.Chart(
        "chart-shared",
        _("Agencies that serve the same people"),
        _(
            "Each circle is an agency, larger when it holds records of more people of the "
            "jurisdiction; a line joins two agencies holding records of the same people, "
            "thicker when they share more. Pairs sharing fewer people than can be published "
            "have no line."
        ),
        {"data": data, "layout": layout},
        [
            _("Pair of agencies"),
            _("People served by both"),
            _("Share of the first's people (%)"),
            _("Share of the second's people (%)"),
        ],
        rows,
    )


def page(jurisdiction: Jurisdiction) -> dict[str, Any]:
    """The integration candidates page: the matrix, the network chart and its table."""
    found = shared(jurisdiction)
    matrix = [
        {
            "agency": row,
            "cells": [
                {"column": column, "n": pair_count(found, row.pk, column.pk)}
                for column in found.agencies
            ],
        }
        for row in found.agencies
    ]
    chart = network_chart(found)
    candidates = sorted(
        (
            (n, first, second)
            for i, first in enumerate(found.agencies)
            for second in found.agencies[i + 1 :]
            if (n := pair_count(found, first.pk, second.pk))
        ),
        key=lambda item: (-item[0], item[1].name.casefold(), item[2].name.casefold()),
    )
    return {
        "jurisdiction": jurisdiction,
        "agencies": found.agencies,
        "matrix": matrix,
        "charts": [chart] if chart else [],
        "candidates": [
            {"first": first, "second": second, "n": n} for n, first, second in candidates[:10]
        ],
        "min_count": found.min_count,
    }
