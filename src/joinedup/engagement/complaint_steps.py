"""The steps of the complaint process that engagement carries out, called by name from its
BPMN service tasks: record the acknowledgement, record an agency's answer (and, once every
agency concerned has answered, give the person one answer), escalate to the second tier,
refer to the ombudsman, close.

Each runs inside the engine's step, in its transaction: the part, the complaint and their
outbox events change together with the process, or not at all.
"""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from joinedup.delivery import queues
from joinedup.delivery.workflows.engine import Run, handler
from joinedup.sharing import outbox

from .models import Complaint, ComplaintPart
from .ombudsman import ombudsman_for

EVENT = "org.joinedup.engagement.complaint."
SOURCE = "/engagement"
FINDINGS = {"uphold", "partly_uphold", "not_uphold"}


def finding_label(finding: str) -> str:
    return {
        "uphold": _("Upheld"),
        "partly_uphold": _("Partly upheld"),
        "not_uphold": _("Not upheld"),
    }.get(finding, "")


#: The complaint tasks' decisions in words, for the staff's work item page and history.
DECISIONS = {
    "acknowledge": lambda: _("Acknowledge the complaint"),
    "escalate": lambda: _("Pass it to the second tier"),
    "uphold": lambda: _("Uphold the complaint"),
    "partly_uphold": lambda: _("Uphold the complaint in part"),
    "not_uphold": lambda: _("Do not uphold the complaint"),
    "refer": lambda: _("Refer it to the ombudsman"),
    "accept": lambda: _("The person accepted the answer"),
}
queues.register_wording("complaints.", queues.Wording(decisions=DECISIONS))


def _part(run: Run) -> ComplaintPart | None:
    return (
        ComplaintPart.objects.select_related("complaint", "agency")
        .filter(application_id=run.application.pk)
        .first()
    )


def _announce(complaint: Complaint, verb: str, extra: dict | None = None) -> None:
    data = {"complaint": complaint.reference, "person": complaint.person_id}
    data.update(extra or {})
    outbox.emit(EVENT + verb, source=SOURCE, subject=str(complaint.pk), data=data)


@handler("complaint_acknowledged")
def acknowledged(run: Run, **_ignored) -> dict:
    """The front line acknowledged the complaint (the person hears it through the event)."""
    part = _part(run)
    if part is not None:
        _announce(part.complaint, "acknowledged", {"agency": part.agency.key})
    return {"at": timezone.now().isoformat()}


def compose_answer(complaint: Complaint, parts: list[ComplaintPart]) -> str:
    """One answer to the person: each agency's finding and reasons, in their language."""
    with override(complaint.person.preferred_language or "en"):
        lines = []
        for part in parts:
            reasons = part.reasons.strip()
            lines.append(
                f"{part.agency.name} — {finding_label(part.finding)}"
                + (f": {reasons}" if reasons else "")
            )
        return "\n".join(lines)


@handler("complaint_answered")
def answered(run: Run, finding: str = "", reasons: str = "", **_ignored) -> dict:
    """An agency answered its part; when every part has its answer the person gets one."""
    part = _part(run)
    if part is None:
        return {"finding": finding}
    part.finding = finding if finding in FINDINGS else "not_uphold"
    part.reasons = str(reasons or "")[:4000]
    part.save(update_fields=["finding", "reasons"])
    complaint = Complaint.objects.select_for_update().get(pk=part.complaint_id)
    parts = list(complaint.parts.select_related("agency").order_by("agency__key"))
    if all(p.finding for p in parts):
        complaint.answer = compose_answer(complaint, parts)
        complaint.answered_at = timezone.now()
        complaint.save(update_fields=["answer", "answered_at"])
        _announce(complaint, "answered", {"agencies": [p.agency.key for p in parts]})
    return {"finding": part.finding}


@handler("complaint_escalated")
def escalated(run: Run, **_ignored) -> dict:
    """To the second tier: the part waits for a new answer, and so does the person."""
    part = _part(run)
    if part is None:
        return {"tier": 2}
    part.tier = 2
    part.finding = ""
    part.escalated_at = timezone.now()
    part.save(update_fields=["tier", "finding", "escalated_at"])
    Complaint.objects.filter(pk=part.complaint_id).update(answer="", answered_at=None)
    _announce(part.complaint, "escalated", {"agency": part.agency.key})
    return {"tier": 2}


@handler("refer_to_ombudsman")
def refer(run: Run, **_ignored) -> dict:
    """Refer the part to the ombudsman of the agency's jurisdiction (or the nearest above)."""
    part = _part(run)
    if part is None:
        return {"ombudsman": None}
    office = ombudsman_for(part.agency.jurisdiction)
    part.tier = 3
    part.ombudsman = office
    part.referred_at = timezone.now()
    part.closed_at = part.referred_at
    part.save(update_fields=["tier", "ombudsman", "referred_at", "closed_at"])
    _announce(
        part.complaint,
        "referred",
        {"agency": part.agency.key, "ombudsman": office.key if office else None},
    )
    _close_if_done(part.complaint_id)
    return {"ombudsman": office.key if office else None}


@handler("complaint_closed")
def closed(run: Run, **_ignored) -> dict:
    part = _part(run)
    if part is not None:
        part.closed_at = timezone.now()
        part.save(update_fields=["closed_at"])
        _close_if_done(part.complaint_id)
    return {}


def _close_if_done(complaint_id) -> None:
    complaint = Complaint.objects.select_for_update().get(pk=complaint_id)
    if complaint.closed_at is None and not complaint.parts.filter(closed_at__isnull=True).exists():
        complaint.closed_at = timezone.now()
        complaint.save(update_fields=["closed_at"])
        _announce(complaint, "closed")
