"""Caseworker hours for the back-office queues: the hours each of the next weeks needs so that
the applications reaching the caseworkers are decided within their service standard, set
against the hours rostered (docs/performance-measures.md, *Caseworker hours*).

What is measured, per unit — an office (the applications started there), or an agency's
applications started at none of its offices (online, mail) — over the last `MEASURE_WEEKS`
weeks, abandoned applications (withdrawn, drafts never sent) left out:

    h        = Σ caseworker time ÷ applications decided (completed or not eligible) in those
               weeks, in hours: an application nobody worked on counts as 0
    L_a      = an application's window, the whole weeks its standard gives: ⌊S ÷ 5⌋ for S
               business days, ⌊S ÷ 7⌋ for S calendar days, at least 1 (1 without a standard)
    L        = the median window of the applications started in those weeks
    F_k      = the weekly forecast of applications (`staffing.forecast`), k = 0 the week under
               way
    backlog  = the applications started before this week and still open; each has r_a =
               max(0, h − its caseworker time so far) hours left, due in week d_a = its start
               week + L_a − 1 − this week, at least 0 (overdue: this week)

and the hours week k needs:

    arrivals_k = h × Σ_{j = max(0, k − L + 1)}^{k} F_j ÷ L
    backlog_k  = Σ over the open applications with d_a ≥ k of r_a ÷ (d_a + 1)
    needed_k   = arrivals_k + backlog_k
    gap_k      = rostered_k − needed_k

Each week's applications are worked evenly over the L weeks of their window, each open
application's remaining work evenly from now to its due week: a level schedule under which
every application is decided by the end of its window, which ends no later than its due
date.

Caseworker time is added to each application's transaction when one of its work items is
done (`record_work_item`, from delivery's `org.joinedup.workitem.completed`): claimed to
done (created to done when never claimed), at most `WORKDAY` per item.

The roster is a CSV file (`JOINEDUP_PERFORMANCE_CASEWORK_ROSTER_FILE`) with the columns
`office, week, hours`: `office` an office's key, or an agency's key for its applications not
at an office; `week` a Monday (YYYY-MM-DD), or empty for every week without its own line.

The figures of a page come from five aggregated queries whatever the offices or the data.
"""

from __future__ import annotations

import csv
import datetime
import math
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db.models import Count, F, Sum
from django.db.models.functions import TruncWeek
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from joinedup.delivery.models import WorkItem
from joinedup.federation.models import Agency, Office, Service

from . import charts, planning, staffing
from .models import COMPLETIONS, Outcome, Transaction
from .transactions import application_source

#: The weeks the handle time and the standards' windows are measured over.
MEASURE_WEEKS = 12
#: A work item's caseworker time counts at most a working day (a claim left open overnight).
WORKDAY = 8 * 3600
#: Lanes whose items are not caseworkers' (the applicant's own tasks, automatic steps).
NOT_CASEWORK = {WorkItem.APPLICANT, "", "system", "automatic"}


def record_work_item(data: dict) -> int:
    """Add a done work item's caseworker time to its application's transaction; returns the
    seconds added (0 for the applicant's tasks, an unknown item or application)."""
    if data.get("role") in NOT_CASEWORK:
        return 0
    item = (
        WorkItem.objects.filter(pk=data.get("work_item"), status=WorkItem.Status.COMPLETED)
        .values("application_id", "role", "created_at", "claimed_at", "completed_at")
        .first()
    )
    if item is None or item["role"] in NOT_CASEWORK or item["completed_at"] is None:
        return 0
    began = item["claimed_at"] or item["created_at"]
    seconds = min(WORKDAY, max(0, int((item["completed_at"] - began).total_seconds())))
    if seconds:
        Transaction.objects.filter(source=application_source(item["application_id"])).update(
            casework_seconds=F("casework_seconds") + seconds
        )
    return seconds


