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

Dispatchers start at once after a commit that emitted events: a dispatch task waits for a
worker (with the database task backend, written inside the emitting transaction, so it costs
no commit of its own, and only when none is waiting already: `enqueue_with_the_commit`),
and on PostgreSQL the commit also wakes the `joinedup dispatch-outbox --loop` processes
waiting on `LISTEN` (through the process's waker thread, one wake-up for the commits of a
burst: `notify`). Polling (that loop's interval, the periodic tasks) is the fallback for
what a wake-up or a task missed and for retries.
"""

from __future__ import annotations

import contextlib
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
from django_tasks import TaskResultStatus, task
from django_tasks_db import DatabaseBackend
from django_tasks_db.models import DBTaskResult, get_date_max

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

    Called after the commit. The wake-up is not sent by the caller: the process's waker
    (`_Waker`) sends it from a thread of its own, on a connection of its own, at once when it
    is idle; the commits that come while it sends, or within `WAKE_GAP_SECONDS` after, share
    the next wake-up, which is always sent after them. So a busy process sends a few dozen
    wake-ups a second whatever its rate of commits, and no request waits for one. A wake-up
    is a hint (a dispatcher also polls), and a NOTIFY inside the emitting transaction would
    make every such transaction commit one after the other (PostgreSQL serialises committing
    notifiers). Inside a transaction (a caller that wants it with its commit) it is sent in
    that transaction.
    """
    connection = connections[using]
    if connection.vendor != "postgresql":
        return
    if connection.in_atomic_block:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_notify(%s, '')", [CHANNEL])
        return
    _waker(using).wake(connection)


#: After a wake-up, the waker waits this long before the next: the commits of a busy process
#: share one, at most this late.
WAKE_GAP_SECONDS = 0.02
#: A waker idle this long closes its connection (opened again at the next wake-up).
WAKE_IDLE_SECONDS = 30.0


class _Waker:
    """Sends one process's wake-ups (`NOTIFY`) for one database, from a daemon thread."""

    def __init__(self) -> None:
        self.wanted = threading.Event()
        self.lock = threading.Lock()
        self.wrapper = None
        self.params: dict | None = None
        self.connection = None
        self.thread: threading.Thread | None = None
        self.stopping = False

    def wake(self, wrapper) -> None:
        if self.params is None:
            self.wrapper, self.params = wrapper, wrapper.get_connection_params()
        self.wanted.set()
        if self.thread is None:
            with self.lock:
                if self.thread is None:
                    self.thread = threading.Thread(
                        target=self._run, name="outbox-waker", daemon=True
                    )
                    self.thread.start()

    def _run(self) -> None:
        while not self.stopping:
            if not self.wanted.wait(WAKE_IDLE_SECONDS):
                self._close()
                continue
            if self.stopping:
                break
            # Cleared before sending: a commit from now on gets a wake-up after this one.
            self.wanted.clear()
            try:
                self._send()
            except Exception:
                logger.warning(
                    "could not wake the outbox dispatchers; they will poll", exc_info=True
                )
                self._close()
            time.sleep(WAKE_GAP_SECONDS)
        self._close()

    def _send(self) -> None:
        if self.connection is None:
            connection = self.wrapper.get_new_connection(self.params)
            connection.autocommit = True
            # A wake-up is a hint: its tiny transaction need not wait for the disk.
            connection.execute("SET synchronous_commit TO OFF")
            self.connection = connection
        # The channel is our constant, not input.
        self.connection.execute(f"NOTIFY {CHANNEL}")

    def _close(self) -> None:
        connection, self.connection = self.connection, None
        if connection is not None:
            with contextlib.suppress(Exception):  # closing a broken connection
                connection.close()

    def stop(self) -> None:
        self.stopping = True
        self.wanted.set()
        if self.thread is not None:
            self.thread.join(timeout=5)


_WAKERS: dict[str, _Waker] = {}
_WAKERS_LOCK = threading.Lock()
#: Connections a forked child inherited: kept, never closed or collected, since closing
#: one would end the parent's session on the shared socket.
_INHERITED: list = []


def _waker(using: str) -> _Waker:
    found = _WAKERS.get(using)
    if found is None:
        with _WAKERS_LOCK:
            found = _WAKERS.setdefault(using, _Waker())
    return found


def stop_wakers() -> None:
    """Send nothing more and close the wakers' connections (before a database is dropped:
    the end of a test session)."""
    with _WAKERS_LOCK:
        wakers = list(_WAKERS.values())
        _WAKERS.clear()
    for waker in wakers:
        waker.stop()


def _forget_wakers_in_child() -> None:
    """After a fork: the parent's waker threads do not exist here; start afresh."""
    global _WAKERS_LOCK
    for waker in _WAKERS.values():
        if waker.connection is not None:
            _INHERITED.append(waker.connection)
    _WAKERS.clear()
    _WAKERS_LOCK = threading.Lock()


os.register_at_fork(after_in_child=_forget_wakers_in_child)


def queue_shares_database(using: str = DEFAULT_DB_ALIAS) -> bool:
    """Whether dispatch tasks are rows in this same database (the database task backend)."""
    backend = dispatch_outbox.get_backend()
    return isinstance(backend, DatabaseBackend) and router.db_for_write(DBTaskResult) == using


def _new_task_row() -> DBTaskResult:
    """A dispatch task's row as the database backend's `enqueue` makes it (not saved)."""
    backend = dispatch_outbox.get_backend()
    return DBTaskResult(
        id=backend._get_id(),
        args_kwargs={"args": [], "kwargs": {}},
        priority=dispatch_outbox.priority,
        task_path=dispatch_outbox.module_path,
        queue_name=dispatch_outbox.queue_name,
        run_after=get_date_max(),
        backend_name=backend.alias,
    )


def waiting_dispatch(using: str = DEFAULT_DB_ALIAS):
    """Dispatch tasks enqueued and not yet taken by a worker, due now."""
    row = _new_task_row()
    return DBTaskResult.objects.using(using).filter(
        Q(run_after=get_date_max()) | Q(run_after__lte=timezone.now()),
        status=TaskResultStatus.READY,
        task_path=row.task_path,
        backend_name=row.backend_name,
        queue_name=row.queue_name,
    )


def literal_row(instance, connection, varying: dict[str, str]) -> tuple[list[str], str]:
    """(Columns, the row's SQL) of a model instance as `save` would insert it (PostgreSQL):
    each column its value as a literal, rendered once by psycopg, except those named in
    `varying`, which get the SQL given (a placeholder, a function)."""
    columns, values = [], []
    for field in instance._meta.concrete_fields:
        columns.append(connection.ops.quote_name(field.column))
        if field.attname in varying:
            values.append(varying[field.attname])
        else:
            value = field.get_db_prep_save(field.pre_save(instance, True), connection)
            rendered = literal(value, connection)
            if "%" in rendered:  # it will sit beside placeholders
                raise ValueError(f"{field.name}: a constant with % cannot be written here")
            values.append(rendered)
    return columns, "(" + ", ".join(values) + ")"


def literal(value, connection) -> str:
    """A value as an SQL literal, rendered by psycopg (PostgreSQL)."""
    from psycopg import sql

    connection.ensure_connection()
    return sql.Literal(value).as_string(connection.connection)


_TASK_SQL: dict[tuple, str] = {}


def task_insert(using: str = DEFAULT_DB_ALIAS) -> str:
    """One statement (no parameters) that writes a dispatch task row unless one is already
    waiting to be taken (PostgreSQL). Whoever takes the waiting one dispatches every event
    committed by then; see `enqueue_with_the_commit` for the rest. Written once per
    database and task settings: the row's values are constants, but for its id
    (`gen_random_uuid()`, a version 4 UUID as the backend's default) and the time it was
    enqueued."""
    backend = dispatch_outbox.get_backend()
    key = (using, backend.alias, dispatch_outbox.queue_name, dispatch_outbox.priority)
    found = _TASK_SQL.get(key)
    if found is not None:
        return found
    connection = connections[using]
    row = _new_task_row()
    columns, values = literal_row(
        row, connection, {"id": "gen_random_uuid()", "enqueued_at": "clock_timestamp()"}
    )
    table = connection.ops.quote_name(DBTaskResult._meta.db_table)
    ready, path, name, queue, never = (
        literal(value, connection)
        for value in (
            TaskResultStatus.READY.value,
            row.task_path,
            row.backend_name,
            row.queue_name,
            get_date_max(),
        )
    )
    # Names from the model's metadata, values rendered by psycopg: nothing from a caller.
    found = _TASK_SQL[key] = (
        f"INSERT INTO {table} ({', '.join(columns)}) SELECT {values[1:-1]}"  # noqa: S608
        f" WHERE NOT EXISTS (SELECT 1 FROM {table} WHERE status = {ready}"
        f" AND task_path = {path} AND backend_name = {name} AND queue_name = {queue}"
        f" AND (run_after = {never} OR run_after <= clock_timestamp()))"
    )
    return found


def enqueue_with_the_commit(using: str = DEFAULT_DB_ALIAS) -> bool:
    """Inside the current transaction, when the task queue is in the same database: make
    sure a dispatch task waits for a worker, so that it commits with the events (or not at
    all) at no commit of its own. One waiting task serves every transaction that commits
    before a worker takes it, so a row is written only when none waits (on PostgreSQL in
    one statement, which `outbox` joins to the events' own INSERT). False when the queue is
    elsewhere: then `kick` enqueues after the commit.

    A worker may take the waiting task between this check and the commit, and finish
    before it: then these events wait for the next dispatch — a dispatcher woken by this
    commit's wake-up, the next transaction's task, the task's own look at what is due when
    it ends (`schedule_wakeup`), or the periodic scheduler (`OUTBOX_POLL_SECONDS`)."""
    connection = connections[using]
    if not (connection.in_atomic_block and queue_shares_database(using)):
        return False
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(task_insert(using))
    elif not waiting_dispatch(using).exists():
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
