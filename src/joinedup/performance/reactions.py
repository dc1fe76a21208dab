"""The performance app's outbox subscribers: it learns of transactions only through events.

Delivery announces each application's steps (`org.joinedup.application.<verb>`); the assisted
channels announce interactions (`org.joinedup.interaction.recorded`); the queues announce each
work item done (`org.joinedup.workitem.completed`), whose caseworker time is added. Each
handler runs in the dispatcher's transaction with the record that it succeeded, so a fact
and its rollups are written exactly once per event.
"""

from __future__ import annotations

import logging

from joinedup.sharing.subscribers import Event, subscriber

from . import casework, handle_time, surveys, transactions
from .models import COMPLETIONS

logger = logging.getLogger(__name__)


@subscriber("org.joinedup.application.*", name="performance.transactions")
def on_application_event(event: Event) -> None:
    """Start the transaction on submission; end it on a decision (and maybe invite)."""
    application_id = event.data.get("application") or event.subject
    verb = event.type.rsplit(".", 1)[-1]
    if not application_id:
        return
    if verb == "submitted":
        transactions.record_submitted(application_id)
    elif verb in transactions.DECISIONS:
        txn = transactions.record_decided(application_id, verb, event.time)
        if txn is not None and txn.outcome in COMPLETIONS:
            surveys.invite(txn, application_id, event.id)


@subscriber(handle_time.EVENT, name="performance.interactions")
def on_interaction(event: Event) -> None:
    """Add an interaction's handle time and cost; a malformed event is logged, not retried."""
    try:
        handle_time.record_interaction(event.id, event.data, event.time)
    except handle_time.BadInteraction as error:
        logger.error("interaction event %s not counted: %s", event.id, error)


@subscriber("org.joinedup.workitem.completed", name="performance.casework")
def on_work_item_done(event: Event) -> None:
    """Add a done work item's caseworker time to its application's transaction."""
    casework.record_work_item(event.data)