def window_weeks(standard_days: int | None, kind: str = "business") -> int:
    """The whole weeks a standard gives (at least 1; 1 without a standard)."""
    if not standard_days:
        return 1
    per_week = 7 if kind == Service.DayKind.CALENDAR else 5
    return max(1, standard_days // per_week)


def median_window(counts: dict[int, int]) -> int:
    """The median window of applications counted per window (1 when there are none)."""
    total = sum(counts.values())
    if not total:
        return 1
    seen = 0
    for window in sorted(counts):
        seen += counts[window]
        if seen * 2 >= total:
            return window
    return max(counts)


def backlog_hours(remaining: dict[int, float], horizon: int) -> list[float]:
    """Each week's share of the open applications' remaining hours, by due week (0: this
    week or overdue): spread evenly over the weeks from now to the due week."""
    weeks = [0.0] * horizon
    for due, hours in remaining.items():
        due = max(0, due)
        for k in range(min(due + 1, horizon)):
            weeks[k] += hours / (due + 1)
    return weeks


def arrival_hours(forecast: list[float], handle_hours: float, window: int) -> list[float]:
    """Each week's hours for the forecast applications, each week's worked evenly over the
    `window` weeks from its own."""
    return [
        handle_hours * sum(forecast[max(0, k - window + 1) : k + 1]) / window
        for k in range(len(forecast))
    ]


@dataclass
class Week:
    monday: datetime.date
    applications: float
    arrival_hours: float
    backlog_hours: float
    needed: float
    rostered: float | None = None
    gap: float | None = None

    @property
    def gap_size(self) -> float | None:
        """The surplus or the shortfall, without its sign (for a sentence that names it)."""
        return None if self.gap is None else abs(self.gap)


@dataclass
class Plan:
    """One unit's caseworker hours for the forecast's weeks."""

    key: str  # an office's key; "" for the agency's applications at none of its offices
    name: str
    weeks: list[Week] = field(default_factory=list)
    handle_hours: float | None = None
    decided: int = 0  # the applications h was measured on
    window: int = 1
    windows: dict[int, int] = field(default_factory=dict)  # applications per window
    open_applications: int = 0
    open_hours: float = 0.0
    mape: float | None = None
    too_little_history: bool = False

    @property
    def next_week(self) -> Week | None:
        return self.weeks[1] if len(self.weeks) > 1 else None


def load_roster(path: str | Path | None) -> dict[str, dict[datetime.date | None, float]]:
    """Caseworker hours per office (or agency) and week: None holds the hours of every week
    without its own line. A malformed line is skipped; lines for the same week add up."""
    if not path or not Path(path).is_file():
        return {}
    roster: dict[str, dict[datetime.date | None, float]] = defaultdict(dict)
    with open(path, newline="", encoding="utf-8") as handle:
        for line in csv.DictReader(handle):
            try:
                key = (line["office"] or "").strip()
                text = (line.get("week") or "").strip()
                week = datetime.date.fromisoformat(text) if text else None
                hours = float(line["hours"])
            except (KeyError, ValueError, TypeError, AttributeError):
                continue
            if not key or hours < 0 or not math.isfinite(hours):
                continue
            if week is not None:
                week -= datetime.timedelta(days=week.weekday())
            roster[key][week] = roster[key].get(week, 0.0) + hours
    return dict(roster)


def rostered(
    roster: dict[str, dict[datetime.date | None, float]], key: str, monday: datetime.date
) -> float | None:
    lines = roster.get(key)
    if not lines:
        return None
    return lines.get(monday, lines.get(None))


def _plan(
    plan: Plan,
    weekly: dict[datetime.date, int],
    windows: dict[int, int],
    handle: tuple[int, int],
    open_groups: list[tuple[datetime.date, int, int, int]],
    this_monday: datetime.date,
    roster_key: str,
    roster: dict,
    fitted: bool = True,
) -> Plan:
    """One unit's weeks, from its batched figures (see the module's formulas); not `fitted`:
    every week's applications are the mean of the last `MEASURE_WEEKS` weeks (no model)."""
    volumes, monday = [], min(weekly) if weekly else this_monday
    while monday < this_monday:
        volumes.append(float(weekly.get(monday, 0)))
        monday += datetime.timedelta(days=7)
    decided, seconds = handle
    plan.decided, plan.windows = decided, dict(windows)
    plan.window = median_window(plan.windows)
    if decided and seconds:
        plan.handle_hours = seconds / decided / 3600
    if len(volumes) < staffing.HELD_OUT + 4:
        plan.too_little_history = True
        return plan
    if fitted:
        result = staffing.forecast(volumes)
        plan.mape = None if result.mape is None else round(result.mape * 100, 1)
        ahead = result.forecast
    else:
        recent = volumes[-MEASURE_WEEKS:]
        ahead = [sum(recent) / len(recent)] * staffing.HORIZON
    h = plan.handle_hours or 0.0
    remaining: dict[int, float] = defaultdict(float)
    for start_monday, window, count, done in open_groups:
        due = (start_monday - this_monday).days // 7 + window - 1
        remaining[max(0, due)] += max(0.0, count * h - done / 3600)
        plan.open_applications += count
    plan.open_hours = round(sum(remaining.values()), 1)
    arrivals = arrival_hours(ahead, h, plan.window)
    backlog = backlog_hours(dict(remaining), len(ahead))
    for k, (volume, arriving, behind) in enumerate(zip(ahead, arrivals, backlog, strict=True)):
        monday = this_monday + datetime.timedelta(weeks=k)
        on_roster = rostered(roster, roster_key, monday)
        needed = round(arriving + behind, 1)
        plan.weeks.append(
            Week(
                monday,
                round(volume, 1),
                round(arriving, 1),
                round(behind, 1),
                needed,
                on_roster,
                None if on_roster is None else round(on_roster - needed, 1),
            )
        )
    return plan


def plans(
    agency: Agency,
    units: dict[str, str],
    today: datetime.date | None = None,
    office: str | None = None,
    service: str | None = None,
    fitted: bool = True,
) -> list[Plan]:
    """The plans of an agency's units (`units`: office key → name; "" for the applications at
    none of its offices, which also takes those of an office not in `units`), of one office
    only when `office` is given, of one service when `service` is: five queries. Not
    `fitted`: the last weeks' mean stands for the forecast (the demo's roster, quickly)."""
    today = today or timezone.localdate()
    this_monday = today - datetime.timedelta(days=today.weekday())
    since = today - datetime.timedelta(weeks=MEASURE_WEEKS)
    facts = Transaction.objects.filter(agency=agency.key).exclude(outcome=Outcome.ABANDONED)
    if office is not None:
        facts = facts.filter(office=office)
    if service:
        facts = facts.filter(service_key=service)

    def unit(key: str) -> str:
        return key if key in units else ""

    weekly: dict[str, dict[datetime.date, int]] = defaultdict(lambda: defaultdict(int))
    for key, week, n in (
        facts.filter(start_day__lt=this_monday)
        .annotate(week=TruncWeek("start_day"))
        .values_list("office", "week")
        .annotate(n=Count("id"))
        .order_by()
    ):
        weekly[unit(key)][planning.as_day(week)] += n
    started = list(
        facts.filter(start_day__gte=since, start_day__lt=this_monday, standard_days__isnull=False)
        .values_list("office", "service_key", "standard_days")
        .annotate(n=Count("id"))
        .order_by()
    )
    handles: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for key, n, seconds in (
        facts.filter(outcome__in=COMPLETIONS, end_day__gte=since)
        .values_list("office")
        .annotate(n=Count("id"), seconds=Sum("casework_seconds"))
        .order_by()
    ):
        handles[unit(key)][0] += n
        handles[unit(key)][1] += seconds or 0
    waiting = list(
        facts.filter(outcome=Outcome.IN_PROGRESS, start_day__lt=this_monday)
        .annotate(week=TruncWeek("start_day"))
        .values_list("office", "service_key", "standard_days", "week")
        .annotate(n=Count("id"), seconds=Sum("casework_seconds"))
        .order_by()
    )
    services = {row[1] for row in started} | {row[1] for row in waiting}
    kinds = dict(Service.objects.filter(key__in=services).values_list("key", "standard_day_kind"))
    windows: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for key, service_key, days, n in started:
        windows[unit(key)][window_weeks(days, kinds.get(service_key, "business"))] += n
    open_groups: dict[str, list] = defaultdict(list)
    for key, service_key, days, week, n, seconds in waiting:
        window = window_weeks(days, kinds.get(service_key, "business"))
        open_groups[unit(key)].append((planning.as_day(week), window, n, seconds or 0))
    roster = load_roster(settings.PERFORMANCE_CASEWORK_ROSTER_FILE)
    found = []
    for key, name in units.items():
        if key not in weekly and office is None:
            continue
        found.append(
            _plan(
                Plan(key, name),
                weekly.get(key, {}),
                windows.get(key, {}),
                tuple(handles.get(key, (0, 0))),
                open_groups.get(key, []),
                this_monday,
                key or agency.key,
                roster,
                fitted,
            )
        )
    return found


def total(plans_found: list[Plan], name: str) -> Plan | None:
    """The agency's units added up, week by week (units with too little history left out);
    h is the mean over all their decided applications, the window their median."""
    forecast = [plan for plan in plans_found if plan.weeks]
    if not forecast:
        return None
    summed = Plan("", name)
    summed.decided = sum(plan.decided for plan in forecast)
    hours = sum((plan.handle_hours or 0) * plan.decided for plan in forecast)
    summed.handle_hours = hours / summed.decided if summed.decided and hours else None
    for plan in forecast:
        for window, n in plan.windows.items():
            summed.windows[window] = summed.windows.get(window, 0) + n
    summed.window = median_window(summed.windows)
    summed.open_applications = sum(plan.open_applications for plan in forecast)
    summed.open_hours = round(sum(plan.open_hours for plan in forecast), 1)
    for k, first in enumerate(forecast[0].weeks):
        weeks = [plan.weeks[k] for plan in forecast]
        known = [week.rostered for week in weeks if week.rostered is not None]
        needed = round(sum(week.needed for week in weeks), 1)
        on_roster = round(sum(known), 1) if known else None
        summed.weeks.append(
            Week(
                first.monday,
                round(sum(week.applications for week in weeks), 1),
                round(sum(week.arrival_hours for week in weeks), 1),
                round(sum(week.backlog_hours for week in weeks), 1),
                needed,
                on_roster,
                None if on_roster is None else round(on_roster - needed, 1),
            )
        )
    return summed


def chart(plan: Plan, chart_id: str) -> charts.Chart:
    """Hours needed and rostered per week (a line each), and the table of every figure."""
    labels = [formats.date_format(week.monday, "SHORT_DATE_FORMAT") for week in plan.weeks]
    has_roster = any(week.rostered is not None for week in plan.weeks)
    series: list[tuple[str, list[float | None]]] = [
        (_("Caseworker hours needed"), [week.needed for week in plan.weeks])
    ]
    if has_roster:
        series.append((_("Caseworker hours rostered"), [week.rostered for week in plan.weeks]))
    found = charts.line_chart(
        chart_id,
        _("Caseworker hours needed per week to keep the service standards"),
        labels,
        series,
        (_("Week starting"), _("Hours")),
        _(
            "Each week's forecast applications times the mean caseworker time per "
            "application (%(hours)s hours), worked over the %(window)s weeks the standard "
            "gives, plus the open applications' remaining work spread up to their due week."
        )
        % {
            "hours": formats.number_format(round(plan.handle_hours or 0, 2), 2),
            "window": plan.window,
        },
        _("Week starting"),
    )
    found.headers = [
        _("Week starting"),
        _("Applications (forecast)"),
        _("Hours for the new applications"),
        _("Hours for the open applications"),
        _("Caseworker hours needed"),
        _("Caseworker hours rostered"),
        _("Surplus or shortfall (hours)"),
    ]
    found.rows = [
        [
            label,
            week.applications,
            week.arrival_hours,
            week.backlog_hours,
            week.needed,
            "—" if week.rostered is None else week.rostered,
            "—" if week.gap is None else week.gap,
        ]
        for label, week in zip(labels, plan.weeks, strict=True)
    ]
    return found


def office_context(
    office: Office, today: datetime.date | None = None, service: str | None = None
) -> dict[str, Any]:
    """What an office's staffing page shows of its caseworker hours."""
    (plan,) = plans(office.agency, {office.key: office.name}, today, office.key, service)
    return {
        "casework": plan,
        "casework_chart": chart(plan, "chart-casework") if plan.weeks else None,
        "casework_roster": any(week.rostered is not None for week in plan.weeks),
    }


def agency_context(
    agency: Agency, offices: list[Office], today: datetime.date | None = None
) -> dict[str, Any]:
    """What an agency's staffing page shows of its caseworker hours: each office's, those of
    its applications at no office, and the sum."""
    units = {office.key: office.name for office in offices}
    units[""] = _("Applications at none of the offices (online, mail and others)")
    found = plans(agency, units, today)
    summed = total(found, _("All the agency's applications"))
    return {
        "casework_units": found,
        "casework_total": summed,
        "casework_chart": chart(summed, "chart-agency-casework") if summed else None,
        "casework_roster": any(week.rostered is not None for plan in found for week in plan.weeks),
    }
