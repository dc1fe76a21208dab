"""An office's staffing page: its weekly volumes, their forecast and its error on held-out
weeks, and the agents each half-hour of next week needs to meet the channel's standard,
set against the staff rostered (a roster file, when one is given).

It reads the fact table for one office and channel (and, when asked, one service): one
aggregated query for the weekly counts, one for the daily counts, one for the weekday ×
half-hour profile, one for the handle time, whatever the volume.

Per business day: each forecast week's volume is spread over its business days in the
office's jurisdiction by the weekday shares measured over the last `PROFILE_WEEKS` weeks
that had no holiday; a holiday is closed (no volume) and its share goes to the week's other
business days in proportion. The same spreading of the held-out weeks' forecast gives the
error per business day. The holidays of the forecast's weeks are listed, named in the
reader's language when the holiday calendar has it.
"""

from __future__ import annotations

import csv
import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import holidays as holiday_calendars
from django.conf import settings
from django.db.models import Avg, Count
from django.db.models.functions import (
    ExtractHour,
    ExtractIsoWeekDay,
    ExtractMinute,
    TruncWeek,
)
from django.utils import formats, timezone
from django.utils.dates import WEEKDAYS as WEEKDAY_NAMES
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from joinedup.federation.calendars import Calendar, calendar_for
from joinedup.federation.models import Channel, Office

from . import charts, staffing
from .models import Transaction
from .pages import service_names

#: The weeks of profile (weekday × half-hour shares) and handle time the page reads.
PROFILE_WEEKS = 12
WEEKDAYS = (1, 2, 3, 4, 5, 6, 7)
#: Next week's place among the forecast weeks (the first, 0, is the week under way).
NEXT = 1


class PlanningError(ValueError):
    """A choice the page does not know; the message is for people."""


def _facts(office: Office, channel: str, service: str | None = None):
    """The office's transactions in a channel (and of one service, when given)."""
    found = Transaction.objects.filter(office=office.key, channel=channel)
    return found.filter(service_key=service) if service else found


def weekly_counts(
    office: Office, channel: str, today: datetime.date, service: str | None = None
) -> tuple[list, list[float]]:
    """Whole weeks (Monday first) of started transactions, missing weeks as zero, up to the
    last complete week."""
    this_monday = today - datetime.timedelta(days=today.weekday())
    found = dict(
        _facts(office, channel, service)
        .filter(start_day__lt=this_monday)
        .annotate(week=TruncWeek("start_day"))
        .values("week")
        .annotate(n=Count("id"))
        .values_list("week", "n")
        .order_by()
    )
    if not found:
        return [], []
    weeks = sorted(as_day(w) for w in found)
    counts = {as_day(w): n for w, n in found.items()}
    monday, days, values = weeks[0], [], []
    while monday < this_monday:
        days.append(monday)
        values.append(float(counts.get(monday, 0)))
        monday += datetime.timedelta(days=7)
    return days, values


def as_day(value: Any) -> datetime.date:
    """A truncated date as the database gives it (a datetime on PostgreSQL, ISO text on
    SQLite) as a date."""
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, str):
        return datetime.date.fromisoformat(value[:10])
    return value


