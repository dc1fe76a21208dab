"""The delivery part of the API: applications, staff queues, work items, document checks and
the payment provider's webhooks.

Endpoints receive the acting context as `request.auth` and call the delivery modules; the
errors they raise become JSON 4xx answers, never a 500.
"""

from __future__ import annotations

import datetime
import json
import uuid
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status
from ninja.errors import HttpError
from ninja.pagination import paginate

from joinedup import prepared
from joinedup.apicontract import Pages
from joinedup.apicontract import Refusal as ErrorOut
from joinedup.federation.models import Agency
from joinedup.identity import policy
from joinedup.identity.acting import ActingContext
from joinedup.identity.api_auth import api_auth
from joinedup.identity.models import Person

from . import applications, clock, documents, queues
from .models import Application, ApplicationStatus, Document, Payment, StatusChange, WorkItem
from .payments import flows, registry
from .payments.base import WebhookRejected

router = Router(tags=["applications"])


class ApplicationIn(Schema):
    service: str = Field(description="Catalogue key, e.g. ca.birth-certificate")
    answers: dict[str, Any] = Field(description="Answers, as the service's form schema says")
    channel: str = Field("online", description="online, counter, phone, mail, video, partner")
    place: str | None = Field(None, description="Jurisdiction code; default: from the answers")
    applicant: int | None = Field(None, description="Staff at a counter: the person served")


class ClockOut(Schema):
    state: str
    label: str
    due_date: datetime.date | None = None
    days_left: int | None = None
    standard_days: int | None = None
    counted_in: str
    days_paused: int
    met_standard: bool | None = None


class StatusChangeOut(Schema):
    at: datetime.datetime
    status: str
    label: str
    reason: str


class WorkItemOut(Schema):
    id: int
    application: uuid.UUID
    reference: str
    service: str
    title: str
    role: str
    kind: str
    status: str
    decisions: list[str]
    assignee: int | None = None
    created_at: datetime.datetime
    due_date: datetime.date | None = None
    follows_rules: bool | None = Field(
        None, description="Whether the decision followed what the rules compute"
    )
    rules_departure: str = ""


class DocumentRef(Schema):
    id: uuid.UUID
    title: str
    issued_at: datetime.datetime
    verify_url: str
    revoked: bool


class PaymentOut(Schema):
    id: uuid.UUID
    amount: str
    currency: str
    status: str
    checkout_url: str


class ApplicationOut(Schema):
    id: uuid.UUID
    reference: str
    service: str
    version: int
    agency: str
    place: str
    channel: str
    status: str
    status_label: str
    submitted_at: datetime.datetime
    completed_at: datetime.datetime | None = None
    outcome_reasons: str
    clock: ClockOut
    timeline: list[StatusChangeOut]
    waiting_for_you: str | None = Field(None, description="What the applicant is asked for")
    documents: list[DocumentRef]
    payments: list[PaymentOut]


class ApplicationSummary(Schema):
    id: uuid.UUID
    reference: str
    service: str
    agency: str
    status: str
    status_label: str
    submitted_at: datetime.datetime
    due_date: datetime.date | None = None


class CompleteIn(Schema):
    decision: str
    reasons: str = ""
    message: str = Field("", description="For request_information: what the applicant is asked")
    follows_rules: bool | None = Field(
        None,
        description="Whether the decision follows what the rules compute (services some rule "
        "package grants); false needs rules_departure and rules_note",
    )
    rules_departure: str = Field(
        "", description="Why it departs: facts, discretion, rules or other"
    )
    rules_note: str = ""


class VerificationOut(Schema):
    status: str = Field(description="valid, revoked, altered or unknown")
    reason: str
    document: uuid.UUID | None = None
    title: str | None = None
    issuer: str | None = None
    issued_at: datetime.datetime | None = None
    key_id: str | None = None


def clock_out(application: Application) -> ClockOut:
    state = clock.state(application)
    return ClockOut(
        state=state.code,
        label=state.label,
        due_date=state.due_date,
        days_left=state.days_left,
        standard_days=application.standard_days,
        counted_in=application.standard_day_kind,
        days_paused=application.paused_days,
        met_standard=application.met_standard,
    )


#: An application's timeline, documents and payments for its answer, each compiled once per
#: process (`joinedup.prepared`): a submission's answer read them through the ORM, which
#: built and compiled the three queries anew at every request (a third of its Python).
_TIMELINE = prepared.Instances(
    "delivery.api.timeline",
    lambda a: StatusChange.objects.filter(application_id=a.identifier("application")),
)
_DOCUMENTS = prepared.Instances(
    "delivery.api.documents",
    lambda a: Document.objects.filter(application_id=a.identifier("application")),
)
_PAYMENTS = prepared.Instances(
    "delivery.api.payments",
    lambda a: Payment.objects.filter(application_id=a.identifier("application")),
)


