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
from django.db.models import F, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from . import costs, measures
from .models import InteractionShare, MonthlyRollup, OverheadPool, RollupBase, SurveyRollup

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


def compute(
    period: Period,
    by: Sequence[str] = ("service_key",),
    *,
    service: str | None = None,
    jurisdictions: Sequence[str] | None = None,
    agency: str | None = None,
    channel: str | None = None,
) -> list[Figures]:
    """The figures of every group (by any of GROUPINGS) over the period, sorted by key."""
    unknown = set(by) - set(GROUPINGS)
    if unknown:
        raise ValueError(f"cannot group by {sorted(unknown)}")
    where = _filters(service, jurisdictions, agency, channel)
    months = (period.first, period.last)
    rows = list(
        MonthlyRollup.objects.filter(where, month__range=months)
        .values_list(*ROLLUP_FIELDS, *RollupBase.COUNTERS, "histogram")
        .order_by()
    )
    digital = costs.digital_channels()
    overheads = _overheads(rows, months)
    groups: dict[tuple, Figures] = {}
    histograms: dict[tuple, list[list[int]]] = defaultdict(list)
    owners: dict[tuple[str, str, str], str] = {}
    counters = RollupBase.COUNTERS
    currencies = costs.Currencies()
    currency_of: dict[str, str] = {}
    for row in rows:
        named = dict(zip(ROLLUP_FIELDS, row[:5], strict=True))
        key = tuple(named[name] for name in by)
        figures = groups.get(key)
        if figures is None:
            figures = groups[key] = Figures(key=dict(zip(by, key, strict=True)))
        values = dict(zip(counters, row[5 : 5 + len(counters)], strict=True))
        for name in (
            "started",
            "completed",
            "not_eligible",
            "abandoned",
            "with_standard",
            "met_standard",
            "elapsed_sum",
            "channel_cost",
            "handle_seconds",
            "handle_cost",
        ):
            setattr(figures, name, getattr(figures, name) + values[name])
        if row[-1]:
            histograms[key].append(row[-1])
        overhead = overheads.get(row[:5], Fraction(0))
        figures.overhead += overhead
        if named["channel"] in digital:
            figures.digital_completions += values["completed"] + values["not_eligible"]
            figures.digital_cost += values["channel_cost"] + values["handle_cost"] + overhead
        owners[(named["service_key"], named["jurisdiction"], named["channel"])] = named["agency"]
        code = named["jurisdiction"]
        if code not in currency_of:
            currency_of[code] = currencies.of(code)
        if not figures.currency:
            figures.currency = currency_of[code]
        elif figures.currency != currency_of[code]:
            figures.currency = MIXED
    for key, parts in histograms.items():
        groups[key].histogram = measures.merge(*parts)
    _add_surveys(groups, by, where, months, owners)
    return [groups[key] for key in sorted(groups, key=lambda k: tuple(str(v) for v in k))]


def _overheads(rows: list[tuple], months: tuple[datetime.date, datetime.date]) -> dict:
    """Each rollup row's share of its agency's overheads that month: the pools, and the
    staff time that touched no application, by the row's share of the agency's activity."""
    agencies = {row[3] for row in rows}
    if not agencies:
        return {}
    pools: dict[tuple, int] = defaultdict(int)
    for agency, month, basis, amount in (
        OverheadPool.objects.filter(agency__in=agencies, month__range=months)
        .values_list("agency", "month", "basis")
        .annotate(total=Sum("amount"))
        .values_list("agency", "month", "basis", "total")
        .order_by()
    ):
        pools[(agency, month, basis)] += amount
    for agency, month_start, amount in (
        InteractionShare.objects.filter(
            service_key="", agency__in=agencies, day__range=(months[0], _month_end(months[1]))
        )
        .values_list("agency", "day", "cost")
        .order_by()
    ):
        pools[(agency, month_start.replace(day=1), OverheadPool.Basis.TRANSACTIONS)] += amount
    if not pools:
        return {}
    # The activity of every row of those agencies and months (whatever the filters).
    activity: dict[tuple, dict[tuple, int]] = defaultdict(dict)
    needed = {(agency, month) for agency, month, _basis in pools}
    for row in (
        MonthlyRollup.objects.filter(
            agency__in={a for a, _m in needed}, month__in={m for _a, m in needed}
        )
        .annotate(ended=F("completed") + F("not_eligible") + F("abandoned"))
        .values_list(*ROLLUP_FIELDS, "ended", "handle_seconds")
        .order_by()
    ):
        month, agency = row[0], row[3]
        if (agency, month) not in needed:
            continue
        activity[(agency, month, OverheadPool.Basis.TRANSACTIONS)][row[:5]] = row[5]
        activity[(agency, month, OverheadPool.Basis.HANDLE_TIME)][row[:5]] = row[6]
    return costs.apportion(pools, activity)


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
    survey_where = Q()
    for child in where.children:
        name, value = child
        if name.startswith("agency"):
            continue
        survey_where &= Q((name, value))
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
