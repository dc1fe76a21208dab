"""What the delivery app does when its own events are delivered from the outbox: tell the
applicant (notifications), and honour money-back guarantees on breaches.

Running these as outbox subscribers, not inline, means a submission never waits for an
e-mail server, and a crash between the change and the message loses nothing.
"""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse
from django.utils import formats, translation

from joinedup.exchange import evidence, receiving
from joinedup.exchange.models import EvidenceRequest
from joinedup.federation.localization import pick
from joinedup.identity.models import Person
from joinedup.sharing.subscribers import Event, subscriber

from . import guarantees
from .models import Application, ApplicationStatus, Document, Payment
from .notifications import sending
from .party import applicant_name as party_name


def status_url(application: Application, language: str) -> str:
    with translation.override(language):
        path = reverse("delivery:application", args=[application.pk])
    return settings.PUBLIC_URL.rstrip("/") + path


def variables(application: Application, language: str, **extra) -> dict:
    with translation.override(language):
        due = (
            formats.date_format(application.due_date, "DATE_FORMAT") if application.due_date else ""
        )
        submitted = formats.date_format(application.submitted_at, "DATE_FORMAT")
        status = str(ApplicationStatus(application.status).label)
    person = application.applicant
    values = {
        "name": (person.preferred_name or person.given_names)
        if person
        else party_name(application),
        "reference": application.reference,
        "service": pick(application.service.names, language),
        "agency": pick(application.agency.names, language),
        "status": status,
        "reasons": application.outcome_reasons,
        "due_date": due,
        "submitted_on": submitted,
        "status_url": status_url(application, language),
    }
    values.update(extra)
    return values


def _application(event: Event) -> Application | None:
    return (
        Application.objects.select_related("applicant", "service", "agency", "version")
        .filter(pk=event.data.get("application"))
        .first()
    )


def told_by_owner(application: Application, name: str) -> bool:
    """Whether the service's version says the applicant is not told of this event by delivery
    (`"notifications": {"submitted": false}` in its file): the app that owns the service
    tells them in its own words, once, as engagement does for a complaint whose parts are
    several applications."""
    configured = application.version.notifications if application.version_id else None
    return isinstance(configured, dict) and configured.get(name) is False


def _notify(event: Event, name: str, application: Application | None, **extra) -> None:
    if application is None or application.applicant_id is None:
        # An organisation's request: its staff follow it in the back-office portal and the
        # provider's reactions (backoffice) tell its contact address.
        return
    if told_by_owner(application, name):
        return
    language = application.applicant.preferred_language or application.language
    sending.notify(
        application.applicant,
        name,
        event.id,
        variables(application, language, **extra),
        application,
    )


@subscriber("org.joinedup.application.submitted", name="delivery.notify-submitted")
def notify_submitted(event: Event) -> None:
    _notify(event, "submitted", _application(event))


@subscriber("org.joinedup.application.paused", name="delivery.notify-paused")
def notify_paused(event: Event) -> None:
    application = _application(event)
    if application is None:
        return
    item = (
        application.work_items.filter(role="applicant", status="open")
        .order_by("-created_at")
        .first()
    )
    if item is not None and item.kind == "payment":
        return  # the payment request says it
    _notify(event, "paused", application, message=item.message if item else "")


@subscriber("org.joinedup.application.*", name="delivery.notify-decided")
def notify_decided(event: Event) -> None:
    if event.type.rsplit(".", 1)[-1] not in {"approved", "refused", "referred"}:
        return
    _notify(event, "decided", _application(event))


@subscriber("org.joinedup.document.issued", name="delivery.notify-document")
def notify_document(event: Event) -> None:
    document = Document.objects.filter(pk=event.data.get("document")).first()
    if document is None:
        return
    _notify(event, "document_ready", _application(event), document=document.title)


@subscriber("org.joinedup.payment.requested", name="delivery.notify-payment")
def notify_payment(event: Event) -> None:
    _notify(
        event,
        "payment_requested",
        _application(event),
        amount=event.data.get("amount"),
        currency=event.data.get("currency"),
    )


@subscriber("org.joinedup.payment.refunded", name="delivery.notify-refund")
def notify_refund(event: Event) -> None:
    _notify(
        event,
        "refunded",
        _application(event),
        amount=event.data.get("amount"),
        currency=event.data.get("currency"),
        reason=event.data.get("reason", ""),
    )


@subscriber("org.joinedup.application.breached", name="delivery.guarantee-on-breach")
def refund_on_breach(event: Event) -> None:
    application = _application(event)
    if (
        application is not None
        and application.payments.filter(status=Payment.Status.SUCCEEDED).exists()
    ):
        guarantees.on_missed_standard(application)


@subscriber(receiving.EVENT_RECEIVED, name="delivery.notify-evidence-requested")
def notify_evidence_requested(event: Event) -> None:
    """Another government asks this node for evidence about a person: nothing leaves until
    they agree on their pages here, so they are told a request waits (once per request)."""
    if event.data.get("kind") != evidence.REQUEST:
        return
    asked = EvidenceRequest.objects.filter(
        direction=EvidenceRequest.Direction.IN,
        request_id=event.data.get("message_id"),
        status=EvidenceRequest.Status.WAITING,
    ).first()
    person = Person.objects.filter(pk=asked.subject_id).first() if asked else None
    if person is None:
        return
    language = person.preferred_language if person.preferred_language in ("en", "fr") else "en"
    with translation.override(language):
        (described,) = evidence.describe([asked])
        path = reverse("exchange-pages:evidence-request", args=[asked.pk])
        variables = {
            "name": person.preferred_name or person.given_names,
            "requester": described.requester,
            "provider": described.provider,
            "purpose": described.purpose,
            "data": ", ".join(described.labels),
            "status_url": settings.PUBLIC_URL.rstrip("/") + path,
        }
    sending.notify(person, "evidence_requested", f"evidence-request:{asked.pk}", variables)
