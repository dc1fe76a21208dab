"""Staff handle time, from `org.joinedup.interaction.recorded` events.

The assisted channels (counter, phone, video) announce each interaction with this event:

    {"channel": "phone", "agency": "esdc", "office": "esdc-toronto", "minutes": 12.5,
     "applications": ["<application id>", …]}

Its cost is its minutes × the agent's agency's hourly staff cost. Time and cost are split
evenly among the applications it touched and added to their transactions — so they count,
like everything about a transaction, in the period the transaction ended in; an interaction
that touched none is an overhead of the agent's agency, apportioned with its shared costs.
"""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from joinedup.federation.models import Channel

from . import costs, rollups
from .models import Interaction, InteractionShare, Transaction
from .transactions import application_source, record_submitted

EVENT = "org.joinedup.interaction.recorded"


class BadInteraction(ValueError):
    """The event does not describe an interaction we can count."""


def _seconds(minutes) -> int:
    try:
        value = Decimal(str(minutes))
    except (InvalidOperation, ValueError):
        raise BadInteraction(f"minutes must be a number, not {minutes!r}") from None
    if value < 0 or value > 24 * 60:
        raise BadInteraction(f"minutes must be between 0 and 1440, not {minutes}")
    return int((value * 60).to_integral_value())


def _transaction_for(application_id: str) -> Transaction | None:
    try:
        uuid.UUID(str(application_id))
    except ValueError:
        return None
    source = application_source(application_id)
    txn = Transaction.objects.select_for_update().filter(source=source).first()
    return txn or record_submitted(application_id)


def record_interaction(
    event_id: str, data: dict, when: datetime.datetime | None = None
) -> Interaction | None:
    """Count one interaction's time and cost (once per event)."""
    channel = data.get("channel")
    if channel not in Channel.values:
        raise BadInteraction(f"unknown channel {channel!r}")
    agency = str(data.get("agency") or "")
    if not agency:
        raise BadInteraction("the agent's agency is missing")
    seconds = _seconds(data.get("minutes", 0))
    touched = data.get("applications") or []
    if not isinstance(touched, list):
        raise BadInteraction("applications must be a list of application ids")
    when = when or timezone.now()
    day = timezone.localdate(when)
    with transaction.atomic():
        if Interaction.objects.filter(event_id=event_id).exists():
            return None
        cost = costs.StaffRates().cost(agency, seconds, day)
        interaction = Interaction.objects.create(
            event_id=event_id,
            occurred_at=when,
            day=day,
            channel=channel,
            agency=agency,
            office=str(data.get("office") or "")[:80],
            seconds=seconds,
            cost=cost,
        )
        found = [txn for app in dict.fromkeys(map(str, touched)) if (txn := _transaction_for(app))]
        if not found:
            InteractionShare.objects.create(
                interaction=interaction,
                day=day,
                agency=agency,
                channel=channel,
                seconds=seconds,
                cost=cost,
            )
            return interaction
        for txn, part_seconds, part_cost in zip(
            found,
            costs.split_evenly(seconds, len(found)),
            costs.split_evenly(cost, len(found)),
            strict=True,
        ):
            share = InteractionShare.objects.create(
                interaction=interaction,
                txn=txn,
                day=day,
                service_key=txn.service_key,
                jurisdiction=txn.jurisdiction,
                agency=txn.agency,
                channel=channel,
                seconds=part_seconds,
                cost=part_cost,
            )
            Transaction.objects.filter(pk=txn.pk).update(
                handle_seconds=F("handle_seconds") + part_seconds,
                handle_cost=F("handle_cost") + part_cost,
            )
            rollups.add_share(txn, share)
        return interaction
