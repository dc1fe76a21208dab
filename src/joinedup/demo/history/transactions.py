"""The transactions of the synthetic history, and the illustrative costs they are priced at.

Three generators (see `joinedup.demo.history`):

- `costs` (order 10): illustrative unit costs per channel and staff rates per agency, when
  none are set, so the transactions carry costs;
- `place-areas` (order 15): when no place is classed rural or urban yet, the federation's
  local jurisdictions (its cities, in the demonstration data) are classed urban and the
  provinces, states and Indigenous governments — the country outside those cities — rural,
  so that each transaction names the place area it was delivered for;
- `transactions` (order 20): n transactions of the loaded federation's offerings over the
  run's days: more in some months than others (a yearly wave, quiet weekends, slow growth),
  a channel mix that moves online over time and differs per jurisdiction, turnarounds per
  jurisdiction counted in each one's own business days (with the clock pauses of some
  cases), abandonment, refusals, channel and staff costs with staff handle times, and the
  caseworkers' time on each application (20 to 70 minutes once decided, part of it on some
  open ones).

It writes in bulk: PostgreSQL's COPY, or batches of INSERTs on SQLite. Ten million rows take
a few minutes on PostgreSQL, where from `PARALLEL_FROM` rows one process per core writes a
share. The random generator is the run's, seeded, so a run can be repeated.
"""

from __future__ import annotations

import bisect
import datetime
import itertools
import math
import multiprocessing
import os
import random
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.db import connection, connections, transaction
from django.utils import timezone

from joinedup.federation.calendars import calendar_for
from joinedup.federation.models import Agency, Channel, Jurisdiction, Offering, Office
from joinedup.performance import costs
from joinedup.performance.models import ChannelUnitCost, PlaceArea, StaffCostRate, Transaction

from .run import HistoryRun, NothingToGenerate, generator

COLUMNS = (
    "source",
    "service_key",
    "jurisdiction",
    "agency",
    "channel",
    "started_at",
    "start_day",
    "ended_at",
    "end_day",
    "outcome",
    "elapsed_days",
    "standard_days",
    "met_standard",
    "channel_cost",
    "handle_seconds",
    "handle_cost",
    "office",
    "age_band",
    "language",
    "area",
    "mandate",
    "accessibility",
    "business_size",
    "newcomer",
    "place_area",
    "place",
    "postal_area",
    "casework_seconds",
)
#: Client groups (see `joinedup.performance.groups`), with the weights of their values and
#: how each changes the chance of going online: older people, rural places, people with
#: accessibility needs and those served under a mandate go online less (the digital-inclusion
#: gaps the channel page looks for), and abandon more online when they do.
AGE_BANDS = (("under_18", 0.04), ("18_24", 0.12), ("25_44", 0.36), ("45_64", 0.28),
             ("65_plus", 0.20))  # fmt: skip
ONLINE_FACTOR = {"under_18": 0.7, "18_24": 1.15, "25_44": 1.1, "45_64": 0.95, "65_plus": 0.55}
BUSINESS_SIZES = (("micro", 0.55), ("small", 0.35), ("medium", 0.08), ("large", 0.02))
BUSINESS_SHARE = 0.06
RURAL_SHARE = 0.2
BATCH = 20_000
#: Illustrative unit costs (cents per transaction) for a demonstration, by channel. Real
#: figures come from each jurisdiction's cost accounting.
ILLUSTRATIVE_UNIT_COSTS = {
    "online": 60,
    "partner": 90,
    "phone": 450,
    "video": 700,
    "mail": 950,
    "counter": 1400,
}
#: Illustrative staff cost per hour (cents), for every agency.
ILLUSTRATIVE_HOURLY = 5200
#: Relative use of the channels other than online, where the offering has them.
ASSISTED_MIX = {"counter": 0.4, "phone": 0.3, "mail": 0.15, "video": 0.05, "partner": 0.1}
#: Staff handle time per transaction, in seconds (low, high), by channel.
HANDLE_SECONDS = {
    "counter": (900, 2400),
    "phone": (400, 1500),
    "video": (600, 1800),
    "mail": (300, 900),
    "partner": (60, 300),
}


