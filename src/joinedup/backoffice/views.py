"""The back-office portal: a client agency's requesters order shared services and follow
them, its staff read statements and acknowledge or dispute lines; a provider's staff see
their clients' requests, its managers issue statements and read the dashboard; participants
sign joint procurements. Views read the request, ask the modules and render.
"""

from __future__ import annotations

import datetime

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from joinedup import pagination
from joinedup.delivery import clock, formdefs
from joinedup.delivery.applications import SubmissionError
from joinedup.delivery.models import Application, Draft
from joinedup.federation.models import Agency, Service
from joinedup.identity import guards
from joinedup.identity import policy as identity_policy
from joinedup.identity.acting import ActingContext
from joinedup.identity.models import Business, Person
from joinedup.identity.policy import PolicyDenied
from joinedup.performance import surveys

from . import (
    availability,
    business,
    dashboard,
    employees,
    feedback,
    levels,
    procurement,
    requests,
    statements,
    timesheets,
)
from .models import (
    MAX_ENTRY_MINUTES,
    BreachAlert,
    JointProcurement,
    Outage,
    Request,
    Statement,
    StatementLine,
    month_start,
)
from .models import fold as models_fold

PAGE_SIZE = 25


def paginate(request: HttpRequest, items) -> pagination.Pagination:
    """The project's pager at the back office's page size."""
    return pagination.paginate(request, items, PAGE_SIZE)


def _agency(context: ActingContext) -> Agency:
    return get_object_or_404(Agency.objects.select_related("jurisdiction"), key=context.agency_key)


def _refused(request: HttpRequest, message: str, status: int = 400) -> HttpResponse:
    return render(request, "backoffice/refused.html", {"message": message}, status=status)


def _request(pk) -> Request:
    return get_object_or_404(
        Request.objects.select_related(
            "application__service",
            "application__agency__jurisdiction",
            "client",
            "provider",
            "level",
        ),
        pk=pk,
    )


def _statement(pk: int) -> Statement:
    return get_object_or_404(Statement.objects.select_related("client", "provider"), pk=pk)


def _procurement(pk: int) -> JointProcurement:
    return get_object_or_404(
        JointProcurement.objects.select_related("lead").prefetch_related("participants__agency"),
        pk=pk,
    )


def _line_statement(pk: int, line: int) -> Statement:
    return _statement(pk)


def _month(value: str | None) -> datetime.date:
    """The month asked for (YYYY-MM), else the last full month."""
    if value:
        try:
            return datetime.date.fromisoformat(f"{value}-01")
        except ValueError:
            raise Http404 from None
    return month_start(month_start(timezone.localdate()) - datetime.timedelta(days=1))


# --- The client agency ---------------------------------------------------------------------


@guards.requires("backoffice.client")
@require_GET
def home(request: HttpRequest, context: ActingContext) -> HttpResponse:
    agency = _agency(context)
    return render(
        request,
        "backoffice/home.html",
        {
            "agency": agency,
            "levels": levels.levels_for(agency, timezone.localdate())
            if context.role == "service_requester"
            else [],
            "paged": paginate(request, requests.of_client(agency)),
            "statements": Statement.objects.filter(client=agency).select_related("provider")[:12],
            "procurements": JointProcurement.objects.filter(participants__agency=agency).distinct()[
                :12
            ],
            "surveys": feedback.open_for_agency(agency),
            "can_find_employee": identity_policy.decide(
                context, "backoffice.find_employee"
            ).allowed,
        },
    )


