"""The performance app's periodic jobs, added to the sharing app's scheduler: abandoned
drafts become abandoned transactions, and unanswered survey invitations are discarded."""

from __future__ import annotations

from datetime import timedelta

from django_tasks import task

from joinedup.sharing import schedule

from . import surveys, transactions


@task()
def sweep_drafts() -> int:
    return transactions.sweep_abandoned_drafts()


@task()
def expire_invitations() -> int:
    return surveys.expire()


JOBS = [
    schedule.Job("performance.abandoned-drafts", lambda: timedelta(hours=1), sweep_drafts),
    schedule.Job("performance.survey-expiry", lambda: timedelta(hours=6), expire_invitations),
]
for _job in JOBS:
    if all(existing.name != _job.name for existing in schedule.JOBS):
        schedule.JOBS.append(_job)