class BusinessDays:
    """Fast business-day arithmetic over a fixed range, in one jurisdiction's calendar."""

    def __init__(self, calendar, first: datetime.date, last: datetime.date):
        self.first = first.toordinal()
        days = [
            first + datetime.timedelta(days=offset)
            for offset in range((last - first).days + 1)
            if calendar.is_business_day(first + datetime.timedelta(days=offset))
        ]
        self.days = days
        # position[i]: how many business days fall on or before first + i.
        self.position = [
            bisect.bisect_right(days, first + datetime.timedelta(days=offset))
            for offset in range((last - first).days + 1)
        ]

    def add(self, start: datetime.date, count: int) -> datetime.date | None:
        """The count-th business day after start (start itself for 0); None past the range."""
        if count <= 0:
            return start
        index = self.position[start.toordinal() - self.first] + count - 1
        return self.days[index] if index < len(self.days) else None


@dataclass
class Lane:
    """One offering as the generator sees it: who delivers what where, and how it behaves."""

    service_key: str
    jurisdiction: str
    agency: str
    channels: list[str]
    standard_days: int | None
    business: bool
    zone: ZoneInfo
    days: BusinessDays | None
    weight: float
    online_share: float
    speed: float  # the jurisdiction's turnaround factor
    french: float = 0.04  # the share served in French
    offices: tuple[str, ...] = ()  # the agency's offices, for the assisted channels
    #: Their cumulative weights: a few large centres take most visits (1, 1/2, 1/3 …).
    office_weights: tuple[float, ...] = ()
    #: The classed place areas (jurisdiction codes) within the delivering jurisdiction's
    #: territory, rural and urban: a client lives in one of them.
    rural_places: tuple[str, ...] = ()
    urban_places: tuple[str, ...] = ()

    @property
    def assisted(self) -> tuple[list[str], list[float]]:
        """The other channels with cumulative weights (computed once per lane)."""
        cached = self.__dict__.get("_assisted")
        if cached is None:
            others = [c for c in self.channels if c != "online"]
            weights = list(itertools.accumulate(ASSISTED_MIX.get(c, 0.05) for c in others))
            cached = self.__dict__["_assisted"] = (others, weights)
        return cached


def _lanes(first: datetime.date, last: datetime.date, rng: random.Random) -> list[Lane]:
    offerings = list(
        Offering.objects.select_related("service", "agency__jurisdiction", "area").order_by(
            "service__key", "area__path"
        )
    )
    if not offerings:
        raise NothingToGenerate("load a federation first: there are no offerings")
    calendars: dict[str, BusinessDays] = {}
    speeds: dict[str, float] = {}
    online: dict[str, float] = {}
    popularity: dict[str, float] = {}
    offices: dict[int, list[str]] = {}
    for agency_id, key in Office.objects.order_by("key").values_list("agency_id", "key"):
        offices.setdefault(agency_id, []).append(key)
    classed = dict(PlaceArea.objects.values_list("jurisdiction", "area"))
    paths = dict(Jurisdiction.objects.values_list("code", "path"))
    places: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {}
    lanes = []
    for offering in offerings:
        service = offering.service
        jurisdiction: Jurisdiction = offering.agency.jurisdiction or offering.area
        code = jurisdiction.code
        if code not in calendars:
            calendars[code] = BusinessDays(calendar_for(jurisdiction), first, last)
            speeds[code] = rng.uniform(0.6, 1.5)
            online[code] = rng.uniform(0.45, 0.75)
        if code not in places:
            places[code] = _places_within(jurisdiction.path, classed, paths)
        popularity.setdefault(service.key, rng.lognormvariate(0, 0.8))
        channels = [c for c in offering.effective_channels if c in Channel.values] or ["online"]
        lanes.append(
            Lane(
                service_key=service.key,
                jurisdiction=code,
                agency=offering.agency.key,
                channels=channels,
                standard_days=offering.effective_standard_days,
                business=service.standard_day_kind == "business",
                zone=ZoneInfo(jurisdiction.time_zone),
                days=calendars[code],
                weight=popularity[service.key] * rng.uniform(0.3, 1.7),
                online_share=online[code] if "online" in channels else 0.0,
                speed=speeds[code],
                french=_french_share(code),
                offices=tuple(offices.get(offering.agency_id, ())),
                office_weights=tuple(
                    itertools.accumulate(
                        1 / (rank + 1) for rank in range(len(offices.get(offering.agency_id, ())))
                    )
                ),
                rural_places=places[code][0],
                urban_places=places[code][1],
            )
        )
    return lanes


