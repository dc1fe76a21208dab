"""The transactional outbox: state changes that others must hear about, as CloudEvents 1.0.

`emit` writes the event in the caller's transaction, so the event exists if and only if the
change it announces was committed: nothing is announced that did not happen, and nothing
that happened goes unannounced. Once per transaction the outbox makes sure a dispatch task
waits for a worker (with the commit when the task queue is in the same database, writing a
row only when none waits already; else enqueued after the commit) and after the commit the
waiting dispatchers are woken; the periodic scheduler catches anything they miss (a crash,
a worker that was down, a task taken just before the commit).

A unit of work that announces many things at once (a bundle: six consents, six applications,
their work items and statuses) wraps itself in `batch()`: its events are then written in one
INSERT when the block ends, still in the caller's transaction, instead of one INSERT each
(on PostgreSQL the same statement writes the dispatch task's row).
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.utils import timezone

from joinedup import copying

from . import dispatch
from .models import OutboxEvent

logger = logging.getLogger(__name__)

#: Event types are reverse-DNS names: org.joinedup.<app>.<noun>.<verb-in-past-tense>.
TYPE_PREFIX = "org.joinedup."
DEFAULT_SOURCE = "/joinedup"


class OutsideTransaction(RuntimeError):
    """`emit` was called outside a transaction: the event could outlive a rolled-back change."""


def emit(
    type: str,
    *,
    source: str = DEFAULT_SOURCE,
    subject: str = "",
    data: dict[str, Any] | None = None,
    using: str = DEFAULT_DB_ALIAS,
) -> OutboxEvent:
    """Record an event in the current transaction; it is delivered after the commit."""
    if not connections[using].in_atomic_block:
        raise OutsideTransaction(
            "outbox.emit must be called inside transaction.atomic(), with the change it announces"
        )
    if not type.startswith(TYPE_PREFIX):
        raise ValueError(f"event types start with {TYPE_PREFIX}, not {type!r}")
    now = timezone.now()
    event = OutboxEvent(
        type=type,
        source=source,
        subject=str(subject or ""),
        data=data or {},
        time=now,
        next_attempt_at=now,
    )
    pending = _BATCH.get()
    if pending is not None and pending.using == using:
        pending.add(event)  # written, with the dispatch task, when the batch ends
    else:
        event.save(using=using, force_insert=True)
        _kick_after_commit(using)
    return event


class _Held:
    """An event held by a batch. It rides on the transaction's commit callbacks only so that
    Django forgets it with a savepoint rolled back, as it forgets the callbacks registered
    inside that savepoint; calling it does nothing."""

    __slots__ = ("batch", "event")

    def __init__(self, batch: _Batch, event: OutboxEvent) -> None:
        self.batch, self.event = batch, event

    def __call__(self) -> None:
        return None


class _Batch:
    def __init__(self, using: str) -> None:
        self.using = using

    def add(self, event: OutboxEvent) -> None:
        transaction.on_commit(_Held(self, event), using=self.using)

    def flush(self) -> None:
        """Write the events whose savepoints still stand, in the order they were emitted."""
        connection = connections[self.using]
        kept, events = [], []
        for entry in connection.run_on_commit:
            held = entry[1]
            if isinstance(held, _Held) and held.batch is self:
                events.append(held.event)
            else:
                kept.append(entry)
        connection.run_on_commit = kept
        if not events:
            return
        if connection.vendor == "postgresql" and len(events) <= SMALL_BATCH:
            # One statement: the events and, when the transaction has none yet and no
            # dispatch task is waiting for a worker, the dispatch task's row.
            sql, params = _insert_events(events, connection)
            queued = None
            if not _kick_pending(self.using) and dispatch.queue_shares_database(self.using):
                sql = f"WITH events AS ({sql}) {dispatch.task_insert(self.using)}"
                queued = True
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
        else:
            # In one COPY on PostgreSQL: a population run holds hundreds of events of a
            # thousand items each, whose JSON the ORM's insert would quote in Python.
            fields = [field.attname for field in OutboxEvent._meta.concrete_fields]
            copying.write(
                OutboxEvent,
                fields,
                ([_plain(getattr(event, name)) for name in fields] for event in events),
                using=self.using,
            )
            queued = None
        for event in events:
            event._state.adding, event._state.db = False, self.using
        _kick_after_commit(self.using, queued)


#: A batch of at most this many events is written with an INSERT (with the dispatch task's
#: row in the same statement); a larger one with COPY.
SMALL_BATCH = 100
#: What `emit` sets on an event; the other columns take the model's defaults.
_SET = ("id", "source", "type", "subject", "time", "data", "next_attempt_at")
_ROW_SQL: dict[str, tuple[str, str]] = {}


def _insert_events(events: list[OutboxEvent], connection) -> tuple[str, list]:
    """(SQL, params): one INSERT of the events (PostgreSQL), its text made once per
    database; the columns `emit` does not set are the model's defaults, as literals."""
    found = _ROW_SQL.get(connection.alias)
    if found is None:
        varying = dict.fromkeys(_SET, "%s")
        varying["data"] = "%s::jsonb"
        columns, row = dispatch.literal_row(OutboxEvent(), connection, varying)
        table = connection.ops.quote_name(OutboxEvent._meta.db_table)
        found = _ROW_SQL[connection.alias] = (
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ",  # noqa: S608 - model metadata
            row,
        )
    head, row = found
    encoder = OutboxEvent._meta.get_field("data").encoder
    params: list = []
    for event in events:
        params += [
            event.id,
            event.source,
            event.type,
            event.subject,
            event.time,
            # A run's batch events come with their JSON already written (`copying.JSONText`).
            copying.json_text(event.data, encoder),
            event.next_attempt_at,
        ]
    return head + ", ".join([row] * len(events)), params


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value


_BATCH: ContextVar[_Batch | None] = ContextVar("outbox_batch", default=None)


@contextmanager
def batch(using: str = DEFAULT_DB_ALIAS) -> Iterator[None]:
    """Within the block (inside a transaction), events are written together at its end.

    An event emitted in a savepoint that is rolled back is not written, exactly as without
    the batch. If the block raises, nothing is written (the transaction is being undone). A
    batch inside a batch joins it."""
    if not connections[using].in_atomic_block:
        raise OutsideTransaction("outbox.batch must be used inside transaction.atomic()")
    if _BATCH.get() is not None:
        yield
        return
    current = _Batch(using)
    token = _BATCH.set(current)
    try:
        yield
    finally:
        _BATCH.reset(token)
    current.flush()


class _Kick:
    """After the commit: wake the dispatchers and, unless that was done with the commit,
    enqueue a dispatch (see `dispatch.kick`)."""

    def __init__(self, using: str, enqueue: bool) -> None:
        self.using, self.enqueue = using, enqueue

    def __call__(self) -> None:
        dispatch.kick(self.using, enqueue=self.enqueue)


def _kick_pending(using: str) -> bool:
    return any(isinstance(entry[1], _Kick) for entry in connections[using].run_on_commit)


def _kick_after_commit(using: str, queued: bool | None = None) -> None:
    """One dispatch per transaction, however many events it emitted (`queued`: whether the
    caller already made sure of a dispatch task with the commit). A savepoint rolled back
    takes its callback, and its task row, with it: the next emit makes them again."""
    if _kick_pending(using):
        return
    if queued is None:
        queued = dispatch.enqueue_with_the_commit(using)
    transaction.on_commit(_Kick(using, enqueue=not queued), using=using)
