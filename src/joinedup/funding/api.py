"""GET /funding/...: programs, results, indicators, allocations, expenditures and totals;
POST to change an allocation (the funder's staff) or report an expenditure or an indicator
value (the recipient's or data owner's staff), each with the reason recorded.

Anyone reads what is published; analysts and auditors read their own agency's unpublished
allocations too. Amounts are strings of Decimal with two places, never floats.
"""

import datetime
import math
from decimal import Decimal
from typing import Literal

from django.conf import settings
from django.db.models import Count, Prefetch
from django.http import Http404, HttpRequest
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from ninja.errors import HttpError
from ninja.pagination import paginate

from joinedup.apicontract import Pages, Refusal
from joinedup.care.models import Domain
from joinedup.federation.models import Agency, Jurisdiction, Program, Service
from joinedup.identity import policy
from joinedup.identity.acting import ActingContext
from joinedup.identity.api_auth import api_auth

from . import (
    evaluation,
    expenditures,
    explorer,
    fiscal,
    flows,
    indicators,
    outcomes,
    oversight,
    pilots,
    places,
    providers,
)
from . import policy as funding_policy
from .models import (
    Allocation,
    Expenditure,
    Finding,
    Indicator,
    OutcomeAgreement,
    OutcomePayment,
    Pilot,
    Place,
    PlaceFigure,
    Result,
    Review,
)

router = Router(tags=["funding"])


def _refuse(error: Exception) -> HttpError:
    return HttpError(400, str(error))


def _visible(context: ActingContext, rows):
    """Published rows for everyone; an analyst's own agency's unpublished rows too."""
    return funding_policy.visible(rows, funding_policy.unpublished_of(context))


# --- Programs, results, indicators ----------------------------------------------------------


class IndicatorOut(Schema):
    key: str
    name: str
    unit: str
    direction: str
    target_type: str
    target_min: str | None
    target_max: str | None
    baseline: str | None
    frequency: str
    data_owner: str
    source: str = Field(description="reported, or platform (bound to a performance measure)")
    bound_measure: str
    counts_outcomes: bool


class ResultOut(Schema):
    key: str
    level: str = Field(description="input, activity, output, immediate, intermediate, ultimate")
    name: str
    indicators: list[IndicatorOut]


class ProgramOut(Schema):
    key: str
    name: str
    owner: str
    results: list[ResultOut]


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def indicator_out(i: Indicator) -> dict:
    return {
        "key": i.key,
        "name": i.name,
        "unit": i.unit,
        "direction": i.direction,
        "target_type": i.target_type,
        "target_min": _text(i.target_min),
        "target_max": _text(i.target_max),
        "baseline": _text(i.baseline),
        "frequency": i.frequency,
        "data_owner": i.data_owner.key,
        "source": i.source,
        "bound_measure": i.bound_measure,
        "counts_outcomes": i.is_outcome_count,
    }


@router.get(
    "/funding/programs",
    response=list[ProgramOut],
    auth=api_auth("funding.explore"),
    summary="Programs with their logic models: results and indicators",
)
@paginate(Pages)
def program_list(request: HttpRequest):
    results = Result.objects.prefetch_related("indicators__data_owner")
    programs = (
        Program.objects.filter(results__isnull=False)
        .distinct()
        .select_related("agency")
        .prefetch_related(Prefetch("results", queryset=results))
        .order_by("key")
    )
    return [
        {
            "key": p.key,
            "name": p.name,
            "owner": p.agency.key,
            "results": [
                {
                    "key": r.key,
                    "level": r.level,
                    "name": r.name,
                    "indicators": [indicator_out(i) for i in r.indicators.all()],
                }
                for r in p.results.all()
            ],
        }
        for p in programs
    ]


class ValueOut(Schema):
    period_start: datetime.date
    period_end: datetime.date
    value: str | None
    status: str = Field(description="met, not_met, not_available or future")
    note: str


class IndicatorDetailOut(IndicatorOut):
    values: list[ValueOut]


@router.get(
    "/funding/indicators/{key}",
    response=IndicatorDetailOut,
    auth=api_auth("funding.explore"),
    summary="One indicator with its reported values and each period's status",
)
def indicator_detail(request: HttpRequest, key: str):
    indicator = get_object_or_404(Indicator.objects.select_related("data_owner"), key=key)
    today = datetime.date.today()
    values = [
        {
            "period_start": v.period_start,
            "period_end": v.period_end,
            "value": _text(v.value),
            "status": indicators.status(indicator, v.value, v.period_end, today),
            "note": v.note,
        }
        for v in indicator.values.filter(current=True).order_by("period_start")
    ]
    return {**indicator_out(indicator), "values": values}


class ValueIn(Schema):
    period_start: datetime.date
    period_end: datetime.date
    value: str | None = Field(description='A number as text ("12", "0.85"), or null')
    note: str = ""
    reason: str = Field(description="Why it is reported or corrected")


@router.post(
    "/funding/indicators/{key}/values",
    response={201: ValueOut},
    auth=api_auth("funding.report"),
    summary="Report (or correct) an indicator's value for a period (its data owner's staff)",
)
def report_value(request: HttpRequest, key: str, payload: ValueIn):
    indicator = get_object_or_404(Indicator.objects.select_related("data_owner"), key=key)
    policy.require(request.auth, "funding.report", indicator.data_owner)
    try:
        row = indicators.report_value(
            indicator,
            period_start=payload.period_start,
            period_end=payload.period_end,
            value=payload.value,
            note=payload.note,
            user_id=request.auth.user_id,
            agency=request.auth.agency_key or "",
            reason=payload.reason,
        )
    except (flows.FundingRefused, ValueError) as error:
        raise _refuse(error) from None
    return 201, {
        "period_start": row.period_start,
        "period_end": row.period_end,
        "value": _text(row.value),
        "status": indicators.status(indicator, row.value, row.period_end, datetime.date.today()),
        "note": row.note,
    }


