"""Indicators' values, per period: reported by the responsible agency (corrections kept) or
read from the platform's own measures, and each period's status against the target.

A period is met, not met, not available (it ended and no value is known) or future (it has
not ended yet). Targets follow their type: at least the minimum, at most the maximum,
between both, or exactly the value.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from fractions import Fraction

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from joinedup.performance import kpis

from . import audit
from .flows import FundingRefused
from .models import Indicator, IndicatorValue

MET, NOT_MET, NOT_AVAILABLE, FUTURE = "met", "not_met", "not_available", "future"
STATUS_LABELS = {
    MET: gettext_lazy("Met"),
    NOT_MET: gettext_lazy("Not met"),
    NOT_AVAILABLE: gettext_lazy("Not available"),
    FUTURE: gettext_lazy("Future"),
}

#: The platform measures an indicator can be bound to, read from performance's figures.
PLATFORM_MEASURES = {
    "completions": (gettext_lazy("Completed transactions"), lambda f: f.completions),
    "completion_rate": (gettext_lazy("Completion rate"), lambda f: f.completion_rate),
    "within_standard": (
        gettext_lazy("Share within the service standard"),
        lambda f: f.within_standard,
    ),
    "digital_take_up": (gettext_lazy("Digital take-up"), lambda f: f.digital_take_up),
    "satisfaction": (gettext_lazy("User satisfaction"), lambda f: f.satisfaction),
    "cost_per_transaction": (
        gettext_lazy("Cost per transaction"),
        lambda f: None if f.cost_per_transaction is None else f.cost_per_transaction / 100,
    ),
}


def status(
    indicator: Indicator, value: Decimal | None, period_end: datetime.date, today: datetime.date
) -> str:
    """Met, not met, not available or future, for one period's value."""
    if period_end >= today:
        return FUTURE
    if value is None:
        return NOT_AVAILABLE
    low, high = indicator.target_min, indicator.target_max
    kind = indicator.target_type
    if kind == Indicator.TargetType.AT_LEAST:
        ok = low is not None and value >= low
    elif kind == Indicator.TargetType.AT_MOST:
        ok = high is not None and value <= high
    elif kind == Indicator.TargetType.RANGE:
        ok = low is not None and high is not None and low <= value <= high
    else:
        ok = low is not None and value == low
    return MET if ok else NOT_MET


def _as_decimal(number: object) -> Decimal | None:
    if number is None:
        return None
    if isinstance(number, Fraction):
        return (Decimal(number.numerator) / Decimal(number.denominator)).quantize(Decimal("0.0001"))
    return Decimal(str(number)).quantize(Decimal("0.0001"))


def platform_value(
    indicator: Indicator, start: datetime.date, end: datetime.date
) -> Decimal | None:
    """The bound measure over the whole months from `start` to `end`, from the rollups."""
    _label, read = PLATFORM_MEASURES[indicator.bound_measure]
    period = kpis.Period("custom", start.replace(day=1), end.replace(day=1))
    figures = kpis.compute(
        period,
        ("service_key",),
        service=indicator.bound_service or None,
        jurisdictions=[indicator.bound_jurisdiction] if indicator.bound_jurisdiction else None,
    )
    if not figures:
        return None
    return _as_decimal(read(figures[0]))


def value_for(indicator: Indicator, start: datetime.date, end: datetime.date) -> Decimal | None:
    """The value of one period: measured now for a platform indicator, the current report
    otherwise."""
    if indicator.source == Indicator.Source.PLATFORM:
        return platform_value(indicator, start, end)
    row = indicator.values.filter(current=True, period_start=start).first()
    return row.value if row else None


def report_value(
    indicator: Indicator,
    *,
    period_start: datetime.date,
    period_end: datetime.date,
    value: object,
    user_id: int | None,
    agency: str,
    reason: str,
    note: str = "",
) -> IndicatorValue:
    """Record the responsible agency's value for a period; a second report is a correction
    that supersedes the first, which is kept."""
    if indicator.source == Indicator.Source.PLATFORM:
        raise FundingRefused(_("This indicator is measured by the platform; it is not reported."))
    if period_end < period_start:
        raise FundingRefused(_("A period ends after it starts."))
    try:
        number = None if value in (None, "") else Decimal(str(value))
    except ArithmeticError:
        raise FundingRefused(_("“%(value)s” is not a number.") % {"value": value}) from None
    if number is not None and not number.is_finite():
        raise FundingRefused(_("“%(value)s” is not a number.") % {"value": value})
    if number is not None and indicator.unit != Indicator.Unit.MONEY and number < 0:
        raise FundingRefused(_("This indicator's values cannot be negative."))
    if number is not None and indicator.unit == Indicator.Unit.SHARE and number > 1:
        raise FundingRefused(_("A share is between 0 and 1."))
    with transaction.atomic():
        previous = (
            IndicatorValue.objects.select_for_update()
            .filter(indicator=indicator, period_start=period_start, current=True)
            .first()
        )
        if previous is not None:
            previous.current = False
            previous.save(update_fields=["current"])
        row = IndicatorValue.objects.create(
            indicator=indicator,
            period_start=period_start,
            period_end=period_end,
            value=number,
            note=note,
            reported_by_id=user_id,
            supersedes=previous,
        )
        audit.record(
            user_id=user_id,
            agency=agency,
            record="indicator_value",
            key=f"{indicator.key}/{period_start.isoformat()}",
            action="correct" if previous else "report",
            reason=reason,
            before={"value": str(previous.value)} if previous else None,
            after={"value": None if number is None else str(number)},
        )
    return row
