"""An agency's staffing page: all its offices and assisted channels on one page, for the
supervisors and planners who staff them.

For each office and channel with agents (phone, counter, video) it shows what the office's
own staffing page computes for the same channel and all services — the forecast volume of
next week (the forecast's second week: the history stops at the last complete week, so the
first is the week under way) and the forecast's error on held-out weeks, that week's
busiest weekday, and at
that day's busiest half-hour the agents Erlang C asks for, with Erlang A's beside them (when
clients give up) and the agents rostered, when a roster file is loaded — and links each
office to its own page for the half-hours and the days.

The figures come from batched queries over the agency's offices: the weekly counts, the
daily counts of the profile weeks and the handle times in one query each, the weekday ×
half-hour profile in one query per time zone of the agency's offices, and the holiday
calendar once per jurisdiction. The number of queries does not grow with the offices.
"""

from __future__ import annotations

import csv
import datetime
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Avg, Count
from django.db.models.functions import ExtractHour, ExtractIsoWeekDay, ExtractMinute, TruncWeek
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from joinedup.federation.calendars import Calendar, calendar_for
from joinedup.federation.models import Agency, Channel, Office

from . import charts, planning, staffing
from .models import Transaction

ASSISTED = tuple(staffing.STANDARDS)


@dataclass
class Row:
    """One office and channel: its forecast and the agents its busiest half-hour needs."""

    office: Office
    channel: str
    channel_name: str
    standard: str
    next_week: float | None = None
    mape: float | None = None
    busiest_day: datetime.date | None = None
    peak_slot: str | None = None
    peak_arrivals: float | None = None
    needed: int | None = None
    needed_a: int | None = None
    agent_hours: float | None = None
    rostered: int | None = None
    gap: int | None = None
    too_little_history: bool = False


def load_rosters(path: str | Path | None) -> dict[str, dict[tuple[int, int], int]]:
    """Every office's agents per (ISO weekday, half-hour), read once from the roster file
    the office pages read (columns office, weekday, start, end, agents)."""
    if not path or not Path(path).is_file():
        return {}
    rosters: dict[str, dict[tuple[int, int], int]] = defaultdict(dict)
    with open(path, newline="", encoding="utf-8") as handle:
        for line in csv.DictReader(handle):
            try:
                office = line["office"]
                weekday, agents = int(line["weekday"]), int(line["agents"])
                start, end = planning._slot(line["start"]), planning._slot(line["end"])
            except (KeyError, ValueError, AttributeError):
                continue  # a malformed line is skipped, as on the office page
            roster = rosters[office]
            for slot in range(start, end):
                roster[(weekday, slot)] = roster.get((weekday, slot), 0) + agents
    return dict(rosters)


def _facts(offices: list[Office]):
    return Transaction.objects.filter(office__in=[o.key for o in offices], channel__in=ASSISTED)


def _weekly(offices: list[Office], this_monday: datetime.date) -> dict[tuple, dict]:
    rows = (
        _facts(offices)
        .filter(start_day__lt=this_monday)
        .annotate(week=TruncWeek("start_day"))
        .values_list("office", "channel", "week")
        .annotate(n=Count("id"))
        .order_by()
    )
    found: dict[tuple, dict] = defaultdict(dict)
    for office, channel, week, n in rows:
        found[(office, channel)][planning.as_day(week)] = n
    return found


def _daily(offices: list[Office], first: datetime.date, before: datetime.date) -> dict:
    rows = (
        _facts(offices)
        .filter(start_day__gte=first, start_day__lt=before)
        .values_list("office", "channel", "start_day")
        .annotate(n=Count("id"))
        .order_by()
    )
    found: dict[tuple, dict] = defaultdict(dict)
    for office, channel, day, n in rows:
        found[(office, channel)][planning.as_day(day)] = n
    return found


def _handles(offices: list[Office], since: datetime.date) -> dict[tuple, float]:
    rows = (
        _facts(offices)
        .filter(start_day__gte=since, handle_seconds__gt=0)
        .values_list("office", "channel")
        .annotate(mean=Avg("handle_seconds"))
        .order_by()
    )
    return {(office, channel): float(mean) for office, channel, mean in rows if mean}


