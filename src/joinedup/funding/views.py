"""Pages: "Where the money goes" (public for what is published), a program's logic model,
results and money, and analysts' allocation scenarios.

Views read the filters, ask `explorer`, `outcomes` and `scenarios` for the figures, and
render; refusals of bad input are a 400 with the message on the page.
"""

from __future__ import annotations

import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from joinedup.federation.models import Agency, Jurisdiction, Program, Service
from joinedup.identity import acting, guards, policy
from joinedup.identity.acting import ActingContext
from joinedup.performance.charts import PALETTE

from . import (
    audit,
    explorer,
    fiscal,
    flows,
    indicators,
    outcomes,
    oversight,
    pilots,
    places,
    providers,
    scenarios,
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
    Scenario,
)


def _sees_unpublished(context: ActingContext) -> bool:
    return policy.decide(context, "funding.analyse").allowed


def _year(request: HttpRequest, years: list[int]) -> tuple[int | None, str | None]:
    raw = request.GET.get("year") or ""
    if not raw:
        return (years[0] if years else None), None
    if not raw.isdigit() or int(raw) not in years:
        return (years[0] if years else None), _("No allocation is recorded for that fiscal year.")
    return int(raw), None


@guards.public
def explore(request: HttpRequest) -> HttpResponse:
    context = acting.for_request(request)
    years = explorer.fiscal_years()
    year, error = _year(request, years)
    program = place = None
    if request.GET.get("program"):
        program = (
            Program.objects.select_related("agency__jurisdiction")
            .filter(key=request.GET["program"])
            .first()
        )
        error = error or (None if program else _("No such program."))
    if request.GET.get("place"):
        place = Jurisdiction.objects.filter(code=request.GET["place"].upper()).first()
        error = error or (None if place else _("No such place."))
    agency = None
    if request.GET.get("agency"):
        agency = (
            Agency.objects.select_related("jurisdiction").filter(key=request.GET["agency"]).first()
        )
        error = error or (None if agency else _("No such agency."))
    # What the reader sees of the allocations: the API's rule (`funding.policy.visible`).
    unpublished_of = funding_policy.unpublished_of(context)
    seen = funding_policy.visible(Allocation.objects.all(), unpublished_of)
    page = {
        "years": [(y, y) for y in years],
        "year": year,
        "programs": Program.objects.filter(
            allocations__in=funding_policy.visible(Allocation.objects.all(), unpublished_of)
        )
        .distinct()
        .order_by("key"),
        "places": Jurisdiction.objects.order_by("path"),
        "agencies": Agency.objects.filter(
            Q(pk__in=seen.values("funder_id")) | Q(pk__in=seen.values("recipient_id"))
        ).order_by("key"),
        "program": program,
        "place": place,
        "agency": agency,
        "error": error,
        "charts": [],
        "analyst": _sees_unpublished(context),
        # The funder's staff who decide outcome payments (the payments page's rule).
        "allocator": policy.decide(context, "funding.allocate").allowed,
    }
    if year is not None:
        selection = explorer.Selection(
            year, program, place, unpublished_of=unpublished_of, agency=agency
        )
        totals = explorer.totals(selection)
        lines = explorer.programs(selection, totals.first_month)
        page.update(
            totals=totals,
            money={
                "allocated": explorer.money(totals.allocated, totals.currency),
                "gross": explorer.money(totals.gross, totals.currency),
                "executed": explorer.money(totals.executed, totals.currency),
                "phases": [
                    (label, explorer.money(totals.phases.get(value), totals.currency))
                    for value, label in Expenditure.Phase.choices
                ],
            },
            years=[(y, fiscal.label(y, totals.first_month)) for y in years],
            charts=[
                explorer.sankey(selection, totals.currency),
                explorer.spending_chart(lines, totals.currency),
            ],
            providers=recipients(selection, totals.currency),
        )
    return render(request, "funding/explorer.html", page, status=400 if error else 200)


def recipients(selection: explorer.Selection, currency: str) -> list[list[str]]:
    """Recipients in the selection with what they received and unresolved findings."""
    received: dict[int, Decimal] = {}
    for row in selection.allocations().values("recipient_id", "amount"):
        received[row["recipient_id"]] = (
            received.get(row["recipient_id"], Decimal(0)) + row["amount"]
        )
    findings = oversight.unresolved_by_provider(datetime.date.today())
    agencies = {a.pk: a for a in Agency.objects.filter(pk__in=received)}
    rows = []
    for pk, amount in sorted(received.items(), key=lambda item: agencies[item[0]].name):
        found = findings.get(pk, {"open": 0, "overdue": 0})
        rows.append(
            [agencies[pk].name, explorer.money(amount, currency), found["open"], found["overdue"]]
        )
    return rows


