"""Legs across nodes: a bundle's leg whose agency another government's node hosts is sent
there, and its statuses come back.

Home node (where the person submitted the bundle). When the task workers start a leg
(`starting.py`) and the trust list says another node hosts its agency (`node_for`), the leg
is not made into an application here: `send_leg` seals a `bundle-leg` message for that node
— the leg's checked answers (what the person consented to send that agency), the consent,
the service and place, and the person as this node asserts them (name, birth date,
identifiers, level of assurance) — and queues it in the leg's own transaction, through the
exchange's outbox (delivered at least once, in order per leg). The leg is then "Sent to
another government's system", named on the status page and in the API (`elsewhere`,
`elsewhere_name`). The `bundle-leg-status` messages that node sends back
(`receive_status`) keep the leg's status, reference and due date true here.

Receiving node. `receive_leg`, registered for `bundle-leg` with `per_service=True` (the
receiving agency must have granted the sending node that service: exchange/grants.py),
checks the answers against this node's own form of the service, finds the person (the
identifiers the sender asserts, else an earlier leg of the same person from the same node)
or enrols them with the assurance the trust list lets the sender's assertion carry, makes
and starts the application in the agency as a submission would, records the `ForeignLeg`,
and writes the agency's read of the person's data in their ledger here (which the signed
receipt reports back home). Each status change of that application is reported home as a
`bundle-leg-status` message on the leg's conversation (`report_status`, from the outbox).
"""

from __future__ import annotations

import datetime
import logging
import uuid
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _

from joinedup.delivery import applications, queues
from joinedup.delivery import formdefs as forms
from joinedup.delivery.models import Application, ApplicationStatus
from joinedup.exchange import handlers, sending
from joinedup.exchange.models import OutgoingMessage, PeerNode
from joinedup.federation.models import Agency, Jurisdiction, Service
from joinedup.federation.routing import RoutingError, route_for
from joinedup.identity import assurance, client_registry, identifiers
from joinedup.identity.acting import ActingContext
from joinedup.identity.models import IdentityProofing, Person

from .models import BundleLeg, ForeignLeg

logger = logging.getLogger(__name__)

LEG = "bundle-leg"
STATUS = "bundle-leg-status"
#: The person's answer, from home, to a request for information about a leg hosted elsewhere.
ANSWER = "bundle-leg-answer"
#: The longest question or answer that crosses (as delivery limits reasons and answers).
MAX_TEXT = 4000
#: The idempotency scope of an application made for another node's leg.
SCOPE = "exchange-leg"


# --- Home node: sending a leg, taking its statuses back ------------------------------------


def node_for(leg: BundleLeg) -> PeerNode | None:
    """The other node that hosts the leg's agency, or None when it is hosted here (and
    always when this deployment is alone)."""
    agency = leg.agency
    codes = agency.jurisdiction.ancestor_codes if agency.jurisdiction_id else []
    return sending.node_for_agency(agency.key, codes)


def person_reference(person_id: int) -> str:
    """This node's reference for a person, the same in every message (so that the receiver
    links a second leg to the same person) and meaningless elsewhere."""
    return salted_hmac("joinedup.bundles.crossing.person", str(person_id)).hexdigest()[:40]


def subject_of(person: Person) -> dict[str, Any]:
    """The person as this node asserts them to another node."""
    return {
        "ref": person_reference(person.pk),
        "given_names": person.given_names,
        "family_name": person.family_name,
        "birth_date": person.birth_date.isoformat() if person.birth_date else None,
        "language": person.preferred_language,
        "identifiers": {record.kind: record.value for record in person.identifiers.all()},
        "level_of_assurance": assurance.level_of(person),
    }


def leg_body(leg: BundleLeg) -> tuple[dict[str, Any], str]:
    """The `bundle-leg` message's body for the leg, and its purpose (the consent's)."""
    submission = leg.submission
    definition = submission.bundle.leg(leg.key) or {}
    consent = definition.get("consent") or {}
    purposes = list(consent.get("purposes") or [])
    body = {
        "to_agency": leg.agency.key,
        "service": leg.service.key,
        "place": leg.place.code if leg.place_id else "",
        "leg": str(leg.pk),
        "leg_key": leg.key,
        "reference": submission.reference,
        "bundle": submission.bundle.key,
        "submitted_at": submission.submitted_at.isoformat(),
        "channel": submission.channel,
        "language": submission.language,
        "fields": leg.data,
        "legal_basis": "consent",
        "consent_id": str(leg.consent_id or ""),
        "consent": {
            "purposes": purposes,
            "categories": list(consent.get("categories") or []),
        },
    }
    return body, (purposes[0] if purposes else LEG)[:80]


