"""Pages: public transparency pages, agencies' dashboards, and the satisfaction survey.

Views stay thin: they read the period and filters, ask `pages` for the figures and charts,
and render. Public pages publish with suppression; a dashboard shows its own agency's
figures in full.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from joinedup.federation.models import Agency, Jurisdiction, Office, Service
from joinedup.identity import acting, guards, policy
from joinedup.identity.acting import ActingContext

from . import (
    agency_staffing,
    casework,
    complaints,
    insight,
    integration,
    kpis,
    opendata,
    pages,
    planning,
    referrals,
    repeated,
    rules_departures,
    surveys,
)
from .models import SurveyResponse


def _period(request: HttpRequest) -> tuple[kpis.Period, str | None]:
    """The period asked for, or the default with a message saying why."""
    code = request.GET.get("period") or "12m"
    try:
        return kpis.parse_period(code), None
    except kpis.PeriodError as error:
        return kpis.parse_period("12m"), str(error)


def _render(request, template: str, context: dict, error: str | None = None) -> HttpResponse:
    context.setdefault("periods", kpis.recent_periods())
    context["period_error"] = error
    return render(request, template, context, status=400 if error else 200)


@guards.public
def index(request: HttpRequest) -> HttpResponse:
    period, error = _period(request)
    return _render(request, "performance/index.html", pages.overview(period), error)


def _refused_download(error: str) -> HttpResponse:
    """A download for a period we do not understand: the reason, in words, and a 400."""
    return HttpResponse(error, status=400, content_type="text/plain; charset=utf-8")


@guards.public
def open_data_csv(request: HttpRequest) -> HttpResponse:
    """The published figures of the period as CSV (the default period for one not known)."""
    period, error = _period(request)
    if error:
        return _refused_download(error)
    response = HttpResponse(
        opendata.csv_text(opendata.rows(period)), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="performance-{period.code}.csv"'
    return response


@guards.public
def open_data_package(request: HttpRequest) -> HttpResponse:
    """The same figures with their Frictionless description, zipped."""
    period, error = _period(request)
    if error:
        return _refused_download(error)
    response = HttpResponse(opendata.zipped(period), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="performance-{period.code}.zip"'
    return response


@guards.public
def service_page(request: HttpRequest, key: str) -> HttpResponse:
    service = get_object_or_404(Service, key=key)
    period, error = _period(request)
    context = pages.service(
        service,
        period,
        measure=request.GET.get("measure") or "within_standard",
        peer_group=request.GET.get("peers") or "",
    )
    return _render(request, "performance/service.html", context, error)


@guards.public
def jurisdiction_page(request: HttpRequest, code: str) -> HttpResponse:
    jurisdiction = get_object_or_404(Jurisdiction, code=code.upper())
    period, error = _period(request)
    context = pages.jurisdiction(jurisdiction, period)
    # The integration candidates are for the staff who plan services: linked for them only.
    context["plans_services"] = policy.decide(
        acting.for_request(request), "performance.integration", jurisdiction
    ).allowed
    return _render(request, "performance/jurisdiction.html", context, error)


def _agency(key: str) -> Agency:
    return get_object_or_404(Agency, key=key)


@guards.requires("performance.dashboard", resource=_agency)
def dashboard(request: HttpRequest, context: ActingContext, agency: Agency, key: str):
    period, error = _period(request)
    try:
        goal = float(request.GET.get("goal") or 0.8)
    except ValueError:
        goal, error = 0.8, _("The take-up goal must be a share such as 0.8.")
    if not 0 <= goal <= 1:
        goal, error = 0.8, _("The take-up goal must be between 0 and 1.")
    return _render(
        request, "performance/dashboard.html", pages.dashboard(agency, period, goal), error
    )


@guards.requires("performance.dashboard", resource=_agency)
def rules_departures_page(request: HttpRequest, context: ActingContext, agency: Agency, key: str):
    """How often the agency's decisions depart from what the rules compute, and why."""
    period, error = _period(request)
    language = (get_language() or "en")[:2]
    data = rules_departures.page(agency, period, language)
    return _render(request, "performance/rules_departures.html", data, error)


@guards.requires("performance.feedback.mine")
def feedback_list(request: HttpRequest, context: ActingContext) -> HttpResponse:
    invitations = surveys.pending_for(context.person_id)
    names = dict(
        Service.objects.filter(key__in={i.service_key for i in invitations}).values_list(
            "key", "names"
        )
    )
    return render(
        request,
        "performance/feedback_list.html",
        {"invitations": invitations, "service_names": pages.localized(names)},
    )


@require_http_methods(["GET", "POST"])
@guards.requires("performance.feedback.mine")
def feedback_form(request: HttpRequest, context: ActingContext, invitation_id) -> HttpResponse:
    invitation = surveys.owned_by(invitation_id, context.person_id)
    if invitation is None:
        raise Http404
    return _survey(request, invitation, SurveyResponse.Mode.PORTAL)


