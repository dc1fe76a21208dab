"""The channels part of the API: partner systems (a hospital's notice of birth, their
agency's application statuses, webhooks) and appointments at offices.

Partner endpoints answer agencies' API clients only, each within its scopes (`read`,
`write`) and its rate (429 with Retry-After beyond it, see ratelimit.py).
"""

from __future__ import annotations

import datetime
import uuid
from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status
from ninja.errors import HttpError

from joinedup.apicontract import Refusal as ErrorOut
from joinedup.delivery.models import Application
from joinedup.federation.models import Office, Service
from joinedup.identity.acting import ActingContext
from joinedup.identity.api_auth import api_auth
from joinedup.identity.models import Person

from . import appointments, partners

router = Router(tags=["channels"])


#: What any operation may answer besides its own results: not signed in (401), not allowed
#: or beyond the client's scopes (403), invalid input (422), beyond the client's rate (429).
REFUSALS: dict[int, Any] = {401: ErrorOut, 403: ErrorOut, 422: ErrorOut, 429: ErrorOut}


class BirthNoticeIn(Schema):
    notice_id: str = Field(min_length=1, max_length=100, description="The hospital's own reference")
    mother_given_names: str = Field(min_length=1, max_length=100)
    mother_family_name: str = Field(min_length=1, max_length=100)
    child_birth_date: datetime.date
    child_sex: str = Field("", pattern=r"^(female|male|x|)$")
    hospital: str = Field(min_length=1, max_length=200, description="Name of the hospital")
    province: str = Field(pattern=r"^[A-Z]{2}-[A-Z0-9]{1,6}$", description="e.g. CA-ON")


class BirthNoticeOut(Schema):
    id: int
    notice_id: str
    received_at: datetime.datetime
    matched: bool
    registration_reference: str | None = None
    registrar: str | None = None


def _notice_out(notice) -> dict:
    return {
        "id": notice.pk,
        "notice_id": notice.notice_id,
        "received_at": notice.received_at,
        "matched": notice.registration_id is not None,
        "registration_reference": notice.registration.reference if notice.registration else None,
        "registrar": notice.registration.agency.key if notice.registration else None,
    }


@router.post(
    "/partners/birth-notices",
    response={201: BirthNoticeOut, 200: BirthNoticeOut, 422: ErrorOut, **REFUSALS},
    auth=api_auth("channels.partner.write"),
)
def send_birth_notice(request: HttpRequest, payload: BirthNoticeIn):
    """A hospital's system notifies a birth; it is matched with the parents' registration
    (same child's birth date, province, mother among the parents, hospital as the place).
    The same `notice_id` again returns the first notice (200)."""
    context: ActingContext = request.auth
    try:
        notice, created = partners.receive_birth_notice(context, payload.dict())
    except partners.PartnerError as error:
        return Status(422, {"detail": error.message, "code": error.code})
    notice = partners.notice_of(context, notice.pk)
    return Status(201 if created else 200, _notice_out(notice))


@router.get(
    "/partners/birth-notices/{notice_id}",
    response={200: BirthNoticeOut, 404: ErrorOut, **REFUSALS},
    auth=api_auth("channels.partner.read"),
)
def birth_notice(request: HttpRequest, notice_id: int):
    """A notice this client sent, and whether it was matched with a registration."""
    notice = partners.notice_of(request.auth, notice_id)
    if notice is None:
        return Status(404, {"detail": _("Not found.")})
    return _notice_out(notice)


class PartnerApplicationOut(Schema):
    id: uuid.UUID
    reference: str
    service: str
    agency: str
    status: str
    due_date: datetime.date | None = None