def _program(key: str) -> Program:
    return get_object_or_404(Program.objects.select_related("agency__jurisdiction"), key=key)


@guards.public
@require_http_methods(["GET", "POST"])
def program_page(request: HttpRequest, key: str) -> HttpResponse:
    """The program: cost per outcome, its money's chains, payments by results, the logic model
    with each indicator's values; the data owner's staff report an indicator's value here."""
    context = acting.for_request(request)
    program = _program(key)
    report_error = None
    if request.method == "POST":
        try:
            indicator = report_indicator_value(request, context, program)
        except (flows.FundingRefused, audit.ReasonMissing) as refused:
            report_error = str(refused)
        except policy.PolicyDenied as denied:
            return guards.denied_response(request, denied.decision)
        else:
            year = request.GET.get("year")
            query = f"?{urlencode({'year': year})}" if year else ""
            return redirect(
                reverse("funding:program", args=[program.key]) + f"{query}#{indicator.key}"
            )
    years = sorted(set(program.allocations.values_list("fiscal_year", flat=True)), reverse=True)
    year, error = _year(request, years)
    currency, first_month = (
        program.agency.jurisdiction.fiscal_terms() if program.agency.jurisdiction else ("", 1)
    )
    today = datetime.date.today()
    results = list(
        Result.objects.filter(program=program).prefetch_related(
            "indicators__values", "indicators__data_owner"
        )
    )
    levels = []
    trend_rows, trend_series = [], {}
    for value, label in Result.Level.choices:
        here = [r for r in results if r.level == value]
        if not here:
            continue
        boxes = []
        for result in here:
            rows = []
            for indicator in result.indicators.all():
                values = sorted(
                    (v for v in indicator.values.all() if v.current), key=lambda v: v.period_start
                )
                rows.append(
                    {
                        "indicator": indicator,
                        "target": target_text(indicator),
                        "values": [
                            {
                                "period": f"{v.period_start:%Y-%m} – {v.period_end:%Y-%m}",
                                "value": "—" if v.value is None else f"{v.value.normalize():f}",
                                "status": indicators.STATUS_LABELS[
                                    indicators.status(indicator, v.value, v.period_end, today)
                                ],
                            }
                            for v in values
                        ],
                    }
                )
                for v in values:
                    if v.value is not None:
                        trend_series.setdefault(indicator.name, []).append(
                            (v.period_start, v.value)
                        )
                        trend_rows.append(
                            [indicator.name, f"{v.period_start:%Y-%m}", f"{v.value.normalize():f}"]
                        )
            boxes.append({"result": result, "indicators": rows})
        levels.append({"label": label, "results": boxes})
    page = {
        "program": program,
        "levels": levels,
        "error": error or report_error,
        "charts": [],
        "reportable": [
            row["indicator"]
            for level in levels
            for box in level["results"]
            for row in box["indicators"]
            if row["indicator"].source == Indicator.Source.REPORTED
            and row["indicator"].data_owner.key == context.agency_key
            and policy.decide(context, "funding.report", row["indicator"].data_owner).allowed
        ],
        "report": request.POST if report_error else {},
    }
    if trend_series:
        page["charts"].append(trend_chart(trend_series, trend_rows))
    if year is not None:
        selection = explorer.Selection(
            year, program, unpublished_of=funding_policy.unpublished_of(context)
        )
        cost = outcomes.cost_per_outcome(program, year)
        tree = flows.Tree.load([year])
        visible = set(selection.allocations().values_list("pk", flat=True))
        chains = []
        for allocation in sorted(tree.by_pk.values(), key=lambda a: a.key):
            if allocation.program_id != program.pk or allocation.pk not in visible:
                continue
            if allocation.source_id in visible:
                continue
            for depth, item in tree.down(allocation):
                if item.pk in visible:
                    chains.append(
                        {
                            "depth": depth,
                            "indent": "— " * depth,
                            "funder": item.funder.name,
                            "recipient": item.recipient.name,
                            "instrument": item.get_instrument_display(),
                            "condition": item.get_condition_display(),
                            "amount": explorer.money(item.amount, item.currency),
                        }
                    )
        agreements = []
        for agreement in OutcomeAgreement.objects.filter(
            allocation__in=selection.allocations().values("pk")
        ).select_related("allocation"):
            agreements.append(
                {
                    "agreement": agreement,
                    "payments": [
                        {
                            "period": f"{p.period_start:%Y-%m} – {p.period_end:%Y-%m}",
                            "amount": explorer.money(p.amount, agreement.allocation.currency),
                            "status": p.get_status_display(),
                            "statement": outcomes.statement(p.steps, agreement.allocation.currency),
                        }
                        for p in agreement.payments.all()
                    ],
                }
            )
        page.update(
            year=year,
            years=[(y, fiscal.label(y, first_month)) for y in years],
            year_label=fiscal.label(year, first_month),
            cost=cost,
            cost_money={
                "spending": explorer.money(cost.spending, currency),
                "cpo": explorer.money(cost.cost_per_outcome, currency),
                "cpt": explorer.money(cost.cost_per_transaction, currency),
                "outcomes": "—" if cost.outcomes is None else f"{cost.outcomes.normalize():f}",
            },
            chains=chains,
            agreements=agreements,
        )
    page["services"] = (
        Service.objects.filter(Q(program=program) | Q(offerings__program=program))
        .distinct()
        .order_by("key")
    )
    status = 400 if error or report_error else 200
    return render(request, "funding/program.html", page, status=status)