@require_http_methods(["GET", "POST"])
@guards.public
def survey(request: HttpRequest, token: str) -> HttpResponse:
    invitation = surveys.by_token(token)
    if invitation is None:
        return render(request, "performance/survey_gone.html", status=404)
    return _survey(request, invitation, SurveyResponse.Mode.EMAIL)


def _survey(request: HttpRequest, invitation, mode: str) -> HttpResponse:
    error = None
    chosen: dict[str, str] = {}
    if request.method == "POST":
        chosen = {q.name: request.POST.get(q.name, "") for q in surveys.QUESTIONS}
        try:
            answers = surveys.clean_answers(chosen)
            surveys.respond(invitation, answers, mode)
        except surveys.SurveyError as problem:
            error = str(problem)
        else:
            return redirect("performance:survey-thanks")
    service = Service.objects.filter(key=invitation.service_key).first()
    return render(
        request,
        "performance/survey.html",
        {
            "service": service,
            "questions": surveys.QUESTIONS,
            "chosen": chosen,
            "error": error,
            "scale": range(1, 6),
        },
        status=400 if error else 200,
    )


@guards.public
def survey_thanks(request: HttpRequest) -> HttpResponse:
    return render(request, "performance/survey_thanks.html")


@guards.public
def referrals_page(request: HttpRequest) -> HttpResponse:
    """Closed-loop referrals of human services: how the loop closes, per organisation."""
    return render(request, "performance/referrals.html", referrals.page())


@guards.public
def complaints_page(request: HttpRequest) -> HttpResponse:
    """Complaint measures by service, agency or jurisdiction, and themes over time."""
    period, error = _period(request)
    by = request.GET.get("by") or "service"
    if by not in complaints.GROUPS:
        by, error = "service", _("Choose service, agency or jurisdiction.")
    return _render(request, "performance/complaints.html", complaints.page(by, period), error)


def _insight_choices(request: HttpRequest, measure_default: str = "completion_rate"):
    dimension = request.GET.get("dimension") or "age_band"
    measure = request.GET.get("measure") or measure_default
    service = request.GET.get("service") or None
    return dimension, measure, service


@guards.requires("performance.insight")
def groups_page(request: HttpRequest) -> HttpResponse:
    """Every measure by one client-group dimension at a time, published with suppression."""
    period, error = _period(request)
    dimension, measure, service = _insight_choices(request)
    try:
        data = insight.by_group(period, dimension, measure, service)
    except insight.InsightError as problem:
        error = str(problem)
        data = insight.by_group(period, "age_band", "completion_rate", service)
    return _render(request, "performance/groups.html", data, error)


@guards.requires("performance.insight")
def channels_page(request: HttpRequest) -> HttpResponse:
    """Channel appropriateness: each group's channels, and where online falls short."""
    period, error = _period(request)
    dimension, _measure, service = _insight_choices(request)
    try:
        data = insight.channels(period, dimension, service)
    except insight.InsightError as problem:
        error = str(problem)
        data = insight.channels(period, "age_band", service)
    return _render(request, "performance/channels.html", data, error)


def _office(key: str) -> Office:
    return get_object_or_404(Office.objects.select_related("agency", "jurisdiction"), key=key)


@guards.requires("performance.staffing", resource=_office)
def staffing_page(request: HttpRequest, context: ActingContext, office: Office, key: str):
    """An office's forecast and the agents it needs, and its caseworker hours, for its
    agency's analysts."""
    error = None
    service = request.GET.get("service") or None
    try:
        data = planning.page(office, request.GET.get("channel") or None, service=service)
    except planning.PlanningError as problem:
        error = str(problem)
        data, service = planning.page(office, None), None
    data.update(casework.office_context(office, service=service))
    data.setdefault("periods", [])
    data["period_error"] = error
    return render(request, "performance/staffing.html", data, status=400 if error else 200)


@guards.requires("performance.staffing", resource=_agency)
def agency_staffing_page(request: HttpRequest, context: ActingContext, agency: Agency, key: str):
    """All the agency's offices and assisted channels: forecast and agents needed; and the
    caseworker hours of its back-office queues."""
    data = agency_staffing.page(agency)
    data.update(casework.agency_context(agency, data["offices"]))
    data.update(periods=[], period_error=None)
    return render(request, "performance/agency_staffing.html", data)


@guards.requires("performance.integration")
def integration_page(request: HttpRequest, code: str) -> HttpResponse:
    """The agencies that serve the same people in a jurisdiction, and the questions they ask
    the same people twice: counts only, small ones left out."""
    jurisdiction = get_object_or_404(Jurisdiction, code=code.upper())
    data = integration.page(jurisdiction)
    data.update(repeated.published(jurisdiction), periods=[], period_error=None)
    return render(request, "performance/integration.html", data)
