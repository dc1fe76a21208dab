"""Appointment pages: a person books, sees and cancels their own from "My services"; staff
book for the person of a counter visit or a call; an office's staff see its day.

Thin views over appointments.py. Every page works without JavaScript: choosing a time is a
form of radio buttons. A full time is refused on the page with a 409, bad input with a 400;
someone else's appointment is not found (404).
"""

from __future__ import annotations

import datetime

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from joinedup.federation.models import Office, Service
from joinedup.identity import guards, policy
from joinedup.identity.acting import ActingContext
from joinedup.identity.models import Person
from joinedup.identity.policy import PolicyDenied

from . import appointments, forms, interactions, phone, picklists
from .appointments import BookingError
from .colocation import NotCoLocated
from .interactions import InteractionError
from .models import Appointment, Interaction

#: A refused booking's HTTP status: a time taken meanwhile is a conflict, the rest bad input.
STATUS = {"full": 409, "twice": 409, "not_booked": 409}


def _status(error: BookingError) -> int:
    return STATUS.get(error.code, 400)


def _subject(context: ActingContext) -> Person:
    """The person the account acts for (themselves or, under a mandate, a family member)."""
    person = Person.objects.filter(pk=context.subject_id).first() if context.subject_id else None
    if person is None:
        raise PolicyDenied(
            policy.deny("forbidden", _("Only a person registered with us books an appointment."))
        )
    return person


def _day(raw: str | None, office: Office) -> datetime.date | None:
    """The day asked for; without one, the first day with room (or today)."""
    if raw:
        form = forms.DayForm({"day": raw})
        return form.cleaned_data["day"] if form.is_valid() else None
    days = appointments.days_with_room(office, limit=1)
    return days[0] if days else appointments.office_today(office)


# --- The person's pages -----------------------------------------------------------------


@guards.requires("channels.appointments.mine")
def my_appointments(request: HttpRequest, context: ActingContext) -> HttpResponse:
    return _my_page(request, context)


def _my_page(
    request: HttpRequest, context: ActingContext, *, error: str = "", status: int = 200
) -> HttpResponse:
    person = _subject(context)
    return render(
        request,
        "channels/my_appointments.html",
        {
            "person": person,
            "upcoming": list(appointments.upcoming_of(person)),
            "history": appointments.history_of(person),
            "error": error,
            "section": "my-services",
        },
        status=status,
    )


@guards.requires("channels.appointments.mine")
def find_office(request: HttpRequest, context: ActingContext) -> HttpResponse:
    person = _subject(context)
    place = picklists.place_of(person)
    # The services of the person's own federation, those of their place first.
    services = picklists.services(
        appointments.bookable_services(), picklists.root_of(place.code if place else ""), place
    )
    form = forms.FindOfficeForm(request.GET or None, services=services)
    offices, service, status = None, None, 200
    if form.is_bound:
        if form.is_valid():
            key = form.cleaned_data["service"]
            service = next((s for s in services if s.key == key), None)
            offices = list(appointments.offices_for(service, form.cleaned_data["place"]))
        else:
            status = 400
    return render(
        request,
        "channels/find_office.html",
        {"form": form, "offices": offices, "service": service, "section": "my-services"},
        status=status,
    )


@guards.requires("channels.appointments.mine")
def office_slots(request: HttpRequest, context: ActingContext, office_key: str) -> HttpResponse:
    office = get_object_or_404(Office.objects.select_related("agency"), key=office_key)
    person = _subject(context)
    service_key = request.POST.get("service") or request.GET.get("service") or ""
    service = Service.objects.filter(key=service_key).first() if service_key else None
    error, status = "", 200
    if request.method == "POST":
        try:
            slot_id = int(request.POST.get("slot", ""))
        except ValueError:
            error, status = _("Choose a time."), 400
        else:
            try:
                appointments.book(context, slot_id, person, service=service, channel="online")
            except BookingError as refusal:
                error, status = refusal.message, _status(refusal)
            else:
                messages.success(request, _("Your appointment is booked."))
                return redirect("channels:my-appointments")
    raw_day = request.POST.get("day") or request.GET.get("day")
    day = _day(raw_day, office)
    if day is None:
        error, status = _("Write the day as YYYY-MM-DD."), 400
        day = appointments.office_today(office)
    return render(
        request,
        "channels/office_slots.html",
        {
            "office": office,
            "service": service,
            "day": day,
            "previous_day": day - datetime.timedelta(days=1),
            "next_day": day + datetime.timedelta(days=1),
            "today": appointments.office_today(office),
            "slots": appointments.available(office, day),
            "days": appointments.days_with_room(office),
            "day_form": forms.DayForm(initial={"day": day}),
            "error": error,
            "section": "my-services",
        },
        status=status,
    )


