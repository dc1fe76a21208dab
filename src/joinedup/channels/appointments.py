"""Appointments at offices: slots with a capacity, booked from the portal and the consoles.

Overbooking is impossible, even under concurrency: a booking locks its slot's row, takes the
first free seat, and a unique constraint on (slot, seat) among appointments not cancelled
refuses any second booking of a seat that slips through (SQLite serialises writers anyway).
A seat stays taken once the person came or did not come; only cancelling frees it.

Staff book inside a counter visit or a call: the appointment is recorded in that
interaction, and an office of another agency is served only under joint delivery (the
co-location gate, which names both agencies in the ledger).
"""

from __future__ import annotations

import datetime
import zoneinfo

from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q, QuerySet
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from joinedup.federation.calendars import calendar_for
from joinedup.federation.models import WEEKDAYS, Jurisdiction, Office, Service
from joinedup.identity import policy
from joinedup.identity.acting import ActingContext
from joinedup.identity.models import Person

from . import colocation, interactions
from .models import Appointment, Interaction, Slot

#: Statuses that hold a seat (everything but a cancellation).
HOLDING = [
    Appointment.Status.BOOKED,
    Appointment.Status.ATTENDED,
    Appointment.Status.NO_SHOW,
]


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


def times_in_hours(
    office: Office, first_day: datetime.date, days: int, every: int = 30
) -> list[datetime.datetime]:
    """The appointment times of an office over `days` days from `first_day`: every `every`
    minutes within its opening hours, on its jurisdiction's working days (no weekend, no
    public holiday), in its local time. An appointment ends by closing time."""
    calendar = calendar_for(office.jurisdiction)
    zone = zoneinfo.ZoneInfo(calendar.time_zone)
    times = []
    for offset in range(days):
        day = first_day + datetime.timedelta(days=offset)
        if not calendar.is_business_day(day):
            continue
        for opens, closes in office.hours.get(WEEKDAYS[day.weekday()], []):
            start = datetime.datetime.combine(day, datetime.time.fromisoformat(opens), zone)
            end = datetime.datetime.combine(day, datetime.time.fromisoformat(closes), zone)
            while start + datetime.timedelta(minutes=every) <= end:
                times.append(start)
                start += datetime.timedelta(minutes=every)
    return times


def open_hours(
    office: Office,
    first_day: datetime.date,
    days: int,
    *,
    every: int = 30,
    capacity: int = 2,
) -> int:
    """Offer appointments at the office over the coming days, in its opening hours (see
    `times_in_hours`), in one statement. Safe to run again: a time already offered keeps its
    capacity and its bookings. Returns how many times were added."""
    if not 5 <= every <= 240:
        raise BookingError("length", _("An appointment lasts from 5 to 240 minutes."))
    if capacity < 1:
        raise BookingError("capacity", _("A slot has room for at least one person."))
    times = times_in_hours(office, first_day, days, every)
    before = Slot.objects.filter(office=office).count()
    Slot.objects.bulk_create(
        [Slot(office=office, starts_at=t, minutes=every, capacity=capacity) for t in times],
        ignore_conflicts=True,
    )
    return Slot.objects.filter(office=office).count() - before


def counter_offices() -> list[Office]:
    """Every office where people are served at a counter: where appointments make sense."""
    found = Office.objects.select_related("jurisdiction").order_by("key")
    return [office for office in found if "counter" in (office.channels or [])]


def free_seats(slot: Slot) -> int:
    taken = slot.appointments.filter(status__in=HOLDING).count()
    return max(0, slot.capacity - taken)


def _with_seats_taken(slots: QuerySet[Slot]) -> QuerySet[Slot]:
    """Slots, each with its seats taken counted by the database with the row (`taken`), so
    a day of slots is one query, not one more per slot."""
    return slots.annotate(
        taken=Count("appointments", filter=Q(appointments__status__in=HOLDING))
    ).filter(capacity__gt=F("taken"))


def office_zone(office: Office) -> zoneinfo.ZoneInfo:
    """The time zone the office keeps its hours in (its jurisdiction's): every time of an
    appointment is shown and read in it, whatever the server's zone."""
    return zoneinfo.ZoneInfo(office.jurisdiction.time_zone or "UTC")


def office_day_bounds(office: Office, day: datetime.date) -> tuple[datetime.datetime, ...]:
    """The first instant of `day` at the office and of the next day (a DST day is 23 or 25
    hours long, so the bounds are computed in the office's zone, not by adding 24 hours)."""
    zone = office_zone(office)
    start = datetime.datetime.combine(day, datetime.time.min, zone)
    end = datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time.min, zone)
    return start, end