#: The fiscal years the API accepts: a year outside has no calendar dates to compute (and
#: would not fit the database's integer column).
FIRST_YEAR, LAST_YEAR = 1900, 2999

# --- Allocations and expenditures -----------------------------------------------------------


class AllocationFilters(Schema):
    fiscal_year: int | None = Field(
        None, ge=FIRST_YEAR, le=LAST_YEAR, description="The year the fiscal year starts in"
    )
    program: str | None = None
    funder: str | None = None
    recipient: str | None = None


class AllocationOut(Schema):
    key: str
    kind: str
    funder: str
    recipient: str
    program: str
    fiscal_year: int
    fiscal_year_label: str
    currency: str
    amount: str
    instrument: str
    condition: str
    source: str | None = Field(description="The allocation it passes on")
    into_pool: str | None
    from_pool: str | None
    published: bool


def allocation_out(a: Allocation, first_month: int) -> dict:
    return {
        "key": a.key,
        "kind": a.kind,
        "funder": a.funder.key,
        "recipient": a.recipient.key,
        "program": a.program.key,
        "fiscal_year": a.fiscal_year,
        "fiscal_year_label": fiscal.label(a.fiscal_year, first_month),
        "currency": a.currency,
        "amount": str(a.amount),
        "instrument": a.instrument,
        "condition": a.condition,
        "source": a.source.key if a.source_id else None,
        "into_pool": a.into_pool.key if a.into_pool_id else None,
        "from_pool": a.from_pool.key if a.from_pool_id else None,
        "published": a.published,
    }


def _months() -> dict[str, int]:
    """First fiscal month per calendar jurisdiction code (one query, inheritance resolved)."""
    places = list(Jurisdiction.objects.only("code", "path", "fiscal_year_first_month"))
    own = {j.code: j.fiscal_year_first_month for j in places}
    result = {}
    for j in places:
        month = next((own[c] for c in reversed(j.path.split("/")) if own.get(c)), 1)
        result[j.pk] = month
    return result


@router.get(
    "/funding/allocations",
    response=list[AllocationOut],
    auth=api_auth("funding.explore"),
    summary="Appropriations and allocations, funder → recipient",
)
@paginate(Pages)
def allocation_list(request: HttpRequest, filters: Query[AllocationFilters]):
    rows = _visible(request.auth, Allocation.objects.all())
    if filters.fiscal_year:
        rows = rows.filter(fiscal_year=filters.fiscal_year)
    for name in ("program", "funder", "recipient"):
        if getattr(filters, name):
            rows = rows.filter(**{f"{name}__key": getattr(filters, name)})
    months = _months()
    rows = rows.select_related("funder", "recipient", "program", "source", "into_pool", "from_pool")
    return [
        allocation_out(a, months.get(a.calendar_id, 1)) for a in rows.order_by("fiscal_year", "key")
    ]


class AllocationIn(Schema):
    key: str
    kind: str = Field(description="appropriation or allocation")
    funder: str
    recipient: str
    program: str
    fiscal_year: int = Field(ge=FIRST_YEAR, le=LAST_YEAR)
    amount: str = Field(description='Decimal as text, e.g. "1250000.00"')
    instrument: str
    condition: str = "ring_fenced"
    source: str | None = None
    published: bool = True
    reason: str


class AllocationChange(Schema):
    amount: str
    reason: str


def _amount(text: str):
    try:
        return fiscal.to_money(text)
    except fiscal.MoneyError as error:
        raise _refuse(error) from None


@router.post(
    "/funding/allocations",
    response={201: AllocationOut},
    auth=api_auth("funding.allocate"),
    summary="Create an allocation (the funder's supervisors and administrators)",
)
def allocation_create(request: HttpRequest, payload: AllocationIn):
    funder = get_object_or_404(Agency.objects.select_related("jurisdiction"), key=payload.funder)
    policy.require(request.auth, "funding.allocate", funder)
    recipient = get_object_or_404(Agency, key=payload.recipient)
    program = get_object_or_404(Program, key=payload.program)
    if Allocation.objects.filter(key=payload.key).exists():
        raise HttpError(400, _("An allocation with this key exists; change it instead."))
    if funder.jurisdiction is None:
        raise HttpError(400, _("The funder has no jurisdiction whose fiscal calendar to follow."))
    source = None
    if payload.source:
        source = get_object_or_404(Allocation, key=payload.source)
    currency, first_month = funder.jurisdiction.fiscal_terms()
    allocation = Allocation(
        key=payload.key,
        kind=payload.kind,
        funder=funder,
        recipient=recipient,
        program=program,
        fiscal_year=payload.fiscal_year,
        calendar=funder.jurisdiction,
        currency=currency,
        amount=_amount(payload.amount),
        instrument=payload.instrument,
        condition=payload.condition,
        source=source,
        published=payload.published,
    )
    try:
        flows.save_allocation(
            allocation,
            user_id=request.auth.user_id,
            agency=request.auth.agency_key or "",
            reason=payload.reason,
        )
    except (flows.FundingRefused, ValueError) as error:
        raise _refuse(error) from None
    return 201, allocation_out(allocation, first_month)


