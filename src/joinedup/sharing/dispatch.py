"""The outbox dispatcher: delivers each event at least once to every subscriber and webhook.

A dispatcher claims a batch of due events for a short lease (`SELECT … FOR UPDATE SKIP
LOCKED` on PostgreSQL, so several workers share the work; SQLite serialises writers anyway),
then delivers each event to each of its targets. Every target has its own delivery record:
one that succeeded is never run again, one that failed is retried with exponential backoff
and jitter, and after `JOINEDUP_OUTBOX_MAX_ATTEMPTS` it is given up (dead letter) and shown
in the admin, where it can be retried.

If a dispatcher dies mid-way, its lease runs out and the next dispatcher takes the events
over; a handler that was interrupted had its transaction rolled back and runs again.
"""

from __future__ import annotations

import json
import logging
import os
import random
import socket
import time
from dataclasses import asdict, dataclass
from datetime import timedelta
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.db.models import F, Min, Q
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone
from django.utils.crypto import get_random_string
from django_tasks import task

from . import subscribers, webhooks
from .models import Delivery, DispatchWakeup, OutboxEvent, WebhookEndpoint

logger = logging.getLogger(__name__)

BATCH_SIZE = 100
SUBSCRIBER = "subscriber:"
WEBHOOK = "webhook:"


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


def claim(worker_id: str, limit: int = BATCH_SIZE) -> list[UUID]:
    """Take a lease on up to `limit` due events, oldest first."""
    now = timezone.now()
    lease = timedelta(seconds=settings.OUTBOX_LEASE_SECONDS)
    with transaction.atomic():
        ids = list(
            due(now)
            .order_by("next_attempt_at", "time")
            .select_for_update(skip_locked=True)
            .values_list("id", flat=True)[:limit]
        )
        if ids:
            OutboxEvent.objects.filter(id__in=ids).update(
                locked_until=now + lease, locked_by=worker_id
            )
    return ids


def _resolve_targets(event: OutboxEvent) -> None:
    """Decide once, at the first attempt, who receives the event."""
    with transaction.atomic():
        for sub in subscribers.for_type(event.type):
            Delivery.objects.get_or_create(event=event, target=SUBSCRIBER + sub.name)
        for hook in WebhookEndpoint.objects.filter(active=True):
            if hook.wants(event.type):
                Delivery.objects.get_or_create(
                    event=event, target=f"{WEBHOOK}{hook.pk}", defaults={"webhook": hook}
                )
        OutboxEvent.objects.filter(pk=event.pk).update(targets_resolved=True)


def _record_failure(delivery: Delivery, error: str) -> None:
    attempts = delivery.attempts + 1
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


def _deliver_to_subscriber(delivery: Delivery, envelope: dict) -> None:
    name = delivery.target.removeprefix(SUBSCRIBER)
    sub = subscribers.get(name)
    if sub is None:
        _record_failure(delivery, f"no subscriber named {name} is registered")
        return
    try:
        with transaction.atomic():
            locked = Delivery.objects.select_for_update().get(pk=delivery.pk)
            if locked.status == Delivery.Status.DELIVERED:
                return  # another dispatcher finished it while we waited for the lock
            sub.handler(subscribers.Event.from_envelope(envelope))
            now = timezone.now()
            Delivery.objects.filter(pk=delivery.pk).update(
                status=Delivery.Status.DELIVERED,
                attempts=F("attempts") + 1,
                last_attempt_at=now,
                delivered_at=now,
                last_error="",
            )
    except Exception as exc:
        delivery.refresh_from_db(fields=["attempts"])
        _record_failure(delivery, f"{type(exc).__name__}: {exc}")


def _deliver_to_webhook(delivery: Delivery, envelope: dict) -> None:
    if delivery.webhook is None or not delivery.webhook.active:
        _record_failure(delivery, "the webhook endpoint was removed or switched off")
        return
    body = json.dumps(envelope, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    ok, error = webhooks.post(delivery, body, envelope["id"])
    if ok:
        now = timezone.now()
        Delivery.objects.filter(pk=delivery.pk).update(
            status=Delivery.Status.DELIVERED,
            attempts=F("attempts") + 1,
            last_attempt_at=now,
            delivered_at=now,
            last_error="",
        )
    else:
        _record_failure(delivery, error)


def deliver_event(event_id: UUID, worker_id: str) -> str:
    """Deliver one claimed event to each target still waiting; returns the event's status."""
    event = OutboxEvent.objects.filter(pk=event_id, locked_by=worker_id).first()
    if event is None or event.status != OutboxEvent.Status.PENDING:
        return event.status if event else "lost"
    if not event.targets_resolved:
        _resolve_targets(event)
    envelope = event.envelope()
    lease = timedelta(seconds=settings.OUTBOX_LEASE_SECONDS)
    waiting = event.deliveries.filter(
        status__in=[Delivery.Status.PENDING, Delivery.Status.FAILED]
    ).select_related("webhook")
    for delivery in waiting:
        # Renew the lease before each target, so a slow target does not hand the event over.
        OutboxEvent.objects.filter(pk=event.pk, locked_by=worker_id).update(
            locked_until=timezone.now() + lease
        )
        if delivery.target.startswith(SUBSCRIBER):
            _deliver_to_subscriber(delivery, envelope)
        else:
            _deliver_to_webhook(delivery, envelope)
    return _settle(event, worker_id)


def _settle(event: OutboxEvent, worker_id: str) -> str:
    statuses = set(event.deliveries.values_list("status", flat=True))
    now = timezone.now()
    update: dict = {"locked_until": None, "locked_by": ""}
    if statuses <= {Delivery.Status.DELIVERED}:
        update.update(status=OutboxEvent.Status.DELIVERED, delivered_at=now, last_error="")
    elif statuses & {Delivery.Status.PENDING, Delivery.Status.FAILED}:
        attempts = event.attempts + 1
        errors = event.deliveries.exclude(last_error="").values_list("target", "last_error")
        update.update(
            attempts=attempts,
            next_attempt_at=now + backoff(attempts),
            last_error="\n".join(f"{t}: {e}" for t, e in errors)[:2000],
        )
    else:
        update.update(status=OutboxEvent.Status.DEAD)
    OutboxEvent.objects.filter(pk=event.pk, locked_by=worker_id).update(**update)
    return update.get("status", OutboxEvent.Status.PENDING)


@dataclass
class DispatchReport:
    events: int = 0
    delivered: int = 0
    retrying: int = 0
    dead: int = 0


def dispatch_pending(
    *, worker_id: str | None = None, max_seconds: float | None = None, limit: int = BATCH_SIZE
) -> DispatchReport:
    """Claim and deliver due events until none is left (or the time budget is spent)."""
    worker_id = worker_id or new_worker_id()
    report = DispatchReport()
    started = time.monotonic()
    while True:
        ids = claim(worker_id, limit)
        if not ids:
            break
        for event_id in ids:
            status = deliver_event(event_id, worker_id)
            report.events += 1
            if status == OutboxEvent.Status.DELIVERED:
                report.delivered += 1
            elif status == OutboxEvent.Status.DEAD:
                report.dead += 1
            else:
                report.retrying += 1
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


def kick() -> None:
    """Ask a worker to dispatch now (after a commit)."""
    dispatch_outbox.enqueue()
