"""Linking money to results: the cost of an outcome, and payment by results.

Cost per outcome = the spending executed under a program's allocations in a fiscal year ÷
the outcomes its outcome-counting indicators recorded in that year. Beside it, the cost per
transaction that performance computes from unit costs, staff time and overheads of the
program's services; the two differ because spending includes money paid out to people and
to providers (which delivery costs do not) and because one outcome may take several
transactions (or none).

Payment by results, for one period: base = outcomes × rate; plus the bonus share of the
base when the indicator met its target; raised to the floor; limited to the cap. Every step
is kept, so the statement of how is shown with the amount.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from typing import Any

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from joinedup.federation.models import Offering, Program, Service
from joinedup.performance import kpis
from joinedup.sharing import outbox

from . import audit, fiscal, indicators
from .flows import FundingRefused
from .models import ZERO, Expenditure, Indicator, OutcomeAgreement, OutcomePayment, sum_money

CENT = fiscal.CENT

#: Outbox events: a payment computed (routed to the funder) and decided (approved or returned).
PAYMENT_COMPUTED = "org.joinedup.funding.payment.computed"
PAYMENT_DECIDED = "org.joinedup.funding.payment.decided"
SOURCE = "/funding"


def _announce(event: str, row: OutcomePayment, **extra: Any) -> None:
    """Tell subscribers (the recipient's systems, a finance system, the funder's queue) about a
    payment, in the transaction that changed it."""
    allocation = row.agreement.allocation
    outbox.emit(
        event,
        source=SOURCE,
        subject=str(row.pk),
        data={
            "agreement": row.agreement.key,
            "period_start": row.period_start.isoformat(),
            "period_end": row.period_end.isoformat(),
            "outcomes": f"{row.outcomes.normalize():f}",
            "amount": str(row.amount),
            "currency": allocation.currency,
            "funder": allocation.funder.key,
            "recipient": allocation.recipient.key,
            "status": row.status,
            **extra,
        },
    )


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_EVEN)


# --- Payment by results ----------------------------------------------------------------------


def payment(
    outcomes: Decimal,
    rate: Decimal,
    *,
    floor: Decimal = ZERO,
    cap: Decimal | None = None,
    bonus_share: Decimal = Decimal("0"),
    target_met: bool = False,
) -> tuple[Decimal, list[dict[str, str]]]:
    """The amount for a period and the steps that led to it."""
    base = _cents(outcomes * rate)
    steps = [
        {
            "step": "base",
            "outcomes": f"{outcomes.normalize():f}",
            "rate": str(rate),
            "amount": str(base),
        }
    ]
    amount = base
    if bonus_share and target_met:
        bonus = _cents(base * bonus_share)
        amount += bonus
        steps.append(
            {"step": "bonus", "share": str(bonus_share), "bonus": str(bonus), "amount": str(amount)}
        )
    elif bonus_share:
        steps.append({"step": "no_bonus", "amount": str(amount)})
    if amount < floor:
        amount = floor
        steps.append({"step": "floor", "floor": str(floor), "amount": str(amount)})
    if cap is not None and amount > cap:
        amount = cap
        steps.append({"step": "cap", "cap": str(cap), "amount": str(amount)})
    return amount, steps


def statement(steps: list[dict[str, str]], currency: str) -> list[str]:
    """The steps in words, in the reader's language."""
    lines = []
    for step in steps:
        kind = step["step"]
        if kind == "base":
            lines.append(
                _(
                    "%(outcomes)s outcomes × %(rate)s %(currency)s per outcome = "
                    "%(amount)s %(currency)s."
                )
                % {**step, "currency": currency}
            )
        elif kind == "bonus":
            lines.append(
                _(
                    "The target was met: a bonus of %(share)s of the base, %(bonus)s "
                    "%(currency)s, gives %(amount)s %(currency)s."
                )
                % {**step, "currency": currency}
            )
        elif kind == "no_bonus":
            lines.append(_("The target was not met: no bonus."))
        elif kind == "floor":
            lines.append(
                _("Below the floor: raised to %(floor)s %(currency)s.")
                % {**step, "currency": currency}
            )
        elif kind == "cap":
            lines.append(
                _("Above the cap: limited to %(cap)s %(currency)s.")
                % {**step, "currency": currency}
            )
    return lines


