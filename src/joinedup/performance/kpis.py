"""Reading the figures: the measures of any grouping, for any period, from the rollups.

    figures = kpis.compute(parse_period("2025-Q1"), by=("service_key", "jurisdiction"))

Pages, the API, the open data and the benchmark all read through `compute`, which sums the
monthly rollup rows of the period (a few thousand rows for a year of a whole federation),
merges their turnaround histograms, apportions overheads and joins the survey answers. The
measures themselves are the formulas of `measures`.

Publication suppresses any figure resting on fewer than `JOINEDUP_PERFORMANCE_MIN_COUNT`
transactions or answers (`Figures.published`): small counts identify people and make noise
look like performance. Staff dashboards see the figures unsuppressed.
"""

from __future__ import annotations

import datetime
import re
from collections import defaultdict
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np
from django.conf import settings
from django.db import connection
from django.db.models import Aggregate, BigIntegerField, BinaryField, F, Func, Q, Sum
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.translation import gettext as _

from joinedup import prepared

from . import costs, measures
from .models import (
    GroupRollup,
    InteractionShare,
    MonthlyRollup,
    OverheadPool,
    SurveyGroupRollup,
    SurveyRollup,
)

#: The currency of a group whose costs are kept in several (their sum means nothing).
MIXED = "mixed"
GROUPINGS = ("service_key", "jurisdiction", "agency", "channel", "month")
PERCENTILES = (50, 90, 95)


class PeriodError(ValueError):
    """The period is not one we understand; the message is for people."""


@dataclass(frozen=True)
class Period:
    """Whole calendar months, from `first` to `last` (both the first day of their month)."""

    code: str
    first: datetime.date
    last: datetime.date

    def months(self) -> list[datetime.date]:
        found, month = [], self.first
        while month <= self.last:
            found.append(month)
            month = _next_month(month)
        return found

    @property
    def end(self) -> datetime.date:
        """The last day of the period."""
        return _next_month(self.last) - datetime.timedelta(days=1)


