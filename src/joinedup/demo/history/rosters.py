"""A roster for the demonstration: agents per office, weekday and half-hour, written to the
file the staffing pages read (`JOINEDUP_PERFORMANCE_ROSTER_FILE`), near what the forecast
needs but not quite — some half-hours short, some over — so the gap is worth reading."""

from __future__ import annotations

import csv
from pathlib import Path

from django.conf import settings
from django.db.models import Count

from joinedup.federation.models import Office
from joinedup.performance import planning, staffing
from joinedup.performance.models import Transaction

from .run import HistoryRun, generator


@generator("rosters", order=96, help="a roster file of agents per office (after the rollups)")
def make_rosters(run: HistoryRun) -> int:
    path = settings.PERFORMANCE_ROSTER_FILE
    if not path:
        return 0
    busiest = (
        Transaction.objects.exclude(office="")
        .filter(channel__in=list(staffing.STANDARDS))
        .values("office", "channel")
        .annotate(n=Count("id"))
        .order_by("office", "-n")
    )
    channels: dict[str, str] = {}
    for row in busiest:
        channels.setdefault(row["office"], row["channel"])
    offices = Office.objects.select_related("jurisdiction", "agency").filter(key__in=channels)
    lines = []
    for office in offices.order_by("key"):
        context = planning.page(office, channels[office.key])
        for row in context["slots"]:
            start = row["slot"]
            hours, minutes = (int(part) for part in start.split(":"))
            end = f"{hours + (minutes == 30):02d}:{'00' if minutes == 30 else '30'}"
            for weekday in range(1, 6):
                agents = max(0, row["needed"] + run.rng.choice((-1, 0, 0, 0, 1)))
                lines.append((office.key, weekday, start, end, agents))
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(("office", "weekday", "start", "end", "agents"))
        writer.writerows(lines)
    return len(lines)
