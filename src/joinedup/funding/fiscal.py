"""Fiscal years in each jurisdiction's own calendar, and money as exact Decimal.

A fiscal year is named by the calendar year it starts in; its first month comes from the
jurisdiction (April in Canada, July in Australia, January where none is set). Amounts are
Decimal with two places; a float is refused, since 0.1 + 0.2 is not 0.3 in binary.
"""

from __future__ import annotations

import datetime
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from django.utils.translation import gettext as _

CENT = Decimal("0.01")


class MoneyError(ValueError):
    """An amount that is not money; the message is for people."""


def to_money(value: object, *, allow_negative: bool = False) -> Decimal:
    """An amount as Decimal to the cent, from a Decimal, an int or a string such as "12.50".

    Floats are refused; more than two decimal places are refused rather than rounded away.
    """
    if isinstance(value, (bool, float)):
        raise MoneyError(_("Give amounts as text or whole numbers, not floating point."))
    try:
        amount = Decimal(str(value).strip()) if not isinstance(value, Decimal) else value
    except InvalidOperation:
        raise MoneyError(_("“%(value)s” is not an amount of money.") % {"value": value}) from None
    if not amount.is_finite():
        raise MoneyError(_("“%(value)s” is not an amount of money.") % {"value": value})
    if amount != amount.quantize(CENT, rounding=ROUND_HALF_EVEN):
        raise MoneyError(_("%(value)s has more than two decimal places.") % {"value": value})
    if amount < 0 and not allow_negative:
        raise MoneyError(_("An amount cannot be negative (%(value)s).") % {"value": value})
    return amount.quantize(CENT)


def first_day(fiscal_year: int, first_month: int) -> datetime.date:
    return datetime.date(fiscal_year, first_month, 1)


def last_day(fiscal_year: int, first_month: int) -> datetime.date:
    """The last day of the fiscal year (the day before the next one starts)."""
    return first_day(fiscal_year + 1, first_month) - datetime.timedelta(days=1)


def fiscal_year_of(day: datetime.date, first_month: int) -> int:
    """The fiscal year a day falls in: 2026-02-10 is in 2025 when the year starts in April."""
    return day.year if day.month >= first_month else day.year - 1


def label(fiscal_year: int, first_month: int) -> str:
    """How people write it: 2025–26 for a year across two calendar years, 2025 otherwise."""
    if first_month == 1:
        return str(fiscal_year)
    return f"{fiscal_year}–{(fiscal_year + 1) % 100:02d}"


def months(fiscal_year: int, first_month: int) -> list[datetime.date]:
    """The first day of each of the twelve months of the fiscal year, in order."""
    index = fiscal_year * 12 + first_month - 1
    return [datetime.date((index + i) // 12, (index + i) % 12 + 1, 1) for i in range(12)]


def contains(fiscal_year: int, first_month: int, day: datetime.date) -> bool:
    return first_day(fiscal_year, first_month) <= day <= last_day(fiscal_year, first_month)
