"""Receiving: a sealed message from another node is opened, checked, recorded once, handed
to the handler of its kind, and acknowledged with this node's signed receipt (which reports
the reads of the person's data the message caused here: readreceipts.py).

Idempotent by message id: the same signed message arriving again (the sender retrying after
a lost answer) is acknowledged again and not handled twice; a different message under an id
already used (a replay of an id with other content) is refused. Every refusal is logged
with its reason, the claimed sender and the digest — never the body.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from joinedup.sharing import outbox

from . import envelope, grants, handlers, readreceipts
from .models import IncomingMessage, PeerNode, RefusedMessage

EVENT_RECEIVED = "org.joinedup.exchange.message.received"


@dataclass(frozen=True)
class Acknowledged:
    message_id: str
    status: str  # "accepted" or "duplicate"
    receipt: str
    outcome: dict


def _log_refusal(token: str, refused: envelope.Refused, remote_address: str | None) -> None:
    RefusedMessage.objects.create(
        reason=refused.code,
        claimed_sender=refused.sender,
        claimed_message_id=refused.jti,
        digest=hashlib.sha256(token.encode(errors="replace")).hexdigest(),
        remote_address=remote_address or None,
    )


def _refuse(opened: envelope.Opened, code: str, status: int, message: str) -> envelope.Refused:
    return envelope.Refused(
        code,
        status,
        message,
        sender=opened.sender.node_id,
        jti=str(opened.claims["jti"]),
        opened=opened,
    )


def _duplicate(opened: envelope.Opened, sign: bool = True) -> Acknowledged:
    existing = IncomingMessage.objects.get(message_id=opened.message_id)
    if existing.digest != opened.digest or existing.from_node_id != opened.sender.pk:
        raise _refuse(
            opened, "replay", 409, _("A different message was already received under this id.")
        )
    reads = existing.outcome.get("reads") or []
    receipt = envelope.sign_receipt(opened, "duplicate", reads=reads) if sign else ""
    return Acknowledged(str(opened.message_id), "duplicate", receipt, existing.outcome)


def accepted_assurance(subject: dict, sender: PeerNode) -> int:
    """The level of assurance taken from the sender's assertion about the person: what it
    asserts, capped at what the trust list says the sender's proofing reaches."""
    asserted = subject.get("level_of_assurance")
    if not isinstance(asserted, int) or isinstance(asserted, bool) or asserted < 1:
        return 0
    return min(asserted, sender.max_assurance)


def _accept(opened: envelope.Opened, sign: bool = True) -> Acknowledged:
    claims = opened.claims
    handler = handlers.handler_for(str(claims["kind"]))
    if handler is None:
        raise _refuse(
            opened, "unknown_kind", 422, _("This node does not take messages of this kind.")
        )
    body, subject = claims.get("body"), claims.get("sub") or {}
    if not isinstance(body, dict) or not isinstance(subject, dict):
        raise _refuse(opened, "malformed", 400, _("The message's content is malformed."))
    if handlers.per_service(str(claims["kind"])) and not grants.granted(
        opened.sender, str(body.get("to_agency") or ""), str(body.get("service") or "")
    ):
        # A copy of a message taken while the grant was in force (its answer lost, the grant
        # revoked since) is acknowledged as the duplicate it is, not refused.
        if _recorded(opened):
            return _duplicate(opened, sign)
        raise _refuse(
            opened,
            "not_granted",
            403,
            _("The receiving agency has not granted your node access to this service."),
        )
    received = handlers.Received(
        message_id=opened.message_id,
        kind=str(claims["kind"]),
        conversation=str(claims["cid"])[:100],
        purpose=str(claims["purpose"])[:80],
        sender=opened.sender,
        sent_at=opened.sent_at,
        body=body,
        subject=subject,
        assurance=accepted_assurance(subject, opened.sender),
    )
    # The message is recorded first: the unique message id makes a second copy fail at this
    # INSERT (or wait there for the first copy's transaction, then fail), so a copy never
    # reaches the handler and the log is not read before every message. The handler's
    # outcome is written after it ran, in the same transaction.
    try:
        with transaction.atomic():
            record = IncomingMessage.objects.create(
                message_id=received.message_id,
                conversation=received.conversation,
                kind=received.kind[:60],
                purpose=received.purpose,
                from_node=opened.sender,
                assurance=received.assurance,
                digest=opened.digest,
                sent_at=received.sent_at,
                outcome={},
            )
            try:
                outcome = handler(received)
            except handlers.HandlerRefused as refused:
                refusal = refused
                raise _Undone from None
            reads = readreceipts.reads_of(outcome)
            if reads:
                outcome = {**outcome, "reads": reads}
            subject_id = outcome.get("subject_id")
            IncomingMessage.objects.filter(pk=record.pk).update(
                outcome=outcome, subject_id=subject_id
            )
            outbox.emit(
                EVENT_RECEIVED,
                source=f"/exchange/{settings.EXCHANGE_NODE_ID}",
                subject=str(received.message_id),
                data={
                    "message_id": str(received.message_id),
                    "kind": received.kind,
                    "conversation": received.conversation,
                    "from_node": opened.sender.node_id,
                    "subject_id": subject_id,
                },
            )
    except _Undone:
        raise _refuse(opened, refusal.code, 422, refusal.message) from None
    except IntegrityError:
        # The same id was recorded before, or at the same moment by another request.
        if _recorded(opened):
            return _duplicate(opened, sign)
        raise
    receipt = envelope.sign_receipt(opened, "accepted", reads=outcome.get("reads")) if sign else ""
    return Acknowledged(str(received.message_id), "accepted", receipt, outcome)


class _Undone(Exception):
    """Raised inside the message's transaction to undo what the handler wrote."""


def _recorded(opened: envelope.Opened) -> bool:
    return IncomingMessage.objects.filter(message_id=opened.message_id).exists()


def receive(token: str, *, remote_address: str | None = None) -> Acknowledged:
    """Open, check and record one message; envelope.Refused (logged) if it is not accepted."""
    try:
        if not settings.EXCHANGE_NODE_ID:
            raise envelope.Refused(
                "exchange_off", 404, _("This deployment does not exchange with other nodes.")
            )
        return _accept(envelope.open_envelope(token))
    except envelope.Refused as refused:
        _log_refusal(token, refused, remote_address)
        raise


def receive_plain(text: str) -> Acknowledged:
    """The benchmark's reference (docs/exchange.md, Performance): the same message's claims
    posted as plain JSON, neither signed nor encrypted, taken through the same application
    work — the sender looked up, the handler run, the message recorded once with its
    outcome, the outbox event — and answered without a signed receipt. It exists only when
    `settings.BENCH_FLOOR` is on (never in production): anyone could post as any node."""
    if not settings.BENCH_FLOOR:
        raise envelope.Refused(
            "exchange_off", 404, _("This deployment does not exchange with other nodes.")
        )
    try:
        claims = json.loads(text)
        sender = PeerNode.objects.filter(node_id=str(claims["iss"])).first()
        uuid.UUID(str(claims["jti"]))
        if any(claim not in claims for claim in ("kind", "cid", "purpose", "iat")):
            raise KeyError("a claim is missing")
    except (ValueError, KeyError, TypeError):
        raise envelope.Refused("malformed", 400, _("The message's content is malformed.")) from None
    if sender is None:
        raise envelope.Refused("unknown_node", 403, _("The message's content is malformed."))
    digest = hashlib.sha256(text.encode()).hexdigest()
    return _accept(envelope.Opened(claims, sender, digest), sign=False)
