"""Engagement's periodic jobs, added to the sharing app's scheduler (`joinedup
periodic-tasks --loop`): escalation of complaints whose standard was missed (hourly), and
the digests of decisions and changes to participants (daily, so people get one message
rather than a stream), and the support counts of proposals supported by two registry records
the client index has since linked (daily)."""

from __future__ import annotations

from datetime import timedelta

from django_tasks import task

from joinedup.sharing import schedule

from . import decisions, escalation, participation
from .models import Notice


@task()
def escalate_missed_standards() -> dict:
    return escalation.sweep()


@task()
def send_digests() -> int:
    return decisions.send_digests()


@task()
def recount_linked_supports() -> int:
    return participation.recount_supports()


def _pending_notices() -> bool:
    return Notice.objects.filter(sent_at__isnull=True).exists()


JOBS = [
    schedule.Job("engagement.escalation", lambda: timedelta(hours=1), escalate_missed_standards),
    schedule.Job("engagement.digests", lambda: timedelta(days=1), send_digests, _pending_notices),
    schedule.Job("engagement.linked-supports", lambda: timedelta(days=1), recount_linked_supports),
]
for _job in JOBS:
    if all(existing.name != _job.name for existing in schedule.JOBS):
        schedule.JOBS.append(_job)
