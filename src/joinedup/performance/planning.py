"""An office's staffing page: its weekly volumes, their forecast and its error on held-out
weeks, and the agents each half-hour of next week needs to meet the channel's standard,
set against the staff rostered (a roster file, when one is given).

It reads the fact table for one office and channel: one aggregated query for the weekly
counts, one for the weekday × half-hour profile, one for the handle time, whatever the
volume.
"""

from __future__ import annotations

import csv
import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Avg, Count
from django.db.models.functions import (
    ExtractHour,
    ExtractIsoWeekDay,
    ExtractMinute,
    TruncWeek,
)
from django.utils import timezone
from django.utils.translation import gettext as _

from joinedup.federation.calendars import calendar_for
from joinedup.federation.models import Channel, Office

from . import charts, staffing
from .models import Transaction

#: The weeks of profile (weekday × half-hour shares) and handle time the page reads.
PROFILE_WEEKS = 12
WEEKDAYS = (1, 2, 3, 4, 5, 6, 7)


class PlanningError(ValueError):
    """A choice the page does not know; the message is for people."""


def weekly_counts(office: Office, channel: str, today: datetime.date) -> tuple[list, list[float]]:
    """Whole weeks (Monday first) of started transactions, missing weeks as zero, up to the
    last complete week."""
    this_monday = today - datetime.timedelta(days=today.weekday())
    found = dict(
        Transaction.objects.filter(office=office.key, channel=channel, start_day__lt=this_monday)
        .annotate(week=TruncWeek("start_day"))
        .values("week")
        .annotate(n=Count("id"))
        .values_list("week", "n")
        .order_by()
    )
    if not found:
        return [], []
    weeks = sorted(_as_day(w) for w in found)
    counts = {_as_day(w): n for w, n in found.items()}
    monday, days, values = weeks[0], [], []
    while monday < this_monday:
        days.append(monday)
        values.append(float(counts.get(monday, 0)))
        monday += datetime.timedelta(days=7)
    return days, values


def _as_day(value) -> datetime.date:
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, str):
        return datetime.date.fromisoformat(value[:10])
    return value


def profile(office: Office, channel: str, zone, since: datetime.date) -> dict[tuple, float]:
    """Each (ISO weekday, half-hour) slot's share of a week's arrivals, in the office's time."""
    rows = (
        Transaction.objects.filter(office=office.key, channel=channel, start_day__gte=since)
        .annotate(
            weekday=ExtractIsoWeekDay("started_at", tzinfo=zone),
            hour=ExtractHour("started_at", tzinfo=zone),
            minute=ExtractMinute("started_at", tzinfo=zone),
        )
        .values_list("weekday", "hour", "minute")
        .annotate(n=Count("id"))
        .order_by()
    )
    slots: dict[tuple, int] = {}
    for weekday, hour, minute, n in rows:
        key = (weekday, hour * 2 + (minute >= 30))
        slots[key] = slots.get(key, 0) + n
    total = sum(slots.values())
    return {key: n / total for key, n in slots.items()} if total else {}


def handle_seconds(office: Office, channel: str, since: datetime.date) -> float | None:
    found = Transaction.objects.filter(
        office=office.key, channel=channel, start_day__gte=since, handle_seconds__gt=0
    ).aggregate(mean=Avg("handle_seconds"))["mean"]
    return float(found) if found else None