def report_indicator_value(
    request: HttpRequest, context: ActingContext, program: Program
) -> Indicator:
    """The program page's form: the data owner's staff report (or correct) a value of one of
    the program's reported indicators, with why; through the same rule and code as the API."""
    indicator = (
        Indicator.objects.filter(
            key=request.POST.get("indicator") or "",
            result__program=program,
            source=Indicator.Source.REPORTED,
        )
        .select_related("data_owner")
        .first()
    )
    if indicator is None:
        raise flows.FundingRefused(_("Choose one of the program's reported indicators."))
    policy.require(context, "funding.report", indicator.data_owner)
    start = _date(request.POST.get("period_start"))
    end = _date(request.POST.get("period_end"))
    indicators.report_value(
        indicator,
        period_start=start,
        period_end=end,
        value=(request.POST.get("value") or "").strip() or None,
        note=(request.POST.get("note") or "").strip(),
        user_id=context.user_id,
        agency=context.agency_key or "",
        reason=request.POST.get("reason") or "",
    )
    return indicator


def target_text(indicator: Indicator) -> str:
    low, high = indicator.target_min, indicator.target_max
    show = lambda v: "—" if v is None else f"{v.normalize():f}"  # noqa: E731
    if indicator.target_type == Indicator.TargetType.RANGE:
        return _("between %(low)s and %(high)s") % {"low": show(low), "high": show(high)}
    if indicator.target_type == Indicator.TargetType.AT_MOST:
        return _("at most %(value)s") % {"value": show(high)}
    if indicator.target_type == Indicator.TargetType.AT_LEAST:
        return _("at least %(value)s") % {"value": show(low)}
    return _("exactly %(value)s") % {"value": show(low)}


def trend_chart(series: dict[str, list], rows: list[list[str]]) -> explorer.Chart:
    data = [
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": name,
            "x": [d.isoformat() for d, _v in points],
            "y": [float(v) for _d, v in points],
            "line": {"color": PALETTE[i % len(PALETTE)]},
        }
        for i, (name, points) in enumerate(sorted(series.items()))
    ]
    return explorer.Chart(
        id="trends",
        title=_("Indicator trends"),
        summary=_("Each indicator's reported values, period by period."),
        figure={
            "data": data,
            "layout": {
                "font": {"family": "Source Sans Pro, Helvetica, Arial, sans-serif", "size": 13},
                "margin": {"l": 56, "r": 16, "t": 8, "b": 48},
                "legend": {"orientation": "h", "y": -0.25},
                "paper_bgcolor": "#ffffff",
                "plot_bgcolor": "#ffffff",
            },
        },
        headers=[_("Indicator"), _("Period"), _("Value")],
        rows=rows,
    )


# --- Contracted and in-house delivery ----------------------------------------------------------


