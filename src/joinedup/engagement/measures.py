"""Complaint measures: complaints per 1,000 transactions, time to resolve, share upheld — by
service, agency or jurisdiction — and the themes staff tagged, month by month.

A complaint part is one agency's share of a complaint; transactions are the applications the
engine received in the period (complaints themselves excluded). Every figure is an
aggregate query; nothing here reads a person's record.
"""

from __future__ import annotations

import datetime
import statistics
from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Count, F, Q

from joinedup.delivery.models import Application

from .models import Complaint, ComplaintPart

GROUPS = {
    "service": ("complaint__service__key", "service__key"),
    "agency": ("agency__key", "agency__key"),
    "jurisdiction": ("agency__jurisdiction__code", "agency__jurisdiction__code"),
}
UPHELD = ("uphold", "partly_uphold")


@dataclass
class Measure:
    group: str
    transactions: int
    complaints: int
    per_thousand: float | None
    resolved: int
    median_days_to_resolve: float | None
    upheld_share: float | None


def complaint_measures(by: str, start: datetime.datetime, end: datetime.datetime) -> list[Measure]:
    """The three measures per group (`by`: service, agency or jurisdiction)."""
    part_key, app_key = GROUPS[by]
    parts = ComplaintPart.objects.filter(
        complaint__created_at__gte=start, complaint__created_at__lt=end
    )
    counts = {
        row["g"]: row
        for row in parts.values(g=F(part_key))
        .annotate(
            n=Count("id"),
            answered=Count("id", filter=~Q(finding="")),
            upheld=Count("id", filter=Q(finding__in=UPHELD)),
        )
        .order_by()
    }
    transactions = dict(
        Application.objects.filter(submitted_at__gte=start, submitted_at__lt=end)
        .exclude(service__key__startswith="complaints.")
        .values(g=F(app_key))
        .annotate(n=Count("id"))
        .order_by()
        .values_list("g", "n")
    )
    durations: dict[str, list[float]] = defaultdict(list)
    for group, opened, closed in parts.filter(closed_at__isnull=False).values_list(
        part_key, "complaint__created_at", "closed_at"
    ):
        durations[group].append((closed - opened).total_seconds() / 86400)
    out = []
    for group in sorted(set(counts) | set(transactions), key=lambda g: str(g)):
        row = counts.get(group, {"n": 0, "answered": 0, "upheld": 0})
        made = transactions.get(group, 0)
        days = durations.get(group, [])
        out.append(
            Measure(
                group=str(group),
                transactions=made,
                complaints=row["n"],
                per_thousand=round(row["n"] * 1000 / made, 2) if made else None,
                resolved=len(days),
                median_days_to_resolve=round(statistics.median(days), 1) if days else None,
                upheld_share=round(row["upheld"] / row["answered"], 4) if row["answered"] else None,
            )
        )
    return out


def themes_by_month(start: datetime.datetime, end: datetime.datetime) -> dict[str, dict[str, int]]:
    """{month: {theme: complaints}} for the complaints staff tagged."""
    found: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for created, themes in (
        Complaint.objects.filter(created_at__gte=start, created_at__lt=end)
        .exclude(themes=[])
        .values_list("created_at", "themes")
    ):
        for theme in themes or ():
            found[created.strftime("%Y-%m")][theme] += 1
    return {month: dict(t) for month, t in sorted(found.items())}