def compute_period(
    agreement: OutcomeAgreement,
    start: datetime.date,
    end: datetime.date,
    today: datetime.date,
) -> OutcomePayment:
    """Compute (or recompute, while unapproved) a period's payment from the indicator."""
    if end >= today:
        raise FundingRefused(_("A period is paid once it has ended."))
    indicator = agreement.indicator
    value = indicators.value_for(indicator, start, end)
    if value is None:
        raise FundingRefused(_("No value of the indicator is known for this period yet."))
    met = indicators.status(indicator, value, end, today) == indicators.MET
    amount, steps = payment(
        value,
        agreement.rate_per_outcome,
        floor=agreement.floor,
        cap=agreement.cap,
        bonus_share=agreement.bonus_share,
        target_met=met,
    )
    with transaction.atomic():
        row = (
            OutcomePayment.objects.select_for_update()
            .filter(agreement=agreement, period_start=start)
            .first()
        )
        if row is not None and row.status == OutcomePayment.Status.APPROVED:
            raise FundingRefused(_("This period's payment is approved already."))
        row = row or OutcomePayment(agreement=agreement, period_start=start)
        row.period_end, row.outcomes, row.amount, row.steps = end, value, amount, steps
        row.status = OutcomePayment.Status.COMPUTED
        row.save()
        _announce(PAYMENT_COMPUTED, row)
    return row


def approve(
    payment_row: OutcomePayment, *, user_id: int | None, reason: str = "", agency: str = ""
) -> OutcomePayment:
    """The funder approves a computed payment; who, when and why are kept."""
    return _decide(payment_row, OutcomePayment.Status.APPROVED, user_id, reason, agency)


def send_back(
    payment_row: OutcomePayment, *, user_id: int | None, reason: str, agency: str = ""
) -> OutcomePayment:
    """The funder returns a computed payment with a reason (a value to correct, a period in
    dispute); it is computed again when the indicator's value is corrected."""
    if not reason.strip():
        raise FundingRefused(_("Say why the payment is returned."))
    return _decide(payment_row, OutcomePayment.Status.RETURNED, user_id, reason, agency)


def _decide(
    payment_row: OutcomePayment, status: str, user_id: int | None, reason: str, agency: str
) -> OutcomePayment:
    with transaction.atomic():
        row = (
            OutcomePayment.objects.select_for_update(of=("self",))
            .select_related("agreement__allocation__funder", "agreement__allocation__recipient")
            .get(pk=payment_row.pk)
        )
        if row.status == OutcomePayment.Status.APPROVED:
            raise FundingRefused(_("This payment is approved already."))
        if row.status == OutcomePayment.Status.RETURNED:
            raise FundingRefused(_("This payment was returned; it is computed again first."))
        before = {"status": row.status, "amount": str(row.amount)}
        row.status = status
        row.approved_by_id = user_id
        row.decided_at = timezone.now()
        row.decision_reason = reason.strip()
        row.save(update_fields=["status", "approved_by", "decided_at", "decision_reason"])
        audit.record(
            user_id=user_id,
            agency=agency,
            record="outcome payment",
            key=f"{row.agreement.key}/{row.period_start:%Y-%m}",
            action=status,
            reason=reason.strip() or _("Approved as computed."),
            before=before,
            after={"status": status, "amount": str(row.amount)},
        )
        _announce(
            PAYMENT_DECIDED,
            row,
            decision=status,
            reason=row.decision_reason,
            decided_at=row.decided_at.isoformat(),
        )
    payment_row.refresh_from_db()
    return payment_row


def periods(agreement: OutcomeAgreement) -> list[tuple[datetime.date, datetime.date]]:
    """The agreement's payment periods: its indicator's frequency, inside the fiscal year of
    the allocation it pays under (the allocation's own calendar)."""
    allocation = agreement.allocation
    _currency, first_month = allocation.calendar.fiscal_terms()
    months = fiscal.months(allocation.fiscal_year, first_month)
    step = {
        Indicator.Frequency.MONTHLY: 1,
        Indicator.Frequency.QUARTERLY: 3,
        Indicator.Frequency.ANNUAL: 12,
    }[agreement.indicator.frequency]
    found = []
    for index in range(0, 12, step):
        start = months[index]
        last_month = months[index + step - 1]
        end = (last_month.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)
        found.append((start, end - datetime.timedelta(days=1)))
    return found


@dataclass
class Scheduled:
    computed: list[OutcomePayment] = field(default_factory=list)
    waiting: list[tuple[OutcomeAgreement, datetime.date]] = field(default_factory=list)


def schedule(today: datetime.date) -> Scheduled:
    """Compute every ended period's payment that is not yet computed, and every returned one
    (its value may have been corrected since), routed to the funder for approval. A period
    whose indicator has no value yet waits, and is listed."""
    done = Scheduled()
    agreements = OutcomeAgreement.objects.select_related(
        "allocation__calendar",
        "allocation__funder",
        "allocation__recipient",
        "indicator__result",
    )
    held = {
        (p.agreement_id, p.period_start): p.status
        for p in OutcomePayment.objects.only("agreement_id", "period_start", "status")
    }
    for agreement in agreements:
        for start, end in periods(agreement):
            if end >= today:
                continue
            status = held.get((agreement.pk, start))
            if status in (OutcomePayment.Status.APPROVED, OutcomePayment.Status.COMPUTED):
                continue
            try:
                row = compute_period(agreement, start, end, today)
            except FundingRefused:
                done.waiting.append((agreement, start))
                continue
            done.computed.append(row)
    return done