def application_out(application: Application) -> ApplicationOut:
    # Only an application waiting for its applicant has an open task of theirs.
    waiting = (
        queues.applicant_task(application)
        if application.status == ApplicationStatus.WAITING
        else None
    )
    return ApplicationOut(
        id=application.pk,
        reference=application.reference,
        service=application.service.key,
        version=application.version.number,
        agency=application.agency.key,
        place=application.place.code,
        channel=application.channel,
        status=application.status,
        status_label=str(application.get_status_display()),
        submitted_at=application.submitted_at,
        completed_at=application.completed_at,
        outcome_reasons=application.outcome_reasons,
        clock=clock_out(application),
        timeline=[
            StatusChangeOut(at=c.at, status=c.to_status, label=c.to_label, reason=c.reason)
            for c in _TIMELINE.all(application=application.pk)
        ],
        waiting_for_you=(waiting.message or waiting.title) if waiting else None,
        documents=[
            DocumentRef(
                id=d.pk,
                title=d.title,
                issued_at=d.issued_at,
                verify_url=documents.verify_url(d),
                revoked=d.revoked_at is not None,
            )
            for d in _DOCUMENTS.all(application=application.pk)
        ],
        payments=[
            PaymentOut(
                id=p.pk,
                amount=str(p.amount),
                currency=p.currency,
                status=p.status,
                checkout_url=p.checkout_url,
            )
            for p in _PAYMENTS.all(application=application.pk)
        ],
    )


def _load(application_id: uuid.UUID) -> Application:
    return get_object_or_404(
        Application.objects.select_related(
            "service", "version", "agency__jurisdiction", "place"
        ).defer("process_state", "data", "version__spec", "version__bpmn", "version__form"),
        pk=application_id,
    )


@router.post(
    "/applications",
    # 404: no service with that key; 409: the idempotency key was used for other answers.
    response={
        201: ApplicationOut,
        200: ApplicationOut,
        400: ErrorOut,
        404: ErrorOut,
        409: ErrorOut,
        422: ErrorOut,
    },
    auth=api_auth("service.apply"),
)
def submit(request: HttpRequest, payload: ApplicationIn):
    """Submit an application. Send an `Idempotency-Key` header: the same key and answers
    return the first application (200) instead of making a second one (201)."""
    context: ActingContext = request.auth
    key = request.headers.get("Idempotency-Key", "")
    applicant = None
    if payload.applicant is not None:
        applicant = Person.objects.filter(pk=payload.applicant).first()
        if applicant is None:
            raise HttpError(422, _("There is no person with this registry number."))
    try:
        application, created = applications.submit_application(
            context,
            payload.service,
            payload.answers,
            payload.channel,
            key,
            place_code=payload.place,
            applicant=applicant,
        )
    except applications.SubmissionError as error:
        status = 409 if error.code == "idempotency_conflict" else 422
        if error.code in {"unknown_service", "not_available"}:
            status = 404 if error.code == "unknown_service" else 422
        body = {
            "detail": error.message,
            "code": error.code,
            "errors": [e.as_dict() for e in error.errors] or None,
        }
        return HttpResponseJSON(body, status)
    if not created:
        application = _load(application.pk)  # the first submission's, as it stands now
    return Status(201 if created else 200, application_out(application))


def HttpResponseJSON(body: dict, status: int) -> HttpResponse:
    return HttpResponse(
        json.dumps(body, ensure_ascii=False), status=status, content_type="application/json"
    )


@router.get(
    "/applications/{application_id}",
    response=ApplicationOut,
    auth=api_auth("delivery.application.view"),
)
def application_detail(request: HttpRequest, application_id: uuid.UUID):
    """One application: status, clock and due date, timeline, documents, payments."""
    application = _load(application_id)
    policy.require(request.auth, "delivery.application.view", application)
    queues.read_application(request.auth, application)  # in the applicant's ledger
    return application_out(application)


@router.get(
    "/me/applications",
    response=list[ApplicationSummary],
    auth=api_auth("delivery.applications.mine"),
)
@paginate(Pages)
def my_applications(request: HttpRequest):
    """The signed-in person's applications (or those of the person they act for)."""
    # Newest first, the key breaking ties: pages cut from one order neither repeat nor skip.
    mine = applications.visible_to(request.auth).order_by("-submitted_at", "-pk")
    return _ByPage(mine, _summary)


def _summary(a: Application) -> ApplicationSummary:
    return ApplicationSummary(
        id=a.pk,
        reference=a.reference,
        service=a.service.key,
        agency=a.agency.key,
        status=a.status,
        status_label=str(a.get_status_display()),
        submitted_at=a.submitted_at,
        due_date=a.due_date,
    )