@router.patch(
    "/funding/allocations/{key}",
    response=AllocationOut,
    auth=api_auth("funding.allocate"),
    summary="Change an allocation's amount, saying why (the funder's staff)",
)
def allocation_change(request: HttpRequest, key: str, payload: AllocationChange):
    allocation = get_object_or_404(
        Allocation.objects.select_related("funder", "recipient", "program", "calendar"), key=key
    )
    policy.require(request.auth, "funding.allocate", allocation.funder)
    allocation.amount = _amount(payload.amount)
    try:
        flows.save_allocation(
            allocation,
            user_id=request.auth.user_id,
            agency=request.auth.agency_key or "",
            reason=payload.reason,
        )
    except (flows.FundingRefused, ValueError) as error:
        raise _refuse(error) from None
    return allocation_out(allocation, allocation.calendar.fiscal_terms()[1])


class ExpenditureOut(Schema):
    allocation: str
    period: str = Field(description="YYYY-MM")
    category: str
    phase: str = Field(description="proposed, approved, adjusted or executed")
    amount: str
    ftes: str


class ExpenditureIn(Schema):
    allocation: str
    period: str = Field(description="YYYY-MM")
    category: str
    phase: str
    amount: str
    ftes: str = "0"
    reason: str


def expenditure_out(e: Expenditure) -> dict:
    return {
        "allocation": e.allocation.key,
        "period": e.period.strftime("%Y-%m"),
        "category": e.category,
        "phase": e.phase,
        "amount": str(e.amount),
        "ftes": str(e.ftes),
    }


@router.get(
    "/funding/expenditures",
    response=list[ExpenditureOut],
    auth=api_auth("funding.explore"),
    summary="Expenditures reported against allocations",
)
@paginate(Pages)
def expenditure_list(
    request: HttpRequest,
    allocation: str | None = None,
    fiscal_year: int | None = Query(None, ge=FIRST_YEAR, le=LAST_YEAR),
):
    visible = _visible(request.auth, Allocation.objects.all())
    rows = Expenditure.objects.filter(allocation__in=visible.values("pk")).select_related(
        "allocation"
    )
    if allocation:
        rows = rows.filter(allocation__key=allocation)
    if fiscal_year:
        rows = rows.filter(allocation__fiscal_year=fiscal_year)
    return [
        expenditure_out(e) for e in rows.order_by("allocation__key", "period", "category", "phase")
    ]


def _reported_line(
    request: HttpRequest, allocation_key: str, month: str
) -> tuple[Allocation, datetime.date]:
    """The allocation a recipient's staff report on (or withdraw from), once the policy lets
    them, and the month of the line: 404 for an unknown allocation, 400 for a bad month."""
    allocation = get_object_or_404(
        Allocation.objects.select_related("recipient", "calendar"), key=allocation_key
    )
    policy.require(request.auth, "funding.report", allocation.recipient)
    try:
        return allocation, datetime.date.fromisoformat(month + "-01")
    except ValueError:
        raise HttpError(400, _("Give the month as YYYY-MM.")) from None


@router.post(
    "/funding/expenditures",
    response={201: ExpenditureOut},
    auth=api_auth("funding.report"),
    summary="Report an expenditure against an allocation received (the recipient's staff)",
)
def expenditure_report(request: HttpRequest, payload: ExpenditureIn):
    allocation, period = _reported_line(request, payload.allocation, payload.period)
    try:
        line = expenditures.report_expenditure(
            allocation,
            period=period,
            category=payload.category,
            phase=payload.phase,
            amount=payload.amount,
            ftes=payload.ftes,
            user_id=request.auth.user_id,
            agency=request.auth.agency_key or "",
            reason=payload.reason,
        )
    except (flows.FundingRefused, ValueError) as error:
        raise _refuse(error) from None
    return 201, expenditure_out(line)


class WithdrawalIn(Schema):
    allocation: str
    period: str = Field(description="YYYY-MM")
    category: str
    phase: str = Field(description="proposed, approved, adjusted or executed")
    reason: str = Field(description="Why the line is withdrawn (kept in the change record)")


@router.post(
    "/funding/expenditures/withdraw",
    response={200: ExpenditureOut, 400: Refusal, 404: Refusal},
    auth=api_auth("funding.report"),
    summary="Withdraw an expenditure line reported by mistake (the recipient's staff)",
)
def expenditure_withdraw(request: HttpRequest, payload: WithdrawalIn):
    """The line is removed and the explorer's totals lowered by it; the change record keeps
    its figures with who withdrew it and why. Answers the line as it was."""
    allocation, period = _reported_line(request, payload.allocation, payload.period)
    try:
        line = expenditures.withdraw_expenditure(
            allocation,
            period=period,
            category=payload.category,
            phase=payload.phase,
            user_id=request.auth.user_id,
            agency=request.auth.agency_key or "",
            reason=payload.reason,
        )
    except expenditures.LineMissing as error:
        raise HttpError(404, str(error)) from None
    except (flows.FundingRefused, ValueError) as error:
        raise _refuse(error) from None
    return expenditure_out(line)


# --- Totals ------------------------------------------------------------------------------------


class TotalsOut(Schema):
    fiscal_year: int
    fiscal_year_label: str
    currency: str
    allocated: str = Field(description="Money entering the selection; transfers counted once")
    allocated_gross: str = Field(description="Every allocation summed (transfers counted again)")
    phases: dict[str, str]
    ftes: str
    allocations: int


