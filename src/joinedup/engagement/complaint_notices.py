"""What the person hears about their complaint: one message when it is received, one when
the answer is ready (every agency's finding together), one when it is reopened and one when
it is closed — by e-mail and text message, in their language, through delivery's
notification machinery.

A complaint to several agencies is several applications (one per part). Delivery does not
tell the person of those applications' steps (the complaints service's version switches its
notices off, see `complaints_service.NOTIFICATIONS`): the person would get one "application
received" per agency, worded for an application. These subscribers react to engagement's own
events instead, one per complaint, and the outbox event's id dedupes each message, so a
redelivered event sends nothing twice.
"""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse
from django.utils import formats, translation

from joinedup.delivery.notifications import sending
from joinedup.federation.localization import pick
from joinedup.sharing.subscribers import Event, subscriber

from .models import Complaint

EVENT = "org.joinedup.engagement.complaint."


def _complaint(event: Event) -> Complaint | None:
    return (
        Complaint.objects.select_related("person", "service")
        .filter(reference=event.data.get("complaint"))
        .first()
    )


def _variables(complaint: Complaint, language: str) -> dict:
    parts = list(
        complaint.parts.select_related("agency", "ombudsman", "application").order_by("agency__key")
    )
    with translation.override(language):
        path = reverse("engagement:complaint", args=[complaint.reference])
        due = [p.application.due_date for p in parts if p.application.due_date]
        offices = {pick(p.ombudsman.names, language) for p in parts if p.ombudsman}
        person = complaint.person
        return {
            "name": person.preferred_name or person.given_names,
            "reference": complaint.reference,
            "service": pick(complaint.service.names, language) if complaint.service else "",
            "agencies": ", ".join(pick(p.agency.names, language) for p in parts),
            "due_date": formats.date_format(max(due), "DATE_FORMAT") if due else "",
            "answer": complaint.answer,
            "ombudsman": ", ".join(sorted(offices)),
            "status_url": settings.PUBLIC_URL.rstrip("/") + path,
        }


def _tell(event: Event, name: str) -> None:
    complaint = _complaint(event)
    if complaint is None or complaint.person_id is None:
        return
    language = complaint.person.preferred_language
    language = language if language in ("en", "fr") else "en"
    sending.notify(
        complaint.person,
        name,
        f"complaint:{event.id}",
        _variables(complaint, language),
    )


@subscriber(EVENT + "received", name="engagement.notify-complaint-received")
def complaint_received(event: Event) -> None:
    _tell(event, "complaint_received")


@subscriber(EVENT + "answered", name="engagement.notify-complaint-answered")
def complaint_answered(event: Event) -> None:
    _tell(event, "complaint_answered")


@subscriber(EVENT + "reopened", name="engagement.notify-complaint-reopened")
def complaint_reopened(event: Event) -> None:
    _tell(event, "complaint_reopened")


@subscriber(EVENT + "closed", name="engagement.notify-complaint-closed")
def complaint_closed(event: Event) -> None:
    _tell(event, "complaint_closed")
