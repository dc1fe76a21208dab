"""The transactional outbox: state changes that others must hear about, as CloudEvents 1.0.

`emit` writes the event in the caller's transaction, so the event exists if and only if the
change it announces was committed: nothing is announced that did not happen, and nothing
that happened goes unannounced. Once per transaction a dispatch task is enqueued (with the
commit when the task queue is in the same database, else after it) and after the commit the
waiting dispatchers are woken; the periodic scheduler catches anything they miss (a crash,
a worker that was down).
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.utils import timezone

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
    event = OutboxEvent.objects.using(using).create(
        type=type,
        source=source,
        subject=str(subject or ""),
        data=data or {},
        time=timezone.now(),
        next_attempt_at=timezone.now(),
    )
    _kick_after_commit(using)
    return event


class _Kick:
    """After the commit: wake the dispatchers and, unless that was done with the commit,
    enqueue a dispatch (see `dispatch.kick`)."""

    def __init__(self, using: str, enqueue: bool) -> None:
        self.using, self.enqueue = using, enqueue

    def __call__(self) -> None:
        from .dispatch import kick

        kick(self.using, enqueue=self.enqueue)


def _kick_after_commit(using: str) -> None:
    """One dispatch per transaction, however many events it emitted. (A savepoint rolled
    back takes its callback, and its queued task, with it: the next emit makes them again.)"""
    from .dispatch import enqueue_with_the_commit

    pending = connections[using].run_on_commit
    if any(isinstance(entry[1], _Kick) for entry in pending):
        return
    queued = enqueue_with_the_commit(using)
    transaction.on_commit(_Kick(using, enqueue=not queued), using=using)
