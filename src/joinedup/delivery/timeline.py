"""The application's timeline: its status changes and the events that announce them.

Every step of delivery (a submission, the process engine, the clock, a back-end's receipt)
writes here, so this module sits at the bottom of the app, on the models alone:

    record_status(application, ApplicationStatus.APPROVED, context, reasons)
    announce(application, "forwarded", {"receipt": receipt_id})

A status change and its announcement (`org.joinedup.application.<verb>` in the outbox) are
written in the caller's transaction, so they exist together or not at all.

A step of the process engine writes its status changes inside `batch()`: they are then
inserted in one statement when the block ends (a submission's "submitted" and "started"
together), still in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.db import DEFAULT_DB_ALIAS, connections, transaction

from joinedup.identity.acting import ActingContext
from joinedup.sharing import outbox

from .models import Application, ApplicationStatus, StatusChange

EVENT_PREFIX = "org.joinedup.application."
SOURCE = "/joinedup/delivery"

#: Each status is announced as the event named here (org.joinedup.application.<verb>).
STATUS_EVENTS = {
    ApplicationStatus.SUBMITTED: "submitted",
    ApplicationStatus.IN_PROGRESS: "started",
    ApplicationStatus.WAITING: "paused",
    ApplicationStatus.APPROVED: "approved",
    ApplicationStatus.REFUSED: "refused",
    ApplicationStatus.REFERRED: "referred",
    ApplicationStatus.WITHDRAWN: "withdrawn",
    ApplicationStatus.NEEDS_ATTENTION: "held",
}


def actor_label(context: ActingContext | None) -> str:
    """Who made a change, as the timeline shows it (an account, staff, an API client)."""
    if context is None:
        return "system"
    if context.api_client_id is not None:
        return f"api-client:{context.api_client_id} ({context.agency_key})"
    if context.role:
        return f"staff:{context.user_id} ({context.agency_key}, {context.role})"
    if context.user_id is not None:
        return f"account:{context.user_id}"
    return "system"


def event_data(application: Application, extra: dict | None = None) -> dict:
    """What every application event carries: identifiers, never the answers themselves."""
    data = {
        "application": str(application.pk),
        "reference": application.reference,
        "service": application.service.key,
        "version": application.version.number,
        "agency": application.agency.key,
        "applicant": application.applicant_id,
        "channel": application.channel,
        "status": application.status,
        "due_date": str(application.due_date) if application.due_date else None,
    }
    data.update(extra or {})
    return data


def announce(application: Application, verb: str, extra: dict | None = None) -> None:
    """Write `org.joinedup.application.<verb>` to the outbox (in the caller's transaction)."""
    outbox.emit(
        EVENT_PREFIX + verb,
        source=SOURCE,
        subject=str(application.pk),
        data=event_data(application, extra),
    )


def record_status(
    application: Application,
    to_status: str,
    context: ActingContext | None,
    reason: str = "",
    *,
    save: bool = True,
    first: bool = False,
) -> StatusChange | None:
    """Change the status, add it to the timeline and announce it (once per change).

    The application's status is always the timeline's last entry (this function writes
    both), so a change to the status it already has is no change. `first`: the status the
    application was received with, the start of its timeline."""
    if not first and application.status == to_status:
        return None
    from_status = "" if first else application.status
    application.status = to_status
    if save:
        application.save(update_fields=["status", "updated_at"])
    change = StatusChange(
        application=application,
        from_status=from_status,
        to_status=to_status,
        actor_id=context.user_id if context else None,
        actor_label=actor_label(context),
        reason=reason,
    )
    if _BATCH.get() is not None:
        transaction.on_commit(_Held(change))
    else:
        change.save(force_insert=True)
    announce(application, STATUS_EVENTS.get(to_status, "changed"), {"from": change.from_status})
    return change


class _Held:
    """A status change held by a batch. Like the outbox's held events, it rides on the
    transaction's commit callbacks only so that a savepoint rolled back takes it away;
    calling it does nothing."""

    __slots__ = ("change",)

    def __init__(self, change: StatusChange) -> None:
        self.change = change

    def __call__(self) -> None:
        return None


_BATCH: ContextVar[bool | None] = ContextVar("timeline_batch", default=None)


@contextmanager
def batch() -> Iterator[None]:
    """Within the block (inside a transaction), the status changes recorded are inserted
    together at its end, in the order they were recorded. A change recorded in a savepoint
    that is rolled back is not written; if the block raises, nothing is written. A batch
    inside a batch joins it."""
    if _BATCH.get() is not None:
        yield
        return
    token = _BATCH.set(True)
    try:
        yield
    finally:
        _BATCH.reset(token)
    connection = connections[DEFAULT_DB_ALIAS]
    kept, changes = [], []
    for entry in connection.run_on_commit:
        if isinstance(entry[1], _Held):
            changes.append(entry[1].change)
        else:
            kept.append(entry)
    connection.run_on_commit = kept
    if changes:
        StatusChange.objects.bulk_create(changes)
