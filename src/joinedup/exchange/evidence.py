"""Evidence between nodes with the person's preview, as the EU's Once-Only Technical System
does: nothing about a person leaves their home node until they have seen it and agreed.

1. The requesting node (a procedure there needs evidence about the person) sends an
   `evidence-request` (`request`): the requesting and providing agencies, the data asked
   for (field keys of `sharing`), the purpose, the person as it asserts them. It keeps an
   `EvidenceRequest` (direction `out`).
2. The person's home node (the evidence provider) takes it (`receive_request`): it finds the
   person (their identifiers, `handlers.find_person`), checks the data asked are data it can
   give, and keeps an `EvidenceRequest` (direction `in`, waiting) — the field keys, never the
   values. Nothing is sent yet; a person it does not know, or data it cannot give, is
   refused with the node's signed refusal.
3. The person sees the request on their pages here (`pages.py`: who asks, why, and a preview
   of exactly what would be sent, read from this node's records) and decides:
   - agree (`release`): the values are read again, and sent only if they are still what the
     person saw (their digest); the providing agency's disclosure is written in the person's
     ledger here (legal basis: the person's consent), and an `evidence` message goes back on
     the request's conversation; the requesting node writes its agency's read in its ledger,
     and its signed receipt reports that read back here ("Who used my data").
   - refuse (`refuse`): the refusal is written in the person's ledger here, and an
     `evidence-refusal` message — signed like every message — goes back; the requesting
     node records it (and, when it knows the person, writes the refused read in its ledger).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from joinedup.federation.models import Agency
from joinedup.identity.models import Person
from joinedup.sharing import categories, ledger, presentation, purposes
from joinedup.sharing.models import AccessEvent, LegalBasis

from . import handlers, readreceipts, sending
from .models import EvidenceRequest, OutgoingMessage, PeerNode

REQUEST = "evidence-request"
EVIDENCE = "evidence"
REFUSAL = "evidence-refusal"
#: Why the provider's ledger shows a refused disclosure.
REFUSED_BY_PERSON = "refused_by_person"
MAX_FIELDS = 50


class NotWaiting(Exception):
    """The person already decided on this request."""


class Changed(Exception):
    """The evidence changed since the person saw it: show it again."""


@dataclass(frozen=True)
class Described:
    """A request in words a person reads: who asks, whom, why, and which data."""

    request: EvidenceRequest
    requester: str
    provider: str
    purpose: str
    labels: list[str]


def describe(requests: list[EvidenceRequest]) -> list[Described]:
    """The requests in the active language (agencies of other nodes named from their
    trust-list entries; one query for the local agencies, whatever the number)."""
    keys = {r.requester_agency for r in requests} | {r.provider_agency for r in requests}
    names = {a.key: a.name for a in Agency.objects.filter(key__in=keys)}
    if missing := keys - set(names):
        names.update(readreceipts.agency_names(missing))
    unnamed = _("an agency of another government")
    return [
        Described(
            r,
            names.get(r.requester_agency) or unnamed,
            names.get(r.provider_agency) or unnamed,
            purposes.name(r.purpose),
            [presentation.field_label(f) for f in r.fields],
        )
        for r in requests
    ]


# --- The requesting node --------------------------------------------------------------------


def request(
    to: PeerNode | str,
    *,
    requester_agency: str,
    provider_agency: str,
    fields: list[str],
    purpose: str,
    subject: dict[str, Any],
    subject_id: int | None = None,
) -> EvidenceRequest:
    """Ask another node for evidence about a person; the answer arrives later (or never, if
    the person does not agree)."""
    unknown = [f for f in fields if categories.field(f) is None]
    if unknown or not fields:
        raise ValueError(f"not data the platform can share: {unknown or 'nothing asked'}")
    node = sending.peer(to) if isinstance(to, str) else to
    conversation = f"evidence:{uuid.uuid4()}"
    with transaction.atomic():
        message = sending.send(
            REQUEST,
            node,
            {"from_agency": requester_agency, "to_agency": provider_agency, "fields": fields},
            purpose=purpose,
            conversation=conversation,
            subject=subject,
            subject_id=subject_id,
        )
        return EvidenceRequest.objects.create(
            direction=EvidenceRequest.Direction.OUT,
            request_id=message.message_id,
            conversation=conversation,
            peer=node,
            subject_id=subject_id,
            requester_agency=requester_agency[:80],
            provider_agency=provider_agency[:80],
            fields=list(fields),
            purpose=purpose[:80],
        )


def _asked(received: handlers.Received) -> EvidenceRequest:
    """The request this node sent that an answer names (only from the node it was sent to)."""
    try:
        request_id = uuid.UUID(str(received.body.get("request")))
    except ValueError:
        raise handlers.HandlerRefused(
            "unknown_request", _("This node did not send the request this answers.")
        ) from None
    asked = (
        EvidenceRequest.objects.select_for_update()
        .filter(
            direction=EvidenceRequest.Direction.OUT, peer=received.sender, request_id=request_id
        )
        .first()
    )
    if asked is None:
        raise handlers.HandlerRefused(
            "unknown_request", _("This node did not send the request this answers.")
        )
    if asked.status != EvidenceRequest.Status.WAITING:
        raise handlers.HandlerRefused("already_answered", _("This request was already answered."))
    return asked


def receive_evidence(received: handlers.Received) -> dict[str, Any]:
    """Evidence arriving: the answer to a request this node sent (the person agreed at home),
    or evidence sent unasked (a fact the person consented to send), recorded as before."""
    if "request" not in received.body:
        return handlers.record_message(received)
    asked = _asked(received)
    values = received.body.get("fields")
    if not isinstance(values, dict) or not set(values) <= set(asked.fields):
        raise handlers.HandlerRefused(
            "malformed", _("The evidence does not match what was asked for.")
        )
    outcome: dict[str, Any] = {"recorded": True, "fields": sorted(values), "request": asked.pk}
    if asked.subject_id is not None:
        person = Person.objects.filter(pk=asked.subject_id).first()
        if person is not None:
            event = handlers.record_read(received, person, sorted(values))
            outcome.update(subject_id=person.pk, ledger_event=event.pk)
    asked.status, asked.decided_at = EvidenceRequest.Status.RELEASED, timezone.now()
    asked.evidence = values
    asked.save(update_fields=["status", "decided_at", "evidence"])
    return outcome


def receive_refusal(received: handlers.Received) -> dict[str, Any]:
    """The person refused at home: the request is closed, and, when this node knows the
    person, the refused read is in their ledger here."""
    asked = _asked(received)
    outcome: dict[str, Any] = {"recorded": True, "request": asked.pk, "refused": True}
    if asked.subject_id is not None:
        _write_read(asked, asked.subject_id, refused=True)
        outcome["subject_id"] = asked.subject_id
    asked.status, asked.decided_at = EvidenceRequest.Status.REFUSED, timezone.now()
    asked.save(update_fields=["status", "decided_at"])
    return outcome


# --- The person's home node (the evidence provider) -------------------------------------------


def receive_request(received: handlers.Received) -> dict[str, Any]:
    """Keep a request for the person to decide on; nothing is sent yet."""
    body = received.body
    fields = body.get("fields")
    if (
        not isinstance(fields, list)
        or not fields
        or len(fields) > MAX_FIELDS
        or not all(isinstance(f, str) for f in fields)
    ):
        raise handlers.HandlerRefused("malformed", _("Say which data is needed."))
    if any(categories.field(f) is None for f in fields):
        raise handlers.HandlerRefused(
            "unknown_field", _("This node cannot give some of the data asked for.")
        )
    provider = str(body.get("to_agency") or "")
    if not Agency.objects.filter(key=provider).exists():
        raise handlers.HandlerRefused(
            "unknown_agency", _("The agency asked for the evidence is not known here.")
        )
    person = handlers.find_person(received.subject)
    if person is None:
        raise handlers.HandlerRefused(
            "unknown_person", _("This node does not know the person the evidence is about.")
        )
    kept = EvidenceRequest.objects.create(
        direction=EvidenceRequest.Direction.IN,
        request_id=received.message_id,
        conversation=received.conversation,
        peer=received.sender,
        subject_id=person.pk,
        requester_agency=str(body.get("from_agency") or received.sender.node_id)[:80],
        provider_agency=provider[:80],
        fields=sorted(set(fields)),
        purpose=received.purpose,
    )
    return {"evidence_request": kept.pk, "subject_id": person.pk}


def _categories(fields: list[str]) -> list[str]:
    return [c for c in (categories.category_of(f) for f in fields) if c]


def _write_read(asked: EvidenceRequest, subject_id: int, *, refused: bool) -> None:
    """The requesting agency's read of the person's evidence in their ledger on this node:
    disclosed on their consent, or refused by them (the same entry on either side)."""
    outcome = {"outcome": AccessEvent.Outcome.REFUSED, "reason": REFUSED_BY_PERSON}
    if not refused:
        outcome = {"outcome": AccessEvent.Outcome.DISCLOSED, "legal_basis": LegalBasis.CONSENT}
    ledger.append(
        subject_id=subject_id,
        actor_agency=asked.requester_agency,
        holder_agency=asked.provider_agency,
        action=AccessEvent.Action.READ,
        categories=_categories(asked.fields),
        fields=asked.fields,
        purpose=asked.purpose,
        channel=handlers.CHANNEL,
        **outcome,
    )


def values(asked: EvidenceRequest, person: Person) -> dict[str, Any]:
    """The evidence as it would be sent: the values this node holds, as JSON."""
    read = {f: categories.field(f).read(person) for f in asked.fields}
    return json.loads(json.dumps(read, cls=DjangoJSONEncoder))


def digest(evidence: dict[str, Any]) -> str:
    """What the person saw, in a few characters (compared when they agree)."""
    text = json.dumps(evidence, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _waiting(asked: EvidenceRequest) -> EvidenceRequest:
    locked = EvidenceRequest.objects.select_for_update().select_related("peer").get(pk=asked.pk)
    if locked.status != EvidenceRequest.Status.WAITING:
        raise NotWaiting
    return locked


def release(asked: EvidenceRequest, seen: str) -> OutgoingMessage:
    """The person agreed to send what they saw (`seen`, its digest): send it, and write the
    providing agency's disclosure in their ledger. Changed if the evidence changed since."""
    with transaction.atomic():
        locked = _waiting(asked)
        person = Person.objects.get(pk=locked.subject_id)
        evidence = values(locked, person)
        if digest(evidence) != seen:
            raise Changed
        _write_read(locked, person.pk, refused=False)
        message = sending.send(
            EVIDENCE,
            locked.peer,
            {
                "request": str(locked.request_id),
                "from_agency": locked.provider_agency,
                "to_agency": locked.requester_agency,
                "legal_basis": LegalBasis.CONSENT,
                "fields": evidence,
            },
            purpose=locked.purpose,
            conversation=locked.conversation,
            subject_id=person.pk,
        )
        locked.status, locked.decided_at = EvidenceRequest.Status.RELEASED, timezone.now()
        locked.save(update_fields=["status", "decided_at"])
        return message


def refuse(asked: EvidenceRequest) -> OutgoingMessage:
    """The person does not agree: nothing of theirs is sent; a signed refusal goes back."""
    with transaction.atomic():
        locked = _waiting(asked)
        _write_read(locked, locked.subject_id, refused=True)
        message = sending.send(
            REFUSAL,
            locked.peer,
            {
                "request": str(locked.request_id),
                "from_agency": locked.provider_agency,
                "to_agency": locked.requester_agency,
                "reason": REFUSED_BY_PERSON,
            },
            purpose=locked.purpose,
            conversation=locked.conversation,
        )
        locked.status, locked.decided_at = EvidenceRequest.Status.REFUSED, timezone.now()
        locked.save(update_fields=["status", "decided_at"])
        return message


handlers.register(REQUEST, receive_request)
handlers.register(EVIDENCE, receive_evidence, replace=True)
handlers.register(REFUSAL, receive_refusal)