def send_leg(leg: BundleLeg, node: PeerNode) -> OutgoingMessage:
    """Send the leg to `node` (in the caller's transaction) and mark it sent there."""
    submission = leg.submission
    body, purpose = leg_body(leg)
    message = sending.send(
        LEG,
        node,
        body,
        purpose=purpose,
        conversation=f"{LEG}:{leg.pk}",
        subject=subject_of(submission.subject),
        subject_id=submission.subject_id,
    )
    leg.state = BundleLeg.State.ELSEWHERE
    leg.elsewhere_node = node.node_id
    leg.elsewhere_names = node.names or {}
    leg.elsewhere_message = message.message_id
    leg.started_at = timezone.now()
    leg.last_error = ""
    leg.next_attempt_at = None
    leg.save(
        update_fields=[
            "state",
            "elsewhere_node",
            "elsewhere_names",
            "elsewhere_message",
            "started_at",
            "last_error",
            "next_attempt_at",
        ]
    )
    return message


def _moment(value: Any) -> datetime.datetime | None:
    moment = parse_datetime(str(value or ""))
    return moment if moment is not None and timezone.is_aware(moment) else None


def receive_status(received: handlers.Received) -> dict[str, Any]:
    """A status of a leg this node sent, reported by the node it was sent to."""
    body = received.body
    status = body.get("status")
    try:
        leg_id, message = int(body.get("leg")), uuid.UUID(str(body.get("message")))
    except (TypeError, ValueError):
        leg_id, message = None, None
    if leg_id is None or status not in ApplicationStatus.values:
        raise handlers.HandlerRefused(
            "malformed", _("The status message names no leg or no known status.")
        )
    leg = (
        BundleLeg.objects.select_for_update(of=("self",))
        .select_related("submission")
        .filter(pk=leg_id, elsewhere_node=received.sender.node_id, elsewhere_message=message)
        .first()
    )
    if leg is None:
        raise handlers.HandlerRefused(
            "unknown_leg", _("No leg of a bundle on this node was sent to your node as this one.")
        )
    at = _moment(body.get("at")) or received.sent_at
    outcome = {
        "recorded": True,
        "leg": leg.pk,
        "status": status,
        "subject_id": leg.submission.subject_id,
    }
    if leg.elsewhere_updated_at is not None and at < leg.elsewhere_updated_at:
        # An older status overtaken by a newer one: kept in the log, not shown.
        return {**outcome, "stale": True}
    due = parse_date(str(body.get("due_date") or ""))
    leg.elsewhere_status = status
    leg.elsewhere_reference = str(body.get("reference") or "")[:40]
    leg.elsewhere_due_date = due
    leg.elsewhere_updated_at = at
    # A request for information made there: the person answers it here (answer_question).
    question = str(body.get("question") or "")[:MAX_TEXT]
    waiting = status == ApplicationStatus.WAITING and question
    leg.elsewhere_question = question if waiting else ""
    leg.elsewhere_question_id = str(body.get("question_id") or "")[:40] if waiting else ""
    leg.save(
        update_fields=[
            "elsewhere_status",
            "elsewhere_reference",
            "elsewhere_due_date",
            "elsewhere_updated_at",
            "elsewhere_question",
            "elsewhere_question_id",
        ]
    )
    return outcome


