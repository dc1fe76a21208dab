"""The care app's periodic job, added to the sharing app's scheduler (`joinedup
periodic-tasks --loop`): every hour, plans whose review date has come get their review task
in the lead agency's queue (`plans.open_due_reviews`; `joinedup open-due-reviews` does the
same by hand)."""

from __future__ import annotations

from datetime import timedelta

from django_tasks import task

from joinedup.sharing import schedule

from . import plans


@task()
def open_due_reviews() -> int:
    """Open the review tasks that came due; returns how many were opened."""
    return len(plans.open_due_reviews())


def _reviews_due() -> bool:
    return plans.due_reviews().exists()


JOB = schedule.Job("care.due-reviews", lambda: timedelta(hours=1), open_due_reviews, _reviews_due)
if all(existing.name != JOB.name for existing in schedule.JOBS):
    schedule.JOBS.append(JOB)
