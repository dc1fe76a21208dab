"""Sending: messages go through this node's outbox and are delivered at least once.

`send(...)` seals the message for its receiver and queues it in the caller's transaction (so
a message exists if and only if the change that caused it was committed). `deliver_due()`
posts what is due: a 2xx with the receiver's valid signed receipt marks it delivered (and
writes the reads the receipt reports in the person's ledger: readreceipts.py); a
refusal (4xx) is final — a dead letter, with the receiver's reason, for operators; anything
else (the peer down, a 5xx, a timeout) is retried with exponential backoff until the
message expires or the attempts run out. Messages of one conversation go in order: a
message waits while an earlier one of its conversation is still pending; messages of
different conversations are posted several at once.
"""

from __future__ import annotations

import datetime
import logging
import queue
import random
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import requests
from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from . import envelope, readreceipts
from .models import OutgoingMessage, PeerNode

logger = logging.getLogger(__name__)

PATH = "/exchange/v1/messages"
#: Answers that mean "try again later", not "no".
RETRYABLE = {408, 425, 429}
BATCH_SIZE = 50
#: How long a deliverer waits when nothing was due: a message queued meanwhile waits that long
#: at most before it is posted (it was a second; finding nothing due is one indexed read).
IDLE_SECONDS = 0.1


class NoPeer(LookupError):
    """No node of the trust list is in force for this address."""


def peer(node_id: str) -> PeerNode:
    """The peer node `node_id`, trusted now; NoPeer otherwise."""
    node = PeerNode.objects.filter(node_id=node_id).first()
    if node is None or not node.trusted_at(timezone.now()):
        raise NoPeer(node_id)
    return node


def peer_for_jurisdiction(code: str) -> PeerNode | None:
    """The node in force that hosts the agencies of jurisdiction `code`, if any."""
    now = timezone.now()
    for node in PeerNode.objects.filter(revoked_at=None):
        if code in node.jurisdictions and node.trusted_at(now):
            return node
    return None


def node_for_agency(agency_key: str, jurisdictions: Sequence[str] = ()) -> PeerNode | None:
    """The other node in force that hosts agency `agency_key`, or None when this node hosts
    it or is alone. `jurisdictions`: the agency's jurisdiction and those above it, from the
    root down (`Jurisdiction.ancestor_codes`).

    The trust list says who hosts what: a node naming the agency in its `agencies` hosts it;
    else the node serving the nearest of those jurisdictions (a city's agency goes with its
    province's node, unless a node serves the city itself). This node's own entry counts
    too: an agency it names, or of a jurisdiction it serves first, is local."""
    if not settings.EXCHANGE_NODE_ID:
        return None
    now = timezone.now()
    nodes = [node for node in PeerNode.objects.filter(revoked_at=None) if node.trusted_at(now)]
    candidates = [[node for node in nodes if agency_key in node.hosted_agencies]]
    for code in reversed(list(jurisdictions)):
        candidates.append([node for node in nodes if code in node.jurisdictions])
    for found in candidates:
        if any(node.node_id == settings.EXCHANGE_NODE_ID for node in found):
            return None
        if found:
            return min(found, key=lambda node: node.node_id)
    return None


def send(
    kind: str,
    to: PeerNode | str,
    body: dict,
    *,
    purpose: str,
    conversation: str | None = None,
    subject: dict | None = None,
    subject_id: int | None = None,
) -> OutgoingMessage:
    """Seal a message for `to` and queue it; delivered after the commit by `deliver_due`."""
    node = peer(to) if isinstance(to, str) else to
    sealed = envelope.seal(
        kind, node, body, purpose=purpose, conversation=conversation, subject=subject
    )
    with transaction.atomic():
        return OutgoingMessage.objects.create(
            message_id=sealed.message_id,
            conversation=conversation or str(sealed.message_id),
            kind=kind,
            purpose=purpose,
            to_node=node,
            subject_id=subject_id,
            sealed=sealed.token,
            digest=sealed.digest,
            expires_at=sealed.expires_at,
        )


def backoff(attempts: int) -> datetime.timedelta:
    """Wait before attempt `attempts + 1`: doubling from the base, capped, with jitter."""
    base = settings.EXCHANGE_RETRY_BASE_SECONDS * 2 ** max(0, attempts - 1)
    seconds = min(settings.EXCHANGE_RETRY_MAX_SECONDS, base)
    return datetime.timedelta(seconds=seconds * random.uniform(0.8, 1.0))


