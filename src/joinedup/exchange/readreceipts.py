"""Read receipts: a read of a person's data made on this node because another node sent it
is reported back, inside this node's signed receipt, to the node the data came from, which
writes it in the person's ledger there. So "Who used my data" on a person's home node lists
the reads made on other governments' nodes too, each marked as such.

Receiver: `reads_of(outcome)` turns the ledger events a handler wrote (`outcome
["ledger_event"]`) into the receipt's `reads` claim: the reading agency (key and names), the
holder, the data categories and fields, the purpose and basis, when, and the hash of the
receiver's own ledger row (so an auditor can find it there). It is computed once, when the
message is accepted, and kept with the message: a second copy is acknowledged with the same
reads, and the home node records them once (a delivered message is not posted again).

Sender: `record(message, claims)` writes each read of a verified receipt in the ledger of
the message's person (`subject_id`), on the channel `ledger.REMOTE_CHANNEL`, in the
transaction that marks the message delivered. The reads are believed as far as the
receipt's signature goes: the receiver says what its own staff did, about the person the
message was about — it cannot write about anyone else. Malformed reads are skipped and
logged, never half-written.
"""

from __future__ import annotations

import logging
from typing import Any

from joinedup.federation.localization import pick
from joinedup.federation.models import Agency
from joinedup.sharing import ledger
from joinedup.sharing.models import AccessEvent, LegalBasis

from .models import OutgoingMessage, RemoteAgency

logger = logging.getLogger(__name__)

#: The most reads one receipt may report (a message is about one person and one use).
MAX_READS = 20


def _event_ids(outcome: dict[str, Any]) -> list[int]:
    found = outcome.get("ledger_event")
    values = found if isinstance(found, list) else [found]
    return [v for v in values if isinstance(v, int)]


def reads_of(outcome: dict[str, Any]) -> list[dict[str, Any]]:
    """The reads this node's handler recorded for a message, as the receipt reports them."""
    ids = _event_ids(outcome)[:MAX_READS]
    if not ids:
        return []
    events = list(
        AccessEvent.objects.filter(pk__in=ids, action=AccessEvent.Action.READ).order_by("pk")
    )
    names = {
        a.key: a.names
        for a in Agency.objects.filter(key__in={e.actor_agency for e in events if e.actor_agency})
    }
    return [
        {
            "agency": e.actor_agency,
            "names": names.get(e.actor_agency, {}),
            "holder": e.holder_agency,
            "categories": list(e.categories),
            "fields": list(e.fields),
            "purpose": e.purpose,
            "basis": e.legal_basis,
            "at": int(e.occurred_at.timestamp()),
            "event": e.hash,
        }
        for e in events
    ]


def _strings(value: Any, limit: int) -> list[str] | None:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return None
    return [v[:80] for v in value[:limit]]


def _checked(read: Any) -> dict[str, Any] | None:
    """The read's values if they have the shape `reads_of` gives them; None otherwise."""
    if not isinstance(read, dict):
        return None
    agency, purpose, at = read.get("agency"), read.get("purpose"), read.get("at")
    categories, fields = _strings(read.get("categories"), 50), _strings(read.get("fields"), 200)
    names = read.get("names") or {}
    if (
        not isinstance(agency, str)
        or not agency
        or not isinstance(purpose, str)
        or not isinstance(at, int)
        or categories is None
        or fields is None
        or not isinstance(names, dict)
    ):
        return None
    basis = read.get("basis")
    return {
        "agency": agency[:80],
        "names": {str(k)[:8]: str(v)[:300] for k, v in names.items() if isinstance(v, str)},
        "holder": str(read.get("holder") or "")[:80],
        "categories": categories,
        "fields": fields,
        "purpose": purpose[:80],
        "basis": basis if basis in LegalBasis.values else "",
    }


def record(message: OutgoingMessage, claims: dict[str, Any]) -> int:
    """Write the reads a verified receipt reports in the ledger of the message's person; the
    number written. Call it in the transaction that marks the message delivered."""
    reads = claims.get("reads") or []
    if not isinstance(reads, list) or message.subject_id is None:
        return 0
    written = 0
    for raw in reads[:MAX_READS]:
        read = _checked(raw)
        if read is None:
            logger.warning("a read in the receipt of %s is malformed: skipped", message.message_id)
            continue
        if read["names"]:
            RemoteAgency.objects.update_or_create(
                node=message.to_node, key=read["agency"], defaults={"names": read["names"]}
            )
        ledger.append(
            subject_id=message.subject_id,
            actor_agency=read["agency"],
            holder_agency=read["holder"],
            action=AccessEvent.Action.READ,
            categories=read["categories"],
            fields=read["fields"],
            purpose=read["purpose"],
            legal_basis=read["basis"],
            outcome=AccessEvent.Outcome.DISCLOSED,
            channel=ledger.REMOTE_CHANNEL,
        )
        written += 1
    return written


def agency_names(keys: set[str]) -> dict[str, str]:
    """Names, in the reader's language, of other nodes' agencies (for "Who used my data")."""
    return {a.key: pick(a.names) for a in RemoteAgency.objects.filter(key__in=keys)}