def _next_month(month: datetime.date) -> datetime.date:
    return month.replace(year=month.year + month.month // 12, month=month.month % 12 + 1)


def _months_back(month: datetime.date, count: int) -> datetime.date:
    index = month.year * 12 + month.month - 1 - count
    return datetime.date(index // 12, index % 12 + 1, 1)


def parse_period(code: str | None, today: datetime.date | None = None) -> Period:
    """ "12m" (the last twelve months, this one included; the default), "2025", "2025-Q2" or
    "2025-04". Raises PeriodError otherwise."""
    code = (code or "12m").strip()
    today = today or timezone.localdate()
    this_month = today.replace(day=1)
    if code == "12m":
        return Period(code, _months_back(this_month, 11), this_month)
    if match := re.fullmatch(r"(\d{4})", code):
        year = int(match[1])
        first, last = datetime.date(year, 1, 1), datetime.date(year, 12, 1)
    elif match := re.fullmatch(r"(\d{4})-Q([1-4])", code):
        year, quarter = int(match[1]), int(match[2])
        first = datetime.date(year, 3 * quarter - 2, 1)
        last = datetime.date(year, 3 * quarter, 1)
    elif match := re.fullmatch(r"(\d{4})-(\d{2})", code):
        year, month = int(match[1]), int(match[2])
        if not 1 <= month <= 12:
            raise PeriodError(_("%(code)s is not a month.") % {"code": code})
        first = last = datetime.date(year, month, 1)
    else:
        raise PeriodError(
            _(
                "“%(code)s” is not a period. Use 12m (the last twelve months), a year (2025), "
                "a quarter (2025-Q2) or a month (2025-04)."
            )
            % {"code": code}
        )
    if not 2000 <= first.year <= 2100:
        raise PeriodError(_("Give a year between 2000 and 2100."))
    return Period(code, first, last)


def recent_periods(today: datetime.date | None = None, years: int = 3) -> list[str]:
    """Periods a reader may pick: the last twelve months, recent quarters and years."""
    today = today or timezone.localdate()
    quarter = (today.month - 1) // 3 + 1
    codes = ["12m"]
    year, q = today.year, quarter
    for _step in range(8):
        codes.append(f"{year}-Q{q}")
        year, q = (year, q - 1) if q > 1 else (year - 1, 4)
    codes += [str(today.year - offset) for offset in range(years)]
    return codes


@dataclass
class Figures:
    """The counts of one group over a period, and the measures they give."""

    key: dict[str, Any]
    started: int = 0
    completed: int = 0
    not_eligible: int = 0
    abandoned: int = 0
    with_standard: int = 0
    met_standard: int = 0
    elapsed_sum: int = 0
    histogram: list[int] = field(default_factory=list)
    digital_completions: int = 0
    channel_cost: int = 0
    handle_seconds: int = 0
    handle_cost: int = 0
    overhead: Fraction = Fraction(0)
    digital_cost: Fraction = Fraction(0)
    invited: int = 0
    responses: int = 0
    answers: dict[str, list[int]] = field(default_factory=dict)
    currency: str = ""

    # --- the measures ---
    @property
    def completions(self) -> int:
        return self.completed + self.not_eligible

    @property
    def ended(self) -> int:
        return self.completions + self.abandoned

    @property
    def completion_rate(self) -> float | None:
        return measures.completion_rate(self.completed, self.not_eligible, self.abandoned)

    @property
    def digital_take_up(self) -> float | None:
        return measures.digital_take_up(self.digital_completions, self.completions)

    @property
    def within_standard(self) -> float | None:
        return measures.within_standard(self.met_standard, self.with_standard)

    def percentile(self, percent: int) -> int | None:
        return measures.percentile(self.histogram, percent)

    @property
    def median_days(self) -> int | None:
        return self.percentile(50)

    @property
    def decided(self) -> int:
        return sum(self.histogram)

    @property
    def mean_days(self) -> float | None:
        return measures.mean_days(self.elapsed_sum, self.decided)

    @property
    def total_cost(self) -> Fraction:
        return self.channel_cost + self.handle_cost + self.overhead

    @property
    def cost_per_transaction(self) -> Fraction | None:
        return measures.cost_per_transaction(self.total_cost, self.completions)

    @property
    def digital_cost_per_transaction(self) -> Fraction | None:
        return measures.cost_per_transaction(self.digital_cost, self.digital_completions)

    def score(self, question: str) -> float | None:
        total, count = self.answers.get(question, (0, 0))
        return measures.satisfaction_score(total, count)

    @property
    def satisfaction(self) -> float | None:
        return self.score("satisfaction")

    @property
    def response_rate(self) -> float | None:
        return measures.share(self.responses, self.invited)

    def take_up_target_cost(self, goal: float) -> Fraction | None:
        """Cost per transaction to expect at a take-up goal (GOV.UK's formula)."""
        current, digital = self.cost_per_transaction, self.digital_cost_per_transaction
        if current is None or digital is None or self.digital_completions >= self.completions:
            return None
        take_up = Fraction(self.digital_completions, self.completions)
        return measures.take_up_target_cost(
            current, digital, take_up, Fraction(str(goal)).limit_denominator(10000)
        )

    # --- publication ---
    def published(
        self, min_count: int | None = None, only: Collection[str] | None = None
    ) -> dict[str, Any]:
        """The figures as published: each measure resting on fewer than `min_count`
        transactions or answers is left out (None) and named in `suppressed`. With `only`,
        the record holds just those measures (and the currency), but `suppressed` still names
        every measure hidden, so a page showing a few tells whether any was: a measure is
        worked out only when it is shown or when its base is under the minimum."""
        minimum = settings.PERFORMANCE_MIN_COUNT if min_count is None else min_count
        suppressed: list[str] = []
        record = dict(self.key)
        for name, base, value in self._publishable():
            if name == "currency":
                record["currency"] = self.currency
                continue
            wanted = only is None or name in only
            if base < minimum:
                # Hidden, and named as hidden when there was a figure to hide.
                if value() is not None:
                    suppressed.append(name)
                if wanted:
                    record[name] = None
            elif wanted:
                record[name] = value()
        record["suppressed"] = suppressed
        return record

    def _publishable(self) -> tuple[tuple[str, int, Callable[[], Any]], ...]:
        """Each published measure in the record's order: its name, the count it rests on,
        and how to work it out (None when there is nothing to divide by)."""
        completions, decided = self.completions, self.decided
        return (
            ("started", self.started, lambda: self.started),
            ("completions", completions, lambda: completions),
            ("completion_rate", self.ended, lambda: _round(self.completion_rate)),
            ("digital_take_up", completions, lambda: _round(self.digital_take_up)),
            ("within_standard", self.with_standard, lambda: _round(self.within_standard)),
            ("median_days", decided, lambda: self.percentile(50)),
            ("p90_days", decided, lambda: self.percentile(90)),
            ("p95_days", decided, lambda: self.percentile(95)),
            ("cost_per_transaction", completions, lambda: _money(self.cost_per_transaction)),
            (
                "digital_cost_per_transaction",
                self.digital_completions,
                lambda: _money(self.digital_cost_per_transaction),
            ),
            ("currency", 0, lambda: self.currency),
            ("satisfaction", self.responses, lambda: _round(self.satisfaction, 1)),
            ("trust", self.responses, lambda: _round(self.score("trust"), 1)),
            ("response_rate", self.invited, lambda: _round(self.response_rate)),
            ("responses", self.responses, lambda: self.responses),
        )


def total_of(cells: Sequence[Figures], key: dict[str, Any] | None = None) -> Figures | None:
    """The figures of the cells together: what `compute` gives for their union, without
    reading the rollups again (one dimension's groups add up to the total, every transaction
    and every survey answer being in exactly one group of each dimension; tested)."""
    if not cells:
        return None
    total = Figures(key=dict(key or {}))
    for cell in cells:
        for name in (*SUMMED, "digital_completions", "overhead", "digital_cost"):
            setattr(total, name, getattr(total, name) + getattr(cell, name))
        total.invited += cell.invited
        total.responses += cell.responses
        for question, (value, count) in cell.answers.items():
            current = total.answers.get(question, [0, 0])
            total.answers[question] = [current[0] + value, current[1] + count]
    total.histogram = measures.merge(*(cell.histogram for cell in cells))
    found = {cell.currency for cell in cells}
    total.currency = found.pop() if len(found) == 1 else MIXED
    return total


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


def _money(cents: Fraction | None) -> float | None:
    """Cents to currency units, rounded half up to the cent."""
    if cents is None:
        return None
    whole = (cents * 2 + 1) // 2
    return float(whole) / 100


ROLLUP_FIELDS = ("month", "service_key", "jurisdiction", "agency", "channel")


def _filters(
    service: str | None,
    jurisdictions: Sequence[str] | None,
    agency: str | None,
    channel: str | None,
) -> Q:
    query = Q()
    if service:
        query &= Q(service_key=service)
    if jurisdictions:
        query &= Q(jurisdiction__in=list(jurisdictions))
    if agency:
        query &= Q(agency=agency)
    if channel:
        query &= Q(channel=channel)
    return query


#: The rollup's counters, summed over the rows of a group.
SUMMED = MonthlyRollup.COUNTERS


def _rollup_rows(
    where: Q, months: tuple[datetime.date, datetime.date], dimension: str | None = None
) -> list[tuple]:
    """The monthly rollup rows of the period, as plain tuples (no model instances: a page
    reads thousands of them); with a client-group dimension, its group rollup rows, each
    ending with the group's value."""
    if dimension:
        query = GroupRollup.objects.filter(
            where, month__range=months, dimension=dimension
        ).values_list(*ROLLUP_FIELDS, *SUMMED, "histogram", "value")
    else:
        query = MonthlyRollup.objects.filter(where, month__range=months).values_list(
            *ROLLUP_FIELDS, *SUMMED, "histogram"
        )
    sql, params = query.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def compute(
    period: Period,
    by: Sequence[str] = ("service_key",),
    *,
    service: str | None = None,
    jurisdictions: Sequence[str] | None = None,
    agency: str | None = None,
    channel: str | None = None,
    dimension: str | None = None,
    values: Sequence[str] | None = None,
) -> list[Figures]:
    """The figures of every group (by any of GROUPINGS) over the period, sorted by key.

    With a client-group `dimension` ("age_band", …), the figures come from the group
    rollups and `by` may also name "group" (the dimension's value); the survey figures then
    come from the client-group survey sums; `values` keeps only those values of the
    dimension (the places where people live, for a place's figures by residence)."""
    unknown = set(by) - set(GROUPINGS) - ({"group"} if dimension else set())
    if unknown:
        raise ValueError(f"cannot group by {sorted(unknown)}")
    where = _filters(service, jurisdictions, agency, channel)
    months = (period.first, period.last)
    if values is not None:
        if not dimension:
            raise ValueError("values need a dimension")
        where &= Q(value__in=list(values))
    if dimension:
        return _compute_groups(months, by, where, dimension)
    rows = _rollup_rows(where, months, dimension)
    digital = costs.digital_channels()
    width = len(SUMMED)
    hist = len(ROLLUP_FIELDS) + width
    fields = (*ROLLUP_FIELDS, *SUMMED, "histogram", "group")
    positions = [fields.index(name) for name in by]
    sums: dict[tuple, list[int]] = {}
    digital_sums: dict[tuple, list[int]] = {}
    packed: dict[tuple, int] = defaultdict(int)
    owners: dict[tuple[str, str, str], str] = {}
    codes: dict[tuple, set[str]] = defaultdict(set)
    for row in rows:
        key = tuple(row[i] for i in positions)
        values = row[5 : 5 + width]
        total = sums.get(key)
        if total is None:
            sums[key] = list(values)
        else:
            sums[key] = [a + b for a, b in zip(total, values, strict=True)]
        if row[4] in digital:
            # completions, and direct costs (channel + staff)
            extra = (values[1] + values[2], values[7] + values[9])
            current = digital_sums.get(key, (0, 0))
            digital_sums[key] = [current[0] + extra[0], current[1] + extra[1]]
        if row[hist]:
            packed[key] += int.from_bytes(row[hist], "little")
        owners[(row[1], row[2], row[4])] = row[3]
        codes[key].add(row[2])
    groups: dict[tuple, Figures] = {}
    currencies = costs.Currencies()
    for key, total in sums.items():
        figures = Figures(
            key=dict(zip(by, key, strict=True)), **dict(zip(SUMMED, total, strict=True))
        )
        completions, direct = digital_sums.get(key, (0, 0))
        figures.digital_completions = completions
        figures.digital_cost = Fraction(direct)
        if packed.get(key):
            number = packed[key]
            figures.histogram = measures.trim(
                measures.unpack(number.to_bytes((number.bit_length() + 31) // 32 * 4, "little"))
            )
        found = {currencies.of(code) for code in codes[key]}
        figures.currency = found.pop() if len(found) == 1 else MIXED
        groups[key] = figures
    for (key, is_digital), amount in _overheads(rows, months, positions, digital).items():
        groups[key].overhead += amount
        if is_digital:
            groups[key].digital_cost += amount
    if dimension is None:
        _add_surveys(groups, by, where, months, owners)
    return [groups[key] for key in sorted(groups, key=lambda k: tuple(str(v) for v in k))]


def _sorted(groups: dict[tuple, Figures]) -> list[Figures]:
    return [groups[key] for key in sorted(groups, key=lambda k: tuple(str(v) for v in k))]


def _lookups(where: Q) -> tuple[tuple[str, ...], dict[str, Any]]:
    """The page's filters (flat, all joined by AND: see `_filters`) as their lookups, in
    order, and their values by lookup."""
    return tuple(name for name, _value in where.children), dict(where.children)


def _stand_where(stand: prepared.Stand, lookups: tuple[str, ...], lengths: dict) -> Q:
    """The page's filters with stand-in values, for a statement compiled once."""
    query = Q()
    for name in lookups:
        if name.endswith("__in"):
            query &= Q((name, stand.texts(name, lengths[name])))
        else:
            query &= Q((name, stand.text(name)))
    return query


def _group_rows(stand: prepared.Stand, lookups: tuple[str, ...], lengths: dict):
    return GroupRollup.objects.filter(
        _stand_where(stand, lookups, lengths),
        month__range=(stand.day("first"), stand.day("last")),
        dimension=stand.text("dimension"),
    )


def _build_group_sums(a, *, names, lookups, digital, **lengths):
    in_digital = Q(channel__in=list(digital))
    return (
        _group_rows(a, lookups, lengths)
        .values(*names, "jurisdiction")
        .annotate(
            **{f"sum_{name}": Sum(name) for name in SUMMED},
            digital_completions=Sum(F("completed") + F("not_eligible"), filter=in_digital),
            digital_direct=Sum(F("channel_cost") + F("handle_cost"), filter=in_digital),
        )
        .values_list(
            *names,
            "jurisdiction",
            *(f"sum_{name}" for name in SUMMED),
            "digital_completions",
            "digital_direct",
        )
        .order_by()
    )


def _build_group_histograms(a, *, names, lookups, **lengths):
    return (
        _group_rows(a, lookups, lengths)
        .exclude(histogram=b"")
        .values_list(*names, "histogram")
        .order_by()
    )


def _build_group_activity(a, *, names, lookups, **lengths):
    return (
        _group_rows(a, lookups, lengths)
        .filter(agency__in=a.texts("pool_agencies", lengths["pool_agencies"]))
        .values(*names, "month", "agency", "channel")
        .annotate(
            ended=Sum(F("completed") + F("not_eligible") + F("abandoned")),
            seconds=Sum("handle_seconds"),
        )
        .values_list("month", "agency", "channel", "ended", "seconds", *names)
        .order_by()
    )


#: The buckets of a histogram (the last one holds every longer turnaround).
WIDTH = measures.OVERFLOW + 1


class _Lanes(Func):
    """PostgreSQL: how many buckets a packed histogram holds (trailing empty ones are not
    stored), as a 2-byte big-endian integer (`int2send`), so that a group's counts travel as
    bytes too."""

    template = f"int2send(CAST(length(%(expressions)s) / {measures.LANE} AS smallint))"
    output_field = BinaryField()


class _Joined(Aggregate):
    """PostgreSQL: a group's values end to end (`string_agg` over bytea, declared with a small
    state so that the planner may hash the grouping: migration 0008), one value per group
    instead of a row per histogram. Two of them in one statement see the group's rows in the
    same order (the aggregates of one grouping step are each fed every row in turn)."""

    function = "perf_bytes_joined"
    template = "%(function)s(%(expressions)s, ''::bytea)"
    output_field = BinaryField()


def _whole(total: Sum) -> Cast:
    """A sum as bigint: PostgreSQL sums bigints as numeric, which arrive as Decimals."""
    return Cast(total, BigIntegerField())


def _build_group_cells(a, *, names, lookups, digital, **lengths):
    """PostgreSQL: `_build_group_sums` with each group's histograms joined in the same pass."""
    in_digital = Q(channel__in=list(digital))
    return (
        _group_rows(a, lookups, lengths)
        .values(*names, "jurisdiction")
        .annotate(
            **{f"sum_{name}": _whole(Sum(name)) for name in SUMMED},
            digital_completions=_whole(Sum(F("completed") + F("not_eligible"), filter=in_digital)),
            digital_direct=_whole(Sum(F("channel_cost") + F("handle_cost"), filter=in_digital)),
            lanes=_Joined(_Lanes("histogram")),
            histograms=_Joined("histogram"),
        )
        .values_list(
            *names,
            "jurisdiction",
            *(f"sum_{name}" for name in SUMMED),
            "digital_completions",
            "digital_direct",
            "lanes",
            "histograms",
        )
        .order_by()
    )


#: The group rollup's statements, each compiled once per database and shape (the grouping,
#: which filters, how many values): a place's page and the API read them for many places.
GROUP_CELLS = prepared.Statement("kpis.group_cells", _build_group_cells)
GROUP_SUMS = prepared.Statement("kpis.group_sums", _build_group_sums)
GROUP_HISTOGRAMS = prepared.Statement("kpis.group_histograms", _build_group_histograms)
GROUP_ACTIVITY = prepared.Statement("kpis.group_activity", _build_group_activity)


def _keyed(names: Sequence[str]) -> Callable[[tuple], tuple]:
    """A group's key from a row's first columns, as the ORM would give it (a month read as
    text on SQLite made a date)."""
    at = [i for i, name in enumerate(names) if name == "month"]
    if not at:
        return tuple
    return lambda row: tuple(
        prepared.as_date(value) if i in at else value for i, value in enumerate(row)
    )


def _compute_groups(
    months: tuple[datetime.date, datetime.date],
    by: Sequence[str],
    where: Q,
    dimension: str,
) -> list[Figures]:
    """`compute` by a client-group dimension: the group rollup's counters summed by the
    database (one aggregate query grouped by the page's key and the jurisdiction, whose
    currency the costs are in), the histograms merged — on PostgreSQL joined in that same
    statement and added up by numpy (`_merged`), elsewhere read one row each and added as
    integers —, and the overheads apportioned from the activity of each agency's month (read
    only when there are overheads in the period). The figures are those of summing the rows
    one by one (tested both ways).
    Every statement is compiled once per shape (`joinedup.prepared`)."""
    digital = costs.digital_channels()
    names = tuple(("value" if name == "group" else name) for name in by)
    lookups, values = _lookups(where)
    shape = {"names": names, "lookups": lookups}
    values.update(first=months[0], last=months[1], dimension=dimension)
    size = len(names)
    counted = slice(size + 1, size + 3 + len(SUMMED))  # the counters, then the two digital
    key_of = _keyed(names)
    sums: dict[tuple, list[int]] = {}
    codes: dict[tuple, set[str]] = defaultdict(set)
    joined = joins_histograms()
    statement = GROUP_CELLS if joined else GROUP_SUMS
    histograms: list[tuple[tuple, bytes, bytes]] = []
    for row in statement.rows(shape={**shape, "digital": tuple(sorted(digital))}, **values):
        key = key_of(row[:size])
        found = [int(value or 0) for value in row[counted]]
        total = sums.get(key)
        sums[key] = found if total is None else [a + b for a, b in zip(total, found, strict=True)]
        codes[key].add(row[size])
        if joined and row[-1]:
            histograms.append((key, row[-2], row[-1]))
    if not sums:
        return []
    groups: dict[tuple, Figures] = {}
    for key, total in sums.items():
        figures = groups[key] = Figures(
            key=dict(zip(by, key, strict=True)), **dict(zip(SUMMED, total[:-2], strict=True))
        )
        figures.digital_completions = total[-2]
        figures.digital_cost = Fraction(total[-1])
    if joined:
        for key, histogram in _merged(histograms).items():
            groups[key].histogram = histogram
    else:
        _merge_one_by_one(groups, GROUP_HISTOGRAMS.rows(shape=shape, **values), key_of)
    currencies = costs.Currencies()
    for key, figures in groups.items():
        found = {currencies.of(code) for code in codes[key]}
        figures.currency = found.pop() if len(found) == 1 else MIXED
    pools = _pools(None, months)
    if pools:
        pool_agencies = sorted({agency for agency, _m, _b in pools})
        weights = [
            (
                prepared.as_date(row[0]),
                row[1],
                key_of(row[5:]),
                row[2] in digital,
                int(row[3] or 0),
                int(row[4] or 0),
            )
            for row in GROUP_ACTIVITY.rows(shape=shape, pool_agencies=pool_agencies, **values)
        ]
        for (key, is_digital), amount in _shares(pools, weights, months).items():
            groups[key].overhead += amount
            if is_digital:
                groups[key].digital_cost += amount
    _add_group_surveys(groups, by, where, months, dimension)
    return _sorted(groups)


def joins_histograms() -> bool:
    """Whether the database joins each group's histograms in the sums' own statement
    (PostgreSQL's `string_agg` over bytea); elsewhere they are read one row each."""
    return connection.vendor == "postgresql"


def _merged(joined: list[tuple[tuple, bytes, bytes]]) -> dict[tuple, list[int]]:
    """Each group's histogram from its rows' histograms laid end to end (several rows per
    group: one per jurisdiction) with each one's number of buckets: every bucket's count is
    added to its group and day by numpy in one `bincount`, a few vector operations instead
    of one integer addition per rollup row."""
    if not joined:
        return {}
    counts = np.frombuffer(b"".join(data for _key, _lanes, data in joined), dtype="<u4")
    lanes = np.frombuffer(b"".join(sizes for _key, sizes, _data in joined), dtype=">i2")
    lanes = lanes.astype(np.int64)
    if int(lanes.sum()) != len(counts):
        raise ValueError("the histograms' sizes do not match their bytes")
    keys = list(dict.fromkeys(key for key, _sizes, _data in joined))
    position = {key: i for i, key in enumerate(keys)}
    # Each bucket's place in the table of groups × days: its group's row (each database row
    # is one group's, and holds one histogram per rollup row) plus its day (its position
    # from the start of its histogram); one `repeat` spreads each histogram's offset.
    per_row = np.fromiter((len(sizes) // 2 for _key, sizes, _data in joined), dtype=np.int64)
    group = np.repeat(
        np.fromiter((position[key] for key, _sizes, _data in joined), dtype=np.int64), per_row
    )
    offsets = group * WIDTH - (np.cumsum(lanes) - lanes)
    cell = np.arange(len(counts), dtype=np.int64) + np.repeat(offsets, lanes)
    # Float weights add whole numbers exactly below 2⁵³ (a bucket holds fewer than 2³²).
    totals = np.bincount(cell, weights=counts, minlength=len(keys) * WIDTH)
    table = totals.astype(np.int64).reshape(len(keys), WIDTH)
    # Each histogram up to its last non-empty bucket (as `measures.trim` leaves it).
    ends = WIDTH - np.argmax(table[:, ::-1] > 0, axis=1)
    ends[~table.any(axis=1)] = 0
    return {
        key: row[:end] for key, row, end in zip(keys, table.tolist(), ends.tolist(), strict=True)
    }


def _merge_one_by_one(groups: dict[tuple, Figures], rows: list[tuple], key_of) -> None:
    """The portable way (SQLite): one row per histogram, merged as integers (one addition
    each)."""
    packed: dict[tuple, int] = defaultdict(int)
    from_bytes = int.from_bytes
    for row in rows:
        packed[key_of(row[:-1])] += from_bytes(row[-1], "little")
    for key, number in packed.items():
        if number:
            groups[key].histogram = measures.trim(
                measures.unpack(number.to_bytes((number.bit_length() + 31) // 32 * 4, "little"))
            )


def _survey_where(where: Q) -> Q:
    """The page's filters without the agency's (survey rows do not name it)."""
    survey_where = Q()
    for child in where.children:
        name, value = child
        if name.startswith("agency"):
            continue
        survey_where &= Q((name, value))
    return survey_where


def _build_owners(a, *, lookups, **lengths):
    return (
        _group_rows(a, lookups, lengths)
        .values_list("service_key", "jurisdiction", "channel", "agency")
        .distinct()
        .order_by()
    )


def _build_group_surveys(a, *, lookups, **lengths):
    return (
        SurveyGroupRollup.objects.filter(
            _stand_where(a, lookups, lengths),
            month__range=(a.day("first"), a.day("last")),
            dimension=a.text("dimension"),
        )
        .values_list(
            "month",
            "service_key",
            "jurisdiction",
            "channel",
            "value",
            "invited",
            "responses",
            "sums",
        )
        .order_by()
    )


GROUP_OWNERS = prepared.Statement("kpis.group_owners", _build_owners)
GROUP_SURVEYS = prepared.Statement("kpis.group_surveys", _build_group_surveys)


def _add_group_surveys(
    groups: dict[tuple, Figures],
    by: Sequence[str],
    where: Q,
    months: tuple[datetime.date, datetime.date],
    dimension: str,
) -> None:
    """Join the client-group survey sums (kept per service × jurisdiction × channel × month
    × group): one query, and one more for the delivering agencies when the figures are by
    agency or for one agency (the agency that delivered that service there)."""
    lookups, values = _lookups(where)
    values.update(first=months[0], last=months[1], dimension=dimension)
    owners: dict[tuple, str] | None = None
    if "agency" in by or any(name.startswith("agency") for name in lookups):
        owners = {
            (service, jurisdiction, channel): agency
            for service, jurisdiction, channel, agency in GROUP_OWNERS.rows(
                shape={"lookups": lookups}, **values
            )
        }
    survey_lookups = tuple(name for name in lookups if not name.startswith("agency"))
    survey_values = {k: v for k, v in values.items() if not k.startswith("agency")}
    rows = GROUP_SURVEYS.rows(shape={"lookups": survey_lookups}, **survey_values)
    for month, service, jurisdiction, channel, value, invited, responses, sums in rows:
        named = {
            "month": prepared.as_date(month),
            "service_key": service,
            "jurisdiction": jurisdiction,
            "channel": channel,
            "group": value,
        }
        if owners is not None:
            agency = owners.get((service, jurisdiction, channel))
            if agency is None:
                continue  # nothing delivered there in the period (or another agency's filter)
            named["agency"] = agency
        figures = groups.get(tuple(named[name] for name in by))
        if figures is None:
            continue
        figures.invited += invited
        figures.responses += responses
        for question, (total, count) in (prepared.as_json(sums) or {}).items():
            current = figures.answers.get(question, [0, 0])
            figures.answers[question] = [current[0] + total, current[1] + count]


def _build_overheads(a, **lengths):
    rows = OverheadPool.objects.filter(month__range=(a.day("first"), a.day("last")))
    if "agencies" in lengths:
        rows = rows.filter(agency__in=a.texts("agencies", lengths["agencies"]))
    return rows.values_list("agency", "month", "basis", "amount").order_by()


def _build_shared(a, **lengths):
    rows = InteractionShare.objects.filter(
        service_key="", day__range=(a.day("first"), a.day("end"))
    )
    if "agencies" in lengths:
        rows = rows.filter(agency__in=a.texts("agencies", lengths["agencies"]))
    return rows.values_list("agency", "day", "cost").order_by()


def _build_agency_totals(a, **lengths):
    return (
        MonthlyRollup.objects.filter(
            agency__in=a.texts("agencies", lengths["agencies"]),
            month__in=a.days("months", lengths["months"]),
        )
        .values_list("agency", "month")
        .annotate(
            ended=Sum(F("completed") + F("not_eligible") + F("abandoned")),
            seconds=Sum("handle_seconds"),
        )
        .values_list("agency", "month", "ended", "seconds")
        .order_by()
    )


OVERHEADS = prepared.Statement("kpis.overheads", _build_overheads)
SHARED = prepared.Statement("kpis.shared", _build_shared)
AGENCY_TOTALS = prepared.Statement("kpis.agency_totals", _build_agency_totals)


def _pools(
    agencies: set[str] | None, months: tuple[datetime.date, datetime.date]
) -> dict[tuple, int]:
    """The overhead pools of the period, {(agency, month, basis): cents} (of the given
    agencies, or of all)."""
    pools: dict[tuple, int] = defaultdict(int)
    chosen = {} if agencies is None else {"agencies": sorted(agencies)}
    if agencies is not None and not agencies:
        return pools
    for agency, month, basis, amount in OVERHEADS.rows(first=months[0], last=months[1], **chosen):
        pools[(agency, prepared.as_date(month), basis)] += int(amount)
    for agency, day, amount in SHARED.rows(first=months[0], end=_month_end(months[1]), **chosen):
        day = prepared.as_date(day)
        pools[(agency, day.replace(day=1), OverheadPool.Basis.TRANSACTIONS)] += int(amount)
    return pools


def _overheads(
    rows: list[tuple],
    months: tuple[datetime.date, datetime.date],
    positions: list[int],
    digital: frozenset[str],
) -> dict[tuple, Fraction]:
    """Each group's share of its agencies' overheads: each pool (an agency's month, by a
    basis) is shared among all that agency's rows of the month by their activity (whatever
    the page's filters), and a group receives its rows' part, kept apart for digital rows."""
    agencies = {row[3] for row in rows}
    if not agencies:
        return {}
    pools = _pools(agencies, months)
    weights = [
        (
            row[0],
            row[3],
            tuple(row[i] for i in positions),
            row[4] in digital,
            row[6] + row[7] + row[8],
            row[13],
        )
        for row in rows
    ]
    return _shares(pools, weights, months)


def _shares(
    pools: dict[tuple, int],
    activity: list[tuple],
    months: tuple[datetime.date, datetime.date],
) -> dict[tuple, Fraction]:
    """Each (group, digital or not)'s part of the pools, from the activity rows
    (month, agency, group, digital, ended, handle seconds)."""
    if not pools:
        return {}
    needed = {(agency, month) for agency, month, _basis in pools}
    totals: dict[tuple, int] = defaultdict(int)
    for agency, month, ended, seconds in AGENCY_TOTALS.rows(
        agencies=sorted({a for a, _m in needed}), months=sorted({m for _a, m in needed})
    ):
        month = prepared.as_date(month)
        totals[(agency, month, OverheadPool.Basis.TRANSACTIONS)] += int(ended or 0)
        totals[(agency, month, OverheadPool.Basis.HANDLE_TIME)] += int(seconds or 0)
    # Each group's activity in each pool, as whole numbers; one division per pool and group.
    weights: dict[tuple, int] = defaultdict(int)
    for month, agency, key, is_digital, ended, seconds in activity:
        if (agency, month) not in needed:
            continue
        group = (key, is_digital)
        weights[(agency, month, OverheadPool.Basis.TRANSACTIONS, group)] += ended
        weights[(agency, month, OverheadPool.Basis.HANDLE_TIME, group)] += seconds
    shares: dict[tuple, Fraction] = defaultdict(Fraction)
    for (agency, month, basis, group), weight in weights.items():
        pool = pools.get((agency, month, basis))
        total = totals.get((agency, month, basis))
        if pool and total and weight:
            shares[group] += Fraction(pool * weight, total)
    return dict(shares)


def _month_end(month: datetime.date) -> datetime.date:
    return _next_month(month) - datetime.timedelta(days=1)


def _add_surveys(
    groups: dict[tuple, Figures],
    by: Sequence[str],
    where: Q,
    months: tuple[datetime.date, datetime.date],
    owners: dict[tuple[str, str, str], str],
) -> None:
    """Join the survey answers (kept per service × jurisdiction × channel × month; the agency
    is the one that delivered that service there)."""
    survey_where = _survey_where(where)
    for month, service, jurisdiction, channel, invited, responses, sums in (
        SurveyRollup.objects.filter(survey_where, month__range=months)
        .values_list(
            "month",
            "service_key",
            "jurisdiction",
            "channel",
            "invited",
            "responses",
            "sums",
        )
        .order_by()
    ):
        agency = owners.get((service, jurisdiction, channel))
        if agency is None:
            continue  # nothing delivered there in the period (or another agency's filter)
        named = {
            "month": month,
            "service_key": service,
            "jurisdiction": jurisdiction,
            "agency": agency,
            "channel": channel,
        }
        figures = groups.get(tuple(named[name] for name in by))
        if figures is None:
            continue
        figures.invited += invited
        figures.responses += responses
        for question, (total, count) in (sums or {}).items():
            current = figures.answers.get(question, [0, 0])
            figures.answers[question] = [current[0] + total, current[1] + count]
