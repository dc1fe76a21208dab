"""Business days in the calendar of a jurisdiction, or of several at once.

A service standard promises "15 business days": which days count depends on where the
service is delivered (Ontario closes for Family Day, Quebec for the Fête nationale). A
service that spans jurisdictions counts only the days on which all of them work: the union
of their holidays and weekends.

Counting convention: the day something is received is day 0. `business_days_between(a, b)`
counts the business days d with a < d ≤ b, so an application received on a Monday and
decided on the Tuesday took one business day, and
`business_days_between(a, add_business_days(a, n)) == n` for every n ≥ 0.
"""

import datetime
import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import holidays

from .models import Jurisdiction

DEFAULT_WEEKEND = frozenset({5, 6})  # Saturday, Sunday

DateLike = datetime.date | datetime.datetime


@functools.lru_cache(maxsize=1024)
def _holidays_of(country: str, subdivision: str | None, year: int) -> dict[datetime.date, str]:
    calendar = holidays.country_holidays(country, subdiv=subdivision or None, years=year)
    return dict(calendar.items())


@functools.lru_cache(maxsize=1024)
def _holidays_of_all(
    sources: tuple[tuple[str, str | None], ...], year: int
) -> dict[datetime.date, str]:
    """The union of several calendars' closures in a year, made once per process: a due date
    asks whether each day up to it is a business day. Not to be changed by the caller."""
    found: dict[datetime.date, str] = {}
    for country, subdivision in sources:
        for day, name in _holidays_of(country, subdivision, year).items():
            found[day] = f"{found[day]}; {name}" if day in found else name
    return found


@functools.lru_cache(maxsize=256)
def _weekend_of(country: str) -> frozenset[int]:
    return frozenset(holidays.country_holidays(country).weekend)


@dataclass(frozen=True)
class Calendar:
    """The working calendar of one or more jurisdictions (the union of their closures)."""

    sources: tuple[tuple[str, str | None], ...]
    time_zone: str = "UTC"

    @functools.cached_property
    def weekend(self) -> frozenset[int]:
        # Kept on the calendar (its sources never change): `add` asks it for every day.
        days: set[int] = set()
        for country, _subdivision in self.sources:
            days |= _weekend_of(country)
        return frozenset(days) if self.sources else DEFAULT_WEEKEND

    def holidays_in(self, year: int) -> dict[datetime.date, str]:
        """The closures of the year, each with its names (a copy: the caller may change it)."""
        return dict(_holidays_of_all(self.sources, year))

    def is_business_day(self, day: datetime.date) -> bool:
        return day.weekday() not in self.weekend and day not in _holidays_of_all(
            self.sources, day.year
        )

    def holidays_between(
        self, start: datetime.date, end: datetime.date
    ) -> list[tuple[datetime.date, str]]:
        """Holidays with start < day ≤ end, in date order."""
        found: list[tuple[datetime.date, str]] = []
        for year in range(start.year, end.year + 1):
            found.extend(
                (day, name) for day, name in self.holidays_in(year).items() if start < day <= end
            )
        return sorted(found)

    def local_date(self, moment: DateLike) -> datetime.date:
        """The date on the wall calendar of this jurisdiction when `moment` happened."""
        if isinstance(moment, datetime.datetime):
            if moment.tzinfo is None:
                raise ValueError("a datetime must be timezone-aware to find its local date")
            return moment.astimezone(ZoneInfo(self.time_zone)).date()
        return moment

    def count(self, start: DateLike, end: DateLike) -> int:
        """Business days d with start < d ≤ end (negative when end is before start)."""
        first, last = self.local_date(start), self.local_date(end)
        if last < first:
            return -self.count(last, first)
        weekend = self.weekend
        span = (last - first).days
        full_weeks, remainder = divmod(span, 7)
        working = full_weeks * (7 - len(weekend))
        working += sum(
            1
            for offset in range(1, remainder + 1)
            if (first + datetime.timedelta(days=offset)).weekday() not in weekend
        )
        closed = sum(
            1 for day, _name in self.holidays_between(first, last) if day.weekday() not in weekend
        )
        return working - closed

    def add(self, start: DateLike, days: int) -> datetime.date:
        """The `days`-th business day after `start` (`start` itself when days is 0)."""
        if days < 0:
            raise ValueError("add_business_days counts forward; give days >= 0")
        day = self.local_date(start)
        remaining = days
        while remaining:
            day += datetime.timedelta(days=1)
            if self.is_business_day(day):
                remaining -= 1
        return day


def _calendar_source(jurisdiction: Jurisdiction) -> tuple[str, str | None] | None:
    """The nearest holiday calendar: the jurisdiction's own, else its closest ancestor's."""
    if jurisdiction.holiday_country:
        return (jurisdiction.holiday_country, jurisdiction.holiday_subdivision or None)
    ancestors = {
        j.code: j
        for j in Jurisdiction.objects.filter(code__in=jurisdiction.ancestor_codes).only(
            "code", "holiday_country", "holiday_subdivision"
        )
    }
    for code in reversed(jurisdiction.ancestor_codes):
        ancestor = ancestors.get(code)
        if ancestor and ancestor.holiday_country:
            return (ancestor.holiday_country, ancestor.holiday_subdivision or None)
    return None


def calendar_for(jurisdictions: Jurisdiction | Iterable[Jurisdiction]) -> Calendar:
    """The working calendar of one jurisdiction, or the union of several.

    Dates given as datetimes are read in the time zone of the first jurisdiction (for a
    service, the one that delivers it).
    """
    if isinstance(jurisdictions, Jurisdiction):
        jurisdictions = [jurisdictions]
    chosen: Sequence[Jurisdiction] = list(jurisdictions)
    if not chosen:
        raise ValueError("a calendar needs at least one jurisdiction")
    sources: list[tuple[str, str | None]] = []
    for jurisdiction in chosen:
        source = _calendar_source(jurisdiction)
        if source and source not in sources:
            sources.append(source)
    return Calendar(sources=tuple(sources), time_zone=chosen[0].time_zone)


def business_days_between(
    start: DateLike, end: DateLike, jurisdictions: Jurisdiction | Iterable[Jurisdiction]
) -> int:
    """Business days d with start < d ≤ end in the calendar of `jurisdictions`."""
    return calendar_for(jurisdictions).count(start, end)


def add_business_days(
    start: DateLike, days: int, jurisdictions: Jurisdiction | Iterable[Jurisdiction]
) -> datetime.date:
    """The date `days` business days after `start` in the calendar of `jurisdictions`."""
    return calendar_for(jurisdictions).add(start, days)
