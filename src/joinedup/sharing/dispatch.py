"""The outbox dispatcher: delivers each event at least once to every subscriber and webhook.

A dispatcher claims a batch of due events for a short lease (`SELECT … FOR UPDATE SKIP
LOCKED` on PostgreSQL, so several workers share the work; SQLite serialises writers anyway)
and decides their targets in the same transaction. Then it delivers target by target: an
internal subscriber gets the batch's events in order, several handlers to a transaction
(each in its own savepoint, with the record of its success), so one commit serves many
events; a webhook gets one request per event. Finally the events are settled together.

Every target has its own delivery record: one that succeeded is never run again, one that
failed is retried with exponential backoff and jitter, and after
`JOINEDUP_OUTBOX_MAX_ATTEMPTS` it is given up (dead letter) and shown in the admin, where it
can be retried. If a dispatcher dies mid-way, its lease runs out and the next dispatcher
takes the events over; handlers that were interrupted had their transaction rolled back and
run again.

Dispatchers start at once after a commit that emitted events: a dispatch task is enqueued
(with the database task backend, inside the emitting transaction, so it costs no commit of
its own), and on PostgreSQL the commit also wakes the `joinedup dispatch-outbox --loop`
processes waiting on `LISTEN`. Polling (that loop's interval, the periodic tasks) is the
fallback for what a wake-up missed and for retries.
"""

from __future__ import annotations

import json
import logging
import os
import random
import socket
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import timedelta
from uuid import UUID

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, close_old_connections, connections, router, transaction
from django.db.models import F, Min, Q
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone
from django.utils.crypto import get_random_string
from django_tasks import task
from django_tasks_db import DatabaseBackend
from django_tasks_db.models import DBTaskResult

from . import subscribers, webhooks
from .models import Delivery, DispatchWakeup, OutboxEvent, WebhookEndpoint

logger = logging.getLogger(__name__)

BATCH_SIZE = 100
#: A subscriber's handlers share a transaction for at most this many events or seconds: one
#: commit (a disk flush) for many fast handlers, while a slow handler still commits alone.
GROUP_SIZE = 50
GROUP_SECONDS = 0.1
#: The PostgreSQL channel on which commits that emitted events wake the dispatchers.
CHANNEL = "joinedup_outbox"
SUBSCRIBER = "subscriber:"
WEBHOOK = "webhook:"
WAITING = (Delivery.Status.PENDING, Delivery.Status.FAILED)


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{get_random_string(6)}"


def backoff(attempt: int) -> timedelta:
    """The wait before attempt `attempt + 1`: doubling from the base, capped, with jitter."""
    base = settings.OUTBOX_RETRY_BASE_SECONDS
    ceiling = min(settings.OUTBOX_RETRY_MAX_SECONDS, base * 2 ** max(0, attempt - 1))
    return timedelta(seconds=ceiling * random.uniform(0.5, 1.0))


def due(now=None):
    """Pending events that are due and not claimed by a live dispatcher."""
    now = now or timezone.now()
    return OutboxEvent.objects.filter(
        Q(locked_until__isnull=True) | Q(locked_until__lt=now),
        status=OutboxEvent.Status.PENDING,
        next_attempt_at__lte=now,
    )


def _claim_in_transaction(worker_id: str, limit: int) -> list[OutboxEvent]:
    """Inside the caller's transaction: lock up to `limit` due events, oldest first, lease
    them to this worker and decide the targets of those seen for the first time."""
    now = timezone.now()
    events = list(
        due(now).order_by("next_attempt_at", "time").select_for_update(skip_locked=True)[:limit]
    )
    if events:
        new = [(event.pk, event.type) for event in events if not event.targets_resolved]
        locked_until = now + timedelta(seconds=settings.OUTBOX_LEASE_SECONDS)
        OutboxEvent.objects.filter(pk__in=[event.pk for event in events]).update(
            locked_until=locked_until, locked_by=worker_id, targets_resolved=True
        )
        for event in events:
            event.locked_until, event.locked_by = locked_until, worker_id
        if new:
            _resolve_targets(new)
    return events


