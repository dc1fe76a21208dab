"""Rosters for the demonstration: agents per office, weekday and half-hour, written to the
file the staffing pages read (`JOINEDUP_PERFORMANCE_ROSTER_FILE`), near what the forecast
needs but not quite — some half-hours short, some over — so the gap is worth reading; and
caseworker hours per office and week (`JOINEDUP_PERFORMANCE_CASEWORK_ROSTER_FILE`), near
what the back-office queues need, the same way."""

from __future__ import annotations

import csv
from pathlib import Path

from django.conf import settings
from django.db.models import Count

from joinedup.federation.models import Agency, Office
from joinedup.performance import casework, planning, staffing
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


@generator(
    "casework-rosters",
    order=97,
    help="a roster file of caseworker hours per office and agency (after the rollups)",
)
def make_casework_rosters(run: HistoryRun) -> int:
    """Caseworker hours per week for each office and each agency's applications at none of
    its offices, near next week's needs (some units short, some over), and one week of
    leave per unit with fewer hours, so the page's gap is worth reading. The needs are
    counted from the last weeks' mean, not the fitted forecast: no model fit per unit keeps
    the demonstration's history quick."""
    path = settings.PERFORMANCE_CASEWORK_ROSTER_FILE
    if not path:
        return 0
    keys = set(Transaction.objects.values_list("agency", flat=True).distinct().order_by())
    lines = []
    for agency in Agency.objects.filter(key__in=keys).order_by("key"):
        offices = list(Office.objects.filter(agency=agency).order_by("key"))
        units = {office.key: office.name for office in offices}
        units[""] = agency.key
        for plan in casework.plans(agency, units, fitted=False):
            week = plan.next_week
            if week is None or not week.needed:
                continue
            key = plan.key or agency.key
            hours = round(week.needed * run.rng.choice((0.85, 0.95, 1.0, 1.05, 1.15)))
            lines.append((key, "", hours))
            leave = plan.weeks[run.rng.randint(2, len(plan.weeks) - 1)].monday
            lines.append((key, leave.isoformat(), round(hours * 0.7)))
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(("office", "week", "hours"))
        writer.writerows(lines)
    return len(lines)
