"""The bundles app's periodic job, added to the sharing app's scheduler (`joinedup
periodic-tasks --loop`): legs held up (they could not start) are tried again when due."""

from __future__ import annotations

from datetime import timedelta

from django_tasks import task

from joinedup.sharing import schedule

from . import starting


@task()
def retry_held_up_legs() -> int:
    return starting.retry_held_up()


def _held_up_due() -> bool:
    return starting.held_up_due().exists()


JOB = schedule.Job(
    "bundles.held-up-legs", lambda: timedelta(seconds=60), retry_held_up_legs, _held_up_due
)
if all(existing.name != JOB.name for existing in schedule.JOBS):
    schedule.JOBS.append(JOB)