def claim(worker_id: str, limit: int = BATCH_SIZE) -> list[UUID]:
    """Take a lease on up to `limit` due events, oldest first, and decide the targets of
    those seen for the first time; returns their ids in the order to deliver them."""
    with transaction.atomic():
        return [event.pk for event in _claim_in_transaction(worker_id, limit)]


def _resolve_targets(events: list[tuple[UUID, str]]) -> None:
    """Decide once, at the first attempt, who receives each event: one delivery record per
    target, in one statement for the whole batch."""
    hooks = list(WebhookEndpoint.objects.filter(active=True))
    records = []
    for event_id, event_type in events:
        for sub in subscribers.for_type(event_type):
            records.append(Delivery(event_id=event_id, target=SUBSCRIBER + sub.name))
        for hook in hooks:
            if hook.wants(event_type):
                records.append(
                    Delivery(event_id=event_id, target=f"{WEBHOOK}{hook.pk}", webhook=hook)
                )
    Delivery.objects.bulk_create(records, ignore_conflicts=True)


def _record_failure(delivery: Delivery, attempts_before: int, error: str) -> None:
    attempts = attempts_before + 1
    dead = attempts >= settings.OUTBOX_MAX_ATTEMPTS
    Delivery.objects.filter(pk=delivery.pk).update(
        attempts=attempts,
        last_attempt_at=timezone.now(),
        last_error=error[:2000],
        status=Delivery.Status.DEAD if dead else Delivery.Status.FAILED,
    )
    log = logger.error if dead else logger.warning
    log(
        "delivery of %s to %s failed (attempt %s): %s",
        delivery.event_id,
        delivery.target,
        attempts,
        error,
    )


def _mark_delivered(pks: list[int]) -> None:
    if pks:
        now = timezone.now()
        Delivery.objects.filter(pk__in=pks).update(
            status=Delivery.Status.DELIVERED,
            attempts=F("attempts") + 1,
            last_attempt_at=now,
            delivered_at=now,
            last_error="",
        )


