"""Delivery pages: the application form (one renderer for every service, with drafts), the
status page with its due date, the applicant's answers, document downloads, the sandbox
checkout, document verification, and the staff queue, work item and supervisor pages.

Views stay thin: they ask the policy (declared with the decorators), read the form, and call
the delivery modules.
"""

from __future__ import annotations

from decimal import Decimal

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import formats, timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from joinedup.federation.models import Agency, Service
from joinedup.identity import guards
from joinedup.identity import policy as identity_policy
from joinedup.identity.acting import ActingContext
from joinedup.identity.models import Person
from joinedup.identity.policy import PolicyDenied

from . import applications, clock, decision_support, documents, formdefs, panels, queues
from .models import (
    Application,
    ApplicationStatus,
    Document,
    Draft,
    Payment,
    SandboxIntent,
    WorkItem,
)
from .payments.contrib.sandbox import SandboxProvider


def _service(key: str) -> Service:
    return get_object_or_404(Service, key=key)


def _application(application_id, **_kwargs) -> Application:
    return get_object_or_404(
        Application.objects.select_related(
            "service", "version", "agency__jurisdiction", "place"
        ).defer("process_state", "version__spec", "version__bpmn"),
        pk=application_id,
    )


# --- Applying ---------------------------------------------------------------------------


@guards.requires("service.apply", lambda key: _service(key))
def apply_start(request: HttpRequest, context: ActingContext, service: Service, key: str):
    """Start (or resume) a draft of the current version of the service."""
    version = applications.current_version(service)
    if version is None:
        return render(
            request,
            "delivery/message.html",
            {
                "title": service.name,
                "message": _("This service does not take applications online yet."),
            },
            status=404,
        )
    draft = Draft.objects.filter(
        user_id=context.user_id, applicant_id=context.subject_id, version=version, submitted=None
    ).first()
    if draft is None:
        draft = Draft.objects.create(
            user_id=context.user_id, applicant_id=context.subject_id, version=version
        )
    page = draft.page or formdefs.page_keys(version.form)[0]
    return redirect("delivery:draft-page", draft.pk, page)


def _draft(context: ActingContext, draft_id) -> Draft:
    draft = (
        Draft.objects.select_related("version__service")
        .defer("version__spec", "version__bpmn")
        .filter(pk=draft_id, user_id=context.user_id, submitted=None, applicant__isnull=False)
        .first()
    )
    if draft is None:  # (a business's draft is the back office's, never a person's page)
        raise Http404
    return draft


def _store_uploads(
    request: HttpRequest, draft: Draft, page_key: str, data: dict
) -> list[formdefs.FieldError]:
    """Check and keep the files posted on this page (size and type), recording their ids."""
    return formdefs.read_uploads(draft.version.form, page_key, request.FILES, draft.user_id, data)


@guards.requires("service.apply")
@require_http_methods(["GET", "POST"])
def draft_page(request: HttpRequest, context: ActingContext, draft_id, page: str | None = None):
    draft = _draft(context, draft_id)
    definition = draft.version.form
    keys = formdefs.page_keys(definition)
    page = page if page in keys else keys[0]
    errors: list[formdefs.FieldError] = []
    data = dict(draft.data)
    if request.method == "POST":
        data = formdefs.read_page(definition, page, request.POST, draft.data)
        errors = _store_uploads(request, draft, page, data)
        draft.data = data
        draft.page = page
        draft.save(update_fields=["data", "page", "updated_at"])
        if "save" in request.POST:
            messages.success(
                request, _("Your answers are saved. Come back to them from “My applications”.")
            )
            return redirect("delivery:my-applications")
        if not request.POST.get("add") and not request.POST.get("remove"):
            _cleaned, page_errors = formdefs.validate_page(definition, page, data)
            errors.extend(page_errors)
            if not errors:
                index = keys.index(page)
                if index + 1 < len(keys):
                    return redirect("delivery:draft-page", draft.pk, keys[index + 1])
                return redirect("delivery:draft-check", draft.pk)
    model = formdefs.build_page(definition, page, data, errors)
    return render(
        request,
        "delivery/form_page.html",
        {"draft": draft, "page": model, "errors": errors, "service": draft.version.service},
        status=400 if errors else 200,
    )


@guards.requires("service.apply")
@require_http_methods(["GET", "POST"])
def draft_check(request: HttpRequest, context: ActingContext, draft_id):
    """Check your answers, then submit (idempotent: the draft's id is the key)."""
    draft = _draft(context, draft_id)
    definition = draft.version.form
    problem = None
    if request.method == "POST":
        try:
            application, _created = applications.submit_application(
                context,
                draft.version.service.key,
                draft.data,
                "online",
                f"draft:{draft.pk}",
                version=draft.version,
            )
        except applications.SubmissionError as error:
            problem = error
        else:
            draft.submitted = application
            draft.save(update_fields=["submitted", "updated_at"])
            return redirect("delivery:application", application.pk)
    return render(
        request,
        "delivery/check_answers.html",
        {
            "draft": draft,
            "rows": formdefs.summary(definition, draft.data),
            "problem": problem,
            "service": draft.version.service,
        },
        status=400 if problem else 200,
    )