# --- Cost per outcome --------------------------------------------------------------------------


@dataclass
class CostPerOutcome:
    program: Program
    fiscal_year: int
    currency: str
    spending: Decimal
    payments_to_people: Decimal
    outcomes: Decimal | None
    delivery_cost: Decimal | None
    completions: int
    notes: list[str] = field(default_factory=list)

    @property
    def cost_per_outcome(self) -> Decimal | None:
        if not self.outcomes:
            return None
        return _cents(self.spending / self.outcomes)

    @property
    def cost_per_transaction(self) -> Decimal | None:
        if self.delivery_cost is None or not self.completions:
            return None
        return _cents(self.delivery_cost / self.completions)

    def explanation(self) -> list[str]:
        """Why the cost per outcome and the cost per transaction differ, in figures."""
        lines = []
        cpo, cpt = self.cost_per_outcome, self.cost_per_transaction
        if cpo is None:
            lines.append(_("No outcome was recorded for this year: no cost per outcome."))
        if cpt is None:
            lines.append(_("No completed transaction of the program's services is measured."))
        if self.spending:
            share = self.payments_to_people / self.spending * 100
            lines.append(
                _(
                    "%(share)s %% of the spending is money paid to people, which the cost "
                    "per transaction does not count."
                )
                % {"share": f"{share:.1f}"}
            )
        if self.delivery_cost is not None and self.spending:
            lines.append(
                _(
                    "Delivering the transactions cost %(delivery)s %(currency)s of "
                    "%(spending)s %(currency)s spent."
                )
                % {
                    "delivery": f"{self.delivery_cost:,.2f}",
                    "spending": f"{self.spending:,.2f}",
                    "currency": self.currency,
                }
            )
        if self.outcomes and self.completions:
            lines.append(
                _("%(ratio)s completed transactions per outcome.")
                % {"ratio": f"{Decimal(self.completions) / self.outcomes:.2f}"}
            )
        return lines


def outcomes_in_year(program: Program, first: datetime.date, last: datetime.date) -> Decimal | None:
    """The outcomes counted by the program's outcome-counting indicators in the year."""
    chosen = Indicator.objects.filter(result__program=program, is_outcome_count=True)
    total, seen = ZERO, False
    for indicator in chosen:
        if indicator.source == Indicator.Source.PLATFORM:
            value = indicators.platform_value(indicator, first, last)
            if value is not None:
                total, seen = total + value, True
            continue
        summed = indicator.values.filter(
            current=True, period_start__gte=first, period_end__lte=last
        ).aggregate(total=Sum("value"))["total"]
        if summed is not None:
            total, seen = total + summed, True
    return total if seen else None


def cost_per_outcome(program: Program, fiscal_year: int) -> CostPerOutcome:
    """The cost per outcome of a program in a fiscal year of its owner's calendar, beside
    the cost per transaction of its services."""
    jurisdiction = program.agency.jurisdiction
    currency, first_month = jurisdiction.fiscal_terms() if jurisdiction else ("", 1)
    first = fiscal.first_day(fiscal_year, first_month)
    last = fiscal.last_day(fiscal_year, first_month)
    spent = Expenditure.objects.filter(
        allocation__program=program,
        allocation__fiscal_year=fiscal_year,
        phase=Expenditure.Phase.EXECUTED,
    )
    spending = sum_money(spent)
    paid_out = sum_money(spent.filter(category=Expenditure.Category.PAYMENTS))
    keys = set(Service.objects.filter(program=program).values_list("key", flat=True))
    keys |= set(Offering.objects.filter(program=program).values_list("service__key", flat=True))
    delivery, completions = None, 0
    if keys:
        period = kpis.Period("fy", first, last.replace(day=1))
        figures = [
            f for f in kpis.compute(period, ("service_key",)) if f.key.get("service_key") in keys
        ]
        if figures:
            cost = Fraction(sum((f.total_cost for f in figures), start=Fraction(0)))
            delivery = _cents(Decimal(cost.numerator) / Decimal(cost.denominator) / 100)
            completions = sum(f.completions for f in figures)
    return CostPerOutcome(
        program=program,
        fiscal_year=fiscal_year,
        currency=currency,
        spending=spending,
        payments_to_people=paid_out,
        outcomes=outcomes_in_year(program, first, last),
        delivery_cost=delivery,
        completions=completions,
    )


def describe(result: CostPerOutcome) -> dict[str, Any]:
    cpo, cpt = result.cost_per_outcome, result.cost_per_transaction
    return {
        "program": result.program.key,
        "fiscal_year": result.fiscal_year,
        "currency": result.currency,
        "spending": str(result.spending),
        "outcomes": None if result.outcomes is None else str(result.outcomes),
        "cost_per_outcome": None if cpo is None else str(cpo),
        "cost_per_transaction": None if cpt is None else str(cpt),
        "completions": result.completions,
        "explanation": result.explanation(),
    }
