"""Appointments at offices: slots with a capacity, booked from the portal and the consoles.

Overbooking is impossible, even under concurrency: a booking locks its slot's row, takes the
first free seat, and a unique constraint on (slot, seat) among booked appointments refuses
any second booking of a seat that slips through (SQLite serialises writers anyway).
"""

from __future__ import annotations

import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from joinedup.federation.models import Office, Service
from joinedup.identity import policy
from joinedup.identity.acting import ActingContext
from joinedup.identity.models import Person

from .models import Appointment, Slot


class BookingError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def open_slots(
    office: Office, starts: list[datetime.datetime], capacity: int, minutes: int = 15
) -> list[Slot]:
    """Offer times at an office (an existing time keeps its slot, with the new capacity)."""
    if capacity < 1:
        raise BookingError("capacity", _("A slot has room for at least one person."))
    made = []
    for start in starts:
        slot, _created = Slot.objects.update_or_create(
            office=office, starts_at=start, defaults={"capacity": capacity, "minutes": minutes}
        )
        made.append(slot)
    return made


def free_seats(slot: Slot) -> int:
    taken = slot.appointments.filter(status=Appointment.Status.BOOKED).count()
    return max(0, slot.capacity - taken)


def available(office: Office, day: datetime.date) -> list[tuple[Slot, int]]:
    """The office's slots on a day that still have room, with the seats left."""
    slots = Slot.objects.filter(office=office, starts_at__date=day).order_by("starts_at")
    return [(slot, seats) for slot in slots if (seats := free_seats(slot)) > 0]


def book(
    context: ActingContext,
    slot_id: int,
    person: Person,
    *,
    service: Service | None = None,
    channel: str = "online",
) -> Appointment:
    """Book a seat for the person (themselves, or staff for someone they serve)."""
    policy.require(context, "channels.appointments.book")
    if context.role is None and person.pk != context.subject_id:
        raise BookingError("not_yours", _("You may book only for yourself."))
    if context.role is not None:
        policy.require(context, "person.view", person)
    try:
        with transaction.atomic():
            slot = Slot.objects.select_for_update().filter(pk=slot_id).first()
            if slot is None:
                raise BookingError("no_slot", _("There is no such appointment time."))
            if slot.starts_at <= timezone.now():
                raise BookingError("past", _("This time has passed: choose a later one."))
            taken = set(
                slot.appointments.filter(status=Appointment.Status.BOOKED).values_list(
                    "seat", flat=True
                )
            )
            if any(
                a.person_id == person.pk
                for a in slot.appointments.filter(status=Appointment.Status.BOOKED)
            ):
                raise BookingError("twice", _("This person already has this appointment."))
            seat = next((n for n in range(1, slot.capacity + 1) if n not in taken), None)
            if seat is None:
                raise BookingError("full", _("This time is fully booked: choose another."))
            return Appointment.objects.create(
                slot=slot,
                seat=seat,
                person=person,
                service=service,
                channel=channel,
                booked_by_id=context.user_id,
            )
    except IntegrityError:
        raise BookingError("full", _("This time is fully booked: choose another.")) from None


def cancel(context: ActingContext, appointment: Appointment) -> Appointment:
    policy.require(context, "channels.appointments.book")
    if context.role is None and appointment.person_id != context.subject_id:
        raise BookingError("not_yours", _("This appointment is someone else's."))
    appointment.status = Appointment.Status.CANCELLED
    appointment.save(update_fields=["status"])
    return appointment