@router.get(
    "/funding/totals",
    response={200: TotalsOut, 400: Refusal, 404: Refusal},
    auth=api_auth("funding.explore"),
    summary="The explorer's totals for a fiscal year, program, place and agency",
)
def totals(
    request: HttpRequest,
    fiscal_year: int = Query(..., ge=FIRST_YEAR, le=LAST_YEAR),
    program: str | None = None,
    place: str | None = None,
    agency: str | None = None,
):
    """`agency`: the allocations it funds or receives (the money passing through it, each
    transfer once); an unknown agency is a 400."""
    chosen = None
    if agency:
        chosen = Agency.objects.select_related("jurisdiction").filter(key=agency).first()
        if chosen is None:
            raise HttpError(400, _("No such agency."))
    selection = explorer.Selection(
        agency=chosen,
        fiscal_year=fiscal_year,
        unpublished_of=funding_policy.unpublished_of(request.auth),
        program=get_object_or_404(
            Program.objects.select_related("agency__jurisdiction"), key=program
        )
        if program
        else None,
        place=get_object_or_404(Jurisdiction, code=place.upper()) if place else None,
    )
    return explorer.totals(selection).as_dict()


# --- Contracted and in-house delivery -------------------------------------------------------


class DeliveryFiguresOut(Schema):
    spending: str = Field(description="Executed spending under the service's programs")
    outcomes: str | None = Field(description="Outcomes reported on the programs' indicators")
    cost_per_outcome: str | None
    completions: int | None = Field(description="None below the publication threshold")
    within_standard: float | None = Field(description="Share, 0 to 1; None when not published")
    spending_per_completion: str | None
    cost_per_transaction: str | None = Field(description="Performance's delivery cost")


class ProviderOut(DeliveryFiguresOut):
    agency: str
    name: str
    delivery: str = Field(description="contracted or in_house")


class ProviderComparisonOut(Schema):
    service: str
    fiscal_year: int
    fiscal_year_label: str
    currency: str
    compared: bool = Field(description="Whether the service is delivered both ways")
    providers: list[ProviderOut]
    totals: dict[str, DeliveryFiguresOut] = Field(description="contracted and in_house")
    findings: list[str]


def _delivery_figures(comparison: providers.Comparison, figures: providers.Figures) -> dict:
    shown = comparison.published(figures)
    text = lambda v: None if v is None else str(v)  # noqa: E731
    return {
        "spending": str(figures.spending),
        "outcomes": None if figures.outcomes is None else f"{figures.outcomes.normalize():f}",
        "cost_per_outcome": text(figures.cost_per_outcome),
        "completions": figures.completions if shown else None,
        "within_standard": (
            None
            if not shown or figures.within_standard is None
            else round(figures.within_standard, 4)
        ),
        "spending_per_completion": text(figures.spending_per_completion) if shown else None,
        "cost_per_transaction": text(figures.cost_per_transaction) if shown else None,
    }


@router.get(
    "/funding/services/{key}/providers",
    response={200: ProviderComparisonOut, 404: Refusal},
    auth=api_auth("funding.explore"),
    summary="A service's contracted providers beside its in-house delivery in a fiscal year",
)
def provider_comparison(
    request: HttpRequest,
    key: str,
    fiscal_year: int = Query(
        ..., ge=FIRST_YEAR, le=LAST_YEAR, description="Named by the calendar year it starts in"
    ),
):
    service = get_object_or_404(Service.objects.select_related("scope"), key=key)
    comparison = providers.compare(
        service, fiscal_year, analyst_of=funding_policy.unpublished_of(request.auth)
    )
    return {
        "service": service.key,
        "fiscal_year": fiscal_year,
        "fiscal_year_label": fiscal.label(fiscal_year, comparison.first_month),
        "currency": comparison.currency,
        "compared": comparison.both,
        "providers": [
            {
                "agency": p.agency.key,
                "name": p.agency.name,
                "delivery": p.kind,
                **_delivery_figures(comparison, p.figures),
            }
            for p in comparison.providers
        ],
        "totals": {
            kind: _delivery_figures(comparison, figures)
            for kind, figures in comparison.groups.items()
        },
        "findings": providers.findings(comparison),
    }


# --- Outcome payments ------------------------------------------------------------------------


class PaymentOut(Schema):
    id: int
    agreement: str
    period_start: datetime.date
    period_end: datetime.date
    outcomes: str
    amount: str
    currency: str
    status: str = Field(
        description="computed (awaiting the funder's approval), approved or returned"
    )
    reason: str = Field(description="Why the funder approved or returned it")
    statement: list[str] = Field(description="How the amount was computed, step by step")


def payment_out(payment: OutcomePayment) -> dict:
    currency = payment.agreement.allocation.currency
    return {
        "id": payment.pk,
        "agreement": payment.agreement.key,
        "period_start": payment.period_start,
        "period_end": payment.period_end,
        "outcomes": str(payment.outcomes),
        "amount": str(payment.amount),
        "currency": currency,
        "status": payment.status,
        "reason": payment.decision_reason,
        "statement": outcomes.statement(payment.steps, currency),
    }


@router.get(
    "/funding/agreements/{key}/payments",
    response=list[PaymentOut],
    auth=api_auth("funding.explore"),
    summary="An outcome-based agreement's payments per period, with the statement of how",
)
def payment_list(request: HttpRequest, key: str):
    agreement = get_object_or_404(OutcomeAgreement.objects.select_related("allocation"), key=key)
    if not agreement.allocation.published:
        raise Http404
    rows = agreement.payments.select_related("agreement__allocation").order_by("period_start")
    return [payment_out(p) for p in rows]


@router.post(
    "/funding/payments/{payment_id}/approve",
    response=PaymentOut,
    auth=api_auth("funding.allocate"),
    summary="Approve a computed outcome payment (the funder's supervisors and administrators)",
)
def payment_approve(request: HttpRequest, payment_id: int):
    payment = get_object_or_404(
        OutcomePayment.objects.select_related("agreement__allocation__funder"), pk=payment_id
    )
    policy.require(request.auth, "funding.allocate", payment.agreement.allocation.funder)
    try:
        outcomes.approve(
            payment, user_id=request.auth.user_id, agency=request.auth.agency_key or ""
        )
    except flows.FundingRefused as error:
        raise _refuse(error) from None
    return payment_out(payment)