# --- The applicant's view -----------------------------------------------------------------


@guards.requires("delivery.applications.mine")
def my_applications(request: HttpRequest, context: ActingContext):
    return render(
        request,
        "delivery/my_applications.html",
        {
            "applications": applications.visible_to(context)[:200],
            "drafts": Draft.objects.filter(
                user_id=context.user_id, submitted=None, applicant__isnull=False
            ).select_related("version__service")[:50],
        },
    )


@guards.requires("delivery.application.view", _application)
def application_status(
    request: HttpRequest, context: ActingContext, application: Application, application_id
):
    queues.read_application(context, application)  # staff's or a mandate holder's read
    return _status_page(request, context, application)


def _status_page(
    request: HttpRequest,
    context: ActingContext,
    application: Application,
    problem: str = "",
    answer: str = "",
    status: int = 200,
) -> HttpResponse:
    is_applicant = context.person_id is not None and not context.role
    waiting = None
    if is_applicant and application.status == ApplicationStatus.WAITING:
        waiting = queues.applicant_task(application)
        if waiting is not None:
            waiting.application = application
            queues.name_tasks([waiting])  # the step named in the applicant's language
    return render(
        request,
        "delivery/application.html",
        {
            "application": application,
            "clock": clock.state(application),
            "timeline": application.timeline.all(),
            "waiting": waiting,
            "payment": application.payments.filter(status__in=["pending", "failed"]).first(),
            "documents": application.documents.all(),
            "is_applicant": is_applicant,
            "problem": problem,
            "answer": answer,
        },
        status=status,
    )


@guards.requires("delivery.application.respond", _application)
@require_http_methods(["POST"])
def respond(request: HttpRequest, context: ActingContext, application: Application, application_id):
    """The applicant's answer to a request for information. An answer that cannot be taken
    (empty, too long, nothing waiting) gets the status page back with the reason (4xx)."""
    answer = request.POST.get("answer", "")
    try:
        queues.respond(context, application, answer)
    except queues.QueueError as error:
        status = 409 if error.code == "not_open" else 400
        return _status_page(request, context, application, error.message, answer, status)
    messages.success(request, _("Thank you: your answer was sent and the clock runs again."))
    return redirect("delivery:application", application.pk)