def office_today(office: Office) -> datetime.date:
    """Today at the office (in Melbourne it is already tomorrow for much of Toronto's day)."""
    return timezone.now().astimezone(office_zone(office)).date()


def when_at(moment: datetime.datetime, office: Office, *, with_date: bool = True) -> str:
    """A time as the office's clock shows it, naming the zone: "Dec. 4, 2026, 9:30 a.m. EST"
    (one format for the confirmation and the lists, in the reader's language)."""
    local = moment.astimezone(office_zone(office))
    time = formats.time_format(local, "TIME_FORMAT")
    shown = f"{formats.date_format(local, 'DATE_FORMAT')}, {time}" if with_date else time
    return f"{shown} {local.tzname()}"


def available(office: Office, day: datetime.date) -> list[tuple[Slot, int]]:
    """The office's slots on a day (the office's day, in its zone) still to come that have
    room, with the seats left."""
    start, end = office_day_bounds(office, day)
    slots = _with_seats_taken(
        Slot.objects.filter(
            office=office, starts_at__gte=start, starts_at__lt=end, starts_at__gt=timezone.now()
        )
    ).order_by("starts_at")
    return [(slot, slot.capacity - slot.taken) for slot in slots]


def days_with_room(office: Office, limit: int = 5) -> list[datetime.date]:
    """The next days on which the office still has a free seat, so nobody has to guess."""
    days: list[datetime.date] = []
    slots = _with_seats_taken(
        Slot.objects.filter(office=office, starts_at__gt=timezone.now())
    ).order_by("starts_at")
    zone = office_zone(office)
    for starts_at in slots.values_list("starts_at", flat=True).iterator():
        day = starts_at.astimezone(zone).date()
        if day not in days:
            days.append(day)
            if len(days) >= limit:
                break
    return days


def book(
    context: ActingContext,
    slot_id: int,
    person: Person,
    *,
    service: Service | None = None,
    channel: str = "online",
    interaction: Interaction | None = None,
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
            holding = slot.appointments.filter(status__in=HOLDING)
            taken = set(holding.values_list("seat", flat=True))
            if holding.filter(person_id=person.pk).exists():
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
                interaction=interaction,
            )
    except IntegrityError:
        raise BookingError("full", _("This time is fully booked: choose another.")) from None


def cancel(context: ActingContext, appointment: Appointment) -> Appointment:
    """Cancel a booked appointment, which frees its seat for someone else."""
    policy.require(context, "channels.appointments.book")
    if context.role is None and appointment.person_id != context.subject_id:
        raise BookingError("not_yours", _("This appointment is someone else's."))
    with transaction.atomic():
        locked = Appointment.objects.select_for_update().get(pk=appointment.pk)
        if locked.status != Appointment.Status.BOOKED:
            raise BookingError("not_booked", _("This appointment is no longer booked."))
        locked.status = Appointment.Status.CANCELLED
        locked.save(update_fields=["status"])
    return locked


# --- Finding an office and a time -------------------------------------------------------


def bookable_services() -> list[Service]:
    """Services delivered by an agency with an office taking appointments, by name."""
    agencies = Slot.objects.filter(starts_at__gt=timezone.now()).values("office__agency")
    found = (
        Service.objects.filter(offerings__agency__in=agencies).select_related("scope").distinct()
    )
    return sorted(found, key=lambda service: service.name.casefold())


def offices_for(service: Service | None = None, place: str = "") -> QuerySet[Office]:
    """Offices taking appointments (with times still to come) of the agencies that deliver
    `service` (any, when none is given), in or under a place: a jurisdiction code
    (CA-ON-TOR) or words of the office's town, name or postal code."""
    found = Office.objects.select_related("agency", "jurisdiction").filter(
        slots__starts_at__gt=timezone.now()
    )
    if service is not None:
        offerings = service.offerings.all()
        found = found.filter(Q(offerings__in=offerings) | Q(agency__in=offerings.values("agency")))
    place = place.strip()
    if place:
        area = Jurisdiction.objects.filter(code__iexact=place).first()
        if area is not None:
            found = found.filter(
                Q(jurisdiction__path=area.path) | Q(jurisdiction__path__startswith=area.path + "/")
            )
        else:
            found = found.filter(
                Q(locality__icontains=place)
                | Q(postal_code__icontains=place)
                | Q(names__icontains=place)
            )
    return found.distinct().order_by("locality", "key")