class ReturnIn(Schema):
    reason: str = Field(description="Why the payment goes back (kept with who and when)")


@router.post(
    "/funding/payments/{payment_id}/return",
    response={200: PaymentOut, 400: Refusal},
    auth=api_auth("funding.allocate"),
    summary="Return a computed outcome payment with a reason (the funder's supervisors)",
)
def payment_return(request: HttpRequest, payment_id: int, payload: ReturnIn):
    payment = get_object_or_404(
        OutcomePayment.objects.select_related("agreement__allocation__funder"), pk=payment_id
    )
    policy.require(request.auth, "funding.allocate", payment.agreement.allocation.funder)
    try:
        outcomes.send_back(
            payment,
            user_id=request.auth.user_id,
            reason=payload.reason,
            agency=request.auth.agency_key or "",
        )
    except flows.FundingRefused as error:
        raise _refuse(error) from None
    return payment_out(payment)


# --- Oversight -------------------------------------------------------------------------------


class FindingOut(Schema):
    id: int
    severity: str = Field(description="low, medium, high or critical")
    text: str
    corrective_action: str
    due_on: datetime.date | None
    overdue: bool
    follow_up: list[str]
    resolved_on: datetime.date | None


class ReviewOut(Schema):
    id: int
    overseer: str
    provider: str
    kind: str = Field(description="inspection, review or audit")
    held_on: datetime.date
    summary: str
    findings: list[FindingOut]


SEVERITY_CODES = {1: "low", 2: "medium", 3: "high", 4: "critical"}


def finding_out(f: Finding, today: datetime.date) -> dict:
    return {
        "id": f.pk,
        "severity": SEVERITY_CODES[f.severity],
        "text": f.text,
        "corrective_action": f.corrective_action,
        "due_on": f.due_on,
        "overdue": f.resolved_on is None and f.due_on is not None and f.due_on < today,
        "follow_up": [line for line in f.follow_up.splitlines() if line.strip()],
        "resolved_on": f.resolved_on,
    }


def review_out(r: Review) -> dict:
    today = datetime.date.today()
    return {
        "id": r.pk,
        "overseer": r.overseer.key,
        "provider": r.provider.key,
        "kind": r.kind,
        "held_on": r.held_on,
        "summary": r.summary,
        "findings": [finding_out(f, today) for f in r.findings.all()],
    }


@router.get(
    "/funding/reviews",
    response=list[ReviewOut],
    auth=api_auth("funding.oversight"),
    summary="Oversight reviews the caller's agency may read (overseer, provider, funder)",
)
@paginate(Pages)
def review_list(request: HttpRequest, provider: str | None = None):
    rows = oversight.visible_to(request.auth.agency_key or "").prefetch_related("findings")
    if provider:
        rows = rows.filter(provider__key=provider)
    return [review_out(r) for r in rows]


class ReviewIn(Schema):
    provider: str
    kind: str = Field(description="inspection, review or audit")
    held_on: datetime.date
    summary: str = ""


def _overseer(request: HttpRequest) -> Agency:
    agency = Agency.objects.filter(key=request.auth.agency_key or "").first()
    policy.require(request.auth, "funding.oversee", agency)
    return agency


@router.post(
    "/funding/reviews",
    response={201: ReviewOut, 400: Refusal},
    auth=api_auth("funding.oversee"),
    summary="Record a review of a provider (an overseer's staff)",
)
def review_create(request: HttpRequest, payload: ReviewIn):
    overseer = _overseer(request)
    provider = Agency.objects.filter(key=payload.provider).first()
    if provider is None:
        raise HttpError(400, _("No such provider."))
    if payload.kind not in Review.Kind.values:
        raise HttpError(400, _("Choose the kind of review."))
    try:
        review = oversight.record_review(
            overseer, provider, kind=payload.kind, held_on=payload.held_on, summary=payload.summary
        )
    except flows.FundingRefused as error:
        raise _refuse(error) from None
    return 201, review_out(review)


class FindingIn(Schema):
    severity: str = Field(description="low, medium, high or critical")
    text: str
    corrective_action: str = ""
    due_on: datetime.date | None = None


@router.post(
    "/funding/reviews/{review_id}/findings",
    response={201: FindingOut, 400: Refusal},
    auth=api_auth("funding.oversee"),
    summary="Add a finding with its corrective action and due date (the overseer)",
)
def finding_create(request: HttpRequest, review_id: int, payload: FindingIn):
    review = get_object_or_404(Review.objects.select_related("overseer"), pk=review_id)
    policy.require(request.auth, "funding.oversee", review.overseer)
    severity = {code: value for value, code in SEVERITY_CODES.items()}.get(payload.severity, 0)
    try:
        finding = oversight.add_finding(
            review,
            severity=severity,
            text=payload.text,
            corrective_action=payload.corrective_action,
            due_on=payload.due_on,
        )
    except flows.FundingRefused as error:
        raise _refuse(error) from None
    return 201, finding_out(finding, datetime.date.today())


class FollowUpIn(Schema):
    note: str
    resolved: bool = Field(False, description="The overseer closes the finding with this note")