def due(now: datetime.datetime | None = None):
    """Pending messages whose time has come and with no earlier pending one in their
    conversation, oldest first."""
    now = now or timezone.now()
    earlier = OutgoingMessage.objects.filter(
        status=OutgoingMessage.Status.PENDING,
        conversation=OuterRef("conversation"),
        id__lt=OuterRef("id"),
    )
    return (
        OutgoingMessage.objects.filter(
            status=OutgoingMessage.Status.PENDING, next_attempt_at__lte=now
        )
        .exclude(Exists(earlier))
        .order_by("id")
    )


@dataclass
class Report:
    delivered: int = 0
    retrying: int = 0
    failed: int = 0

    @property
    def attempted(self) -> int:
        return self.delivered + self.retrying + self.failed


def _post(session: requests.Session, message: OutgoingMessage) -> requests.Response:
    return session.post(
        message.to_node.base_url + PATH,
        data=message.sealed.encode(),
        headers={"Content-Type": "application/jose", "Accept": "application/json"},
        timeout=settings.EXCHANGE_TIMEOUT_SECONDS,
    )


def _detail(response: requests.Response) -> str:
    try:
        return str(response.json().get("detail", ""))[:500]
    except ValueError:
        return response.text[:200]


def _signed_refusal(response: requests.Response, message: OutgoingMessage) -> str:
    """The receiver's signed refusal of the message, kept as its receipt; "" when the answer
    carries none (the receiver could not verify who sent it) or not a valid one."""
    try:
        receipt = response.json()["receipt"]
        claims = envelope.verify_receipt(
            receipt, message.to_node, message.message_id, message.digest
        )
    except (ValueError, KeyError, TypeError):
        return ""
    return receipt if claims.get("status") == "refused" else ""


def _fail_or_retry(message: OutgoingMessage, error: str, now: datetime.datetime) -> str:
    message.last_error = error[:1000]
    if message.attempts >= settings.EXCHANGE_MAX_ATTEMPTS or message.expires_at <= now:
        message.status = OutgoingMessage.Status.FAILED
        logger.warning("exchange message %s given up: %s", message.message_id, error)
        return "failed"
    message.next_attempt_at = now + backoff(message.attempts)
    return "retrying"


def attempt(message: OutgoingMessage, session: requests.Session) -> str:
    """Post one message once and record the outcome: delivered, retrying or failed."""
    now = timezone.now()
    message.attempts += 1
    try:
        response = _post(session, message)
    except requests.RequestException as error:
        outcome = _fail_or_retry(message, f"{type(error).__name__}: {error}", now)
    else:
        if response.status_code in (200, 201):
            try:
                receipt = response.json()["receipt"]
                claims = envelope.verify_receipt(
                    receipt, message.to_node, message.message_id, message.digest
                )
            except (ValueError, KeyError, TypeError):
                outcome = _fail_or_retry(message, "the answer carries no valid receipt", now)
            else:
                message.status = OutgoingMessage.Status.DELIVERED
                message.delivered_at, message.receipt, message.last_error = now, receipt, ""
                outcome = "delivered"
        elif 400 <= response.status_code < 500 and response.status_code not in RETRYABLE:
            message.status = OutgoingMessage.Status.FAILED
            message.last_error = f"{response.status_code}: {_detail(response)}"
            message.receipt = _signed_refusal(response, message)
            outcome = "failed"
        else:
            outcome = _fail_or_retry(message, f"{response.status_code}: {_detail(response)}", now)
    with transaction.atomic():
        if outcome == "delivered":
            # The reads the receiver reports land in the person's ledger with the delivery.
            readreceipts.record(message, claims)
        message.save(
            update_fields=[
                "attempts",
                "status",
                "next_attempt_at",
                "last_error",
                "delivered_at",
                "receipt",
            ]
        )
    return outcome


def _claim(pk: int, now: datetime.datetime) -> OutgoingMessage | None:
    """Take the message for one attempt: a conditional UPDATE moves its next attempt past
    the post's timeout, so another deliverer does not take it meanwhile; no transaction is
    held open while the peer answers."""
    lease = now + datetime.timedelta(seconds=settings.EXCHANGE_TIMEOUT_SECONDS + 30)
    taken = OutgoingMessage.objects.filter(
        pk=pk, status=OutgoingMessage.Status.PENDING, next_attempt_at__lte=now
    ).update(next_attempt_at=lease)
    if not taken:
        return None
    return (
        OutgoingMessage.objects.select_related("to_node")
        .prefetch_related("to_node__keys")
        .get(pk=pk)
    )


