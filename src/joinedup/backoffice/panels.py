"""The back office's panel on delivery's work-item page: the time the provider's staff
recorded on a shared service's request, task by task, and the form to record the minutes
spent on the task at hand (the same rule and checks as on the request's page,
`timesheets.record`). Registered when the app is ready (`apps.py`); delivery shows it only
on the tasks of a request, to those the policy lets read the request."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.translation import gettext as _

from joinedup.delivery import panels as work_item_panels
from joinedup.delivery.models import WorkItem
from joinedup.identity import policy
from joinedup.identity.acting import ActingContext

from . import timesheets
from .models import MAX_ENTRY_MINUTES, Request

__all__ = ["TIME_PANEL", "register", "time_context", "time_post"]

TIME_PANEL = "backoffice.time"


def _request_of(item: WorkItem) -> Request | None:
    """The shared service's request the task belongs to, when it is one of its provider's."""
    shared = (
        Request.objects.select_related("client", "provider")
        .filter(application_id=item.application_id)
        .first()
    )
    return shared if shared is not None and shared.provider_id == item.agency_id else None


def time_context(request: HttpRequest, acting: ActingContext, item: WorkItem) -> dict | None:
    """What the panel shows, or None (not a request's task, or not for this person)."""
    shared = _request_of(item)
    if shared is None or not policy.decide(acting, "backoffice.view_request", shared).allowed:
        return None
    tasks = timesheets.tasks_of(shared)
    total = sum(row.minutes for row in tasks)
    return {
        "shared": shared,
        "tasks": tasks,
        "total": divmod(total, 60),
        "records_time": policy.decide(acting, "backoffice.log_time", shared).allowed,
        "most_minutes": MAX_ENTRY_MINUTES,
    }


def time_post(request: HttpRequest, acting: ActingContext, item: WorkItem) -> str:
    """Record the minutes spent on this task. Raises PanelError (bad input, nothing written)
    and PolicyDenied (not the provider's worker)."""
    shared = _request_of(item)
    if shared is None:
        raise work_item_panels.PanelError(
            _("This task is not part of a shared service's request: there is no time to record.")
        )
    try:
        timesheets.record(acting, shared, str(item.pk), request.POST.get("minutes", ""))
    except timesheets.TimeError as error:
        raise work_item_panels.PanelError(error.message) from None
    return _("Your time on the task is recorded.")


def register() -> None:
    """Add the time panel to delivery's work-item page."""
    work_item_panels.register(
        work_item_panels.Panel(
            TIME_PANEL, "backoffice/panels/time.html", time_context, time_post, order=50
        )
    )