@guards.requires("backoffice.request")
@require_http_methods(["GET", "POST"])
def order(request: HttpRequest, context: ActingContext, service_key: str) -> HttpResponse:
    agency = _agency(context)
    service = get_object_or_404(Service, key=service_key, client_type=Service.ClientType.AGENCY)
    level = levels.level_for(agency, service, timezone.localdate())
    if level is None:
        return _refused(
            request,
            _("Your agency has no shared-service agreement in force that covers this service."),
            404,
        )
    errors: list[str] = []
    values = {"details": "", "quantity": "", "needed_by": "", "employee": ""}
    if request.method == "POST":
        values = {name: request.POST.get(name, "").strip() for name in values}
        data: dict = {"details": values["details"]}
        if values["quantity"]:
            try:
                data["quantity"] = int(values["quantity"])
            except ValueError:
                errors.append(_("Give how many as a whole number."))
        if values["needed_by"]:
            data["needed_by"] = values["needed_by"]
        employee = None
        if values["employee"]:
            employee = _employee(values["employee"])
            if employee is None:
                errors.append(_("There is no person with this number in the person registry."))
        if not errors:
            try:
                made, _created = requests.submit_request(
                    context,
                    agency,
                    service.key,
                    data,
                    request.POST.get("key", ""),
                    employee=employee,
                )
            except SubmissionError as error:
                errors = [error.message] + [e.message for e in error.errors]
            else:
                return redirect("backoffice:request", request_id=made.pk)
    return render(
        request,
        "backoffice/order.html",
        {"service": service, "level": level, "values": values, "errors": errors},
        status=400 if errors else 200,
    )


def _employee(value: str) -> Person | None:
    """The person a requester names by their registry number (linked, not read)."""
    try:
        number = int(value)
    except ValueError:
        return None
    return Person.objects.filter(pk=number).only("pk").first() if number > 0 else None


@guards.requires("backoffice.view_request", resource=lambda request_id: _request(request_id))
@require_GET
def request_detail(
    request: HttpRequest, context: ActingContext, shared: Request, request_id
) -> HttpResponse:
    return _request_page(request, context, shared)


def _request_page(
    request: HttpRequest,
    context: ActingContext,
    shared: Request,
    time_error: str = "",
    entered: dict | None = None,
) -> HttpResponse:
    application = shared.application
    employee_rows, employee_refused = requests.employee_facts(context, shared)
    records_time = identity_policy.decide(context, "backoffice.log_time", shared).allowed
    return render(
        request,
        "backoffice/request.html",
        {
            "shared": shared,
            "application": application,
            "clock": clock.state(application),
            "timeline": application.timeline.all(),
            "is_client": context.agency_key == shared.client.key,
            "scores": range(1, 6),
            "details": application.data.get("details") or application.data.get("reason") or "",
            "survey": feedback.open_for_request(shared)
            if context.agency_key == shared.client.key
            else None,
            "employee_rows": employee_rows,
            "employee_refused": employee_refused,
            "tasks": timesheets.tasks_of(shared)
            if context.agency_key == shared.provider.key
            else [],
            "records_time": records_time,
            "time_error": time_error,
            "entered": entered or {},
            "most_minutes": MAX_ENTRY_MINUTES,
        },
        status=400 if time_error else 200,
    )


@guards.requires("backoffice.log_time", resource=lambda request_id: _request(request_id))
@require_POST
def log_time(
    request: HttpRequest, context: ActingContext, shared: Request, request_id
) -> HttpResponse:
    """A caseworker of the provider records the minutes they spent on a task of the request."""
    entered = {"task": request.POST.get("task", ""), "minutes": request.POST.get("minutes", "")}
    try:
        timesheets.record(context, shared, entered["task"], entered["minutes"])
    except timesheets.TimeError as error:
        return _request_page(request, context, shared, error.message, entered)
    messages.success(request, _("Your time on the task is recorded."))
    return redirect("backoffice:request", request_id=shared.pk)


@guards.requires("backoffice.view_request", resource=lambda request_id: _request(request_id))
@require_POST
def rate(request: HttpRequest, context: ActingContext, shared: Request, request_id) -> HttpResponse:
    if context.agency_key != shared.client.key:
        return _refused(request, _("Only the client agency rates its requests."), 403)
    try:
        requests.rate(shared, int(request.POST.get("score") or 0))
    except (SubmissionError, ValueError) as error:
        return _refused(request, getattr(error, "message", _("Give a score from 1 to 5.")))
    return redirect("backoffice:request", request_id=shared.pk)