@router.post(
    "/funding/findings/{finding_id}/follow-up",
    response={200: FindingOut, 400: Refusal},
    auth=api_auth("funding.oversight"),
    summary="Follow up a finding (provider or overseer); the overseer may resolve it",
)
def finding_follow_up(request: HttpRequest, finding_id: int, payload: FollowUpIn):
    finding = get_object_or_404(Finding.objects.select_related("review"), pk=finding_id)
    review = oversight.load_review(finding.review_id)
    policy.require(request.auth, "funding.oversight", review)
    today = datetime.date.today()
    key = request.auth.agency_key
    try:
        if payload.resolved:
            policy.require(request.auth, "funding.oversee", review.overseer)
            oversight.resolve(finding, on=today, follow_up=payload.note)
        elif key in (review.overseer.key, review.provider.key):
            who = review.overseer.name if key == review.overseer.key else review.provider.name
            oversight.follow_up(finding, note=payload.note, by=who, on=today)
        else:
            raise flows.FundingRefused(_("Only the overseer and the provider write follow-ups."))
    except flows.FundingRefused as error:
        raise _refuse(error) from None
    return finding_out(finding, today)


# --- Places and pilots -----------------------------------------------------------------------


def _finite(value: float | None, digits: int = 6) -> float | None:
    """A float the JSON can carry: None for a figure the estimators could not compute."""
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), digits)


class PlaceOut(Schema):
    key: str
    name: str
    kind: str = Field(description="jurisdiction (of the registry) or area (a service area)")
    jurisdiction: str | None = Field(
        description="The registry code of the jurisdiction itself, or of the one an area lies in"
    )
    population: int | None
    synthetic: bool = Field(description="Made by the synthetic history: not a real place")
    shaped: bool = Field(description="Whether a shape (GeoJSON geometry) is loaded")
    months: int = Field(description="Months with figures of any measure")

    @staticmethod
    def resolve_jurisdiction(place: Place | dict) -> str | None:
        if isinstance(place, dict):
            return place["jurisdiction"]
        return place.jurisdiction.code if place.jurisdiction else None

    @staticmethod
    def resolve_shaped(place: Place | dict) -> bool:
        return place["shaped"] if isinstance(place, dict) else bool(place.shape)


def place_out(place: Place) -> dict:
    return {
        "key": place.key,
        "name": place.name,
        "kind": place.kind,
        "jurisdiction": place.jurisdiction.code if place.jurisdiction else None,
        "population": place.population,
        "synthetic": place.synthetic,
        "shaped": bool(place.shape),
        "months": getattr(place, "months", 0),
    }


@router.get(
    "/funding/places",
    response=list[PlaceOut],
    auth=api_auth("funding.places"),
    summary="Places: the registry's jurisdictions and service areas (analysts)",
)
@paginate(Pages)
def place_list(
    request: HttpRequest,
    kind: Literal["jurisdiction", "area"] | None = None,
    synthetic: bool | None = None,
):
    rows = (
        Place.objects.select_related("jurisdiction")
        .annotate(months=Count("figures__period", distinct=True))
        .order_by("key")
    )
    if kind:
        rows = rows.filter(kind=kind)
    if synthetic is not None:
        rows = rows.filter(synthetic=synthetic)
    return rows


class YearMoneyOut(Schema):
    fiscal_year: int = Field(description="Named by the calendar year it starts in")
    label: str
    allocated: str = Field(description="Entering the place from outside, each transfer once")
    proposed: str
    approved: str
    adjusted: str
    executed: str


class FunderOut(Schema):
    funder: str = Field(description="The funder's agency key")
    fiscal_year: int
    amount: str


class OfferedOut(Schema):
    service: str
    delivered_by: str
    offered_for: str = Field(description="The area the offering covers (this place or wider)")


class PointOut(Schema):
    month: str = Field(description="YYYY-MM")
    value: float


class SeriesOut(Schema):
    measure: str
    label: str
    points: list[PointOut]


class GapOut(Schema):
    domain: str = Field(description="The life domain's key (housing, food, income, ...)")
    label: str
    people: int | None = Field(
        description="People living here whose screens found this need (null: too few to publish)"
    )
    services_within_reach: int
    gap: bool = Field(description="A need with no directory service within reach meeting it")


class ServiceFiguresOut(Schema):
    service: str = Field(description="The service's key")
    completions: int | None
    within_standard: float | None = Field(description="Share, 0 to 1")
    satisfaction: float | None
    responses: int | None
    cost_per_transaction: float | None
    currency: str = Field(description="Empty when the costs are in several currencies")


class ReferralFiguresOut(Schema):
    organization: str = Field(description="The receiving organisation, as the directory names it")
    sent: int | None
    accepted: int | None
    days_to_accept: float | None
    closed: float | None = Field(description="Share of the ended referrals closed, 0 to 1")
    helped: float | None = Field(description="Share of the ended referrals that helped, 0 to 1")


class TakeUpOut(Schema):
    service: str = Field(description="The benefit's service key")
    offered: int | None = Field(description="Offers to people the rules found entitled")
    acted_on: int | None
    take_up: float | None = Field(description="Share, 0 to 1")


class CostPerOutcomeOut(Schema):
    fiscal_year: int
    executed: str = Field(description="Money executed in the place, decimal as text")
    outcomes: int | None = Field(description="Transactions completed there in the fiscal year")
    cost_per_outcome: str | None


class PlaceDetailOut(PlaceOut):
    traced: bool = Field(
        description="Whether money is traced here (jurisdictions; service areas have none)"
    )
    currency: str
    money: list[YearMoneyOut]
    funders: list[FunderOut]
    services: list[OfferedOut]
    figures: list[SeriesOut]
    window: list[str] = Field(
        description="The first and last month (YYYY-MM) the services', referrals' and take-up "
        "figures cover; empty for a place without them"
    )
    performance: list[ServiceFiguresOut] = Field(description="By where the people served live")
    referrals: list[ReferralFiguresOut]
    take_up: list[TakeUpOut]
    cost_per_outcome: list[CostPerOutcomeOut]
    gaps: list[GapOut] = Field(
        description="Needs found in the human-services screens of people living here, beside "
        "the services within reach that meet them (the window of docs/places-and-pilots.md)"
    )
    pilots: list[str] = Field(description="Keys of the pilots run in this place")
    compared_in: list[str] = Field(description="Keys of the pilots it is a comparison place of")


