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
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import F, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

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
    def published(self, min_count: int | None = None) -> dict[str, Any]:
        """The figures as published: each measure resting on fewer than `min_count`
        transactions or answers is left out (None) and named in `suppressed`."""
        minimum = settings.PERFORMANCE_MIN_COUNT if min_count is None else min_count
        suppressed: list[str] = []

        def guard(name: str, base: int, value):
            if value is None:
                return None
            if base < minimum:
                suppressed.append(name)
                return None
            return value

        cpt = self.cost_per_transaction
        dcpt = self.digital_cost_per_transaction
        record = dict(self.key)
        record.update(
            started=guard("started", self.started, self.started),
            completions=guard("completions", self.completions, self.completions),
            completion_rate=guard("completion_rate", self.ended, _round(self.completion_rate)),
            digital_take_up=guard(
                "digital_take_up", self.completions, _round(self.digital_take_up)
            ),
            within_standard=guard(
                "within_standard", self.with_standard, _round(self.within_standard)
            ),
            median_days=guard("median_days", self.decided, self.percentile(50)),
            p90_days=guard("p90_days", self.decided, self.percentile(90)),
            p95_days=guard("p95_days", self.decided, self.percentile(95)),
            cost_per_transaction=guard("cost_per_transaction", self.completions, _money(cpt)),
            digital_cost_per_transaction=guard(
                "digital_cost_per_transaction", self.digital_completions, _money(dcpt)
            ),
            currency=self.currency,
            satisfaction=guard("satisfaction", self.responses, _round(self.satisfaction, 1)),
            trust=guard("trust", self.responses, _round(self.score("trust"), 1)),
            response_rate=guard("response_rate", self.invited, _round(self.response_rate)),
            responses=guard("responses", self.responses, self.responses),
        )
        record["suppressed"] = suppressed
        return record


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


def _compute_groups(
    months: tuple[datetime.date, datetime.date],
    by: Sequence[str],
    where: Q,
    dimension: str,
) -> list[Figures]:
    """`compute` by a client-group dimension: the group rollup's counters summed by the
    database (one aggregate query grouped by the page's key and the jurisdiction, whose
    currency the costs are in), the histograms merged as integers, and the overheads
    apportioned from the activity of each agency's month (read only when there are
    overheads in the period). The figures are those of summing the rows one by one."""
    digital = costs.digital_channels()
    names = [("value" if name == "group" else name) for name in by]
    rollups = GroupRollup.objects.filter(where, month__range=months, dimension=dimension)
    in_digital = Q(channel__in=sorted(digital))
    aggregate = (
        rollups.values(*names, "jurisdiction")
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
    width, size = len(SUMMED), len(names)
    groups: dict[tuple, Figures] = {}
    codes: dict[tuple, set[str]] = defaultdict(set)
    for row in _fetch(aggregate):
        key = row[:size]
        figures = groups.get(key)
        if figures is None:
            figures = groups[key] = Figures(key=dict(zip(by, key, strict=True)))
        for name, value in zip(SUMMED, row[size + 1 : size + 1 + width], strict=True):
            setattr(figures, name, getattr(figures, name) + int(value or 0))
        figures.digital_completions += int(row[-2] or 0)
        figures.digital_cost += int(row[-1] or 0)
        codes[key].add(row[size])
    if not groups:
        return []
    packed: dict[tuple, int] = defaultdict(int)
    histograms = rollups.exclude(histogram=b"").values_list(*names, "histogram").order_by()
    from_bytes = int.from_bytes
    for row in _fetch(histograms):
        packed[row[:-1]] += from_bytes(row[-1], "little")
    currencies = costs.Currencies()
    for key, figures in groups.items():
        if number := packed.get(key):
            figures.histogram = measures.trim(
                measures.unpack(number.to_bytes((number.bit_length() + 31) // 32 * 4, "little"))
            )
        found = {currencies.of(code) for code in codes[key]}
        figures.currency = found.pop() if len(found) == 1 else MIXED
    pools = _pools(None, months)
    if pools:
        activity = (
            rollups.filter(agency__in={agency for agency, _m, _b in pools})
            .values(*names, "month", "agency", "channel")
            .annotate(
                ended=Sum(F("completed") + F("not_eligible") + F("abandoned")),
                seconds=Sum("handle_seconds"),
            )
            .values_list("month", "agency", "channel", "ended", "seconds", *names)
            .order_by()
        )
        weights = [
            (row[0], row[1], tuple(row[5:]), row[2] in digital, int(row[3] or 0), int(row[4] or 0))
            for row in _fetch(activity)
        ]
        for (key, is_digital), amount in _shares(pools, weights, months).items():
            groups[key].overhead += amount
            if is_digital:
                groups[key].digital_cost += amount
    _add_group_surveys(groups, by, where, months, dimension)
    return _sorted(groups)


def _survey_where(where: Q) -> Q:
    """The page's filters without the agency's (survey rows do not name it)."""
    survey_where = Q()
    for child in where.children:
        name, value = child
        if name.startswith("agency"):
            continue
        survey_where &= Q((name, value))
    return survey_where


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
    owners: dict[tuple, str] | None = None
    if "agency" in by or any(name.startswith("agency") for name, _v in where.children):
        owners = {
            (service, jurisdiction, channel): agency
            for service, jurisdiction, channel, agency in GroupRollup.objects.filter(
                where, month__range=months, dimension=dimension
            )
            .values_list("service_key", "jurisdiction", "channel", "agency")
            .distinct()
            .order_by()
        }
    rows = (
        SurveyGroupRollup.objects.filter(
            _survey_where(where), month__range=months, dimension=dimension
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
    for month, service, jurisdiction, channel, value, invited, responses, sums in rows:
        named = {
            "month": month,
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
        for question, (total, count) in (sums or {}).items():
            current = figures.answers.get(question, [0, 0])
            figures.answers[question] = [current[0] + total, current[1] + count]


def _fetch(query) -> list[tuple]:
    """The rows of a query as plain tuples, straight from the cursor."""
    sql, params = query.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _pools(
    agencies: set[str] | None, months: tuple[datetime.date, datetime.date]
) -> dict[tuple, int]:
    """The overhead pools of the period, {(agency, month, basis): cents} (of the given
    agencies, or of all)."""
    pools: dict[tuple, int] = defaultdict(int)
    overheads = OverheadPool.objects.filter(month__range=months)
    shares = InteractionShare.objects.filter(
        service_key="", day__range=(months[0], _month_end(months[1]))
    )
    if agencies is not None:
        overheads = overheads.filter(agency__in=agencies)
        shares = shares.filter(agency__in=agencies)
    for agency, month, basis, amount in overheads.values_list("agency", "month", "basis", "amount"):
        pools[(agency, month, basis)] += amount
    for agency, day, amount in shares.values_list("agency", "day", "cost"):
        pools[(agency, day.replace(day=1), OverheadPool.Basis.TRANSACTIONS)] += amount
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
    for agency, month, ended, seconds in (
        MonthlyRollup.objects.filter(
            agency__in={a for a, _m in needed}, month__in={m for _a, m in needed}
        )
        .values_list("agency", "month")
        .annotate(
            ended=Sum(F("completed") + F("not_eligible") + F("abandoned")),
            seconds=Sum("handle_seconds"),
        )
        .values_list("agency", "month", "ended", "seconds")
        .order_by()
    ):
        totals[(agency, month, OverheadPool.Basis.TRANSACTIONS)] += ended or 0
        totals[(agency, month, OverheadPool.Basis.HANDLE_TIME)] += seconds or 0
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
