"""Warm transfers and call-backs: a task in an agency's queue carrying the call's context.

A warm transfer hands a verified caller to another agency's phone queue: the receiving agent
sees who called, that the caller was verified, the topic, the summary and the applications
touched — the caller never repeats themselves. A call-back is the same task in the agent's
own agency's queue, with the number to call and when.
"""

from __future__ import annotations

import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from joinedup.federation.models import Agency
from joinedup.identity import policy
from joinedup.identity.acting import ActingContext
from joinedup.sharing import outbox

from . import interactions, phone
from .interactions import InteractionError
from .models import CallTask, Interaction

EVENT_PREFIX = "org.joinedup.call."
SOURCE = "/joinedup/channels"


def _context_of(call: Interaction, summary: str) -> dict:
    return {
        "call": call.pk,
        "from_agency": call.agency.key,
        "from_agent": call.agent_id,
        "caller": call.person_id,
        "caller_verified_at": call.verified_at.isoformat() if call.verified_at else None,
        "topic": call.topic,
        "summary": summary,
        "started_at": call.started_at.isoformat(),
        "applications": [str(pk) for pk in call.applications.values_list("pk", flat=True)],
    }


def _task(
    context: ActingContext, call: Interaction, kind: str, agency: Agency, summary: str, **extra
) -> CallTask:
    summary = (summary or "").strip()
    if not summary:
        raise InteractionError("summary", _("Say in a few words what the caller needs."))
    if len(summary) > 2000:
        raise InteractionError("summary", _("Keep the summary under 2000 characters."))
    task = CallTask.objects.create(
        kind=kind,
        agency=agency,
        from_agency=call.agency,
        interaction=call,
        person=call.person,
        summary=summary,
        context=_context_of(call, summary),
        created_by_id=context.user_id,
        **extra,
    )
    outbox.emit(
        EVENT_PREFIX + ("transferred" if kind == CallTask.Kind.TRANSFER else "callback_requested"),
        source=SOURCE,
        subject=str(task.pk),
        data={
            "task": task.pk,
            "call": call.pk,
            "from_agency": call.agency.key,
            "to_agency": agency.key,
            "kind": kind,
        },
    )
    return task


def warm_transfer(
    context: ActingContext, call: Interaction, agency_key: str, summary: str
) -> CallTask:
    """Put the verified caller, with the call's context, in another agency's queue, and end
    this agent's part of the call as transferred."""
    policy.require(context, "channels.phone")
    interactions.require_open(call)
    phone.require_verified(call)
    agency = Agency.objects.filter(key=agency_key).first()
    if agency is None:
        raise InteractionError("agency", _("Choose the agency to transfer to."))
    if agency.key == call.agency.key:
        raise InteractionError("agency", _("Transfer to another agency than your own."))
    with transaction.atomic():
        task = _task(context, call, CallTask.Kind.TRANSFER, agency, summary)
        interactions.end(call, Interaction.Outcome.TRANSFERRED)
    return task


def request_callback(
    context: ActingContext,
    call: Interaction,
    phone_number: str,
    summary: str,
    due_at: datetime.datetime | None = None,
) -> CallTask:
    policy.require(context, "channels.phone")
    interactions.require_open(call)
    phone.require_verified(call)
    digits = "".join(ch for ch in phone_number or "" if ch.isdigit())
    if len(digits) < 7:
        raise InteractionError("phone", _("Give the number to call back."))
    with transaction.atomic():
        return _task(
            context,
            call,
            CallTask.Kind.CALLBACK,
            call.agency,
            summary,
            phone=phone_number.strip()[:40],
            due_at=due_at or timezone.now() + datetime.timedelta(hours=4),
        )


def queue(context: ActingContext) -> list[CallTask]:
    """The open transfers and call-backs of the agent's agency."""
    policy.require(context, "channels.phone")
    return list(
        CallTask.objects.filter(agency__key=context.agency_key, status=CallTask.Status.OPEN)
        .select_related("from_agency", "person", "interaction")
        .order_by("due_at", "created_at")
    )


def take(context: ActingContext, task_id: int) -> tuple[CallTask, Interaction]:
    """Pick up a task: a new call for this agent, with the caller already verified (the
    transfer carries the verification), and the task done."""
    policy.require(context, "channels.phone")
    with transaction.atomic():
        task = (
            CallTask.objects.select_for_update()
            .filter(pk=task_id, agency__key=context.agency_key, status=CallTask.Status.OPEN)
            .first()
        )
        if task is None:
            raise InteractionError("not_found", _("This task is not waiting in your queue."))
        call = interactions.start(
            context, Interaction.Channel.PHONE, person=task.person, topic=task.interaction.topic
        )
        if task.kind == CallTask.Kind.TRANSFER and task.interaction.verified_at:
            call.verified_at = task.interaction.verified_at
            call.save(update_fields=["verified_at"])
        for app in task.interaction.applications.all():
            interactions.touch(call, app)
        task.status = CallTask.Status.DONE
        task.done_by_id = context.user_id
        task.done_at = timezone.now()
        task.save(update_fields=["status", "done_by", "done_at"])
    return task, call
