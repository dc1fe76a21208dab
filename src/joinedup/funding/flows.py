"""Money flowing from funders to recipients: the rules an allocation obeys, and reading the
chain both ways without counting a transfer twice.

An appropriation is a funder's own money. An allocation passes on part of one allocation
the funder received (`source`), or pays out of a pooled fund the funder manages
(`from_pool`). Whatever is passed on or spent never exceeds what came in, in the same fiscal
year and currency; ring-fenced money stays in its program.

Totals: the *gross* sum of allocations counts a federal dollar once at each level it passes
through. The *net* sum counts only the money entering the set from outside it: an
allocation whose source (or pool) is inside the set is a transfer, already counted.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from . import audit, fiscal, rollup
from .models import ZERO, Allocation, Expenditure, Pool, sum_money

CENT = fiscal.CENT


class FundingRefused(ValueError):
    """A change the rules refuse; the message is for people (the API answers 400 with it)."""


def _money(amount: Decimal | None, currency: str) -> str:
    return f"{amount or ZERO:,.2f} {currency}"


def executed_total(allocation_id: int) -> Decimal:
    return sum_money(
        Expenditure.objects.filter(allocation_id=allocation_id, phase=Expenditure.Phase.EXECUTED)
    )


def passed_on_total(allocation_id: int, *, excluding: int | None = None) -> Decimal:
    rows = Allocation.objects.filter(source_id=allocation_id)
    if excluding is not None:
        rows = rows.exclude(pk=excluding)
    return sum_money(rows)


def pool_balance(pool_id: int, fiscal_year: int, *, excluding: int | None = None) -> Decimal:
    """What a pool received in the fiscal year less what it paid out and what its manager
    spent directly out of the contributions (executed lines against them)."""
    paid_in = Allocation.objects.filter(into_pool_id=pool_id, fiscal_year=fiscal_year)
    paid_out = Allocation.objects.filter(from_pool_id=pool_id, fiscal_year=fiscal_year)
    if excluding is not None:
        paid_out = paid_out.exclude(pk=excluding)
    spent = Expenditure.objects.filter(
        allocation__into_pool_id=pool_id,
        allocation__fiscal_year=fiscal_year,
        phase=Expenditure.Phase.EXECUTED,
    )
    return sum_money(paid_in) - sum_money(paid_out) - sum_money(spent)


def problems(allocation: Allocation) -> list[str]:
    """Everything wrong with an allocation about to be saved, in words; empty when it may be."""
    found: list[str] = []
    amount = allocation.amount
    if amount is None or amount < 0:
        found.append(_("An allocation's amount cannot be negative."))
        return found
    if amount != amount.quantize(CENT):
        found.append(_("An amount is given to the cent, no finer."))
    currency, _first = allocation.calendar.fiscal_terms()
    if currency and allocation.currency != currency:
        found.append(
            _("%(place)s budgets in %(currency)s, not %(given)s.")
            % {
                "place": allocation.calendar.name,
                "currency": currency,
                "given": allocation.currency,
            }
        )
    if allocation.funder_id == allocation.recipient_id:
        found.append(_("A funder cannot allocate to itself; use an internal budget line."))
    if allocation.kind == Allocation.Kind.APPROPRIATION:
        if allocation.source_id or allocation.from_pool_id:
            found.append(_("An appropriation is the funder's own money: it passes nothing on."))
    elif bool(allocation.source_id) == bool(allocation.from_pool_id):
        found.append(
            _("An allocation passes on either one allocation the funder received or a pool.")
        )
    if allocation.into_pool_id:
        pool = allocation.into_pool
        if allocation.recipient_id != pool.manager_id:
            found.append(
                _("Money paid into %(pool)s goes to its manager, %(manager)s.")
                % {"pool": pool.name, "manager": pool.manager.name}
            )
        if allocation.condition != Allocation.Condition.POOLED:
            found.append(_("Money paid into a pool is pooled, not ring-fenced."))
    source = allocation.source
    if source is not None:
        if source.recipient_id != allocation.funder_id:
            found.append(
                _("%(funder)s did not receive %(source)s, so it cannot pass it on.")
                % {"funder": allocation.funder.name, "source": source.key}
            )
        if source.fiscal_year != allocation.fiscal_year:
            found.append(
                _("Money of fiscal year %(source)s cannot be passed on in %(year)s.")
                % {"source": source.fiscal_year, "year": allocation.fiscal_year}
            )
        if source.currency != allocation.currency:
            found.append(_("Money passed on keeps the currency it came in."))
        if (
            source.condition == Allocation.Condition.RING_FENCED
            and source.program_id != allocation.program_id
        ):
            found.append(
                _("%(source)s is ring-fenced for %(program)s; it cannot fund another program.")
                % {"source": source.key, "program": source.program.name}
            )
        available = source.amount - passed_on_total(source.pk, excluding=allocation.pk)
        available -= executed_total(source.pk)
        if amount > available:
            found.append(
                _("Over-allocated: %(source)s has %(available)s left to pass on, not %(amount)s.")
                % {
                    "source": source.key,
                    "available": _money(available, source.currency),
                    "amount": _money(amount, source.currency),
                }
            )
    if allocation.from_pool_id:
        pool = allocation.from_pool
        if pool.manager_id != allocation.funder_id:
            found.append(
                _("Only %(manager)s pays out of %(pool)s.")
                % {"manager": pool.manager.name, "pool": pool.name}
            )
        balance = pool_balance(pool.pk, allocation.fiscal_year, excluding=allocation.pk)
        if amount > balance:
            found.append(
                _("Over-allocated: %(pool)s holds %(balance)s for that year, not %(amount)s.")
                % {
                    "pool": pool.name,
                    "balance": _money(balance, allocation.currency),
                    "amount": _money(amount, allocation.currency),
                }
            )
    if allocation.pk:
        committed = passed_on_total(allocation.pk) + executed_total(allocation.pk)
        if amount < committed:
            found.append(
                _("%(key)s already passed on or spent %(committed)s; it cannot drop below.")
                % {"key": allocation.key, "committed": _money(committed, allocation.currency)}
            )
    return found


def snapshot(allocation: Allocation) -> dict[str, Any]:
    return {
        "amount": str(allocation.amount),
        "recipient": allocation.recipient.key,
        "program": allocation.program.key,
        "fiscal_year": allocation.fiscal_year,
        "instrument": allocation.instrument,
        "condition": allocation.condition,
    }


def save_allocation(
    allocation: Allocation, *, user_id: int | None, agency: str, reason: str
) -> Allocation:
    """Create or change an allocation after checking every rule; recorded with who and why.

    The source allocation is locked while the check runs, so two transfers out of the same
    money cannot both pass the over-allocation check.
    """
    with transaction.atomic():
        if allocation.source_id:
            Allocation.objects.select_for_update().filter(pk=allocation.source_id).first()
        if allocation.from_pool_id:
            # Payouts and direct spending of one pool are checked one at a time.
            Pool.objects.select_for_update().filter(pk=allocation.from_pool_id).first()
        before = previous = None
        if allocation.pk:
            previous = (
                Allocation.objects.select_for_update(of=("self",))
                .filter(pk=allocation.pk)
                .select_related("place", "recipient__jurisdiction")
                .first()
            )
            before = snapshot(previous) if previous else None
        if not allocation.calendar_id:
            raise FundingRefused(_("Say which jurisdiction's fiscal calendar the amount follows."))
        found = problems(allocation)
        if found:
            raise FundingRefused(" ".join(found))
        allocation.full_clean()
        allocation.save()
        if previous is not None:
            rollup.move(allocation.pk, rollup.key_of(previous), rollup.key_of(allocation))
        audit.record(
            user_id=user_id,
            agency=agency,
            record="allocation",
            key=allocation.key,
            action="change" if before else "create",
            reason=reason,
            before=before,
            after=snapshot(allocation),
        )
    return allocation


# --- Reading the chain ---------------------------------------------------------------------


def net_total(allocations: Iterable[Allocation]) -> Decimal:
    """The money entering the set from outside it: transfers inside the set count once."""
    rows = list(allocations)
    inside = {a.pk for a in rows}
    pools_fed = {(a.into_pool_id, a.fiscal_year) for a in rows if a.into_pool_id}
    total = ZERO
    for a in rows:
        if a.source_id in inside:
            continue
        if a.from_pool_id and (a.from_pool_id, a.fiscal_year) in pools_fed:
            continue
        total += a.amount
    return total


def gross_total(allocations: Iterable[Allocation]) -> Decimal:
    return sum((a.amount for a in allocations), ZERO)


def split(amount: Decimal, weights: Sequence[Decimal]) -> list[Decimal]:
    """`amount` shared in proportion to `weights`, to the cent, summing exactly to `amount`
    (largest remainder: the cents left over go to the largest fractions)."""
    whole = sum(weights, ZERO)
    if whole <= 0:
        return [ZERO for _w in weights]
    exact = [amount * w / whole for w in weights]
    parts = [e.quantize(CENT, rounding=ROUND_DOWN) for e in exact]
    left = int(((amount - sum(parts, ZERO)) / CENT).to_integral_value())
    order = sorted(range(len(weights)), key=lambda i: (exact[i] - parts[i], -i), reverse=True)
    for i in order[:left]:
        parts[i] += CENT
    return parts


@dataclass
class Tree:
    """Every allocation of some fiscal years in memory, indexed both ways (one query)."""

    by_pk: dict[int, Allocation]
    children: dict[int, list[Allocation]]
    pool_in: dict[tuple[int, int], list[Allocation]]

    @classmethod
    def load(cls, fiscal_years: Iterable[int] | None = None) -> Tree:
        rows = Allocation.objects.select_related("funder", "recipient", "program")
        if fiscal_years is not None:
            rows = rows.filter(fiscal_year__in=list(fiscal_years))
        by_pk = {a.pk: a for a in rows}
        children: dict[int, list[Allocation]] = defaultdict(list)
        pool_in: dict[tuple[int, int], list[Allocation]] = defaultdict(list)
        for a in by_pk.values():
            if a.source_id:
                children[a.source_id].append(a)
            if a.into_pool_id:
                pool_in[(a.into_pool_id, a.fiscal_year)].append(a)
        return cls(by_pk, children, pool_in)

    def down(self, allocation: Allocation, depth: int = 0) -> list[tuple[int, Allocation]]:
        """The allocation and everything passed on from it, depth first."""
        found = [(depth, allocation)]
        for child in sorted(self.children.get(allocation.pk, []), key=lambda a: a.key):
            found += self.down(child, depth + 1)
        return found

    def origins(self, allocation: Allocation, amount: Decimal | None = None) -> dict[int, Decimal]:
        """Who first put up the money of `allocation` (funder agency pk → amount), walking up
        sources and sharing pool payouts pro rata of what each put in the pool."""
        amount = allocation.amount if amount is None else amount
        if allocation.source_id and allocation.source_id in self.by_pk:
            return self.origins(self.by_pk[allocation.source_id], amount)
        if allocation.from_pool_id:
            inflows = sorted(
                self.pool_in.get((allocation.from_pool_id, allocation.fiscal_year), []),
                key=lambda a: a.pk,
            )
            if inflows:
                result: dict[int, Decimal] = defaultdict(lambda: ZERO)
                parts = split(amount, [a.amount for a in inflows])
                for inflow, part in zip(inflows, parts, strict=True):
                    for funder, share in self.origins(inflow, part).items():
                        result[funder] += share
                return dict(result)
        return {allocation.funder_id: amount}

    def funders_of(self, recipient_id: int, program_id: int | None = None) -> dict[int, Decimal]:
        """Everyone whose money reaches the recipient (agency pk → amount), at the origin."""
        result: dict[int, Decimal] = defaultdict(lambda: ZERO)
        for a in self.by_pk.values():
            if a.recipient_id != recipient_id or a.into_pool_id:
                continue
            if program_id is not None and a.program_id != program_id:
                continue
            for funder, share in self.origins(a).items():
                result[funder] += share
        return dict(result)
