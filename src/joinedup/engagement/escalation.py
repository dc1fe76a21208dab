"""Escalation on missed standards, on the agency's own calendar.

The first tier must answer within the complaints service's standard — the application's
own clock (delivery's, in business days of the agency's jurisdiction, standing still while
the person is asked something). Once it is missed, the waiting step is completed with
"escalate" and the complaint goes to the second tier. The second tier has
ENGAGEMENT_SECOND_TIER_DAYS business days from the escalation; once missed, it is referred
to the ombudsman. The acknowledgement standard (ENGAGEMENT_ACKNOWLEDGE_DAYS) is measured,
not escalated on its own.

`sweep()` runs on a schedule; each escalation is one transaction.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from joinedup.delivery import clock
from joinedup.delivery.models import WorkItem
from joinedup.delivery.workflows import engine

from .models import ComplaintPart

STAFF_OPEN = (WorkItem.Status.OPEN, WorkItem.Status.CLAIMED)
SYSTEM_LABEL = "Escalation on a missed standard"


def acknowledge_days() -> int:
    return int(getattr(settings, "ENGAGEMENT_ACKNOWLEDGE_DAYS", 2))


def second_tier_days() -> int:
    return int(getattr(settings, "ENGAGEMENT_SECOND_TIER_DAYS", 20))


def acknowledge_due(part: ComplaintPart) -> datetime.date:
    application = part.application
    return clock.calendar_of(application).add(application.submitted_at, acknowledge_days())


def second_tier_due(part: ComplaintPart) -> datetime.date | None:
    if part.escalated_at is None:
        return None
    return clock.calendar_of(part.application).add(part.escalated_at, second_tier_days())


def _complete_as_system(item: WorkItem, decision: str, reasons: str) -> bool:
    with transaction.atomic():
        item = WorkItem.objects.select_for_update().get(pk=item.pk)
        if item.status not in STAFF_OPEN:
            return False
        item.status = WorkItem.Status.COMPLETED
        item.decision = decision
        item.reasons = reasons
        item.completed_at = timezone.now()
        item.completed_by_label = SYSTEM_LABEL
        item.save(
            update_fields=["status", "decision", "reasons", "completed_at", "completed_by_label"]
        )
        engine.announce_item(item, "completed", {"decision": decision, "automatic": True})
        try:
            engine.complete_task(
                item.application, item.task_id, {"decision": decision, "reasons": reasons}, None
            )
        except engine.TaskNotOpen:
            transaction.set_rollback(True)
            return False
    return True


def sweep(at: datetime.datetime | None = None) -> dict[str, int]:
    """Escalate every open part whose standard was missed; returns what it did."""
    at = at or timezone.now()
    done = {"escalated": 0, "referred": 0}
    parts = (
        ComplaintPart.objects.filter(closed_at__isnull=True, tier__lt=3)
        .select_related("application", "application__agency", "application__place")
        .order_by("pk")
    )
    for part in parts:
        application = part.application
        items = list(
            application.work_items.filter(status__in=STAFF_OPEN).exclude(role=WorkItem.APPLICANT)
        )
        if not items:
            continue
        if part.tier == 1 and clock.is_breached(application, at):
            for item in items:
                if _complete_as_system(item, "escalate", _("The response standard was missed.")):
                    done["escalated"] += 1
        elif part.tier == 2:
            due = second_tier_due(part)
            if due is not None and clock.today_for(application, at) > due:
                for item in items:
                    if item.task_name == "second_tier" and _complete_as_system(
                        item, "refer", _("The second-tier standard was missed.")
                    ):
                        done["referred"] += 1
    return done