def upcoming_of(person: Person) -> QuerySet[Appointment]:
    """A person's appointments still to come (booked), soonest first."""
    return (
        Appointment.objects.filter(
            person=person, status=Appointment.Status.BOOKED, slot__starts_at__gt=timezone.now()
        )
        .select_related("slot__office__agency", "slot__office__jurisdiction", "service")
        .order_by("slot__starts_at")
    )


def history_of(person: Person, limit: int = 20) -> list[Appointment]:
    """A person's past or cancelled appointments, latest first."""
    return list(
        Appointment.objects.filter(person=person)
        .exclude(status=Appointment.Status.BOOKED, slot__starts_at__gt=timezone.now())
        .select_related("slot__office__agency", "slot__office__jurisdiction", "service")
        .order_by("-slot__starts_at")[:limit]
    )


def own_appointment(context: ActingContext, appointment_id: int) -> Appointment | None:
    """An appointment of the person the context acts for; someone else's is not found."""
    if context.subject_id is None:
        return None
    return (
        Appointment.objects.select_related("slot__office__jurisdiction", "service")
        .filter(pk=appointment_id, person_id=context.subject_id)
        .first()
    )


# --- Staff: booking inside a visit or call, the office's day ----------------------------


def book_for(
    context: ActingContext,
    interaction: Interaction,
    slot_id: int,
    service: Service,
) -> Appointment:
    """Book for the person being served in this visit or call, recorded in it. An office
    of another agency is served only under a joint-delivery agreement covering the service
    (the ledger names both agencies, refused or not). Raises BookingError, PolicyDenied,
    InteractionError or NotCoLocated."""
    interactions.require_open(interaction)
    if interaction.person is None:
        raise interactions.InteractionError("no_person", _("Find the person first."))
    slot = Slot.objects.select_related("office__agency").filter(pk=slot_id).first()
    if slot is None:
        raise BookingError("no_slot", _("There is no such appointment time."))
    delivering = slot.office.agency
    try:
        agreement = colocation.check(context, service, delivering)
    except colocation.NotCoLocated:
        colocation.record_refusal(context, service, delivering, interaction.person)
        raise
    with transaction.atomic():
        appointment = book(
            context,
            slot.pk,
            interaction.person,
            service=service,
            channel=interaction.channel,
            interaction=interaction,
        )
        if agreement is not None:
            colocation.authorise(context, service, delivering, interaction.person)
            interactions.served_for(interaction, delivering.key)
    return appointment


def require_office_staff(context: ActingContext, office: Office) -> None:
    """The office's day is for front-line staff of the agency that runs it."""
    policy.require(context, "channels.counter")
    if office.agency.key != context.agency_key:
        raise policy.PolicyDenied(
            policy.deny("forbidden", _("This office belongs to another agency."))
        )


def day_at(context: ActingContext, office: Office, day: datetime.date) -> list[Slot]:
    """The office's slots of a day with their appointments (cancelled ones left out)."""
    require_office_staff(context, office)
    start, end = office_day_bounds(office, day)
    slots = list(
        Slot.objects.filter(office=office, starts_at__gte=start, starts_at__lt=end).order_by(
            "starts_at"
        )
    )
    booked = (
        Appointment.objects.filter(slot__in=slots, status__in=HOLDING)
        .select_related("person", "service")
        .order_by("seat")
    )
    by_slot: dict[int, list[Appointment]] = {}
    for appointment in booked:
        by_slot.setdefault(appointment.slot_id, []).append(appointment)
    for slot in slots:
        slot.booked = by_slot.get(slot.pk, [])
    return slots


def mark(context: ActingContext, appointment: Appointment, outcome: str) -> Appointment:
    """Record whether the person came (attended or no-show); staff of the office only."""
    require_office_staff(context, appointment.slot.office)
    if outcome not in (Appointment.Status.ATTENDED, Appointment.Status.NO_SHOW):
        raise BookingError("outcome", _("Say whether the person came."))
    with transaction.atomic():
        locked = Appointment.objects.select_for_update().get(pk=appointment.pk)
        if locked.status == Appointment.Status.CANCELLED:
            raise BookingError("not_booked", _("This appointment was cancelled."))
        locked.status = outcome
        locked.save(update_fields=["status"])
    return locked
