"""The delivery app's periodic jobs, added to the sharing app's scheduler (`joinedup
periodic-tasks --loop`): breach checks, notification retries, forwarding retries."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django_tasks import task

from joinedup.sharing import schedule

from . import clock
from .backends.contrib import signed_rest
from .models import Forwarding, Notification
from .notifications import sending


@task()
def check_breaches() -> int:
    """Mark applications that passed their due date (their guarantee follows by event)."""
    return len(clock.find_breaches())


@task()
def send_due_notifications() -> int:
    return sending.send_due()


@task()
def retry_forwardings() -> int:
    return signed_rest.deliver_due()


def _pending_notifications() -> bool:
    return Notification.objects.filter(
        status="queued", next_attempt_at__lte=timezone.now()
    ).exists()


def _pending_forwardings() -> bool:
    return Forwarding.objects.filter(status="pending", next_attempt_at__lte=timezone.now()).exists()


JOBS = [
    schedule.Job(
        "delivery.breaches",
        lambda: timedelta(seconds=settings.DELIVERY_BREACH_CHECK_SECONDS),
        check_breaches,
    ),
    schedule.Job(
        "delivery.notifications",
        lambda: timedelta(seconds=30),
        send_due_notifications,
        _pending_notifications,
    ),
    schedule.Job(
        "delivery.forwardings",
        lambda: timedelta(seconds=30),
        retry_forwardings,
        _pending_forwardings,
    ),
]
for _job in JOBS:
    if all(existing.name != _job.name for existing in schedule.JOBS):
        schedule.JOBS.append(_job)