@guards.requires("backoffice.survey", resource=lambda request_id: _request(request_id))
@require_http_methods(["GET", "POST"])
def survey(request: HttpRequest, context: ActingContext, shared: Request, request_id):
    """`performance`'s satisfaction survey, answered by the client agency in the portal."""
    invitation = feedback.open_for_request(shared)
    if invitation is None:
        return _refused(
            request,
            _("There is no survey waiting for this request: it was answered, or it expired."),
            404,
        )
    error, chosen = None, {}
    if request.method == "POST":
        chosen = {q.name: request.POST.get(q.name, "") for q in surveys.QUESTIONS}
        try:
            feedback.answer(invitation, chosen)
        except feedback.SurveyError as problem:
            error = str(problem)
        else:
            return redirect("backoffice:request", request_id=shared.pk)
    return render(
        request,
        "backoffice/survey.html",
        {
            "shared": shared,
            "service": shared.application.service,
            "questions": surveys.QUESTIONS,
            "chosen": chosen,
            "error": error,
            "scale": range(1, 6),
        },
        status=400 if error else 200,
    )


# --- Statements ----------------------------------------------------------------------------


@guards.requires("backoffice.statement", resource=lambda pk: _statement(pk))
@require_GET
def statement_detail(
    request: HttpRequest, context: ActingContext, statement: Statement, pk: int
) -> HttpResponse:
    lines = list(statement.lines.select_related("level__service"))
    return render(
        request,
        "backoffice/statement.html",
        {
            "statement": statement,
            "lines": lines,
            "is_client": context.agency_key == statement.client.key,
            **statements.statement_context(statement, lines),
        },
    )


@guards.requires("backoffice.statement", resource=lambda pk: _statement(pk))
@require_GET
def statement_pdf(
    request: HttpRequest, context: ActingContext, statement: Statement, pk: int
) -> HttpResponse:
    lines = list(statement.lines.select_related("level__service"))
    language = (translation.get_language() or "en").split("-")[0]
    pdf = statements.render_pdf(statement, lines, language)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="statement-{statement.month:%Y-%m}.pdf"'
    return response


@guards.requires("backoffice.respond", resource=lambda pk, line: _line_statement(pk, line))
@require_POST
def answer_line(
    request: HttpRequest, context: ActingContext, statement: Statement, pk: int, line: int
) -> HttpResponse:
    if statement.client.key != context.agency_key:
        return _refused(request, _("Only the client agency answers its statement."), 403)
    found = get_object_or_404(StatementLine, pk=line, statement=statement)
    try:
        if request.POST.get("answer") == "dispute":
            made = statements.dispute(context, found, request.POST.get("reason", ""))
            done = _(
                "Your dispute of the line “%(service)s” is sent to %(provider)s as request "
                "%(reference)s."
            ) % {
                "service": found.service_name,
                "provider": statement.provider.name,
                "reference": made.application.reference,
            }
        else:
            statements.acknowledge(context, found)
            done = _("You acknowledged the line “%(service)s”.") % {"service": found.service_name}
    except statements.StatementError as error:
        return _refused(request, error.message)
    messages.success(request, done)
    return redirect("backoffice:statement", pk=statement.pk)


# --- The provider --------------------------------------------------------------------------


@guards.requires("backoffice.provider")
@require_GET
def provider_requests(request: HttpRequest, context: ActingContext) -> HttpResponse:
    provider = _agency(context)
    rows = requests.of_provider(provider)
    client = request.GET.get("client", "")
    if client:
        rows = rows.filter(client__key=client)
    alerts = BreachAlert.objects.filter(
        supervisor_id=context.user_id, request__provider=provider
    ).select_related("request__application", "request__client")[:20]
    return render(
        request,
        "backoffice/provider.html",
        {
            "provider": provider,
            "clients": levels.clients_of(provider),
            "client": client,
            "paged": paginate(request, rows),
            "alerts": alerts,
            "statements": Statement.objects.filter(provider=provider).select_related("client")[:24],
            "can_issue": context.role in {"supervisor", "administrator", "analyst"},
            "can_find_employee": identity_policy.decide(
                context, "backoffice.find_employee"
            ).allowed,
            "last_month": _month(None),
        },
    )


@guards.requires("backoffice.manage")
@require_POST
def issue(request: HttpRequest, context: ActingContext) -> HttpResponse:
    provider = _agency(context)
    try:
        month = _month(request.POST.get("month"))
    except Http404:
        return _refused(request, _("Give the month as year and month, like 2026-03."))
    issued = statements.issue_statements(provider, month)
    messages.success(
        request,
        ngettext(
            "%(count)d statement issued for %(month)s.",
            "%(count)d statements issued for %(month)s.",
            len(issued),
        )
        % {"count": len(issued), "month": formats.date_format(month, "YEAR_MONTH_FORMAT")},
    )
    return redirect("backoffice:provider")