class _Batch:
    """The claimed events of one round and their deliveries still waiting, target by
    target (internal subscribers first, then webhooks), each target's events in order."""

    def __init__(self, events: list[OutboxEvent], worker_id: str) -> None:
        """Load the waiting deliveries, locked until the end of the current transaction (in
        which the first group runs without locking them again)."""
        self.events, self.worker_id = events, worker_id
        self.ids = [event.pk for event in events]
        self.envelopes = {event.pk: event.envelope() for event in events}
        self.renewed = time.monotonic()
        self.locked = True
        order = {event_id: n for n, event_id in enumerate(self.ids)}
        by_target: dict[str, list[Delivery]] = defaultdict(list)
        waiting = Delivery.objects.filter(event_id__in=self.ids, status__in=WAITING)
        for delivery in waiting.select_related("webhook").select_for_update(of=("self",)):
            by_target[delivery.target].append(delivery)
        self.subscriber_work: list[tuple[str, list[Delivery]]] = []
        self.webhook_work: list[Delivery] = []
        for target in sorted(by_target):
            deliveries = sorted(by_target[target], key=lambda d: order[d.event_id])
            if target.startswith(SUBSCRIBER):
                self.subscriber_work.append((target, deliveries))
            else:
                self.webhook_work.extend(deliveries)

    @property
    def subscribers_done(self) -> bool:
        return not self.subscriber_work

    @property
    def done(self) -> bool:
        return not self.subscriber_work and not self.webhook_work

    def keep_lease(self) -> None:
        """Renew the lease once a third of it has passed, so that a slow target does not
        hand the events over to another dispatcher while this one is still working."""
        seconds = settings.OUTBOX_LEASE_SECONDS
        if time.monotonic() - self.renewed < seconds / 3:
            return
        OutboxEvent.objects.filter(pk__in=self.ids, locked_by=self.worker_id).update(
            locked_until=timezone.now() + timedelta(seconds=seconds)
        )
        self.renewed = time.monotonic()

    def run_subscriber_group(self) -> None:
        """In the current transaction, run the next subscriber's handler on its next events:
        at most GROUP_SIZE of them, and no more once GROUP_SECONDS have passed.

        Each handler runs in a savepoint: one that raises has its writes undone and its
        failure recorded, and the others still commit with the record of their success. The
        group's delivery records are locked first, so one that another dispatcher finished
        meanwhile (after this one's lease ran out) is skipped.
        """
        target, remaining = self.subscriber_work[0]
        name = target.removeprefix(SUBSCRIBER)
        sub = subscribers.get(name)
        if sub is None:
            for delivery in remaining:
                _record_failure(
                    delivery, delivery.attempts, f"no subscriber named {name} is registered"
                )
            remaining.clear()
        group = remaining[:GROUP_SIZE]
        if self.locked:  # loaded and locked in this very transaction
            current = {d.pk: (d.status, d.attempts) for d in group}
        else:
            current = {
                pk: (status, attempts)
                for pk, status, attempts in Delivery.objects.select_for_update()
                .filter(pk__in=[d.pk for d in group])
                .values_list("pk", "status", "attempts")
            }
        delivered: list[int] = []
        started = time.monotonic()
        for n, delivery in enumerate(group):
            if n and time.monotonic() - started >= GROUP_SECONDS:
                break
            remaining.pop(0)
            status, attempts = current.get(delivery.pk, (None, 0))
            if status not in WAITING:
                continue
            try:
                with transaction.atomic():
                    sub.handler(subscribers.Event.from_envelope(self.envelopes[delivery.event_id]))
            except Exception as exc:
                _record_failure(delivery, attempts, f"{type(exc).__name__}: {exc}")
            else:
                delivered.append(delivery.pk)
        _mark_delivered(delivered)
        if not remaining:
            self.subscriber_work.pop(0)

    def run_webhooks(self) -> None:
        """One request per event and endpoint, each recorded as it ends (no transaction is
        held open while a partner's server answers)."""
        while self.webhook_work:
            self.keep_lease()
            delivery = self.webhook_work.pop(0)
            _deliver_to_webhook(delivery, self.envelopes[delivery.event_id])

    def settle(self) -> dict[UUID, str]:
        """Give each event its status from its deliveries (in the current transaction)."""
        statuses: dict[UUID, set[str]] = {event_id: set() for event_id in self.ids}
        errors: dict[UUID, list[str]] = defaultdict(list)
        for event_id, status, target, error in Delivery.objects.filter(
            event_id__in=self.ids
        ).values_list("event_id", "status", "target", "last_error"):
            statuses[event_id].add(status)
            if error:
                errors[event_id].append(f"{target}: {error}")
        now = timezone.now()
        result: dict[UUID, str] = {}
        delivered, dead = [], []
        mine = OutboxEvent.objects.filter(locked_by=self.worker_id)
        released = {"locked_until": None, "locked_by": ""}
        for event in self.events:
            found = statuses[event.pk]
            if found <= {Delivery.Status.DELIVERED}:
                delivered.append(event.pk)
                result[event.pk] = OutboxEvent.Status.DELIVERED
            elif found & set(WAITING):
                attempts = event.attempts + 1
                mine.filter(pk=event.pk).update(
                    attempts=attempts,
                    next_attempt_at=now + backoff(attempts),
                    last_error="\n".join(errors[event.pk])[:2000],
                    **released,
                )
                result[event.pk] = OutboxEvent.Status.PENDING
            else:
                dead.append(event.pk)
                result[event.pk] = OutboxEvent.Status.DEAD
        if delivered:
            mine.filter(pk__in=delivered).update(
                status=OutboxEvent.Status.DELIVERED, delivered_at=now, last_error="", **released
            )
        if dead:
            mine.filter(pk__in=dead).update(status=OutboxEvent.Status.DEAD, **released)
        return result