@guards.requires("funding.explore")
def provider_comparison(request: HttpRequest, context: ActingContext, key: str) -> HttpResponse:
    """A service's contracted providers beside its in-house delivery: cost per outcome and
    the share within the service standard (published figures; an analyst also sees the
    unpublished allocations their agency funded)."""
    service = get_object_or_404(Service.objects.select_related("scope"), key=key)
    years = providers.fiscal_years(service)
    year, error = _year(request, years)
    page = {"service": service, "error": error, "charts": [], "years": []}
    if year is not None:
        comparison = providers.compare(
            service, year, analyst_of=funding_policy.unpublished_of(context)
        )
        page.update(
            year=year,
            years=[(y, fiscal.label(y, comparison.first_month)) for y in years],
            year_label=fiscal.label(year, comparison.first_month),
            comparison=comparison,
            findings=providers.findings(comparison),
            charts=[providers.chart(comparison)] if comparison.providers else [],
        )
    return render(request, "funding/providers.html", page, status=400 if error else 200)


# --- Scenarios ---------------------------------------------------------------------------------


@guards.requires("funding.analyse")
@require_http_methods(["GET", "POST"])
def scenario_list(request: HttpRequest, context: ActingContext) -> HttpResponse:
    funder = Agency.objects.filter(key=context.agency_key).first()
    years = sorted(
        set(Allocation.objects.filter(funder=funder).values_list("fiscal_year", flat=True)),
        reverse=True,
    )
    error = None
    if request.method == "POST":
        name = (request.POST.get("name") or "").strip()
        year = request.POST.get("year") or ""
        if not name:
            error = _("Give the scenario a name.")
        elif not year.isdigit():
            error = _("Choose a fiscal year.")
        else:
            try:
                scenario = scenarios.copy_allocations(
                    funder, int(year), {request.LANGUAGE_CODE: name}, user_id=context.user_id
                )
            except flows.FundingRefused as refused:
                error = str(refused)
            else:
                return redirect("funding:scenario", scenario_id=scenario.pk)
    page = {
        "scenarios": Scenario.objects.filter(funder=funder).select_related("created_by"),
        "years": years,
        "funder": funder,
        "error": error,
    }
    return render(request, "funding/scenarios.html", page, status=400 if error else 200)


def _scenario(scenario_id: int) -> Scenario:
    return get_object_or_404(Scenario.objects.select_related("funder"), pk=scenario_id)


@guards.requires("funding.analyse", resource=lambda scenario_id: _scenario(scenario_id).funder)
@require_http_methods(["GET", "POST"])
def scenario_page(
    request: HttpRequest, context: ActingContext, funder: Agency, scenario_id: int
) -> HttpResponse:
    scenario = _scenario(scenario_id)
    error = None
    if request.method == "POST":
        try:
            if request.POST.get("action") == "propose":
                scenarios.propose(scenario)
            else:
                try:
                    share = Decimal(request.POST.get("percent") or "") / 100
                except InvalidOperation:
                    raise flows.FundingRefused(
                        _("Give the share to move as a percentage.")
                    ) from None
                if request.POST.get("action") == "move_place":
                    # Places are offered by their codes; the lines hold their paths.
                    chosen = {
                        j.code: j.path
                        for j in Jurisdiction.objects.filter(
                            code__in=[
                                request.POST.get("source_place") or "",
                                request.POST.get("target_place") or "",
                            ]
                        )
                    }
                    from_path = chosen.get(request.POST.get("source_place") or "")
                    to_path = chosen.get(request.POST.get("target_place") or "")
                    if from_path is None or to_path is None:
                        raise flows.FundingRefused(_("Choose the two places."))
                    scenarios.move_between_places(scenario, from_path, to_path, share)
                else:
                    source = Program.objects.filter(key=request.POST.get("source")).first()
                    target = Program.objects.filter(key=request.POST.get("target")).first()
                    if source is None or target is None:
                        raise flows.FundingRefused(_("Choose the two programs."))
                    scenarios.move(scenario, source, target, share)
        except flows.FundingRefused as refused:
            error = str(refused)
        else:
            return redirect("funding:scenario", scenario_id=scenario.pk)
    currency, first_month = funder.jurisdiction.fiscal_terms() if funder.jurisdiction else ("", 1)
    program_ids = list(scenario.lines.values_list("allocation__program", flat=True).distinct())
    costs = {}
    for program in Program.objects.filter(pk__in=program_ids).select_related(
        "agency__jurisdiction"
    ):
        costs[program.pk] = outcomes.cost_per_outcome(
            program, scenario.fiscal_year
        ).cost_per_outcome
    rows = scenarios.compare(scenario, costs)
    number = lambda v: "—" if v is None else f"{v:f}"  # noqa: E731
    table = [
        [
            row.program.name,
            explorer.money(row.current, currency),
            explorer.money(row.proposed, currency),
            explorer.money(row.change, currency),
            explorer.money(row.cost_per_outcome, currency),
            number(row.outcomes_now),
            number(row.outcomes_then),
        ]
        for row in rows
    ]
    by_place = scenarios.compare_places(scenario, costs)
    places = {
        j.path: j for j in Jurisdiction.objects.filter(path__in=[r.place_path for r in by_place])
    }
    place_table = [
        [
            places[row.place_path].name if row.place_path in places else _("No place"),
            explorer.money(row.current, currency),
            explorer.money(row.proposed, currency),
            explorer.money(row.change, currency),
            number(row.outcomes_now),
            number(row.outcomes_then),
        ]
        for row in by_place
    ]
    page = {
        "scenario": scenario,
        "year_label": fiscal.label(scenario.fiscal_year, first_month),
        "table": table,
        "place_table": place_table,
        "places": [places[r.place_path] for r in by_place if r.place_path in places],
        "programs": [row.program for row in rows],
        "error": error,
    }
    return render(request, "funding/scenario.html", page, status=400 if error else 200)