@guards.requires("backoffice.manage")
@require_GET
def provider_dashboard(request: HttpRequest, context: ActingContext) -> HttpResponse:
    provider = _agency(context)
    month = _month(request.GET.get("month"))
    first = month_start(month - datetime.timedelta(days=330))  # the last twelve months
    start = statements.month_bounds(provider, first)[0]
    end = statements.month_bounds(provider, month)[1]
    clients = dashboard.by_client(provider, start, end)
    services = dashboard.by_service(provider, start, end)
    providers = dashboard.across_providers(start, end)
    recovery = dashboard.recovery_by_service(provider, start, end)
    recovery_clients = dashboard.recovery_by_client(provider, start, end)
    survey_services = dashboard.survey_by_service(provider, first, month)
    month_start_at, month_end_at = statements.month_bounds(provider, month)
    running = availability.availability(
        provider, month_start_at, min(month_end_at, max(timezone.now(), month_start_at))
    )
    survey_clients = dashboard.survey_by_client(provider, first, month)
    survey_providers = dashboard.survey_across_providers(first, month)
    charts = [
        dashboard.level_chart("by-client", _("Service levels met per client"), clients),
        dashboard.level_chart("by-service", _("Service levels met per service"), services),
        dashboard.level_chart("by-provider", _("Service levels met by each provider"), providers),
    ]
    return render(
        request,
        "backoffice/dashboard.html",
        {
            "provider": provider,
            "first": first,
            "month": month,
            "clients": clients,
            "services": services,
            "charts": charts,
            "recovery_rows": recovery,
            "recovery_tables": [
                (_("Cost recovery per service"), _("Service"), recovery, "recovery-services"),
                (
                    _("Cost recovery per client"),
                    _("Client agency"),
                    recovery_clients,
                    "recovery-clients",
                ),
            ],
            "survey_services": survey_services,
            "survey_clients": survey_clients,
            "availability": running,
            "records_outages": identity_policy.decide(
                context, "backoffice.record_outage", provider
            ).allowed,
            "survey_minimum": dashboard.SURVEY_MIN_ANSWERS,
            "survey_providers": survey_providers,
            "recovery": dashboard.total(recovery, _("All services")),
        },
    )


# --- Joint procurement ---------------------------------------------------------------------


@guards.requires("backoffice.procurement", resource=lambda pk: _procurement(pk))
@require_GET
def procurement_detail(
    request: HttpRequest, context: ActingContext, joint: JointProcurement, pk: int
) -> HttpResponse:
    return render(
        request,
        "backoffice/procurement.html",
        {
            "joint": joint,
            "participants": list(joint.participants.all()),
            "signed": procurement.fully_signed(joint),
            "mine": context.agency_key,
        },
    )


@guards.requires("backoffice.sign", resource=lambda pk: _procurement(pk))
@require_POST
def sign(request: HttpRequest, context: ActingContext, joint: JointProcurement, pk: int):
    try:
        procurement.sign(context, joint)
    except procurement.ProcurementError as error:
        return _refused(request, error.message)
    return redirect("backoffice:procurement", pk=joint.pk)


# --- A business, through its representative -------------------------------------------------


def _business(business_id: int) -> Business:
    return get_object_or_404(Business.objects.select_related("jurisdiction"), pk=business_id)


@guards.requires("backoffice.business")
@require_GET
def businesses(request: HttpRequest, context: ActingContext) -> HttpResponse:
    """The businesses the signed-in person represents (mandates in force)."""
    return render(
        request, "backoffice/businesses.html", {"mandates": business.represented(context)}
    )


@guards.requires("backoffice.business", resource=lambda business_id: _business(business_id))
@require_GET
def business_home(
    request: HttpRequest, context: ActingContext, firm: Business, business_id: int
) -> HttpResponse:
    may_apply = business.may_apply(context, firm)
    return render(
        request,
        "backoffice/business.html",
        {
            "business": firm,
            "paged": paginate(request, business.applications_of(firm)),
            "services": business.orderable() if may_apply else [],
            "may_apply": may_apply,
            "drafts": list(
                Draft.objects.filter(
                    user_id=context.user_id, applicant_business=firm, submitted=None
                ).select_related("version__service")[:20]
            )
            if may_apply
            else [],
        },
    )