@router.get(
    "/partners/applications/{application_id}",
    response={200: PartnerApplicationOut, 404: ErrorOut, **REFUSALS},
    auth=api_auth("channels.partner.read"),
)
def partner_application(request: HttpRequest, application_id: uuid.UUID):
    """The status of an application delivered by the client's own agency (others: 404)."""
    context: ActingContext = request.auth
    application = (
        Application.objects.select_related("service", "agency")
        .defer("data", "process_state")
        .filter(pk=application_id, agency__key=context.agency_key)
        .first()
    )
    if application is None:
        return Status(404, {"detail": _("Not found.")})
    return {
        "id": application.pk,
        "reference": application.reference,
        "service": application.service.key,
        "agency": application.agency.key,
        "status": application.status,
        "due_date": application.due_date,
    }


class WebhookIn(Schema):
    name: str = Field("", max_length=100)
    url: str = Field(min_length=1, max_length=500, description="https:// address to POST to")


class WebhookOut(Schema):
    id: int
    url: str
    event_types: list[str]
    secret: str = Field(description="Shown once: verify each request's Joinedup-Signature")


@router.post(
    "/partners/webhooks",
    response={201: WebhookOut, 400: ErrorOut, **REFUSALS},
    auth=api_auth("channels.partner.write"),
)
def register_webhook(request: HttpRequest, payload: WebhookIn):
    """Receive the status changes of the agency's applications at `url` (CloudEvents,
    signed; see the sharing documentation for the signature)."""
    try:
        endpoint = partners.register_webhook(request.auth, payload.name, payload.url)
    except ValidationError as error:
        return Status(400, {"detail": " ".join(error.messages), "code": "invalid"})
    return Status(
        201,
        {
            "id": endpoint.pk,
            "url": endpoint.url,
            "event_types": endpoint.event_types,
            "secret": endpoint.secret,
        },
    )


# --- Appointments -----------------------------------------------------------------------


class SlotOut(Schema):
    id: int
    office: str
    starts_at: datetime.datetime
    minutes: int
    seats_left: int


@router.get(
    "/offices/{office_key}/slots",
    response={200: list[SlotOut], 404: ErrorOut, **REFUSALS},
    auth=api_auth("public"),
)
def office_slots(request: HttpRequest, office_key: str, day: datetime.date):
    """Appointment times with room left at an office on a day."""
    office = Office.objects.filter(key=office_key).first()
    if office is None:
        return Status(404, {"detail": _("Not found.")})
    return [
        {
            "id": slot.pk,
            "office": office.key,
            "starts_at": slot.starts_at,
            "minutes": slot.minutes,
            "seats_left": seats,
        }
        for slot, seats in appointments.available(office, day)
    ]


class AppointmentIn(Schema):
    slot: int
    service: str | None = None
    person: int | None = Field(None, description="Staff: the person booked for")


class AppointmentOut(Schema):
    id: int
    slot: int
    office: str
    starts_at: datetime.datetime
    seat: int
    status: str


@router.post(
    "/appointments",
    response={201: AppointmentOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut, **REFUSALS},
    auth=api_auth("channels.appointments.book"),
)
def book_appointment(request: HttpRequest, payload: AppointmentIn):
    """Book a seat at an office (409 when the time is full)."""
    context: ActingContext = request.auth
    person_id = payload.person if payload.person is not None else context.subject_id
    person = Person.objects.filter(pk=person_id).first() if person_id else None
    if person is None:
        raise HttpError(422, _("Say whom the appointment is for."))
    service = None
    if payload.service:
        service = get_object_or_404(Service, key=payload.service)
    try:
        appointment = appointments.book(
            context,
            payload.slot,
            person,
            service=service,
            channel=context.channel if context.role is None else "counter",
        )
    except appointments.BookingError as error:
        status = {"no_slot": 404, "full": 409, "twice": 409}.get(error.code, 422)
        return Status(status, {"detail": error.message, "code": error.code})
    return Status(
        201,
        {
            "id": appointment.pk,
            "slot": appointment.slot_id,
            "office": appointment.slot.office.key,
            "starts_at": appointment.slot.starts_at,
            "seat": appointment.seat,
            "status": appointment.status,
        },
    )