def _profiles(offices: list[Office], zones: dict[str, str], since: datetime.date) -> dict:
    """Each office and channel's share of a week's arrivals per (ISO weekday, half-hour),
    read in the office's time zone: one query per zone."""
    counts: dict[tuple, dict] = defaultdict(dict)
    for zone_name in sorted(set(zones.values())):
        zone = ZoneInfo(zone_name)
        keys = [o for o in offices if zones[o.key] == zone_name]
        rows = (
            _facts(keys)
            .filter(start_day__gte=since)
            .annotate(
                weekday=ExtractIsoWeekDay("started_at", tzinfo=zone),
                hour=ExtractHour("started_at", tzinfo=zone),
                minute=ExtractMinute("started_at", tzinfo=zone),
            )
            .values_list("office", "channel", "weekday", "hour", "minute")
            .annotate(n=Count("id"))
            .order_by()
        )
        for office, channel, weekday, hour, minute, n in rows:
            slots = counts[(office, channel)]
            key = (weekday, hour * 2 + (minute >= 30))
            slots[key] = slots.get(key, 0) + n
    shares = {}
    for key, slots in counts.items():
        total = sum(slots.values())
        shares[key] = {slot: n / total for slot, n in slots.items()} if total else {}
    return shares


def _weeks(found: dict[datetime.date, int], this_monday: datetime.date):
    """Whole weeks from the first with any volume to the last complete one, zeros kept."""
    if not found:
        return [], []
    monday, weeks, values = min(found), [], []
    while monday < this_monday:
        weeks.append(monday)
        values.append(float(found.get(monday, 0)))
        monday += datetime.timedelta(days=7)
    return weeks, values


def _row(
    row: Row,
    weekly: dict[datetime.date, int],
    daily: dict[datetime.date, int],
    shares: dict[tuple, float],
    handle: float | None,
    roster: dict[tuple[int, int], int],
    calendar: Calendar,
    this_monday: datetime.date,
    since: datetime.date,
) -> Row:
    """The office page's computation for one channel, from the batched figures."""
    weeks, volumes = _weeks(weekly, this_monday)
    if len(volumes) < staffing.HELD_OUT + 4:
        row.too_little_history = True
        return row
    result = staffing.forecast(volumes)
    row.next_week = round(result.forecast[planning.NEXT], 1)
    row.mape = None if result.mape is None else round(result.mape * 100, 1)
    since_monday = since - datetime.timedelta(days=since.weekday())
    recent = [w for w in weeks if w >= since_monday]
    shares_by_day = planning.weekday_shares(daily, recent, calendar)
    if not shares or not handle:
        return row
    next_week = planning.spread(
        this_monday + datetime.timedelta(weeks=planning.NEXT),
        result.forecast[planning.NEXT],
        shares_by_day,
        calendar,
    )
    day_volume = {day.isoweekday(): volume for day, volume in next_week}
    by_weekday = {
        day: sum(v for (d, _s), v in shares.items() if d == day) for day in planning.WEEKDAYS
    }
    open_days = [day for day in planning.WEEKDAYS if day in day_volume and by_weekday[day] > 0]
    if not open_days:
        return row
    busiest = max(open_days, key=lambda day: day_volume[day])
    share, within = staffing.STANDARDS[row.channel]
    patience = staffing.PATIENCE[row.channel]
    best: tuple[int, float, int] | None = None  # (agents, arrivals, slot)
    hours = 0.0
    for slot in sorted(s for (d, s) in shares if d == busiest):
        arrivals = day_volume[busiest] * shares[(busiest, slot)] / by_weekday[busiest]
        needed = staffing.agents_needed(arrivals, handle, share, within)
        hours += needed / 2
        if best is None or (needed, arrivals) > best[:2]:
            best = (needed, arrivals, slot)
    if best is None:
        return row
    needed, arrivals, slot = best
    row.busiest_day = next(day for day, _v in next_week if day.isoweekday() == busiest)
    row.peak_slot = planning.slot_label(slot)
    row.peak_arrivals = round(arrivals, 1)
    row.needed = needed
    row.needed_a = staffing.agents_needed_a(arrivals, handle, patience, share, within)
    row.agent_hours = round(hours, 1)
    if roster:
        row.rostered = roster.get((busiest, slot), 0)
        row.gap = row.rostered - needed
    return row