@guards.requires(
    "backoffice.business_apply", resource=lambda business_id, **_: _business(business_id)
)
@require_http_methods(["GET", "POST"])
def business_order(
    request: HttpRequest, context: ActingContext, firm: Business, business_id: int, service_key
) -> HttpResponse:
    version = business.version_to_order(service_key)
    if version is None:
        return _refused(request, _("This is not a service a business orders here."), 404)
    service = version.service
    if not business.takes_short_form(version):
        first = formdefs.page_keys(version.form)[0]
        return redirect("backoffice:business-form", firm.pk, service.key, first)
    errors: list[str] = []
    values = {"details": "", "quantity": "", "needed_by": ""}
    if request.method == "POST":
        values = {name: request.POST.get(name, "").strip() for name in values}
        data: dict = {"details": values["details"]}
        if values["quantity"]:
            try:
                data["quantity"] = int(values["quantity"])
            except ValueError:
                errors.append(_("Give how many as a whole number."))
        if values["needed_by"]:
            data["needed_by"] = values["needed_by"]
        if not errors:
            try:
                made, _created = business.order(
                    context, firm, service.key, data, request.POST.get("key", "")
                )
            except SubmissionError as error:
                errors = [error.message] + [e.message for e in error.errors]
            except PolicyDenied as denied:
                return guards.denied_response(request, denied.decision)
            else:
                return redirect(
                    "backoffice:business-application", business_id=firm.pk, application_id=made.pk
                )
    return render(
        request,
        "backoffice/business_order.html",
        {"business": firm, "service": service, "values": values, "errors": errors},
        status=400 if errors else 200,
    )


def _order_in_progress(context: ActingContext, firm: Business, version, sent: bool = False):
    """The representative's saved draft of this order (delivery's `Draft`, whose applicant is
    the business), or an unsaved one: kept page after page, resumed after signing out, and
    sent with the draft's id as its idempotency key. `sent`: the last one, even if sent (so
    that sending again gives back the first application)."""
    drafts = Draft.objects.filter(
        user_id=context.user_id, applicant_business=firm, version=version
    ).order_by("-updated_at")
    if not sent:
        drafts = drafts.filter(submitted=None)
    return drafts.first() or Draft(
        user_id=context.user_id, applicant_business=firm, version=version
    )


def _full_form(service_key: str):
    """The current version of a service for businesses ordered with its full form, or 404."""
    version = business.version_to_order(service_key)
    if version is None or business.takes_short_form(version):
        raise Http404
    return version


@guards.requires(
    "backoffice.business_apply", resource=lambda business_id, **_: _business(business_id)
)
@require_http_methods(["GET", "POST"])
def business_form(
    request: HttpRequest,
    context: ActingContext,
    firm: Business,
    business_id: int,
    service_key: str,
    page: str,
) -> HttpResponse:
    """One page of a service's full form, for the business (delivery's form engine: its
    pages, checks, messages and uploads; the answers kept in the session until sent)."""
    version = _full_form(service_key)
    definition = version.form
    keys = formdefs.page_keys(definition)
    if page not in keys:
        raise Http404
    draft = _order_in_progress(context, firm, version)
    data = dict(draft.data)
    errors: list = []
    if request.method == "POST":
        data = formdefs.read_page(definition, page, request.POST, draft.data)
        errors = formdefs.read_uploads(definition, page, request.FILES, context.user_id, data)
        draft.data, draft.page = data, page
        draft.save()
        if not request.POST.get("add") and not request.POST.get("remove"):
            errors.extend(formdefs.validate_page(definition, page, data)[1])
            if not errors:
                index = keys.index(page)
                if index + 1 < len(keys):
                    return redirect(
                        "backoffice:business-form", firm.pk, service_key, keys[index + 1]
                    )
                return redirect("backoffice:business-check", firm.pk, service_key)
    return render(
        request,
        "backoffice/business_form_page.html",
        {
            "business": firm,
            "service": version.service,
            "page": formdefs.build_page(definition, page, data, errors),
            "errors": errors,
        },
        status=400 if errors else 200,
    )


