"""Interactions: every assisted contact (a counter visit, a call) is recorded, and announced
when it ends as `org.joinedup.interaction.recorded` — what assisted work costs is measured
from these events (the performance app counts minutes × the agency's staff cost).
"""

from __future__ import annotations

from django.db import transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from joinedup.delivery.models import Application
from joinedup.federation.models import Agency, Office
from joinedup.identity.acting import ActingContext
from joinedup.identity.models import Person
from joinedup.sharing import outbox

from .models import Interaction

EVENT = "org.joinedup.interaction.recorded"
SOURCE = "/joinedup/channels"


class InteractionError(Exception):
    """The interaction cannot do this (ended already, no person yet). Message for people."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def start(
    context: ActingContext,
    channel: str,
    *,
    person: Person | None = None,
    office: Office | None = None,
    topic: str = "",
) -> Interaction:
    """Open an interaction for the agent in the context (the clock of its handle time)."""
    if context.user_id is None or not context.agency_key:
        raise InteractionError("no_agent", _("Only staff record interactions."))
    if office is None and channel == Interaction.Channel.COUNTER and context.office_keys:
        office = Office.objects.filter(key=context.office_keys[0]).first()
    if office is None and channel == Interaction.Channel.COUNTER:
        office = Office.objects.filter(agency__key=context.agency_key).order_by("key").first()
    return Interaction.objects.create(
        channel=channel,
        agent_id=context.user_id,
        agency=Agency.objects.get(key=context.agency_key),
        role=context.role or "",
        office=office,
        person=person,
        topic=topic[:200],
    )


def mine(context: ActingContext, interaction_id: int) -> Interaction | None:
    """An agent sees only their own interactions."""
    return (
        Interaction.objects.select_related("person", "office", "agency")
        .filter(pk=interaction_id, agent_id=context.user_id)
        .first()
    )


def mine_or_404(context: ActingContext, interaction_id: int, channel: str) -> Interaction:
    """The agent's own contact on this channel (a visit at the counter, a call on the
    phone), for a page of that console; anything else is not found."""
    found = mine(context, interaction_id)
    if found is None or found.channel != channel:
        raise Http404
    return found


def require_open(interaction: Interaction) -> None:
    if not interaction.is_open:
        raise InteractionError("ended", _("This contact has ended; start a new one."))


def touch(interaction: Interaction, application: Application) -> None:
    """Remember that this contact worked on an application (its cost is shared with it)."""
    interaction.applications.add(application)


def served_for(interaction: Interaction, agency_key: str) -> None:
    if agency_key not in interaction.served_for:
        interaction.served_for = [*interaction.served_for, agency_key]
        interaction.save(update_fields=["served_for"])


def event_data(interaction: Interaction) -> dict:
    """The payload the performance app counts: channel, agency, office, minutes, touched."""
    return {
        "interaction": interaction.pk,
        "channel": interaction.channel,
        "agency": interaction.agency.key,
        "agent": interaction.agent_id,
        "role": interaction.role,
        "office": interaction.office.key if interaction.office_id else "",
        "started_at": interaction.started_at.isoformat(),
        "ended_at": interaction.ended_at.isoformat() if interaction.ended_at else None,
        "minutes": interaction.minutes,
        "topic": interaction.topic,
        "outcome": interaction.outcome,
        "applications": [str(pk) for pk in interaction.applications.values_list("pk", flat=True)],
        "served_for": list(interaction.served_for),
    }


def end(interaction: Interaction, outcome: str, topic: str = "") -> Interaction:
    """Close the interaction with its outcome and announce it (once)."""
    if outcome not in Interaction.Outcome.values or not outcome:
        raise InteractionError("outcome", _("Choose the outcome of this contact."))
    with transaction.atomic():
        locked = Interaction.objects.select_for_update().get(pk=interaction.pk)
        require_open(locked)
        locked.ended_at = timezone.now()
        locked.outcome = outcome
        if topic:
            locked.topic = topic[:200]
        locked.save(update_fields=["ended_at", "outcome", "topic"])
        outbox.emit(EVENT, source=SOURCE, subject=str(locked.pk), data=event_data(locked))
    return locked