@guards.requires("delivery.application.view", _application)
def document_pdf(
    request: HttpRequest,
    context: ActingContext,
    application: Application,
    application_id,
    document_id,
):
    document = get_object_or_404(Document, pk=document_id, application=application)
    queues.read_application(context, application)  # staff's or a mandate holder's read
    response = HttpResponse(documents.pdf_for(document), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{document.template}-{document.pk}.pdf"'
    return response


def _application_paid_by(intent_id: str, **_kwargs) -> Application:
    payment = get_object_or_404(Payment.objects.select_related("application"), intent_id=intent_id)
    return _application(payment.application_id)


@guards.requires("delivery.application.respond", _application_paid_by)
@require_http_methods(["GET", "POST"])
def sandbox_checkout(
    request: HttpRequest, context: ActingContext, application: Application, intent_id: str
):
    """The sandbox processor's own checkout page (a real processor hosts its own). It names
    an application's fee and reference, so only the applicant (or someone with a mandate to
    apply for them) opens it and pays."""
    intent = get_object_or_404(SandboxIntent, pk=intent_id)
    queues.read_application(context, application)  # a mandate holder's read is recorded
    result = None
    if request.method == "POST":
        intent = SandboxProvider().pay(intent.pk, request.POST.get("card", ""))
        result = intent.status
    return render(
        request,
        "delivery/sandbox_checkout.html",
        {
            "intent": intent,
            "application": application,
            # Money by the reader's locale, from whole cents (never a float): "25.00 CAD".
            "amount": formats.number_format(
                Decimal(intent.amount) / 100, 2, use_l10n=True, force_grouping=True
            ),
            "result": result,
        },
    )


@guards.public
@require_http_methods(["GET", "POST"])
def verify_document(request: HttpRequest, document_id):
    pdf = None
    if request.method == "POST" and request.FILES.get("file"):
        pdf = request.FILES["file"].read(20_000_000)
    result = documents.verify(
        document_id, presented_signature=request.GET.get("s") or None, pdf=pdf
    )
    return render(
        request,
        "delivery/verify.html",
        {"result": result, "document": result.document},
        status=404 if result.status == "unknown" else 200,
    )


# --- Staff --------------------------------------------------------------------------------


def _agency(context: ActingContext) -> Agency:
    if not context.agency_key:
        raise PermissionDenied
    return get_object_or_404(Agency, key=context.agency_key)


@guards.requires("delivery.queue.read")
def queue_page(request: HttpRequest, context: ActingContext):
    agency = _agency(context)
    status = request.GET.get("status") or None
    if status and status not in WorkItem.Status.values:
        status = None
    items = queues.queue(
        context,
        agency,
        status=status,
        service=request.GET.get("service") or None,
        mine=request.GET.get("mine") == "1",
    )[:200]
    return render(
        request,
        "delivery/queue.html",
        {
            "agency": agency,
            "items": [(i, clock.state(i.application)) for i in queues.name_tasks(items)],
            "statuses": WorkItem.Status.choices,
            "status": status,
        },
    )


def _item(item_id, **_kwargs) -> WorkItem:
    return get_object_or_404(
        WorkItem.objects.select_related(
            "agency",
            "application__service",
            "application__version",
            "application__agency__jurisdiction",
            "application__place",
        ),
        pk=item_id,
    )


@guards.requires("delivery.work_item.work", _item)
@require_http_methods(["GET", "POST"])
def work_item_page(request: HttpRequest, context: ActingContext, item: WorkItem, item_id):
    application = item.application
    problem = None
    panel_problem: tuple[str, str] | None = None
    if request.method == "POST":
        try:
            action = request.POST.get("action")
            if action == "claim":
                queues.claim(context, item)
            elif action == "release":
                queues.release(context, item)
            elif action == "reassign":
                try:
                    membership_id = int(request.POST.get("membership", ""))
                except ValueError:
                    raise queues.QueueError(
                        "not_assignable", _("Choose someone of the agency who works this task.")
                    ) from None
                queues.reassign(context, item, membership_id)
                messages.success(request, _("The task is reassigned."))
            elif action == "escalate":
                queues.escalate(context, item)
                messages.success(request, _("The task now waits for a supervisor."))
            elif action == "panel":
                panel = panels.find(request.POST.get("panel", ""))
                if panel is None:
                    raise Http404
                messages.success(request, panel.post(request, context, item))
            else:
                queues.complete(
                    context,
                    item,
                    request.POST.get("decision", ""),
                    request.POST.get("reasons", ""),
                    request.POST.get("message", ""),
                    _rules_record(request, application),
                )
                messages.success(request, _("The decision is recorded."))
                return redirect("delivery:queue")
            return redirect("delivery:work-item", item.pk)
        except queues.QueueError as error:
            problem = error.message
        except panels.PanelError as error:
            panel_problem = (request.POST.get("panel", ""), error.message)
        except PolicyDenied as denied:
            return guards.denied_response(request, denied.decision)
    queues.name_tasks([item])
    applicant, refusal = queues.applicant_facts(context, application)
    supervising = identity_policy.decide(context, "delivery.supervise", item.agency).allowed
    support = _decision_support(application)
    return render(
        request,
        "delivery/work_item.html",
        {
            "item": item,
            "application": application,
            "answers": queues.answers_in_words(application),
            "decisions": queues.decisions_in_words(item),
            "applicant": applicant,
            "refusal": refusal,
            "clock": clock.state(application),
            "history": queues.history(application),
            "problem": problem,
            "entered": request.POST if problem else {},
            "supervising": supervising,
            "assignable": queues.assignable_staff(item) if supervising and item.is_open else [],
            "support": support,
            "departures": WorkItem.RulesDeparture.choices,
            "decided_as": queues.decision_label(item) if item.decision else "",
            "rules_record": queues.rules_record_in_words(item),
            "panels": panels.render(request, context, item, panel_problem),
        },
        status=400 if problem or panel_problem else 200,
    )


def _rules_record(request: HttpRequest, application) -> queues.RulesRecord | None:
    """Whether the decision follows what the rules compute, as the form says it: asked
    only when the page shows what the rules compute (a service some rule package grants)."""
    support = _decision_support(application)
    if support is None:
        return None
    per_month = Decimal(str(support.per_month)) if support.known else None
    return queues.RulesRecord.from_form(
        request.POST.get("follows_rules", ""),
        request.POST.get("rules_departure", ""),
        request.POST.get("rules_note", ""),
        per_month,
    )


def _decision_support(application) -> decision_support.Support | None:
    """What the rules compute from the application's answers, for the month it came in."""
    submitted = application.submitted_at
    if submitted is None or application.place_id is None:
        return None
    return decision_support.support_for(
        application.service.key,
        application.place.code,
        application.data,
        timezone.localtime(submitted).strftime("%Y-%m"),
        (get_language() or "en")[:2],
    )


@guards.requires("delivery.supervise")
def supervisor_page(request: HttpRequest, context: ActingContext):
    agency = _agency(context)
    return render(
        request,
        "delivery/supervisor.html",
        {"agency": agency, "groups": queues.supervisor_view(context, agency)},
    )


def person_name(person: Person) -> str:
    return person.full_name