# --- Oversight ---------------------------------------------------------------------------------


def _date(text: str | None, *, required: bool = True) -> datetime.date | None:
    if not text:
        if required:
            raise flows.FundingRefused(_("Give the date."))
        return None
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise flows.FundingRefused(_("Give the date as YYYY-MM-DD.")) from None


@guards.requires("funding.oversight")
@require_http_methods(["GET", "POST"])
def oversight_list(request: HttpRequest, context: ActingContext) -> HttpResponse:
    """Reviews the agency's staff may read; an overseer's staff record new ones here."""
    agency = Agency.objects.filter(key=context.agency_key).first()
    may_record = (
        agency is not None
        and oversight.is_overseer(agency)
        and policy.decide(context, "funding.oversee", agency).allowed
    )
    error = None
    if request.method == "POST":
        try:
            if not may_record:
                policy.require(context, "funding.oversee", agency)
                raise flows.FundingRefused(_("Your agency is not an overseer in the registry."))
            provider = Agency.objects.filter(key=request.POST.get("provider") or "").first()
            if provider is None:
                raise flows.FundingRefused(_("Choose the provider reviewed."))
            kind = request.POST.get("kind") or ""
            if kind not in Review.Kind.values:
                raise flows.FundingRefused(_("Choose the kind of review."))
            review = oversight.record_review(
                agency,
                provider,
                kind=kind,
                held_on=_date(request.POST.get("held_on")),
                summary=(request.POST.get("summary") or "").strip(),
            )
        except flows.FundingRefused as refused:
            error = str(refused)
        except policy.PolicyDenied as denied:
            return guards.denied_response(request, denied.decision)
        else:
            return redirect("funding:review", review_id=review.pk)
    page = {
        "reviews": oversight.visible_to(context.agency_key or ""),
        "may_record": may_record,
        "providers": Agency.objects.exclude(pk=agency.pk if agency else None).order_by("key")
        if may_record
        else [],
        "kinds": Review.Kind.choices,
        "error": error,
        "today": datetime.date.today().isoformat(),
    }
    return render(request, "funding/oversight.html", page, status=400 if error else 200)


