"""Time the provider's staff record on a request's tasks.

A caseworker who worked a task of a client's request says how many minutes it took; the
provider's cost recovery (`dashboard.recovery_by_service`) prices the recorded minutes of a
task instead of the estimate from its times (claimed to done, capped at a working day).

    entry = record(context, request, task_id="12", minutes="45")
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Sum
from django.utils.translation import gettext as _

from joinedup.delivery import queues
from joinedup.delivery.models import WorkItem
from joinedup.identity import policy
from joinedup.identity.acting import ActingContext

from .models import MAX_ENTRY_MINUTES, Request, TimeEntry

__all__ = ["TimeError", "record", "tasks_of"]


class TimeError(Exception):
    """Recorded time refused, with a message for the person."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass
class TaskTime:
    task: WorkItem
    minutes: int

    @property
    def hours_and_minutes(self) -> tuple[int, int]:
        return divmod(self.minutes, 60)


def _tasks(request: Request):
    return WorkItem.objects.filter(application_id=request.pk, agency_id=request.provider_id)


def tasks_of(request: Request) -> list[TaskTime]:
    """The provider's tasks on the request, named in the reader's language, with the minutes
    recorded on each (four queries at most)."""
    recorded = dict(
        TimeEntry.objects.filter(request=request)
        .values("task_id")
        .annotate(total=Sum("minutes"))
        .order_by()
        .values_list("task_id", "total")
    )
    tasks = queues.name_tasks(_tasks(request).select_related("application").order_by("created_at"))
    return [TaskTime(task, recorded.get(task.pk, 0)) for task in tasks]


def record(context: ActingContext, request: Request, task_id: str, minutes: str) -> TimeEntry:
    """Record the minutes the acting person spent on one of the provider's tasks of the
    request. Raises PolicyDenied (not the provider's worker) or TimeError (bad input)."""
    policy.require(context, "backoffice.log_time", request)
    try:
        task = _tasks(request).get(pk=int(task_id))
    except (ValueError, WorkItem.DoesNotExist):
        raise TimeError(_("Choose one of the provider's tasks on this request.")) from None
    try:
        spent = int(str(minutes).strip())
    except ValueError:
        raise TimeError(_("Give the time spent as a whole number of minutes.")) from None
    if not 1 <= spent <= MAX_ENTRY_MINUTES:
        raise TimeError(
            _("Give between 1 and %(most)d minutes (a working day) at a time.")
            % {"most": MAX_ENTRY_MINUTES}
        )
    return TimeEntry.objects.create(
        request=request, task=task, minutes=spent, logged_by_id=context.user_id
    )