@router.get(
    "/funding/places/{key}",
    response={200: PlaceDetailOut, 404: Refusal},
    auth=api_auth("funding.places"),
    summary="Everything counted in one place: money by year, funders, services, figures, pilots",
)
def place_detail(request: HttpRequest, key: str):
    place = get_object_or_404(
        Place.objects.select_related("jurisdiction").annotate(
            months=Count("figures__period", distinct=True)
        ),
        key=key,
    )
    unpublished = policy.decide(request.auth, "funding.analyse").allowed
    counted = places.view(place, published_only=not unpublished)
    labels = dict(PlaceFigure.Measure.choices)
    domain_labels = dict(Domain.choices)
    return {
        **place_out(place),
        "traced": counted.traced,
        "currency": counted.currency,
        "money": [
            {
                "fiscal_year": year.fiscal_year,
                "label": year.label,
                **{name: str(amount) for name, amount in year.raw.items()},
            }
            for year in counted.years
        ],
        "funders": [
            {"funder": funder, "fiscal_year": year, "amount": str(amount)}
            for funder, year, amount in counted.funded
        ],
        "services": [
            {"service": s, "delivered_by": a, "offered_for": area}
            for s, a, area in counted.services
        ],
        "figures": [
            {
                "measure": measure,
                "label": str(labels.get(measure, measure)),
                "points": [{"month": f"{p:%Y-%m}", "value": v} for p, v in points],
            }
            for measure, points in counted.figures.items()
        ],
        "window": [f"{month:%Y-%m}" for month in counted.window or ()],
        "performance": counted.performance_counts,
        "referrals": counted.referral_counts,
        "take_up": counted.take_up_counts,
        "cost_per_outcome": [
            {
                **row,
                "executed": str(row["executed"]),
                "cost_per_outcome": None
                if row["cost_per_outcome"] is None
                else str(row["cost_per_outcome"]),
            }
            for row in counted.cost_counts
        ],
        "gaps": [
            {
                "domain": domain,
                "label": str(domain_labels.get(domain, domain)),
                "people": people,
                "services_within_reach": within_reach,
                "gap": within_reach == 0,
            }
            for domain, people, within_reach in counted.gap_counts
        ],
        "pilots": [p.key for p in counted.pilots],
        "compared_in": [p.key for p in counted.compared_in],
    }


class ResidentsTotalOut(Schema):
    started: int | None
    completions: int | None
    completion_rate: float | None
    within_standard: float | None
    median_days: int | None
    satisfaction: float | None
    responses: int | None
    cost_per_transaction: float | None
    currency: str | None
    suppressed: list[str] = Field(
        description="Measures left out: resting on too few cases, or hidden so that no "
        "hidden cell can be recovered from the total"
    )


class ResidentsRowOut(ResidentsTotalOut):
    group: str = Field(
        description="The jurisdiction's code where the people live, or the postal area"
    )
    name: str


class ResidentsOut(Schema):
    place: str
    first_month: str = Field(description="YYYY-MM")
    last_month: str = Field(description="YYYY-MM")
    by: str = Field(description="place (jurisdictions inside it) or postal_area (a service area)")
    minimum: int = Field(description="The fewest cases a published figure rests on")
    rows: list[ResidentsRowOut]
    total: ResidentsTotalOut


def _month_param(value: str | None, default: datetime.date) -> datetime.date:
    if not value:
        return default
    try:
        return datetime.date.fromisoformat(value + "-01")
    except ValueError:
        raise HttpError(400, _("Give the month as YYYY-MM.")) from None


@router.get(
    "/funding/places/{key}/residents",
    response={200: ResidentsOut, 400: Refusal, 404: Refusal},
    auth=api_auth("funding.places"),
    summary="The services of the people living in a place, by the finer places inside it",
)
def place_residents(
    request: HttpRequest, key: str, first: str | None = None, last: str | None = None
):
    """Counted by where the people live (not by the delivering jurisdiction), from the
    performance rollups; one row per jurisdiction inside the place (or, for a service area,
    per postal area), with small cells hidden as on every published table."""
    place = get_object_or_404(Place.objects.select_related("jurisdiction"), key=key)
    default_first, default_last = places.window()
    first_month = _month_param(first, default_first)
    last_month = _month_param(last, default_last)
    if first_month > last_month:
        raise HttpError(400, _("The first month comes after the last."))
    found = places.residents(place, first_month, last_month)
    return {
        "place": place.key,
        "first_month": f"{first_month:%Y-%m}",
        "last_month": f"{last_month:%Y-%m}",
        "by": found.dimension,
        "minimum": settings.PERFORMANCE_MIN_COUNT,
        "rows": found.rows,
        "total": found.total,
    }