@guards.requires("funding.oversight", resource=lambda review_id: oversight.load_review(review_id))
@require_http_methods(["GET", "POST"])
def review_page(
    request: HttpRequest, context: ActingContext, review: Review, review_id: int
) -> HttpResponse:
    """A review's findings, corrective actions and follow-up: the overseer adds findings and
    resolves them; the provider and the overseer write follow-ups."""
    is_overseer = (
        context.agency_key == review.overseer.key
        and policy.decide(context, "funding.oversee", review.overseer).allowed
    )
    is_provider = context.agency_key == review.provider.key
    error = None
    if request.method == "POST":
        action = request.POST.get("action")
        today = datetime.date.today()
        try:
            if action == "finding":
                policy.require(context, "funding.oversee", review.overseer)
                try:
                    severity = int(request.POST.get("severity") or "")
                except ValueError:
                    severity = 0
                oversight.add_finding(
                    review,
                    severity=severity,
                    text=request.POST.get("text") or "",
                    corrective_action=request.POST.get("corrective_action") or "",
                    due_on=_date(request.POST.get("due_on"), required=False),
                )
            elif action in ("follow_up", "resolve"):
                finding = Finding.objects.filter(
                    review=review, pk=request.POST.get("finding") or 0
                ).first()
                if finding is None:
                    raise flows.FundingRefused(_("No such finding in this review."))
                if action == "resolve":
                    policy.require(context, "funding.oversee", review.overseer)
                    oversight.resolve(finding, on=today, follow_up=request.POST.get("note") or "")
                else:
                    if not (is_overseer or is_provider):
                        raise flows.FundingRefused(
                            _("Only the overseer and the provider write follow-ups.")
                        )
                    who = review.overseer.name if is_overseer else review.provider.name
                    oversight.follow_up(
                        finding, note=request.POST.get("note") or "", by=who, on=today
                    )
            else:
                raise flows.FundingRefused(_("Choose what to do."))
        except flows.FundingRefused as refused:
            error = str(refused)
        except policy.PolicyDenied as denied:
            return guards.denied_response(request, denied.decision)
        else:
            return redirect("funding:review", review_id=review.pk)
    today = datetime.date.today()
    findings = [
        {
            "finding": f,
            "overdue": f.resolved_on is None and f.due_on is not None and f.due_on < today,
            "follow_up": [line for line in f.follow_up.splitlines() if line.strip()],
        }
        for f in review.findings.all()
    ]
    page = {
        "review": review,
        "findings": findings,
        "is_overseer": is_overseer,
        "is_provider": is_provider,
        "severities": Finding.Severity.choices,
        "error": error,
    }
    return render(request, "funding/review.html", page, status=400 if error else 200)


# --- Outcome payments awaiting the funder --------------------------------------------------------


@guards.requires("funding.allocate")
@require_http_methods(["GET", "POST"])
def payment_list(request: HttpRequest, context: ActingContext) -> HttpResponse:
    """The funder's outcome payments: those awaiting approval first, each with the statement
    of how it was computed; approve, or return with a reason (who and why are kept)."""
    funder = Agency.objects.filter(key=context.agency_key).first()
    error = None
    if request.method == "POST":
        row = (
            OutcomePayment.objects.select_related("agreement__allocation__funder")
            .filter(pk=request.POST.get("payment") or 0, agreement__allocation__funder=funder)
            .first()
        )
        reason = request.POST.get("reason") or ""
        try:
            if row is None:
                raise flows.FundingRefused(_("No such payment awaits your agency."))
            if request.POST.get("action") == "approve":
                outcomes.approve(
                    row, user_id=context.user_id, reason=reason, agency=context.agency_key or ""
                )
            elif request.POST.get("action") == "return":
                outcomes.send_back(
                    row, user_id=context.user_id, reason=reason, agency=context.agency_key or ""
                )
            else:
                raise flows.FundingRefused(_("Choose approve or return."))
        except flows.FundingRefused as refused:
            error = str(refused)
        else:
            return redirect("funding:payments")
    rows = (
        OutcomePayment.objects.filter(agreement__allocation__funder=funder)
        .select_related("agreement__allocation__recipient", "approved_by")
        .order_by("period_start", "pk")
    )
    order = {OutcomePayment.Status.COMPUTED: 0, OutcomePayment.Status.RETURNED: 1}
    payments = [
        {
            "payment": p,
            "agreement": p.agreement.name,
            "recipient": p.agreement.allocation.recipient.name,
            "period": f"{p.period_start:%Y-%m} – {p.period_end:%Y-%m}",
            "amount": explorer.money(p.amount, p.agreement.allocation.currency),
            "statement": outcomes.statement(p.steps, p.agreement.allocation.currency),
            "awaiting": p.status == OutcomePayment.Status.COMPUTED,
        }
        for p in sorted(rows, key=lambda p: order.get(p.status, 2))
    ]
    page = {"payments": payments, "funder": funder, "error": error}
    return render(request, "funding/payments.html", page, status=400 if error else 200)


# --- Places and pilots -------------------------------------------------------------------------