class AnswerRefused(Exception):
    """The person's answer cannot be sent (nothing asked, or no answer written)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


def answer_question(leg: BundleLeg, answer: str) -> OutgoingMessage:
    """The person answers, on their home node, the request for information the node that
    hosts the leg made: the answer is sent there, signed, on the leg's conversation; the
    question is closed here (the next status from there says the application goes on)."""
    answer = (answer or "").strip()
    if not answer:
        raise AnswerRefused("answer", _("Write your answer."))
    if len(answer) > MAX_TEXT:
        raise AnswerRefused(
            "too_long", _("Answers are limited to %(n)s characters.") % {"n": MAX_TEXT}
        )
    with transaction.atomic():
        locked = (
            BundleLeg.objects.select_for_update(of=("self",))
            .select_related("submission")
            .get(pk=leg.pk)
        )
        if not (locked.elsewhere and locked.elsewhere_question):
            raise AnswerRefused("not_open", _("Nothing is waiting for your answer."))
        sent = OutgoingMessage.objects.filter(message_id=locked.elsewhere_message).first()
        message = sending.send(
            ANSWER,
            locked.elsewhere_node,
            {
                "leg": str(locked.pk),
                "message": str(locked.elsewhere_message),
                "question_id": locked.elsewhere_question_id,
                "answer": answer,
            },
            purpose=sent.purpose if sent else "service-delivery",
            conversation=f"{LEG}:{locked.pk}",
            subject_id=locked.submission.subject_id,
        )
        locked.elsewhere_question, locked.elsewhere_question_id = "", ""
        locked.save(update_fields=["elsewhere_question", "elsewhere_question_id"])
    return message


# --- Receiving node: a leg from another node becomes an application here -------------------


def _refuse(code: str, message: str) -> handlers.HandlerRefused:
    return handlers.HandlerRefused(code, message)


def _person(received: handlers.Received) -> Person:
    """The person the sender asserts: found here, or enrolled with what it asserts."""
    subject = received.subject
    person = handlers.find_person(subject)
    ref = str(subject.get("ref") or "")[:80]
    if person is None and ref:
        earlier = (
            ForeignLeg.objects.filter(from_node=received.sender, home_person=ref)
            .select_related("subject")
            .first()
        )
        person = earlier.subject if earlier is not None else None
    if person is None:
        known_kinds = {kind.key for kind in identifiers.all_types()}
        born = parse_date(str(subject.get("birth_date") or ""))
        language = subject.get("language")
        try:
            person = client_registry.register_person(
                given_names=str(subject.get("given_names") or ""),
                family_name=str(subject.get("family_name") or ""),
                birth_date=born,
                preferred_language=language if language in Person.Language.values else "en",
                # Kinds this node does not know are left out, not refused.
                identifier_values={
                    str(k): str(v)
                    for k, v in (subject.get("identifiers") or {}).items()
                    if str(k) in known_kinds
                },
            )
        except (ValidationError, KeyError, LookupError):
            raise _refuse(
                "unknown_person",
                _("The person cannot be found or enrolled on this node from what was sent."),
            ) from None
    # The sender's proof of identity, as far as the trust list lets it reach, so that the
    # person does not prove who they are again (a remote check at most: in person needs
    # an office of this node).
    level = min(received.assurance, IdentityProofing.METHOD_LEVELS["trusted_credential"])
    if level >= 2 and assurance.level_of(person) < level:
        assurance.record_proofing(
            person,
            level=level,
            method=IdentityProofing.Method.TRUSTED_CREDENTIAL,
            provider=received.sender.node_id[:64],
        )
    return person


def receive_leg(received: handlers.Received) -> dict[str, Any]:
    """Make the application of a leg another node sent (see the module's description)."""
    body = received.body
    fields = body.get("fields")
    if not isinstance(fields, dict) or not body.get("leg"):
        raise _refuse("malformed", _("The leg carries no answers or no leg id."))
    home_leg = str(body["leg"])[:40]
    if ForeignLeg.objects.filter(from_node=received.sender, home_leg=home_leg).exists():
        raise _refuse("duplicate_leg", _("This leg was already received from your node."))
    agency = Agency.objects.filter(key=str(body.get("to_agency") or "")).first()
    service = Service.objects.filter(key=str(body.get("service") or "")).first()
    version = applications.current_version(service) if service is not None else None
    if agency is None or service is None or version is None:
        raise _refuse("unknown_service", _("This node does not deliver this service."))
    place = Jurisdiction.objects.filter(code=str(body.get("place") or "")).first()
    if place is None:
        raise _refuse("unknown_place", _("The place of the leg is not known on this node."))
    try:
        offering = route_for(service, place, explain=False).offering
    except RoutingError:
        offering = None
    if offering is None or offering.agency_id != agency.pk:
        raise _refuse(
            "not_competent", _("The agency named is not the one that delivers it for this place.")
        )
    cleaned, errors = forms.validate(version.form, fields)
    if errors:
        raise _refuse(
            "invalid",
            _("The answers do not fit this node's form: %(fields)s.")
            % {"fields": ", ".join(sorted({e.path or "?" for e in errors}))},
        )
    person = _person(received)
    context = ActingContext(person_id=person.pk, subject_id=person.pk, assurance=received.assurance)
    submitted_at = _moment(body.get("submitted_at")) or received.sent_at
    language = str(body.get("language") or "en")[:8]
    version.service = service
    application = applications.received(
        context,
        version,
        person,
        cleaned,
        str(body.get("channel") or "online")[:16],
        place,
        offering,
        submitted_at=submitted_at,
        language=language,
        scope=SCOPE,
        key=f"{received.sender.node_id}:{home_leg}"[:200],
    )
    application.agency = agency
    applications.start(application, context)
    ForeignLeg.objects.create(
        from_node=received.sender,
        message_id=received.message_id,
        conversation=received.conversation,
        purpose=received.purpose,
        home_leg=home_leg,
        home_reference=str(body.get("reference") or "")[:20],
        home_person=str(received.subject.get("ref") or "")[:80],
        application=application,
        subject=person,
    )
    event = handlers.record_read(received, person, sorted(fields))
    return {
        "recorded": True,
        "application": str(application.pk),
        "reference": application.reference,
        "subject_id": person.pk,
        "ledger_event": event.pk,
    }


def report_status(application_id: str, at: datetime.datetime | None = None) -> bool:
    """Report the application's status to the node its leg came from, if it came from
    another node and the status (or due date) changed since the last report; in the
    caller's transaction. Whether a report was queued."""
    if not settings.EXCHANGE_NODE_ID or not application_id:
        return False
    with transaction.atomic():
        foreign = (
            ForeignLeg.objects.select_for_update(of=("self",))
            .select_related("from_node")
            .filter(application_id=application_id)
            .first()
        )
        if foreign is None:
            return False
        application = Application.objects.only("status", "reference", "due_date").get(
            pk=application_id
        )
        if (application.status, application.due_date) == (
            foreign.last_status,
            foreign.last_due_date,
        ):
            return False
        body = {
            "leg": foreign.home_leg,
            "message": str(foreign.message_id),
            "status": application.status,
            "reference": application.reference,
            "due_date": application.due_date.isoformat() if application.due_date else None,
            "at": (at or timezone.now()).isoformat(),
        }
        if application.status == ApplicationStatus.WAITING:
            # A request for information: the person answers it on their home node.
            asked = queues.applicant_task(application, "information")
            if asked is not None:
                body["question"] = (asked.message or asked.title)[:MAX_TEXT]
                body["question_id"] = str(asked.pk)
        sending.send(
            STATUS,
            foreign.from_node,
            body,
            purpose=foreign.purpose,
            conversation=foreign.conversation,
        )
        foreign.last_status, foreign.last_due_date = application.status, application.due_date
        foreign.save(update_fields=["last_status", "last_due_date"])
    return True


def receive_answer(received: handlers.Received) -> dict[str, Any]:
    """The person's answer, sent from their home node, to the request for information of an
    application made here for a leg of theirs: the application goes on as if they had
    answered here (the home node's signature stands for them, as it did for the leg)."""
    body = received.body
    try:
        message = uuid.UUID(str(body.get("message")))
    except ValueError:
        raise _refuse("malformed", _("The answer names no leg.")) from None
    foreign = (
        ForeignLeg.objects.select_related("application")
        .filter(from_node=received.sender, message_id=message)
        .first()
    )
    if foreign is None:
        raise _refuse("unknown_leg", _("No leg from your node is known here as this one."))
    asked = queues.applicant_task(foreign.application, "information")
    if asked is None or str(asked.pk) != str(body.get("question_id") or ""):
        raise _refuse("not_open", _("Nothing is waiting for your answer."))
    try:
        queues.respond(None, foreign.application, str(body.get("answer") or "")[:MAX_TEXT])
    except queues.QueueError as error:
        raise _refuse(error.code, error.message) from None
    return {
        "recorded": True,
        "application": str(foreign.application_id),
        "answered": asked.pk,
        "subject_id": foreign.subject_id,
    }


# A leg asks a service of the receiving agency: only under that agency's grant to the sender.
handlers.register(LEG, receive_leg, per_service=True, replace=True)
handlers.register(STATUS, receive_status, replace=True)
handlers.register(ANSWER, receive_answer, replace=True)