class _ByPage:
    """A list as the paginator sees it: counted by the database, and only the page asked
    for read and turned into answers (not every row, to cut a page from them)."""

    def __init__(self, rows, out):
        self.rows, self.out = rows, out

    def __len__(self) -> int:
        return self.rows.count()

    def __getitem__(self, page: slice) -> list:
        return [self.out(row) for row in self.rows[page]]


def item_out(item: WorkItem) -> WorkItemOut:
    return WorkItemOut(
        id=item.pk,
        application=item.application_id,
        reference=item.application.reference,
        service=item.application.service.key,
        title=item.title,
        role=item.role,
        kind=item.kind,
        status=item.status,
        decisions=item.decisions,
        assignee=item.assignee_id,
        created_at=item.created_at,
        due_date=item.application.due_date,
        follows_rules=item.follows_rules,
        rules_departure=item.rules_departure,
    )


@router.get(
    "/queues/{agency}",
    response=list[WorkItemOut],
    auth=api_auth("delivery.queue.read"),
    tags=["staff"],
)
@paginate(Pages)
def queue(
    request: HttpRequest,
    agency: str,
    status: str | None = None,
    role: str | None = None,
    service: str | None = None,
):
    """The agency's open work items that the caller may work, earliest due first."""
    record = get_object_or_404(Agency, key=agency)
    if status and status not in WorkItem.Status.values:
        raise HttpError(422, _("Unknown status: %(status)s.") % {"status": status})
    items = queues.queue(request.auth, record, status=status, role=role, service=service)
    return _ByPage(items, item_out)


@router.post(
    "/work-items/{item_id}/complete",
    response={200: WorkItemOut, 409: ErrorOut, 422: ErrorOut},
    auth=api_auth("delivery.work_item.work"),
    tags=["staff"],
)
def complete(request: HttpRequest, item_id: int, payload: CompleteIn):
    """Decide a work item with reasons; the application's process goes on. An agency whose
    cases are worked in its own system reports its decisions here with its API client."""
    item = get_object_or_404(
        WorkItem.objects.select_related("agency", "application__service"), pk=item_id
    )
    if item.role == WorkItem.APPLICANT:
        raise HttpError(422, _("This task is the applicant's."))
    try:
        rules = (
            None
            if payload.follows_rules is None
            else queues.RulesRecord(
                payload.follows_rules, payload.rules_departure.strip(), payload.rules_note.strip()
            )
        )
        item = queues.complete(
            request.auth, item, payload.decision, payload.reasons, payload.message, rules
        )
    except queues.QueueError as error:
        status = 409 if error.code in {"not_open", "claimed"} else 422
        return Status(status, ErrorOut(detail=error.message, code=error.code))
    return Status(200, item_out(item))


@router.get(
    "/documents/{document_id}/verify",
    response={200: VerificationOut, 404: VerificationOut},
    auth=api_auth("public"),
    tags=["documents"],
)
def verify(request: HttpRequest, document_id: str, s: str | None = None):
    """Is this document genuine? valid, revoked or altered (no sign-in needed). A browser
    (the QR code on a document) is sent to the verification page instead."""
    if "text/html" in request.headers.get("Accept", "") and "json" not in request.GET.get(
        "format", ""
    ):
        path = reverse("delivery:verify", args=[document_id]) if _is_uuid(document_id) else None
        if path:
            return HttpResponseRedirect(f"{path}?s={s}" if s else path)
    result = documents.verify(document_id, presented_signature=s)
    document = result.document
    body = VerificationOut(
        status=result.status,
        reason=result.reason,
        document=document.pk if document else None,
        title=document.title if document else None,
        issuer=document.issuer.key if document else None,
        issued_at=document.issued_at if document else None,
        key_id=document.key_id if document else None,
    )
    return Status(404 if result.status == "unknown" else 200, body)


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


class WebhookOut(Schema):
    outcome: str


@router.post(
    "/payments/{provider}/webhook",
    response={200: WebhookOut, 400: ErrorOut, 404: ErrorOut},
    auth=api_auth("public"),
    tags=["payments"],
)
def payment_webhook(request: HttpRequest, provider: str):
    """The payment provider tells us what happened (signed; replays are applied once)."""
    if provider not in registry.known():
        return Status(404, ErrorOut(detail=_("Unknown payment provider."), code="unknown_provider"))
    try:
        outcome = flows.handle_webhook(provider, request.body, request.headers)
    except WebhookRejected as error:
        return Status(400, ErrorOut(detail=str(error), code="rejected"))
    return Status(200, WebhookOut(outcome=outcome))