@guards.requires("funding.places")
def place_list(request: HttpRequest, context: ActingContext) -> HttpResponse:
    rows = (
        Place.objects.select_related("jurisdiction")
        .annotate(months=Count("figures__period", distinct=True))
        .order_by("synthetic", "kind", "key")
    )
    measure = request.GET.get("measure") or PlaceFigure.Measure.WITHIN_STANDARD
    error = None
    if measure not in PlaceFigure.Measure.values:
        error = _("No such measure.")
        measure = PlaceFigure.Measure.WITHIN_STANDARD
    rows = list(rows)
    months = places.months_of(measure)
    month = months[0] if months else None
    raw_month = (request.GET.get("month") or "").strip()
    if raw_month and not error:
        chosen = _month(raw_month) if len(raw_month) == 7 else None
        if chosen is None:
            error = _("Give the month as year and month, like 2026-03.")
        elif chosen not in months:
            error = _("No place has figures of this measure for that month: choose one offered.")
        else:
            month = chosen
    values = places.values_at(measure, month) if month else {}
    # The places with a value of the measure (all shaped places when none has one yet), so
    # the map is not stretched over the whole country by shapes with nothing to show.
    shaped = [p for p in rows if p.shape and (not values or p.pk in values)]
    areas, height, legend = places.choropleth(shaped, values)
    for row in rows:
        row.latest = pilots.number(values[row.pk]) if row.pk in values else "—"
    page = {
        "places": rows,
        "pilots": Pilot.objects.annotate(places=Count("treated", distinct=True)).order_by("key"),
        "records_pilots": policy.decide(context, "funding.pilots.record").allowed,
        "measures": PlaceFigure.Measure.choices,
        "measure": measure,
        "measure_label": PlaceFigure.Measure(measure).label,
        "month": month,
        "months": months,
        "areas": areas,
        "height": height,
        "legend": legend,
        "error": error,
    }
    return render(request, "funding/places.html", page, status=400 if error else 200)


@guards.requires("funding.places")
def place_page(request: HttpRequest, context: ActingContext, key: str) -> HttpResponse:
    place = get_object_or_404(Place.objects.select_related("jurisdiction"), key=key)
    counted = places.view(place, published_only=not _sees_unpublished(context))
    labels = dict(PlaceFigure.Measure.choices)
    charts = [
        figure_chart(f"figure-{measure}", str(labels.get(measure, measure)), points)
        for measure, points in counted.figures.items()
    ]
    # The map: the place among the places around it, by the completed transactions of the
    # people living in each in the latest month with figures; the table beside it says the same.
    month, values = places.latest_values(PlaceFigure.Measure.COMPLETED)
    around = places.neighbourhood(place)
    areas, height, legend = places.choropleth(around, values)
    first, last = places.window()
    return render(
        request,
        "funding/place.html",
        {
            "place": place,
            "counted": counted,
            "charts": charts,
            "min_count": settings.PERFORMANCE_MIN_COUNT,
            "areas": areas,
            "height": height,
            "legend": legend,
            "map_month": month,
            "residents": places.residents(place, first, last),
            "gaps_hidden": any(people is None for _d, people, _s in counted.gap_counts),
        },
    )


def figure_chart(chart_id: str, label: str, points: list) -> explorer.Chart:
    months = [period.strftime("%Y-%m") for period, _value in points]
    values = [value for _period, value in points]
    return explorer.Chart(
        id=chart_id,
        title=label,
        summary=_("The place's monthly figures: %(measure)s.") % {"measure": label},
        figure={
            "data": [
                {
                    "type": "scatter",
                    "mode": "lines+markers",
                    "name": label,
                    "x": months,
                    "y": values,
                    "line": {"color": PALETTE[0]},
                }
            ],
            "layout": {**pilots.LAYOUT, "yaxis": {"title": {"text": label}}},
        },
        headers=[_("Month"), label],
        rows=[[m, pilots.number(v)] for m, v in zip(months, values, strict=True)],
    )


