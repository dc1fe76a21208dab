"""Periodic jobs: the background-task worker has no clock, so a small scheduler enqueues them.

`joinedup periodic-tasks --loop` (run beside the worker; the demo starts it) enqueues each
job when its interval has passed. The last run of each job is kept in the database and taken
under a row lock, so several schedulers never enqueue the same job twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_tasks import task

from . import dispatch, ledger, retention
from .models import PeriodicRun


@task()
def checkpoint_ledger() -> int:
    """Sign the heads of the access ledger's chains and publish them to the witnesses;
    returns how many were signed."""
    return len(ledger.checkpoint())


def _checkpoint_soon() -> None:
    """After appends commit (at most once per interval in each process), ask the task worker
    for a checkpoint: signing follows the appends with or without the periodic-tasks loop."""
    checkpoint_ledger.enqueue()


if _checkpoint_soon not in ledger.after_append:
    ledger.after_append.append(_checkpoint_soon)


@task()
def apply_retention() -> int:
    """Delete or anonymise what has outlived its retention period."""
    return sum(record.count for record in retention.apply_retention())


@dataclass(frozen=True)
class Job:
    name: str
    every: Callable[[], timedelta]
    task: object
    #: Enqueue only when this says there is work (cheap query); None: always.
    when: Callable[[], bool] | None = None


JOBS = [
    Job(
        "sharing.dispatch-outbox",
        lambda: timedelta(seconds=settings.OUTBOX_POLL_SECONDS),
        dispatch.dispatch_outbox,
        lambda: dispatch.due().exists(),
    ),
    Job(
        "sharing.ledger-checkpoint",
        lambda: timedelta(seconds=settings.LEDGER_CHECKPOINT_SECONDS),
        checkpoint_ledger,
        ledger.needs_checkpoint,
    ),
    Job("sharing.retention", lambda: timedelta(days=1), apply_retention),
]


def run_due(now: datetime | None = None) -> list[str]:
    """Enqueue every job whose interval has passed; returns their names."""
    now = now or timezone.now()
    enqueued = []
    for job in JOBS:
        with transaction.atomic():
            run, created = PeriodicRun.objects.select_for_update().get_or_create(
                name=job.name, defaults={"last_run_at": now - job.every()}
            )
            if not created:
                run = PeriodicRun.objects.select_for_update().get(pk=run.pk)
            if now - run.last_run_at < job.every():
                continue
            if job.when is not None and not job.when():
                continue
            run.last_run_at = now
            run.save(update_fields=["last_run_at"])
            transaction.on_commit(job.task.enqueue)
        enqueued.append(job.name)
    return enqueued
