"""The registry of message kinds: what this node does with each kind of message it accepts.

Apps higher in the import order (delivery, bundles, care) register the kinds they take
(`register("bundle-leg", ..., per_service=True)`) in their `ready()`, as plugin families
already work; the exchange never imports them. Two kinds are built in, so that a node with
nothing else installed still records what arrives: `referral` (asks a service: only under
the provider's grant, grants.py) and `evidence`. A higher app may take them over with
`register(kind, handler, replace=True)`.

A handler runs in the transaction that records the message: if it raises `HandlerRefused`
nothing of the message is kept (no half-written record) and the sender is told why.

When a message carries a person's data (`body["fields"]`), the receiving agency's reading of
it is written to that person's access ledger here (the data came from another node's
agency, under the purpose and legal basis the message states), so "Who used my data" on this
node shows it like any other read. The person is found through the identifiers the sending
node asserts (`sub.identifiers`), by the blind index: in the client registry, else in the
client index's agency records linked to a person; a person merged into another is found as
the one they now are.
"""

from __future__ import annotations

import datetime
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from joinedup.clientindex import clusters
from joinedup.identity import client_registry
from joinedup.identity.models import Person
from joinedup.sharing import categories, ledger
from joinedup.sharing.models import AccessEvent, LegalBasis

from .models import PeerNode

logger = logging.getLogger(__name__)

#: The channel written in the ledger for data that arrived from another node.
CHANNEL = "exchange"


class HandlerRefused(Exception):
    """The handler does not accept this message; the message (translated) says why."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


@dataclass(frozen=True)
class Received:
    """A verified message, as a handler sees it."""

    message_id: uuid.UUID
    kind: str
    conversation: str
    purpose: str
    sender: PeerNode
    sent_at: datetime.datetime
    body: dict[str, Any]
    subject: dict[str, Any]
    #: The level of assurance of the person's identity this node accepts: the sender's
    #: assertion (`sub.level_of_assurance`), at most what the trust list says its proofing
    #: reaches; 0 when nothing was asserted. A handler that serves the person uses it as
    #: their proof, so that nobody proves who they are twice.
    assurance: int = 0


#: A handler returns what it recorded (kept, without the body, in the message log) and may
#: set the local person (`"subject_id"`).
Handler = Callable[[Received], dict[str, Any]]

_HANDLERS: dict[str, Handler] = {}
#: The kinds that ask a service of the receiver: accepted only under a grant (grants.py).
_PER_SERVICE: set[str] = set()


def register(
    kind: str, handler: Handler, *, replace: bool = False, per_service: bool = False
) -> None:
    """Let this node accept messages of `kind`, handled by `handler`. With `per_service`,
    a message of the kind must name `to_agency` and `service`, and that agency must have
    granted the sending node access to that service (grants.py)."""
    if kind in _HANDLERS and not replace:
        raise ValueError(f"a handler for {kind!r} is already registered")
    _HANDLERS[kind] = handler
    if per_service:
        _PER_SERVICE.add(kind)
    else:
        _PER_SERVICE.discard(kind)


def handler_for(kind: str) -> Handler | None:
    return _HANDLERS.get(kind)


def per_service(kind: str) -> bool:
    """Whether messages of `kind` need the provider's grant of the service they ask for."""
    return kind in _PER_SERVICE


def kinds() -> list[str]:
    return sorted(_HANDLERS)


def find_person(subject: dict[str, Any]) -> Person | None:
    """This node's record of the person the sender asserts, by one of their identifiers: in
    the registry, else through the client index (an agency's client record holding the
    identifier and linked to a person), and always as the person a merge made them."""
    identifiers = subject.get("identifiers") if isinstance(subject, dict) else None
    for kind, raw in (identifiers or {}).items():
        try:
            person = client_registry.find_by_identifier(str(kind), str(raw))
            if person is None:
                person = clusters.person_with_identifier(str(kind), str(raw))
        except (LookupError, ValueError, ValidationError):
            continue  # an identifier type this node does not know, or an invalid value
        if person is not None:
            return clusters.resolve(person)
    return None


def record_read(received: Received, person: Person, fields: list[str]) -> AccessEvent:
    """Write, in the person's ledger, the receiving agency's read of the fields that came
    from the sending agency (on another node), under the message's purpose and basis."""
    body = received.body
    basis = str(body.get("legal_basis", ""))
    if basis not in LegalBasis.values:
        basis = ""
    return ledger.append(
        subject_id=person.pk,
        actor_agency=str(body.get("to_agency", ""))[:80],
        holder_agency=str(body.get("from_agency") or received.sender.node_id)[:80],
        action=AccessEvent.Action.READ,
        categories=[c for c in (categories.category_of(f) for f in fields) if c],
        fields=fields,
        purpose=received.purpose[:80],
        legal_basis=basis,
        consent_id=str(body.get("consent_id", ""))[:36],
        outcome=AccessEvent.Outcome.DISCLOSED,
        channel=CHANNEL,
    )


def record_message(received: Received) -> dict[str, Any]:
    """The built-in handling of referrals and evidence: record it; log the person's read."""
    fields = received.body.get("fields") or {}
    if not isinstance(fields, dict):
        raise HandlerRefused("malformed", _("The fields of the message must be named values."))
    outcome: dict[str, Any] = {"recorded": True, "fields": sorted(fields)}
    if not fields:
        return outcome
    person = find_person(received.subject)
    if person is None:
        # Kept for the client index's stewards; no ledger of this node knows the person yet.
        outcome["person"] = "unknown"
        return outcome
    event = record_read(received, person, sorted(fields))
    outcome.update(subject_id=person.pk, ledger_event=event.pk)
    return outcome


# A referral asks a service of the receiving agency: only under its grant. Evidence answers
# what was asked (or is a fact the person consented to send): no grant of a service.
register("referral", record_message, per_service=True)
register("evidence", record_message)
