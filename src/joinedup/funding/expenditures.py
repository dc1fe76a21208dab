"""Recipients report what they plan and spend against each allocation they received.

A line is one month, one category, one phase. The month lies in the allocation's fiscal
year (in its calendar); what is executed, added to what was passed on, never exceeds the
allocation. Reporting the same line again replaces it, with the old figure kept in the
change record.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from . import audit, fiscal, rollup
from .flows import FundingRefused, executed_total, passed_on_total, pool_balance
from .models import ZERO, Allocation, Expenditure, Pool


def report_expenditure(
    allocation: Allocation,
    *,
    period: datetime.date,
    category: str,
    phase: str,
    amount: object,
    ftes: object = "0",
    user_id: int | None,
    agency: str,
    reason: str,
) -> Expenditure:
    """Record one expenditure line (or replace the same line), checked and recorded."""
    try:
        money = fiscal.to_money(amount)
        fte = Decimal(str(ftes))
    except (fiscal.MoneyError, ArithmeticError, ValueError) as error:
        raise FundingRefused(str(error) or _("Give full-time equivalents as a number.")) from None
    if fte < 0:
        raise FundingRefused(_("Full-time equivalents cannot be negative."))
    if category not in Expenditure.Category.values:
        raise FundingRefused(_("“%(value)s” is not a spending category.") % {"value": category})
    if phase not in Expenditure.Phase.values:
        raise FundingRefused(_("“%(value)s” is not a phase.") % {"value": phase})
    _currency, first_month = allocation.calendar.fiscal_terms()
    month = period.replace(day=1)
    if not fiscal.contains(allocation.fiscal_year, first_month, month):
        raise FundingRefused(
            _("%(month)s is outside fiscal year %(year)s (%(first)s to %(last)s).")
            % {
                "month": month.strftime("%Y-%m"),
                "year": fiscal.label(allocation.fiscal_year, first_month),
                "first": fiscal.first_day(allocation.fiscal_year, first_month).isoformat(),
                "last": fiscal.last_day(allocation.fiscal_year, first_month).isoformat(),
            }
        )
    with transaction.atomic():
        locked = (
            Allocation.objects.select_for_update(of=("self",))
            .filter(pk=allocation.pk)
            .select_related("place", "recipient__jurisdiction")
            .first()
        )
        line = Expenditure.objects.filter(
            allocation=allocation, period=month, category=category, phase=phase
        ).first()
        before = {"amount": str(line.amount), "ftes": str(line.ftes)} if line else None
        if phase == Expenditure.Phase.EXECUTED:
            spent = executed_total(allocation.pk) - (line.amount if line else ZERO)
            left = allocation.amount - spent - passed_on_total(allocation.pk)
            if money > left:
                raise FundingRefused(
                    _("Over-spent: %(key)s has %(left)s %(currency)s left, not %(amount)s.")
                    % {
                        "key": allocation.key,
                        "left": f"{left:,.2f}",
                        "currency": allocation.currency,
                        "amount": f"{money:,.2f}",
                    }
                )
            if allocation.into_pool_id:
                # Money paid into a pool is spent by its manager only as far as the pool
                # still holds it after its payouts: the pool is locked while checking.
                pool = Pool.objects.select_for_update().get(pk=allocation.into_pool_id)
                held = pool_balance(pool.pk, allocation.fiscal_year)
                held += line.amount if line else ZERO
                if money > held:
                    raise FundingRefused(
                        _(
                            "Over-spent: after its payouts %(pool)s holds %(held)s %(currency)s "
                            "for the year, not %(amount)s."
                        )
                        % {
                            "pool": pool.name,
                            "held": f"{held:,.2f}",
                            "currency": allocation.currency,
                            "amount": f"{money:,.2f}",
                        }
                    )
        line = line or Expenditure(
            allocation=allocation, period=month, category=category, phase=phase
        )
        line.amount = money
        line.ftes = fte
        line.reported_by_id = user_id
        line.save()
        rollup.add(
            rollup.key_of(locked or allocation),
            phase,
            cents=rollup.cents(money) - (rollup.cents(Decimal(before["amount"])) if before else 0),
            fte_hundredths=rollup.cents(fte)
            - (rollup.cents(Decimal(before["ftes"])) if before else 0),
            lines=0 if before else 1,
        )
        audit.record(
            user_id=user_id,
            agency=agency,
            record="expenditure",
            key=f"{allocation.key}/{month:%Y-%m}/{category}/{phase}",
            action="change" if before else "create",
            reason=reason,
            before=before,
            after={"amount": str(money), "ftes": str(fte)},
        )
    return line


class LineMissing(LookupError):
    """The line to withdraw was never reported (or is already withdrawn)."""


def withdraw_expenditure(
    allocation: Allocation,
    *,
    period: datetime.date,
    category: str,
    phase: str,
    user_id: int | None,
    agency: str,
    reason: str,
) -> Expenditure:
    """Withdraw one line the recipient reported (a mistake, a duplicate): the line is removed,
    the rollup lowered by its figures and the change record keeps them, with who and why, all
    in one transaction (a refusal leaves everything as it was). Returns the removed line."""
    if category not in Expenditure.Category.values:
        raise FundingRefused(_("“%(value)s” is not a spending category.") % {"value": category})
    if phase not in Expenditure.Phase.values:
        raise FundingRefused(_("“%(value)s” is not a phase.") % {"value": phase})
    if not (reason or "").strip():
        raise audit.ReasonMissing(_("Say why the change is made."))
    month = period.replace(day=1)
    key = f"{allocation.key}/{month:%Y-%m}/{category}/{phase}"
    with transaction.atomic():
        # The allocation is locked as a report locks it, so a withdrawal and a report of the
        # same allocation's lines are made one after the other.
        locked = Allocation.objects.select_for_update().filter(pk=allocation.pk).first()
        line = Expenditure.objects.filter(
            allocation=allocation, period=month, category=category, phase=phase
        ).first()
        if locked is None or line is None:
            raise LineMissing(_("%(key)s has no such expenditure line to withdraw.") % {"key": key})
        before = {"amount": str(line.amount), "ftes": str(line.ftes)}
        line.delete()
        rollup.add(
            rollup.key_of(locked),
            phase,
            cents=-rollup.cents(Decimal(before["amount"])),
            fte_hundredths=-rollup.cents(Decimal(before["ftes"])),
            lines=-1,
        )
        audit.record(
            user_id=user_id,
            agency=agency,
            record="expenditure",
            key=key,
            action="withdraw",
            reason=reason,
            before=before,
            after=None,
        )
    return line