@guards.requires("funding.places")
def place_export(request: HttpRequest, context: ActingContext, key: str) -> HttpResponse:
    place = get_object_or_404(Place.objects.select_related("jurisdiction"), key=key)
    counted = places.view(place, published_only=not _sees_unpublished(context))
    response = HttpResponse(places.data_package(counted), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="place-{place.key}.zip"'
    return response


@guards.requires("funding.places")
def place_compare(request: HttpRequest, context: ActingContext, key: str) -> HttpResponse:
    place = get_object_or_404(Place.objects.select_related("jurisdiction"), key=key)
    other_key = request.GET.get("with") or ""
    other = Place.objects.select_related("jurisdiction").filter(key=other_key).first()
    choices = Place.objects.exclude(pk=place.pk).order_by("synthetic", "kind", "key")
    page = {"place": place, "other": other, "choices": choices, "rows": [], "error": None}
    if other_key and other is None:
        page["error"] = _("No such place.")
    elif other is not None:
        unpublished = _sees_unpublished(context)
        page["rows"] = places.comparison_rows(
            places.view(place, published_only=not unpublished),
            places.view(other, published_only=not unpublished),
        )
    return render(request, "funding/compare.html", page, status=400 if page["error"] else 200)


def _month(text: str) -> datetime.date | None:
    """The first day of a month given as YYYY-MM (or a date in it), or None."""
    try:
        day = datetime.date.fromisoformat(text if len(text) > 7 else text + "-01")
    except ValueError:
        return None
    return day.replace(day=1)


@guards.requires("funding.pilots.record")
@require_http_methods(["GET", "POST"])
def pilot_new(request: HttpRequest, context: ActingContext) -> HttpResponse:
    """Record a pilot: what changes, where, since when, the measure watched and the
    comparison places (chosen by hand, or the ones suggested by similarity before the start).
    A refusal names every problem (400) and writes nothing."""
    return _pilot_form(request, None)


@guards.requires("funding.pilots.record")
@require_http_methods(["GET", "POST"])
def pilot_edit(request: HttpRequest, context: ActingContext, key: str) -> HttpResponse:
    """Change a pilot outside the admin, with the same form and checks as recording one; its
    key (its address) stays. A refusal names every problem (400) and changes nothing."""
    pilot = get_object_or_404(Pilot, key=key)
    return _pilot_form(request, pilot)


def _pilot_form(request: HttpRequest, pilot: Pilot | None) -> HttpResponse:
    choices = list(
        Place.objects.select_related("jurisdiction").order_by("synthetic", "kind", "key")
    )
    by_key = {p.key: p for p in choices}
    problems: list[str] = []
    form: Any = request.POST if request.method == "POST" else {}
    treated_keys: list[str] = []
    comparison_keys: list[str] = []
    if request.method == "POST":
        treated_keys = request.POST.getlist("treated")
        comparison_keys = request.POST.getlist("comparison")
        unknown = [k for k in treated_keys + comparison_keys if k not in by_key]
        starts_on = _month((request.POST.get("starts_on") or "").strip())
        try:
            if unknown:
                raise pilots.PilotRefused([_("No such place.")])
            recorded = pilots.record_pilot(
                key=request.POST.get("key") or "",
                names={"en": request.POST.get("name_en"), "fr": request.POST.get("name_fr")},
                change=request.POST.get("change") or "",
                description={
                    "en": request.POST.get("description_en") or "",
                    "fr": request.POST.get("description_fr") or "",
                },
                treated=[by_key[k] for k in treated_keys],
                starts_on=starts_on,
                measure=request.POST.get("measure") or "",
                comparison=[by_key[k] for k in comparison_keys],
                suggest=request.POST.get("comparison_from") == "suggested",
                pilot=pilot,
            )
        except pilots.PilotRefused as refused:
            problems = refused.problems
        else:
            return redirect("funding:pilot", key=recorded.key)
    elif pilot is not None:
        form = {
            "key": pilot.key,
            "name_en": pilot.names.get("en", ""),
            "name_fr": pilot.names.get("fr", ""),
            "change": pilot.change,
            "description_en": (pilot.description or {}).get("en", ""),
            "description_fr": (pilot.description or {}).get("fr", ""),
            "starts_on": f"{pilot.starts_on:%Y-%m}" if pilot.starts_on else "",
            "measure": pilot.measure,
        }
        treated_keys = list(pilot.treated.values_list("key", flat=True))
        comparison_keys = list(pilot.comparison.values_list("key", flat=True))
    page = {
        "pilot": pilot,
        "places": choices,
        "changes": Pilot.Change.choices,
        "measures": PlaceFigure.Measure.choices,
        "form": form,
        "treated": set(treated_keys),
        "comparison": set(comparison_keys),
        "problems": problems,
    }
    return render(request, "funding/pilot_new.html", page, status=400 if problems else 200)


@guards.requires("funding.places")
def pilot_page(request: HttpRequest, context: ActingContext, key: str) -> HttpResponse:
    pilot = get_object_or_404(Pilot, key=key)
    result = pilots.evaluate(pilot)
    return render(
        request,
        "funding/pilot.html",
        # `charts` tells the base template to load the chart scripts.
        {
            "pilot": pilot,
            "result": result,
            "charts": result.charts,
            "links": pilots.links(pilot),
            "records_pilots": policy.decide(context, "funding.pilots.record").allowed,
        },
    )