@guards.requires(
    "backoffice.business_apply", resource=lambda business_id, **_: _business(business_id)
)
@require_http_methods(["GET", "POST"])
def business_check(
    request: HttpRequest, context: ActingContext, firm: Business, business_id: int, service_key
) -> HttpResponse:
    """Check the answers, then send the application for the business. Sending twice (a
    double click, a reload) replays the first: the order's idempotency key stays with it."""
    version = _full_form(service_key)
    draft = _order_in_progress(context, firm, version, sent=True)
    if draft.pk is None:  # nothing answered yet: the form's first page
        return redirect(
            "backoffice:business-form", firm.pk, service_key, formdefs.page_keys(version.form)[0]
        )
    problem = None
    if request.method == "POST":
        try:
            made, _created = business.order(
                context, firm, version.service.key, draft.data, f"draft:{draft.pk}"
            )
        except SubmissionError as error:
            problem = error
        except PolicyDenied as denied:
            return guards.denied_response(request, denied.decision)
        else:
            if draft.submitted_id is None:
                draft.submitted = made
                draft.save(update_fields=["submitted", "updated_at"])
            return redirect(
                "backoffice:business-application", business_id=firm.pk, application_id=made.pk
            )
    return render(
        request,
        "backoffice/business_check.html",
        {
            "business": firm,
            "service": version.service,
            "rows": formdefs.summary(version.form, draft.data),
            "problem": problem,
        },
        status=400 if problem else 200,
    )


@guards.requires("backoffice.business", resource=lambda business_id, **_: _business(business_id))
@require_GET
def business_application(
    request: HttpRequest, context: ActingContext, firm: Business, business_id: int, application_id
) -> HttpResponse:
    application = get_object_or_404(
        Application.objects.select_related("service", "agency", "version").defer(
            "process_state", "version__spec", "version__bpmn"
        ),
        pk=application_id,
        applicant_business=firm,
    )
    return render(
        request,
        "backoffice/business_application.html",
        {
            "business": firm,
            "application": application,
            "clock": clock.state(application),
            "timeline": application.timeline.all(),
            "answers": formdefs.summary(application.version.form, application.data),
        },
    )


# --- Availability of running services ------------------------------------------------------


@guards.requires("backoffice.record_outage")
@require_http_methods(["GET", "POST"])
def outages(request: HttpRequest, context: ActingContext) -> HttpResponse:
    """The provider's recorded outages, and the form to record one (times in its zone)."""
    provider = _agency(context)
    error, entered = "", {}
    if request.method == "POST":
        entered = {
            name: request.POST.get(name, "")
            for name in ("level", "started", "ended", "description")
        }
        try:
            availability.record_outage(
                context,
                provider,
                entered["level"],
                entered["started"],
                entered["ended"],
                entered["description"],
            )
        except availability.OutageError as problem:
            error = problem.message
        except PolicyDenied as denied:
            return guards.denied_response(request, denied.decision)
        else:
            messages.success(request, _("The outage is recorded."))
            return redirect("backoffice:outages")
    running = list(availability.levels_with_target(provider))
    return render(
        request,
        "backoffice/outages.html",
        {
            "provider": provider,
            "levels": running,
            "recent": Outage.objects.filter(level__in=running)
            .select_related("level__service", "level__agreement")
            .order_by("-started_at")[:PAGE_SIZE],
            "error": error,
            "entered": entered,
            "time_zone": levels.calendar_of(provider).time_zone,
        },
        status=400 if error else 200,
    )


# --- Employees --------------------------------------------------------------------------------


@guards.requires("backoffice.find_employee")
@require_GET
def find_employee(request: HttpRequest, context: ActingContext) -> HttpResponse:
    """Search a client agency's employee by name and see the requests that concern them."""
    agency = _agency(context)
    query = request.GET.get("q", "").strip()[:200]
    error = ""
    paged = None
    found: list[employees.Found] = []
    if query:
        if len(models_fold(query).replace(" ", "")) < employees.MIN_QUERY:
            error = _("Give at least two letters of the name.")
        else:
            paged = paginate(request, employees.search(context, agency, query))
            found = employees.read(context, list(paged.page))
    return render(
        request,
        "backoffice/employees.html",
        {
            "agency": agency,
            "query": query,
            "error": error,
            "paged": paged,
            "found": found,
            "provider": agency.kind == Agency.Kind.SHARED_SERVICES,
        },
        status=400 if error else 200,
    )