@require_POST
@guards.requires("channels.appointments.mine")
def cancel(request: HttpRequest, context: ActingContext, appointment_id: int) -> HttpResponse:
    found = appointments.own_appointment(context, appointment_id)
    if found is None:
        raise Http404
    try:
        appointments.cancel(context, found)
    except BookingError as refusal:
        return _my_page(request, context, error=refusal.message, status=_status(refusal))
    messages.success(request, _("Your appointment is cancelled. The time is free for others."))
    return redirect("channels:my-appointments")


# --- Staff: booking during a visit or a call ----------------------------------------------


def _staff_booking(
    request: HttpRequest, context: ActingContext, found: Interaction, back: str
) -> HttpResponse:
    # The agent's own federation only; their own office first (the default), then the
    # offices nearest the person.
    root = picklists.root_of(context.agency_jurisdiction)
    place = picklists.place_of(found.person)
    services = picklists.services(appointments.bookable_services(), root, place)
    offices = picklists.offices(appointments.offices_for(), root, context.office_keys, place)
    data = request.POST if request.method == "POST" else (request.GET or None)
    form = forms.StaffBookingForm(data, services=services, offices=offices)
    slots, error, status, office = None, "", 200, None
    if form.is_bound and not form.is_valid():
        status = 400
    elif form.is_bound:
        office = next(o for o in offices if o.key == form.cleaned_data["office"])
        service = next(s for s in services if s.key == form.cleaned_data["service"])
        if request.method == "POST":
            try:
                slot_id = int(request.POST.get("slot", ""))
                if found.channel == Interaction.Channel.PHONE:
                    phone.require_verified(found)
                appointment = appointments.book_for(context, found, slot_id, service)
            except ValueError:
                error, status = _("Choose a time."), 400
            except BookingError as refusal:
                error, status = refusal.message, _status(refusal)
            except (NotCoLocated, InteractionError) as refusal:
                error, status = refusal.message, 403
            except PolicyDenied as denied:
                error, status = denied.decision.reason, 403
            else:
                messages.success(
                    request,
                    _("The appointment is booked: %(office)s, %(when)s.")
                    % {
                        "office": office.name,
                        "when": appointments.when_at(appointment.slot.starts_at, office),
                    },
                )
                return redirect(back, found.pk)
        slots = appointments.available(office, form.cleaned_data["day"])
    return render(
        request,
        "channels/staff_booking.html",
        {
            "form": form,
            "interaction": found,
            "office": office,
            "slots": slots,
            "back": back,
            "error": error,
        },
        status=status,
    )


@guards.requires("channels.counter")
def visit_appointment(request: HttpRequest, context: ActingContext, visit_id: int) -> HttpResponse:
    found = interactions.mine_or_404(context, visit_id, Interaction.Channel.COUNTER)
    return _staff_booking(request, context, found, "channels:visit")


@guards.requires("channels.phone")
def call_appointment(request: HttpRequest, context: ActingContext, call_id: int) -> HttpResponse:
    found = interactions.mine_or_404(context, call_id, Interaction.Channel.PHONE)
    return _staff_booking(request, context, found, "channels:call")


# --- Staff: the office's day --------------------------------------------------------------


def _day_page(
    request: HttpRequest,
    context: ActingContext,
    office: Office,
    day: datetime.date,
    *,
    form: forms.DayForm | None = None,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        "channels/office_day.html",
        {
            "office": office,
            "day": day,
            "previous_day": day - datetime.timedelta(days=1),
            "next_day": day + datetime.timedelta(days=1),
            "slots": appointments.day_at(context, office, day),
            "form": form or forms.DayForm(initial={"day": day}),
            "outcomes": [
                (Appointment.Status.ATTENDED, _("Came")),
                (Appointment.Status.NO_SHOW, _("Did not come")),
            ],
            "error": error,
        },
        status=status,
    )


@guards.requires("channels.counter")
def office_day(request: HttpRequest, context: ActingContext, office_key: str) -> HttpResponse:
    office = get_object_or_404(Office.objects.select_related("agency"), key=office_key)
    if not request.GET.get("day"):
        return _day_page(request, context, office, appointments.office_today(office))
    form = forms.DayForm(request.GET)
    if not form.is_valid():
        today = appointments.office_today(office)
        return _day_page(request, context, office, today, form=form, status=400)
    return _day_page(request, context, office, form.cleaned_data["day"], form=form)


@require_POST
@guards.requires("channels.counter")
def mark(request: HttpRequest, context: ActingContext, appointment_id: int) -> HttpResponse:
    found = get_object_or_404(
        Appointment.objects.select_related("slot__office__agency"),
        pk=appointment_id,
        slot__office__agency__key=context.agency_key,
    )
    office = found.slot.office
    day = found.slot.starts_at.astimezone(appointments.office_zone(office)).date()
    try:
        appointments.mark(context, found, request.POST.get("outcome", ""))
    except BookingError as refusal:
        return _day_page(
            request, context, office, day, error=refusal.message, status=_status(refusal)
        )
    messages.success(request, _("The appointment is marked."))
    response = redirect("channels:office-day", office_key=office.key)
    response["Location"] += f"?day={day.isoformat()}"
    return response