def _deliver_to_webhook(delivery: Delivery, envelope: dict) -> None:
    if delivery.webhook is None or not delivery.webhook.active:
        _record_failure(
            delivery, delivery.attempts, "the webhook endpoint was removed or switched off"
        )
        return
    body = json.dumps(envelope, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    ok, error = webhooks.post(delivery, body, envelope["id"])
    if ok:
        _mark_delivered([delivery.pk])
    else:
        _record_failure(delivery, delivery.attempts, error)


def dispatch_round(worker_id: str, limit: int = BATCH_SIZE) -> dict[UUID, str]:
    """Claim up to `limit` due events and deliver them; returns each claimed event's status
    (empty when nothing was due).

    The claim, the first group of subscriber deliveries and, when that was all, the
    settling of the events share one transaction: a round of a few events with fast
    handlers costs one commit, and a crash in it undoes it whole (the events are free
    again at once). Longer work commits the claim with a lease and goes on group by group.
    """
    with transaction.atomic():
        batch = _Batch(_claim_in_transaction(worker_id, limit), worker_id)
        if not batch.ids:
            return {}
        if not batch.subscribers_done:
            batch.run_subscriber_group()
        if batch.done:
            return batch.settle()
    batch.locked = False
    while not batch.subscribers_done:
        batch.keep_lease()
        with transaction.atomic():
            batch.run_subscriber_group()
    batch.run_webhooks()
    with transaction.atomic():
        return batch.settle()


@dataclass
class DispatchReport:
    events: int = 0
    delivered: int = 0
    retrying: int = 0
    dead: int = 0


def dispatch_pending(
    *, worker_id: str | None = None, max_seconds: float | None = None, limit: int = BATCH_SIZE
) -> DispatchReport:
    """Claim and deliver due events until none is left (or the time budget is spent).

    A round that claimed fewer than `limit` events took all that were due: what is
    committed after it comes with its own wake-up (and dispatch task).
    """
    worker_id = worker_id or new_worker_id()
    report = DispatchReport()
    started = time.monotonic()
    while True:
        statuses = dispatch_round(worker_id, limit)
        for status in statuses.values():
            report.events += 1
            if status == OutboxEvent.Status.DELIVERED:
                report.delivered += 1
            elif status == OutboxEvent.Status.DEAD:
                report.dead += 1
            else:
                report.retrying += 1
        if len(statuses) < limit:
            break
        if max_seconds is not None and time.monotonic() - started > max_seconds:
            break
    return report


def next_due_at():
    """When the earliest pending event becomes due (its retry time or its lease's end)."""
    return OutboxEvent.objects.filter(status=OutboxEvent.Status.PENDING).aggregate(
        at=Min(Greatest("next_attempt_at", Coalesce("locked_until", "next_attempt_at")))
    )["at"]


def schedule_wakeup() -> None:
    """Make sure one dispatch task is scheduled for the next retry, and only one."""
    if not dispatch_outbox.get_backend().supports_defer:
        return
    at = next_due_at()
    if at is None:
        return
    now = timezone.now()
    at = max(at, now)
    with transaction.atomic():
        row, _created = DispatchWakeup.objects.select_for_update().get_or_create(pk=1)
        if row.next_run_at is not None and now <= row.next_run_at <= at:
            return
        row.next_run_at = at
        row.save(update_fields=["next_run_at"])
        transaction.on_commit(lambda: dispatch_outbox.using(run_after=at).enqueue())


@task()
def dispatch_outbox() -> dict:
    """The background task: deliver what is due, then schedule the next retry."""
    report = dispatch_pending(max_seconds=settings.OUTBOX_TASK_SECONDS)
    schedule_wakeup()
    return asdict(report)


def notify(using: str = DEFAULT_DB_ALIAS) -> None:
    """Wake the dispatchers waiting in `wait_for_events` (PostgreSQL; elsewhere they poll).

    Called after the commit, in a transaction of its own that does not wait for the disk: a
    wake-up is a hint, and a NOTIFY inside the emitting transaction would make every such
    transaction commit one after the other (PostgreSQL serialises committing notifiers).
    """
    connection = connections[using]
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        if connection.in_atomic_block:
            cursor.execute("SELECT pg_notify(%s, '')", [CHANNEL])
        else:
            # One round trip; the channel is our constant, not input.
            cursor.execute(f"BEGIN; SET LOCAL synchronous_commit TO OFF; NOTIFY {CHANNEL}; COMMIT")


def queue_shares_database(using: str = DEFAULT_DB_ALIAS) -> bool:
    """Whether dispatch tasks are rows in this same database (the database task backend)."""
    backend = dispatch_outbox.get_backend()
    return isinstance(backend, DatabaseBackend) and router.db_for_write(DBTaskResult) == using


def enqueue_with_the_commit(using: str = DEFAULT_DB_ALIAS) -> bool:
    """Enqueue a dispatch task inside the current transaction when the task queue is in the
    same database: the task row commits with the events (or not at all), with no commit of
    its own. False when the queue is elsewhere: then `kick` enqueues after the commit."""
    if not (connections[using].in_atomic_block and queue_shares_database(using)):
        return False
    dispatch_outbox.enqueue()
    return True


def kick(using: str = DEFAULT_DB_ALIAS, *, enqueue: bool = True) -> None:
    """Ask for a dispatch now (after a commit): wake the waiting dispatchers and, unless it
    was enqueued with the commit, enqueue a dispatch task for the workers. Neither may fail
    the caller: its commit happened, and the periodic tasks pick the events up anyway."""
    try:
        notify(using)
    except Exception:
        logger.exception("could not wake the outbox dispatchers; they will poll")
    if not enqueue:
        return
    try:
        dispatch_outbox.enqueue()
    except Exception:
        logger.exception("could not enqueue the outbox dispatcher; the scheduler will retry")


def retry(deliveries: Iterable[Delivery]) -> int:
    """Send failed or dead deliveries again now (the admin's "retry" action)."""
    count = 0
    with transaction.atomic():
        for delivery in deliveries:
            if delivery.status == Delivery.Status.DELIVERED:
                continue
            Delivery.objects.filter(pk=delivery.pk).update(
                status=Delivery.Status.PENDING, attempts=0, last_error=""
            )
            OutboxEvent.objects.filter(pk=delivery.event_id).update(
                status=OutboxEvent.Status.PENDING,
                next_attempt_at=timezone.now(),
                locked_until=None,
                locked_by="",
            )
            count += 1
        if count:
            transaction.on_commit(kick)
    return count


class _Listener:
    """A connection of its own that LISTENs on the outbox channel (PostgreSQL)."""

    def __init__(self, using: str) -> None:
        wrapper = connections[using]
        self.connection = wrapper.get_new_connection(wrapper.get_connection_params())
        self.connection.autocommit = True
        self.connection.execute(f"LISTEN {CHANNEL}")

    def wait(self, seconds: float) -> bool:
        """Block until a commit wakes us or `seconds` pass; True when woken. Wake-ups that
        arrived meanwhile are all consumed: one dispatch round serves them all."""
        woken = any(True for _ in self.connection.notifies(timeout=seconds, stop_after=1))
        if woken:
            for _ in self.connection.notifies(timeout=0):
                pass
        return woken

    def close(self) -> None:
        self.connection.close()


@contextmanager
def wait_for_events(using: str = DEFAULT_DB_ALIAS) -> Iterator[Callable[[float], bool]]:
    """`with wait_for_events() as wait: … wait(seconds)`: sleep until events may be due.

    On PostgreSQL `wait` returns as soon as a commit that emitted events wakes it (listening
    starts on entering, so nothing committed after that is missed); elsewhere it sleeps.
    """
    if connections[using].vendor != "postgresql":
        yield lambda seconds: bool(time.sleep(seconds))
        return
    listener = _Listener(using)
    try:
        yield listener.wait
    finally:
        listener.close()


def run_dispatcher(
    *,
    poll_seconds: float = 1.0,
    stop: threading.Event | None = None,
    on_report: Callable[[DispatchReport], None] | None = None,
) -> None:
    """Dispatch until `stop` is set: at once after each commit that emitted events
    (PostgreSQL), otherwise every `poll_seconds`, and when a retry falls due.

    An error (the database restarting, say) is logged and the loop goes on after a pause:
    the leases of what was claimed run out and the events are taken up again.
    """
    worker_id = new_worker_id()
    with wait_for_events() as wait:
        while stop is None or not stop.is_set():
            close_old_connections()
            try:
                report = dispatch_pending(worker_id=worker_id)
                # Retries it just scheduled may fall due before the next poll.
                at = next_due_at() if report.retrying else None
            except Exception:
                logger.exception("the outbox dispatcher failed; trying again shortly")
                time.sleep(poll_seconds)
                continue
            if on_report is not None:
                on_report(report)
            seconds = poll_seconds
            if at is not None:
                seconds = min(poll_seconds, (at - timezone.now()).total_seconds())
            wait(max(0.01, seconds))