def _places_within(
    path: str, classed: dict[str, str], paths: dict[str, str]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The classed places in a jurisdiction's territory (itself and every place under it),
    rural and urban; a place classed by an ancestor only counts through that ancestor."""
    inside = sorted(
        code
        for code, other in paths.items()
        if code in classed and (other == path or other.startswith(path + "/"))
    )
    rural = tuple(code for code in inside if classed[code] == PlaceArea.Area.RURAL)
    urban = tuple(code for code in inside if classed[code] == PlaceArea.Area.URBAN)
    return rural, urban


def ensure_place_areas() -> int:
    """Class the federation's places rural or urban when none is classed yet: local
    jurisdictions (cities) urban, the subnational and Indigenous ones rural (their territory
    outside the cities). Returns how many were written."""
    if PlaceArea.objects.exists():
        return 0
    levels = Jurisdiction.Level
    kinds = {
        levels.LOCAL: PlaceArea.Area.URBAN,
        levels.SUBNATIONAL: PlaceArea.Area.RURAL,
        levels.INDIGENOUS: PlaceArea.Area.RURAL,
    }
    return len(
        PlaceArea.objects.bulk_create(
            PlaceArea(jurisdiction=code, area=kinds[level])
            for code, level in Jurisdiction.objects.filter(level__in=list(kinds))
            .order_by("code")
            .values_list("code", "level")
        )
    )


@generator("place-areas", order=15, help="places classed rural or urban, when none is")
def make_place_areas(run: HistoryRun) -> int:
    return ensure_place_areas()


def _french_share(code: str) -> float:
    """Roughly how many are served in French in a place (more in Quebec and New Brunswick)."""
    if code.startswith("CA-QC"):
        return 0.8
    if code.startswith("CA-NB"):
        return 0.3
    if code.startswith("CA"):
        return 0.05
    return 0.01


def _pick(rnd: Callable[[], float], weighted: tuple[tuple[str, float], ...]) -> str:
    roll = rnd()
    for value, weight in weighted:
        roll -= weight
        if roll < 0:
            return value
    return weighted[-1][0]


def _groups(lane: Lane, rnd: Callable[[], float]) -> tuple[dict[str, str], float, str]:
    """One client's groups, the factor they put on the chance of going online, and the
    place area they live in."""
    business = rnd() < BUSINESS_SHARE
    age = "" if business else _pick(rnd, AGE_BANDS)
    factor = 1.0 if business else ONLINE_FACTOR[age]
    roll = rnd()
    area = "rural" if roll < RURAL_SHARE else "urban"
    place_area = _place_area(lane, area, roll)
    if place_area and not (lane.rural_places if area == "rural" else lane.urban_places):
        area = "urban" if area == "rural" else "rural"  # the territory has only the other
    if area == "rural":
        factor *= 0.8
    needs = not business and rnd() < (0.2 if age == "65_plus" else 0.07)
    if needs:
        factor *= 0.7
    mandate_chance = {"under_18": 0.6, "65_plus": 0.15}.get(age, 0.05)
    mandate = rnd() < mandate_chance
    if mandate:
        factor *= 0.6
    groups = {
        "age_band": age,
        "language": "fr" if rnd() < lane.french else "en",
        "area": area,
        "mandate": "mandate" if mandate else "self",
        "accessibility": "declared" if needs else "none",
        "business_size": _pick(rnd, BUSINESS_SIZES) if business else "",
    }
    return groups, factor, place_area


def _place_area(lane: Lane, area: str, roll: float) -> str:
    """The place area a client of the lane lives in: one of its territory's places of that
    class (the same roll picks which, so the random stream is unchanged), else of the other
    class; blank when nothing in the territory is classed."""
    chosen = lane.rural_places if area == "rural" else lane.urban_places
    if not chosen:
        chosen = lane.urban_places if area == "rural" else lane.rural_places
    if not chosen:
        return ""
    low, width = (0.0, RURAL_SHARE) if area == "rural" else (RURAL_SHARE, 1 - RURAL_SHARE)
    position = (roll - low) / width
    return chosen[min(len(chosen) - 1, int(position * len(chosen)))]


#: Postal areas (forward sortation areas) of the municipalities that have demonstration
#: service areas (`demo/data/places/canada.geojson` lists which are in each service area).
#: A client living there is given one by the transaction's number, like the newcomers below.
POSTAL_AREAS = {
    "CA-ON-TOR": ("M1B", "M1C", "M1E", "M1G", "M4C", "M5V", "M6H", "M9W"),
    "CA-QC-MTL": ("H1G", "H1H", "H2X", "H3A", "H4A"),
    "CA-BC-SUR": ("V3W", "V3X", "V3T", "V4N"),
}


def _postal_area(number: int, place: str) -> str:
    """The postal area a client living in the place is given (blank where none is listed)."""
    areas = POSTAL_AREAS.get(place)
    if not areas:
        return ""
    return areas[(number * 40503 % 65536) * len(areas) // 65536]


#: Newcomers (arrived in the last five years) and settled immigrants among people, by the
#: transaction's number rather than the random stream (so that the other columns stay
#: those of the same seed); the rest gave no arrival date.
NEWCOMER_SHARE, SETTLED_SHARE = 0.08, 0.2


def _newcomer(number: int, age_band: str) -> str:
    if not age_band:
        return ""  # a business
    roll = (number * 2654435761 % 4294967296) / 4294967296
    if roll < NEWCOMER_SHARE:
        return "newcomer"
    return "settled" if roll < NEWCOMER_SHARE + SETTLED_SHARE else ""


#: Caseworker time on an application (seconds, low and high) once decided; an open one has
#: had part of it, or none yet.
CASEWORK_SECONDS = (1200, 4200)


def _casework(number: int, outcome: str) -> int:
    """Caseworker time on the transaction's application, by its number rather than the random
    stream (so that the other columns stay those of the same seed)."""
    if outcome == "abandoned":
        return 0
    roll = (number * 2246822519 % 4294967296) / 4294967296
    low, high = CASEWORK_SECONDS
    if outcome == "in_progress":
        return int(roll * low) if roll < 0.5 else 0
    return low + int(roll * (high - low))


def _day_weights(first: datetime.date, last: datetime.date) -> tuple[list, list[float]]:
    """Days with cumulative weights: a yearly wave, quiet weekends, slow growth."""
    days, cumulative, total = [], [], 0.0
    span = max(1, (last - first).days)
    weekday = (1.0, 1.0, 1.0, 1.0, 0.95, 0.25, 0.15)
    for offset in range(span + 1):
        day = first + datetime.timedelta(days=offset)
        wave = 1 + 0.25 * math.sin(2 * math.pi * (day.timetuple().tm_yday - 30) / 365.25)
        total += wave * weekday[day.weekday()] * (1 + 0.15 * offset / span)
        days.append(day)
        cumulative.append(total)
    return days, cumulative


def ensure_illustrative_costs(start: datetime.date) -> int:
    """Illustrative unit costs and staff rates, when none were set (a demonstration); returns
    how many records it wrote."""
    written = 0
    if not ChannelUnitCost.objects.exists():
        roots = Jurisdiction.objects.filter(parent__isnull=True)
        written += len(
            ChannelUnitCost.objects.bulk_create(
                ChannelUnitCost(
                    jurisdiction=root.code,
                    channel=channel,
                    amount=amount,
                    currency=root.currency,
                    valid_from=start,
                    illustrative=True,
                )
                for root in roots
                for channel, amount in ILLUSTRATIVE_UNIT_COSTS.items()
            )
        )
    if not StaffCostRate.objects.exists():
        currencies = dict(
            Jurisdiction.objects.filter(parent__isnull=True).values_list("code", "currency")
        )
        written += len(
            StaffCostRate.objects.bulk_create(
                StaffCostRate(
                    agency=agency.key,
                    hourly=ILLUSTRATIVE_HOURLY,
                    # The currency its jurisdiction's data file gives (a root sets it).
                    currency=currencies.get(
                        (agency.jurisdiction.path if agency.jurisdiction else "").split("/")[0],
                        "",
                    ),
                    valid_from=start,
                    illustrative=True,
                )
                for agency in Agency.objects.select_related("jurisdiction")
            )
        )
    return written


@generator("costs", order=10, help="illustrative unit costs and staff rates, when none are set")
def make_costs(run: HistoryRun) -> int:
    return ensure_illustrative_costs(run.first)


def _rows(
    n: int,
    lanes: list[Lane],
    first: datetime.date,
    last: datetime.date,
    rng: random.Random,
    unit_costs: costs.UnitCosts,
    rates: costs.StaffRates,
) -> Iterator[tuple]:
    """The transactions, as tuples in COLUMNS order. It reads nothing from the database (it
    runs while a COPY holds the connection): the costs are loaded beforehand."""
    today = timezone.localdate()
    run = secrets.token_hex(3)
    days, day_weights = _day_weights(first, last)
    lane_weights = list(itertools.accumulate(lane.weight for lane in lanes))
    channel_cost: dict[tuple[str, str], int] = {}
    hourly: dict[str, int] = {}
    span = max(1, (last - first).days)
    counter = itertools.count()
    rnd = rng.random  # plain floats: randrange and randint cost several times more
    combine, clock_time = datetime.datetime.combine, datetime.time
    while True:
        size = min(BATCH, n)
        if size <= 0:
            return
        n -= size
        picked_lanes = rng.choices(lanes, cum_weights=lane_weights, k=size)
        picked_days = rng.choices(days, cum_weights=day_weights, k=size)
        for lane, start in zip(picked_lanes, picked_days, strict=True):
            number = next(counter)
            t = (start - first).days / span
            groups, online_factor, place_area = _groups(lane, rnd)
            channel = _channel(lane, t, rng, online_factor)
            started_at = combine(start, clock_time(8 + int(rnd() * 10), int(rnd() * 60)), lane.zone)
            base = (lane.standard_days or 10) * 0.55 * lane.speed
            if channel == "mail":
                base += 4
            elif channel == "online":
                base *= 0.85
            elapsed = int(rng.gammavariate(2.0, base / 2.0))
            paused = 1 + int(rnd() * 10) if rnd() < 0.12 else 0
            if lane.business and lane.days is not None:
                end = lane.days.add(start, elapsed + paused)
            else:
                end = start + datetime.timedelta(days=elapsed + paused)
            roll = rnd()
            abandon = 0.12 if channel == "online" else 0.04
            if channel == "online" and online_factor < 0.75:
                abandon += 0.06  # those less at ease online give up more often
            if roll < abandon:
                outcome = "abandoned"
                end = start + datetime.timedelta(days=int(rnd() * 21))
            elif end is None or end > today:
                outcome = "in_progress"
            else:
                outcome = "not_eligible" if roll < abandon + 0.06 else "completed"
            if outcome == "in_progress" or end > today:
                outcome, ended_at, end_day = "in_progress", None, None
            else:
                end_day = end
                ended_at = combine(end, clock_time(9 + int(rnd() * 8), int(rnd() * 60)), lane.zone)
            decided = outcome in ("completed", "not_eligible")
            met = (
                elapsed <= lane.standard_days
                if decided and lane.standard_days is not None
                else None
            )
            seconds = 0
            low_high = HANDLE_SECONDS.get(channel)
            if low_high and outcome != "in_progress":
                seconds = low_high[0] + int(rnd() * (low_high[1] - low_high[0] + 1))
            elif channel == "online" and outcome != "in_progress" and rnd() < 0.15:
                seconds = 300 + int(rnd() * 601)
            handle_cost = 0
            if seconds:
                if lane.agency not in hourly:
                    hourly[lane.agency] = rates.cost(lane.agency, 3600, last)
                handle_cost = (seconds * hourly[lane.agency] * 2 + 3600) // 7200
            unit = 0
            if end_day is not None:
                key = (lane.jurisdiction, channel)
                if key not in channel_cost:
                    channel_cost[key] = unit_costs.cost(lane.jurisdiction, channel, last)
                unit = channel_cost[key]
            yield (
                f"h{run}:{number}",
                lane.service_key,
                lane.jurisdiction,
                lane.agency,
                channel,
                started_at,
                start,
                ended_at,
                end_day,
                outcome,
                elapsed if decided else None,
                lane.standard_days,
                met,
                unit,
                seconds if end_day is not None else 0,
                handle_cost if end_day is not None else 0,
                lane.offices[bisect.bisect(lane.office_weights, rnd() * lane.office_weights[-1])]
                if channel in ("counter", "phone", "video") and lane.offices
                else "",
                *groups.values(),
                _newcomer(number, groups["age_band"]),
                place_area,
                # Where the client lives: the finest place the history knows, the place area.
                place_area,
                _postal_area(number, place_area),
                _casework(number, outcome),
            )


def _channel(lane: Lane, t: float, rng: random.Random, factor: float = 1.0) -> str:
    if lane.online_share and rng.random() < min(0.95, (lane.online_share + 0.15 * t) * factor):
        return "online"
    others, cumulative = lane.assisted
    if not others:
        return lane.channels[0]
    return others[bisect.bisect(cumulative, rng.random() * cumulative[-1])]


def _copy_line(row: tuple) -> str:
    """One row in COPY's text format (our values hold no tabs, newlines or backslashes)."""
    (source, service, place, agency, channel, started_at, start_day, ended_at, end_day,
     outcome, elapsed, standard, met, unit, seconds, handle, *groups) = row  # fmt: skip
    return (
        f"{source}\t{service}\t{place}\t{agency}\t{channel}\t{started_at.isoformat()}\t"
        f"{start_day.isoformat()}\t{ended_at.isoformat() if ended_at else NULL}\t"
        f"{end_day.isoformat() if end_day else NULL}\t{outcome}\t"
        f"{NULL if elapsed is None else elapsed}\t{NULL if standard is None else standard}\t"
        f"{NULL if met is None else ('t' if met else 'f')}\t{unit}\t{seconds}\t{handle}\t"
        + "\t".join(map(str, groups))
        + "\n"
    )


NULL = "\\N"


def _write_postgresql(rows: Iterator[tuple], advance: Callable[[int], None]) -> None:
    table = Transaction._meta.db_table
    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg's own cursor, for COPY
        with raw.copy(f"COPY {table} ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            while batch := list(itertools.islice(rows, BATCH)):
                copy.write("".join(map(_copy_line, batch)))
                advance(len(batch))


def _write_sqlite(rows: Iterator[tuple], advance: Callable[[int], None]) -> None:
    table = Transaction._meta.db_table
    # The table and columns are our model's own names, never input.
    placeholders = ", ".join("%s" for _ in COLUMNS)
    sql = f"INSERT INTO {table} ({', '.join(COLUMNS)}) VALUES ({placeholders})"  # noqa: S608
    with connection.cursor() as cursor:
        while batch := list(itertools.islice(rows, BATCH)):
            cursor.executemany(sql, batch)
            advance(len(batch))


#: From this many rows on PostgreSQL, one process per core generates and copies a share.
PARALLEL_FROM = 500_000


def _worker(part: int, count: int, args: tuple, seed: int, done) -> None:
    """A forked process: its own connection, its own generator, its own COPY."""
    connections.close_all()  # never share the parent's socket
    lanes, first, last, unit_costs, rates = args
    rows = _rows(count, lanes, first, last, random.Random(seed + part), unit_costs, rates)

    def advance(step: int) -> None:
        with done.get_lock():
            done.value += step

    with transaction.atomic():
        _write_postgresql(rows, advance)
    connections.close_all()


def _write_in_parallel(n, lanes, first, last, seed, unit_costs, rates, advance) -> None:
    """Split the rows among one process per core (each commits its own share)."""
    workers = max(1, min(4, os.cpu_count() or 1))
    context = multiprocessing.get_context("fork")
    done = context.Value("q", 0)
    connections.close_all()
    shares = [n // workers + (1 if i < n % workers else 0) for i in range(workers)]
    processes = [
        context.Process(
            target=_worker, args=(i, share, (lanes, first, last, unit_costs, rates), seed, done)
        )
        for i, share in enumerate(shares)
    ]
    for process in processes:
        process.start()
    reported = 0
    while any(process.is_alive() for process in processes):
        time.sleep(0.5)
        current = done.value
        advance(current - reported)
        reported = current
    advance(done.value - reported)
    failed = [process.exitcode for process in processes if process.exitcode]
    if failed:
        raise RuntimeError(f"a history worker failed (exit codes {failed})")


@generator("transactions", order=20, help="the transactions", atomic=False)
def make_transactions(run: HistoryRun) -> int:
    """The run's transactions: in one transaction, or on PostgreSQL from `PARALLEL_FROM` rows
    in one per writer process (each commits its share)."""
    n, first, last, rng = run.transactions, run.first, run.last, run.rng
    lanes = _lanes(first, last + datetime.timedelta(days=730), rng)
    unit_costs, rates = costs.UnitCosts(), costs.StaffRates()
    if connection.vendor == "postgresql" and n >= PARALLEL_FROM:
        seed = rng.randrange(2**32)
        _write_in_parallel(n, lanes, first, last, seed, unit_costs, rates, run.progress)
        return n
    rows = _rows(n, lanes, first, last, rng, unit_costs, rates)
    with transaction.atomic():
        if connection.vendor == "postgresql":
            _write_postgresql(rows, run.progress)
        else:
            _write_sqlite(rows, run.progress)
    return n
