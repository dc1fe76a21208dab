"""Cost per transaction, the GOV.UK way: every cost of the service over every channel.

Three parts add up to a service's cost:
1. channel unit costs — what one transaction costs to process in its channel (a counter visit,
   a letter, a web transaction), per jurisdiction, charged when the transaction ends;
2. staff handle time — each interaction (`org.joinedup.interaction.recorded`: a call, a visit)
   costs its minutes × the agency's hourly staff cost, split equally among the applications it
   touched; an interaction touching none is an overhead of the agent's agency;
3. overheads — an agency's shared costs for a month (IT, accommodation, a call centre, and
   the untouched interactions), apportioned to its services by their share of its activity
   that month (transactions ended, or staff handle time).

Cost per transaction = total cost ÷ completed transactions. The digital cost per transaction
takes the digital channels' costs over digital completions (overheads follow each channel's
share). Amounts are whole cents until the division.
"""

from __future__ import annotations

import bisect
import datetime
from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction

from django.conf import settings

from joinedup import prepared

from .models import ChannelUnitCost, OverheadPool, StaffCostRate


def digital_channels() -> frozenset[str]:
    """Channels whose completions count as digital (the assisted digital ones included)."""
    return frozenset(settings.PERFORMANCE_DIGITAL_CHANNELS)


def parent_codes(code: str) -> list[str]:
    """The code and its ancestors' codes, nearest first, then "" (anywhere):
    CA-ON-TOR → CA-ON-TOR, CA-ON, CA, ""."""
    parts = code.split("-") if code else []
    found = ["-".join(parts[:n]) for n in range(len(parts), 0, -1)]
    return [*found, ""]


@dataclass
class _Dated:
    """Values that change over time: the one in force on a day is the latest started."""

    starts: list[datetime.date] = field(default_factory=list)
    values: list[tuple[int, str]] = field(default_factory=list)

    def add(self, start: datetime.date, value: tuple[int, str]) -> None:
        index = bisect.bisect_right(self.starts, start)
        self.starts.insert(index, start)
        self.values.insert(index, value)

    def on(self, day: datetime.date) -> tuple[int, str] | None:
        index = bisect.bisect_right(self.starts, day)
        return self.values[index - 1] if index else None


class UnitCosts:
    """Channel unit costs, loaded once, looked up for many transactions (nearest
    jurisdiction first, then its ancestors, then the default for anywhere)."""

    def __init__(self, rows: Iterable[ChannelUnitCost] | None = None):
        self._by_key: dict[tuple[str, str], _Dated] = defaultdict(_Dated)
        for row in ChannelUnitCost.objects.all() if rows is None else rows:
            self._by_key[(row.jurisdiction, row.channel)].add(
                row.valid_from, (row.amount, row.currency)
            )

    def cost(self, jurisdiction: str, channel: str, day: datetime.date) -> int:
        """Cents one transaction costs in that channel there on that day (0 if none is set)."""
        for code in parent_codes(jurisdiction):
            dated = self._by_key.get((code, channel))
            if dated is not None and (value := dated.on(day)) is not None:
                return value[0]
        return 0


#: Each jurisdiction's currency, the latest unit cost's last (compiled once: read per page).
UNIT_CURRENCIES = prepared.Statement(
    "costs.unit_currencies",
    lambda _a: ChannelUnitCost.objects.order_by("valid_from").values_list(
        "jurisdiction", "currency"
    ),
)


class Currencies:
    """The currency a jurisdiction's costs are kept in (from its channel unit costs, else its
    nearest ancestor's)."""

    def __init__(self):
        self._by_code = dict(UNIT_CURRENCIES.rows())

    def of(self, jurisdiction: str) -> str:
        for code in parent_codes(jurisdiction):
            if code in self._by_code:
                return self._by_code[code]
        return ""


class StaffRates:
    """Hourly staff costs per agency over time."""

    def __init__(self, rows: Iterable[StaffCostRate] | None = None):
        self._by_agency: dict[str, _Dated] = defaultdict(_Dated)
        for row in StaffCostRate.objects.all() if rows is None else rows:
            self._by_agency[row.agency].add(row.valid_from, (row.hourly, row.currency))

    def cost(self, agency: str, seconds: int, day: datetime.date) -> int:
        """Cents of `seconds` of the agency's staff time on that day (rounded half up)."""
        dated = self._by_agency.get(agency)
        value = dated.on(day) if dated is not None else None
        if value is None:
            return 0
        return (seconds * value[0] * 2 + 3600) // 7200


def split_evenly(total: int, parts: int) -> list[int]:
    """Split a whole number into `parts` whole numbers that differ by at most one and add up
    to it exactly (the first ones take the remainder)."""
    if parts <= 0:
        return []
    base, extra = divmod(total, parts)
    return [base + (1 if index < extra else 0) for index in range(parts)]


def apportion(
    pools: Mapping[Hashable, int | Fraction],
    activity: Mapping[Hashable, Mapping[Hashable, int]],
) -> dict[Hashable, Fraction]:
    """Share each pool among the groups that used it, in proportion to their activity.

    `pools[pool] = amount`; `activity[pool][group] = how much of the pool's activity the group
    had`. A pool no group used is not charged to anyone (it is reported apart)."""
    charged: dict[Hashable, Fraction] = defaultdict(Fraction)
    for pool, amount in pools.items():
        used = activity.get(pool) or {}
        total = sum(used.values())
        if total <= 0:
            continue
        for group, weight in used.items():
            if weight:
                charged[group] += Fraction(amount) * weight / total
    return dict(charged)


def overhead_pools(
    months: Iterable[datetime.date], agencies: Iterable[str] | None = None
) -> dict[tuple[str, datetime.date, str], int]:
    """Each agency's overheads per month, summed per basis: {(agency, month, basis): cents}."""
    query = OverheadPool.objects.filter(month__in=list(months))
    if agencies is not None:
        query = query.filter(agency__in=list(agencies))
    pools: dict = defaultdict(int)
    for pool in query:
        pools[(pool.agency, pool.month, pool.basis)] += pool.amount
    return dict(pools)