def page(agency: Agency, today: datetime.date | None = None) -> dict[str, Any]:
    """Everything the agency's staffing page shows: a row per office and assisted channel
    with history, the offices without any, and the chart of the agents needed."""
    today = today or timezone.localdate()
    this_monday = today - datetime.timedelta(days=today.weekday())
    since = today - datetime.timedelta(weeks=planning.PROFILE_WEEKS)
    offices = list(Office.objects.filter(agency=agency).select_related("jurisdiction"))
    offices.sort(key=lambda o: o.name.lower())
    calendars: dict[int, Calendar] = {}
    for office in offices:
        if office.jurisdiction_id not in calendars:
            calendars[office.jurisdiction_id] = calendar_for(office.jurisdiction)
    zones = {o.key: calendars[o.jurisdiction_id].time_zone for o in offices}
    weekly = _weekly(offices, this_monday) if offices else {}
    first = since - datetime.timedelta(days=since.weekday())
    daily = _daily(offices, first, this_monday) if weekly else {}
    handles = _handles(offices, since) if weekly else {}
    profiles = _profiles(offices, zones, since) if weekly else {}
    rosters = load_rosters(settings.PERFORMANCE_ROSTER_FILE)
    names = {value: str(label) for value, label in Channel.choices}
    rows, quiet = [], []
    for office in offices:
        channels = [c for c in ASSISTED if (office.key, c) in weekly]
        if not channels:
            quiet.append(office)
        for channel in channels:
            key = (office.key, channel)
            rows.append(
                _row(
                    Row(
                        office,
                        channel,
                        names.get(channel, channel),
                        planning.standard_text(channel),
                    ),
                    weekly[key],
                    daily.get(key, {}),
                    profiles.get(key, {}),
                    handles.get(key),
                    rosters.get(office.key, {}),
                    calendars[office.jurisdiction_id],
                    this_monday,
                    since,
                )
            )
    staffed = [row for row in rows if row.needed is not None]
    context: dict[str, Any] = {
        "agency": agency,
        "offices": offices,
        "rows": rows,
        "quiet": quiet,
        "charts": [],
        "has_roster": any(row.rostered is not None for row in rows),
        "total_needed": sum(row.needed or 0 for row in staffed),
        "total_needed_a": sum(row.needed_a or 0 for row in staffed),
        "total_next_week": round(sum(row.next_week or 0 for row in rows), 1),
        "week": this_monday + datetime.timedelta(weeks=planning.NEXT),
    }
    if staffed:
        context["charts"].append(_chart(staffed, context["week"]))
    return context


def _chart(rows: list[Row], week: datetime.date) -> charts.Chart:
    """Agents needed at each office and channel's busiest half-hour, Erlang C and A side by
    side; the table under it has the same figures."""
    labels = [f"{row.office.name} — {row.channel_name}" for row in rows]
    series = [
        (_("Agents needed (Erlang C)"), [row.needed for row in rows]),
        (_("Agents needed if clients give up (Erlang A)"), [row.needed_a for row in rows]),
    ]
    if any(row.rostered is not None for row in rows):
        series.append((_("Agents rostered"), [row.rostered for row in rows]))
    data = [
        {
            "type": "bar",
            "orientation": "h",
            "y": labels,
            "x": values,
            "name": name,
            "marker": {"color": charts.PALETTE[index]},
            "hovertemplate": "%{y}: %{x}<extra>" + name + "</extra>",
        }
        for index, (name, values) in enumerate(series)
    ]
    layout = charts._layout(_("Agents"), "", barmode="group")
    layout["margin"]["l"] = 280
    layout["yaxis"]["automargin"] = True
    layout["yaxis"]["autorange"] = "reversed"
    headers = [_("Office and channel"), *(name for name, _values in series)]
    table = [
        [label, *("—" if values[i] is None else values[i] for _name, values in series)]
        for i, label in enumerate(labels)
    ]
    return charts.Chart(
        "chart-agency-staffing",
        _("Agents needed at each office's busiest half-hour, week starting %(week)s")
        % {"week": formats.date_format(week, "DATE_FORMAT")},
        _(
            "For each office and channel, the half-hour of the week's busiest day that "
            "needs the most agents to meet the channel's standard: Erlang C, and Erlang A "
            "when clients give up after waiting. Each office's own page gives every half-hour."
        ),
        {"data": data, "layout": layout},
        headers,
        table,
    )