def load_roster(path: str | Path | None, office_key: str) -> dict[tuple[int, int], int]:
    """Agents rostered per (ISO weekday, half-hour) from a CSV file with the columns
    office, weekday (1 = Monday), start, end (HH:MM, local) and agents."""
    if not path or not Path(path).is_file():
        return {}
    rostered: dict[tuple[int, int], int] = {}
    with open(path, newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row.get("office") != office_key:
                continue
            try:
                weekday, agents = int(row["weekday"]), int(row["agents"])
                start = _slot(row["start"])
                end = _slot(row["end"])
            except (KeyError, ValueError):
                continue  # a malformed line is skipped, not fatal to the page
            for slot in range(start, end):
                rostered[(weekday, slot)] = rostered.get((weekday, slot), 0) + agents
    return rostered


def _slot(text: str) -> int:
    hours, minutes = text.strip().split(":")
    return int(hours) * 2 + (int(minutes) >= 30)


def slot_label(slot: int) -> str:
    return f"{slot // 2:02d}:{'30' if slot % 2 else '00'}"


def standard_text(channel: str) -> str:
    share, within = staffing.STANDARDS[channel]
    if within >= 60:
        return _("%(share)s %% served within %(minutes)s minutes") % {
            "share": round(share * 100),
            "minutes": within // 60,
        }
    return _("%(share)s %% answered within %(seconds)s seconds") % {
        "share": round(share * 100),
        "seconds": within,
    }


def page(office: Office, channel: str | None, today: datetime.date | None = None) -> dict:
    """Everything the staffing page shows for one office and one assisted channel."""
    today = today or timezone.localdate()
    if not channel:
        busiest_channel = (
            Transaction.objects.filter(office=office.key, channel__in=list(staffing.STANDARDS))
            .values("channel")
            .annotate(n=Count("id"))
            .order_by("-n")
            .first()
        )
        channel = busiest_channel["channel"] if busiest_channel else "counter"
    if channel not in staffing.STANDARDS:
        raise PlanningError(_("Choose the phone, a counter or video: the channels with agents."))
    names = {value: str(label) for value, label in Channel.choices}
    zone = ZoneInfo(calendar_for(office.jurisdiction).time_zone)
    weeks, volumes = weekly_counts(office, channel, today)
    since = today - datetime.timedelta(weeks=PROFILE_WEEKS)
    context: dict[str, Any] = {
        "office": office,
        "channel": channel,
        "channel_name": names.get(channel, channel),
        "channels": [(c, names.get(c, c)) for c in staffing.STANDARDS],
        "charts": [],
        "forecast": None,
        "slots": [],
        "standard": standard_text(channel),
    }
    if len(volumes) < staffing.HELD_OUT + 4:
        return context
    result = staffing.forecast(volumes)
    shown = weeks[-52:]
    offset = len(weeks) - len(shown)
    future = [weeks[-1] + datetime.timedelta(days=7 * (i + 1)) for i in range(staffing.HORIZON)]
    axis = [d.isoformat() for d in shown + future]
    actual = [round(v) for v in volumes[offset:]] + [None] * len(future)
    back: list[float | None] = [None] * len(axis)
    for i, value in enumerate(result.held_out_forecast):
        back[len(shown) - len(result.held_out_forecast) + i] = round(value, 1)
    ahead: list[float | None] = [None] * len(shown) + [round(v, 1) for v in result.forecast]
    error = None if result.mape is None else round(result.mape * 100, 1)
    context["forecast"] = {"mape": error, "seasonal": result.seasonal, "next": ahead[len(shown)]}
    context["charts"].append(
        charts.line_chart(
            "chart-forecast",
            _("Transactions per week: history, forecast and its test on held-out weeks"),
            axis,
            [
                (_("Actual"), actual),
                (_("Forecast of the held-out weeks"), back),
                (_("Forecast"), ahead),
            ],
            (_("Week starting"), _("Transactions")),
            _(
                "The model was fitted without the last %(held)s weeks and forecast them: it "
                "missed by %(error)s %% on average (mean absolute percentage error). The "
                "forecast of the next %(horizon)s weeks is fitted on the whole history."
            )
            % {
                "held": staffing.HELD_OUT,
                "error": "—" if error is None else error,
                "horizon": staffing.HORIZON,
            },
            _("Week starting"),
        )
    )
    shares = profile(office, channel, zone, since)
    handle = handle_seconds(office, channel, since)
    if not shares or not handle:
        return context
    share, within = staffing.STANDARDS[channel]
    roster = load_roster(settings.PERFORMANCE_ROSTER_FILE, office.key)
    next_week = result.forecast[0]
    busiest = max(WEEKDAYS, key=lambda day: sum(v for (d, _s), v in shares.items() if d == day))
    slots = sorted({slot for (_d, slot) in shares} | {slot for (_d, slot) in roster})
    rows = []
    for slot in slots:
        arrivals = next_week * shares.get((busiest, slot), 0.0)
        needed = staffing.agents_needed(arrivals, handle, share, within)
        on_roster = roster.get((busiest, slot)) if roster else None
        rows.append(
            {
                "slot": slot_label(slot),
                "arrivals": round(arrivals, 1),
                "needed": needed,
                "rostered": on_roster,
                "gap": None if on_roster is None else on_roster - needed,
            }
        )
    context["slots"] = rows
    context["busiest"] = busiest
    context["handle_minutes"] = round(handle / 60, 1)
    context["has_roster"] = bool(roster)
    lines = [(_("Agents needed"), [r["needed"] for r in rows])]
    if roster:
        lines.append((_("Agents rostered"), [r["rostered"] or 0 for r in rows]))
    context["charts"].append(
        charts.line_chart(
            "chart-staffing",
            _("Agents needed per half-hour on the busiest weekday of next week"),
            [r["slot"] for r in rows],
            lines,
            (_("Half-hour starting"), _("Agents")),
            _(
                "From the forecast week's volume, this office's share of arrivals in each "
                "half-hour over the last %(weeks)s weeks and its mean handle time, Erlang C "
                "gives the fewest agents meeting the standard."
            )
            % {"weeks": PROFILE_WEEKS},
            _("Half-hour starting"),
        )
    )
    return context