class PilotOut(Schema):
    key: str
    name: str
    change: str = Field(description="service_version, bundle, channel, navigator or other")
    description: str
    measure: str
    starts_on: datetime.date = Field(description="The first day of the month it starts")
    treated: list[str] = Field(description="Keys of the places of the pilot")
    comparison: list[str] = Field(
        description="Keys of the comparison places chosen (empty: every other place with "
        "figures of the measure)"
    )
    synthetic: bool
    injected_effect: float | None = Field(
        description="For a synthetic pilot: the effect the synthetic history added"
    )

    @staticmethod
    def resolve_description(pilot: Pilot | dict) -> str:
        return pilot["description"] if isinstance(pilot, dict) else pilot.description_text

    @staticmethod
    def resolve_treated(pilot: Pilot | dict) -> list[str]:
        if isinstance(pilot, dict):
            return pilot["treated"]
        return [p.key for p in pilot.treated.all()]

    @staticmethod
    def resolve_comparison(pilot: Pilot | dict) -> list[str]:
        if isinstance(pilot, dict):
            return pilot["comparison"]
        return [p.key for p in pilot.comparison.all()]


def pilot_out(pilot: Pilot) -> dict:
    return {
        "key": pilot.key,
        "name": pilot.name,
        "change": pilot.change,
        "description": pilot.description_text,
        "measure": pilot.measure,
        "starts_on": pilot.starts_on,
        "treated": [p.key for p in pilot.treated.all()],
        "comparison": [p.key for p in pilot.comparison.all()],
        "synthetic": pilot.synthetic,
        "injected_effect": pilot.injected_effect,
    }


@router.get(
    "/funding/pilots",
    response=list[PilotOut],
    auth=api_auth("funding.places"),
    summary="Pilots: what changes, where, since when, the measure and the comparison places",
)
@paginate(Pages)
def pilot_list(request: HttpRequest):
    return Pilot.objects.prefetch_related("treated", "comparison").order_by("key")


class EstimateOut(Schema):
    effect: float | None = Field(description="Difference in differences: the estimated effect")
    low: float | None
    high: float | None
    level: float = Field(description="Confidence level of the interval (0.95)")
    p_value: float | None
    method: str = Field(description="clustered (errors clustered by place) or wild_bootstrap")
    method_text: str
    replications: int = Field(description="Bootstrap draws (0 for clustered errors)")


class CaveatOut(Schema):
    code: str = Field(
        description="few_clusters, few_pre_periods, few_post_periods, not_parallel, "
        "one_treated, few_treated, dropped, placebo_floor, poor_fit, includes_zero, synthetic"
    )
    text: str


class WeightOut(Schema):
    place: str
    weight: float


class SyntheticControlOut(Schema):
    effect: float | None = Field(description="Mean gap since the start")
    rank: int = Field(description="The pilot's rank among the placebo runs (1: largest)")
    runs: int = Field(description="Placebo runs, the pilot's own included")
    p_value: float = Field(description="rank ÷ runs; no confidence interval is invented")
    weights: list[WeightOut]


class EventOut(Schema):
    relative_month: int
    coefficient: float | None
    low: float | None
    high: float | None


class SimilarOut(Schema):
    place: str
    distance: float | None


class PilotDetailOut(PilotOut):
    evaluated: bool
    error: str | None = Field(description="Why it cannot be evaluated yet, when it cannot")
    estimate: EstimateOut | None
    places_treated: int
    places_compared: int
    months_before: int
    months_since: int
    caveats: list[CaveatOut] = Field(description="Computed from the figures, in words")
    event_study: list[EventOut]
    synthetic_control: SyntheticControlOut | None = Field(
        description="When the pilot runs in one place"
    )
    suggested_comparison: list[SimilarOut] = Field(
        description="The comparison places most like the pilot's before the start"
    )


@router.get(
    "/funding/pilots/{key}",
    response={200: PilotDetailOut, 404: Refusal},
    auth=api_auth("funding.places"),
    summary="A pilot with its evaluation: estimate, interval, method and computed caveats",
)
def pilot_detail(request: HttpRequest, key: str):
    pilot = get_object_or_404(Pilot.objects.prefetch_related("treated", "comparison"), key=key)
    result = pilots.evaluate(pilot)
    out = {
        **pilot_out(pilot),
        "evaluated": not result.error,
        "error": result.error or None,
        "estimate": None,
        "places_treated": 0,
        "places_compared": 0,
        "months_before": 0,
        "months_since": 0,
        "caveats": [
            {"code": code, "text": text}
            for code, text in zip(result.caveat_codes, result.caveats, strict=True)
        ],
        "event_study": [],
        "synthetic_control": None,
        "suggested_comparison": [],
    }
    panel, estimate = result.panel, result.estimate
    if panel is None or estimate is None:
        return out
    out.update(
        estimate={
            "effect": _finite(estimate.effect),
            "low": _finite(estimate.low),
            "high": _finite(estimate.high),
            "level": estimate.level,
            "p_value": _finite(estimate.p_value),
            "method": "wild_bootstrap" if estimate.bootstrap else "clustered",
            "method_text": pilots.method_text(estimate),
            "replications": estimate.replications,
        },
        places_treated=len(panel.treated),
        places_compared=len(panel.units) - len(panel.treated),
        months_before=panel.pre_periods,
        months_since=panel.post_periods,
        suggested_comparison=[
            {"place": key, "distance": _finite(distance)}
            for key, distance in evaluation.similar_places(panel)
        ],
    )
    if result.study is not None:
        study = result.study
        out["event_study"] = [
            {"relative_month": k, "coefficient": _finite(c), "low": _finite(lo), "high": _finite(h)}
            for k, c, lo, h in zip(
                study.relative, study.coefficients, study.lows, study.highs, strict=True
            )
        ]
    if result.control is not None:
        control = result.control
        out["synthetic_control"] = {
            "effect": _finite(control.effect),
            "rank": control.rank,
            "runs": control.placebos + 1,
            "p_value": control.p_value,
            "weights": [
                {"place": key, "weight": round(weight, 6)}
                for key, weight in sorted(control.weights.items(), key=lambda kv: -kv[1])
            ],
        }
    return out