def profile(
    office: Office, channel: str, zone, since: datetime.date, service: str | None = None
) -> dict[tuple, float]:
    """Each (ISO weekday, half-hour) slot's share of a week's arrivals, in the office's time."""
    rows = (
        _facts(office, channel, service)
        .filter(start_day__gte=since)
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


def handle_seconds(
    office: Office, channel: str, since: datetime.date, service: str | None = None
) -> float | None:
    found = (
        _facts(office, channel, service)
        .filter(start_day__gte=since, handle_seconds__gt=0)
        .aggregate(mean=Avg("handle_seconds"))["mean"]
    )
    return float(found) if found else None


def daily_counts(
    office: Office,
    channel: str,
    first: datetime.date,
    before: datetime.date,
    service: str | None = None,
) -> dict[datetime.date, int]:
    """Transactions started on each day from `first` to the day before `before`."""
    rows = (
        _facts(office, channel, service)
        .filter(start_day__gte=first, start_day__lt=before)
        .values("start_day")
        .annotate(n=Count("id"))
        .values_list("start_day", "n")
        .order_by()
    )
    return {as_day(day): n for day, n in rows}


def week_days(monday: datetime.date, calendar: Calendar) -> list[datetime.date]:
    """The business days of the week starting on `monday`."""
    days = (monday + datetime.timedelta(days=offset) for offset in range(7))
    return [day for day in days if calendar.is_business_day(day)]


def weekday_shares(
    counts: dict[datetime.date, int], mondays: list[datetime.date], calendar: Calendar
) -> dict[int, float]:
    """Each ISO weekday's share of a week's volume, over the given weeks that had no
    holiday on a working weekday (all of them when every week had one)."""
    working = [d for d in range(7) if d not in calendar.weekend]
    whole = [
        monday for monday in mondays if len(week_days(monday, calendar)) == len(working)
    ] or mondays
    totals = {weekday + 1: 0 for weekday in working}
    for monday in whole:
        for weekday in working:
            totals[weekday + 1] += counts.get(monday + datetime.timedelta(days=weekday), 0)
    volume = sum(totals.values())
    if not volume:
        return {day: 1 / len(totals) for day in totals} if totals else {}
    return {day: n / volume for day, n in totals.items()}


def spread(
    monday: datetime.date, volume: float, shares: dict[int, float], calendar: Calendar
) -> list[tuple[datetime.date, float]]:
    """A week's volume over its business days by weekday share; a holiday gets nothing and
    its share goes to the other business days of the week, in proportion."""
    days = week_days(monday, calendar)
    weights = [shares.get(day.isoweekday(), 0.0) for day in days]
    total = sum(weights)
    if not days:
        return []
    if total <= 0:
        return [(day, volume / len(days)) for day in days]
    return [(day, volume * weight / total) for day, weight in zip(days, weights, strict=True)]


def holiday_names(
    calendar: Calendar, start: datetime.date, end: datetime.date, language: str
) -> list[tuple[datetime.date, str]]:
    """The holidays with start ≤ day ≤ end, named in `language` when the holiday calendar
    has it (in its own language otherwise)."""
    found: dict[datetime.date, str] = {}
    for country, subdivision in calendar.sources:
        supported = holiday_calendars.country_holidays(country).supported_languages or ()
        chosen = next((code for code in supported if code.split("_")[0] == language), None)
        names = holiday_calendars.country_holidays(
            country,
            subdiv=subdivision or None,
            years=range(start.year, end.year + 1),
            language=chosen,
        )
        for day, name in names.items():
            if start <= day <= end:
                found[day] = f"{found[day]}; {name}" if day in found else name
    return sorted(found.items())


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


def page(
    office: Office,
    channel: str | None,
    today: datetime.date | None = None,
    service: str | None = None,
) -> dict:
    """Everything the staffing page shows for one office and one assisted channel (and one
    service, when asked; all the office's services otherwise)."""
    today = today or timezone.localdate()
    offered = service_choices(office)
    if service and service not in dict(offered):
        raise PlanningError(_("Choose one of the services this office delivers."))
    if not channel:
        assisted = Transaction.objects.filter(
            office=office.key, channel__in=list(staffing.STANDARDS)
        )
        if service:
            assisted = assisted.filter(service_key=service)
        busiest_channel = assisted.values("channel").annotate(n=Count("id")).order_by("-n").first()
        channel = busiest_channel["channel"] if busiest_channel else "counter"
    if channel not in staffing.STANDARDS:
        raise PlanningError(_("Choose the phone, a counter or video: the channels with agents."))
    names = {value: str(label) for value, label in Channel.choices}
    calendar = calendar_for(office.jurisdiction)
    zone = ZoneInfo(calendar.time_zone)
    weeks, volumes = weekly_counts(office, channel, today, service)
    since = today - datetime.timedelta(weeks=PROFILE_WEEKS)
    context: dict[str, Any] = {
        "office": office,
        "channel": channel,
        "channel_name": names.get(channel, channel),
        "channels": [(c, names.get(c, c)) for c in staffing.STANDARDS],
        "service": service or "",
        "services": offered,
        "charts": [],
        "forecast": None,
        "days": [],
        "holidays": [],
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
    # Per business day: the weekday shares of the last weeks, the held-out weeks' error.
    held_weeks = weeks[len(weeks) - len(result.held_out_forecast) :]
    first_day = min([since - datetime.timedelta(days=since.weekday()), *held_weeks[:1]])
    counts = daily_counts(
        office, channel, first_day, weeks[-1] + datetime.timedelta(days=7), service
    )
    recent = [w for w in weeks if w >= since - datetime.timedelta(days=since.weekday())]
    shares_by_day = weekday_shares(counts, recent, calendar)
    actual_days, forecast_days = [], []
    for monday, value in zip(held_weeks, result.held_out_forecast, strict=True):
        for day, expected in spread(monday, value, shares_by_day, calendar):
            actual_days.append(float(counts.get(day, 0)))
            forecast_days.append(expected)
    day_error = staffing.mape(actual_days, forecast_days) if actual_days else None
    # The weeks counted end with the last complete one: the forecast's first week is the
    # week under way, its second is next week (the one a roster can still be changed for).
    next_monday = future[NEXT]
    context["forecast"] = {
        "mape": error,
        "day_mape": None if day_error is None else round(day_error * 100, 1),
        "seasonal": result.seasonal,
        "next": ahead[len(shown) + NEXT],
        "next_monday": next_monday,
    }
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
    days: list[dict[str, Any]] = []
    for monday, value in zip(future, result.forecast, strict=True):
        for day, expected in spread(monday, value, shares_by_day, calendar):
            if day >= today:
                days.append({"day": day, "weekday": day.isoweekday(), "forecast": expected})
    language = (get_language() or "en")[:2]
    end = future[-1] + datetime.timedelta(days=6)
    context["forecast"]["until"] = end
    context["holidays"] = [
        {"day": day, "name": name} for day, name in holiday_names(calendar, today, end, language)
    ]
    context["days"] = [
        {
            "day": row["day"],
            "weekday": str(WEEKDAY_NAMES[row["weekday"] - 1]),
            "forecast": round(row["forecast"], 1),
        }
        for row in days
    ]
    if days:
        context["charts"].append(
            charts.line_chart(
                "chart-days",
                _("Transactions per business day over the next weeks"),
                [formats.date_format(row["day"], "SHORT_DATE_FORMAT") for row in days],
                [(_("Forecast"), [round(row["forecast"], 1) for row in days])],
                (_("Business day"), _("Transactions")),
                _(
                    "Each forecast week spread over its business days by the share of each "
                    "weekday over the last %(weeks)s weeks without a holiday; holidays are "
                    "closed and their share goes to the week's other days. On the held-out "
                    "weeks, this missed by %(error)s %% per business day on average."
                )
                % {
                    "weeks": PROFILE_WEEKS,
                    "error": "—" if day_error is None else round(day_error * 100, 1),
                },
                _("Business day"),
            )
        )
    shares = profile(office, channel, zone, since, service)
    handle = handle_seconds(office, channel, since, service)
    if not shares or not handle:
        return context
    share, within = staffing.STANDARDS[channel]
    roster = load_roster(settings.PERFORMANCE_ROSTER_FILE, office.key)
    next_week = spread(next_monday, result.forecast[NEXT], shares_by_day, calendar)
    day_volume = {day.isoweekday(): volume for day, volume in next_week}
    by_weekday = {day: sum(v for (d, _s), v in shares.items() if d == day) for day in WEEKDAYS}
    open_days = [day for day in WEEKDAYS if day in day_volume and by_weekday[day] > 0]
    if not open_days:
        return context
    busiest = max(open_days, key=lambda day: day_volume[day])
    slots = sorted({slot for (_d, slot) in shares} | {slot for (_d, slot) in roster})
    rows = []
    for slot in slots:
        arrivals = day_volume[busiest] * shares.get((busiest, slot), 0.0) / by_weekday[busiest]
        needed = staffing.agents_needed(arrivals, handle, share, within)
        patience = staffing.PATIENCE[channel]
        with_abandonment = staffing.agents_needed_a(arrivals, handle, patience, share, within)
        # At Erlang C's staffing, the share of clients who would still give up.
        gives_up = (
            staffing.erlang_a(needed, arrivals, handle, patience, within).abandonment
            if needed
            else None
        )
        on_roster = roster.get((busiest, slot)) if roster else None
        rows.append(
            {
                "slot": slot_label(slot),
                "arrivals": round(arrivals, 1),
                "needed": needed,
                "needed_a": with_abandonment,
                "abandonment": None if gives_up is None else round(gives_up * 100, 1),
                "rostered": on_roster,
                "gap": None if on_roster is None else on_roster - needed,
            }
        )
    context["slots"] = rows
    context["busiest"] = busiest
    context["busiest_day"] = next(day for day, _v in next_week if day.isoweekday() == busiest)
    context["handle_minutes"] = round(handle / 60, 1)
    context["patience_minutes"] = round(staffing.PATIENCE[channel] / 60, 1)
    context["has_roster"] = bool(roster)
    lines = [
        (_("Agents needed"), [r["needed"] for r in rows]),
        (_("Agents needed if clients give up (Erlang A)"), [r["needed_a"] for r in rows]),
    ]
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


def service_choices(office: Office) -> list[tuple[str, str]]:
    """The services the office served in an assisted channel, by name (two queries)."""
    keys = set(
        Transaction.objects.filter(office=office.key, channel__in=list(staffing.STANDARDS))
        .values_list("service_key", flat=True)
        .distinct()
        .order_by()
    )
    names = service_names(keys)
    return sorted(((key, names.get(key, key)) for key in keys), key=lambda pair: pair[1].lower())