def _deliver_one(pk: int, now: datetime.datetime, session: requests.Session) -> str | None:
    """Claim message `pk` and post it once; its outcome, or None if another deliverer has it."""
    message = _claim(pk, now)
    return attempt(message, session) if message is not None else None


_local = threading.local()


def _in_thread(pk: int, now: datetime.datetime) -> str | None:
    """`_deliver_one` in a worker thread: its own HTTP session, and its database connection
    closed when done (each thread has its own)."""
    if not hasattr(_local, "session"):
        _local.session = requests.Session()
    try:
        return _deliver_one(pk, now, _local.session)
    finally:
        connection.close()


class Posters:
    """Threads that post messages for a long-running deliverer (`run`), `size` at once.

    Each keeps its HTTP session (connections to the peers kept alive) and its database
    connection from one round to the next: a pool made for each round opened both anew for
    every message, and a PostgreSQL connection alone costs tens of milliseconds on a busy
    machine (docs/performance.md). `close()` ends the threads and closes their connections."""

    def __init__(self, size: int):
        self._tasks: queue.SimpleQueue = queue.SimpleQueue()
        self._threads = [
            threading.Thread(target=self._work, name=f"exchange-{n}", daemon=True)
            for n in range(size)
        ]
        for thread in self._threads:
            thread.start()

    def _work(self) -> None:
        session = requests.Session()
        try:
            while (task := self._tasks.get()) is not None:
                pk, now, answers = task
                try:
                    close_old_connections()  # one past its age or broken is opened again
                    answers.put((pk, _deliver_one(pk, now, session), None))
                except Exception as error:  # handed to the caller, which raises it
                    answers.put((pk, None, error))
        finally:
            connection.close()
            session.close()

    def post(self, pks: list[int], now: datetime.datetime) -> list[str | None]:
        """Claim and post each message once, several at once; their outcomes, in order."""
        answers: queue.SimpleQueue = queue.SimpleQueue()
        for pk in pks:
            self._tasks.put((pk, now, answers))
        outcomes: dict[int, str | None] = {}
        for _pk in pks:
            pk, outcome, error = answers.get()
            if error is not None:
                raise error
            outcomes[pk] = outcome
        return [outcomes[pk] for pk in pks]

    def close(self) -> None:
        for _thread in self._threads:
            self._tasks.put(None)
        for thread in self._threads:
            thread.join(timeout=settings.EXCHANGE_TIMEOUT_SECONDS + 30)


def deliver_due(
    limit: int = BATCH_SIZE,
    session: requests.Session | None = None,
    *,
    concurrency: int | None = None,
    posters: Posters | None = None,
) -> Report:
    """Attempt every due message once (up to `limit`), each claimed first so that several
    deliverers never post the same one at once.

    `due()` lists at most one message per conversation (the earliest pending), so one
    round's messages may be posted at the same time, `concurrency` at once
    (`JOINEDUP_EXCHANGE_DELIVERY_CONCURRENCY`), without breaking any conversation's order:
    the wait for one peer's answer no longer holds up the others. `posters`: the threads
    of a long-running deliverer, kept from round to round (`run`); without them, threads
    are made for the round and close their connections after each message."""
    report = Report()
    now = timezone.now()
    pks = list(due(now).values_list("pk", flat=True)[:limit])
    workers = min(concurrency or settings.EXCHANGE_DELIVERY_CONCURRENCY, len(pks))
    if workers <= 1:
        session = session or requests.Session()
        outcomes = [_deliver_one(pk, now, session) for pk in pks]
    elif posters is not None:
        outcomes = posters.post(pks, now)
    else:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="exchange") as pool:
            outcomes = list(pool.map(lambda pk: _in_thread(pk, now), pks))
    for outcome in outcomes:
        if outcome is not None:
            setattr(report, outcome, getattr(report, outcome) + 1)
    return report


def run(
    *,
    interval: float = IDLE_SECONDS,
    on_report: Callable[[Report], None] | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> None:
    """Deliver due messages until stopped; sleep `interval` seconds when nothing was due.
    The posting threads (`JOINEDUP_EXCHANGE_DELIVERY_CONCURRENCY`) live as long as the loop,
    with their HTTP sessions and database connections."""
    session = requests.Session()
    size = settings.EXCHANGE_DELIVERY_CONCURRENCY
    posters = Posters(size) if size > 1 else None
    try:
        while not should_stop():
            report = deliver_due(session=session, posters=posters)
            if on_report:
                on_report(report)
            if report.attempted == 0:
                time.sleep(interval)
    finally:
        if posters is not None:
            posters.close()
