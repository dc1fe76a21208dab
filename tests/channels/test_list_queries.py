"""The counter's and the phone console's person views send as many SQL statements when the
person has 200 applications as with 10 (each view shows the latest 50); the appointment
lists (an office's free slots, on the site and in the API, the office's day, a person's
appointments) as many with 200 slots as with 10; and so do the consoles' home pages. A
statement per row, while the person waits at the desk or on the line, is what this
prevents."""

from __future__ import annotations

import datetime

import pytest
from django.test import Client
from django.utils import timezone

from joinedup.channels import appointments, counter, phone
from joinedup.channels.models import Appointment, CallTask, Interaction, Slot
from joinedup.delivery.applications import submit_application
from joinedup.delivery.models import Application
from joinedup.federation.models import Agency, Office
from tests.delivery.conftest import copies_of, sign_in

from .conftest import birth_registration

pytestmark = pytest.mark.django_db


@pytest.fixture
def amaras_application(world) -> Application:
    application, _ = submit_application(
        world.person(world.amara), "ca.birth-registration", birth_registration()
    )
    return application


def add_applications(template: Application):
    """n more applications of the person, every other one approved (the counter offers to
    issue the documents of approved applications)."""

    def add(count: int) -> None:
        copies = copies_of(template, count)
        Application.objects.filter(pk__in=[c.pk for c in copies[::2]]).update(status="approved")

    return add


def test_the_counter_person_view_does_not_query_per_application(
    world, amaras_application, queries_at_10_and_200
):
    visit = counter.start_visit(world.staff(world.esdc_clerk), world.amara.person)
    browser = sign_in(Client(), world.esdc_clerk, second_factor=True)

    def read():
        response = browser.get(f"/en/counter/visits/{visit.pk}/")
        assert response.status_code == 200
        shown = response.context["applications"]
        assert len(shown) == min(50, Application.objects.filter(applicant=visit.person).count())
        assert any(templates for _app, templates in shown)  # approved: documents to issue

    at_10, at_200 = queries_at_10_and_200(add_applications(amaras_application), read, start=1)
    assert at_200 == at_10


def test_the_phone_person_view_does_not_query_per_application(
    world, amaras_application, queries_at_10_and_200
):
    call = phone.start_call(world.staff(world.esdc_clerk), world.amara.person)
    Interaction.objects.filter(pk=call.pk).update(verified_at=timezone.now())
    browser = sign_in(Client(), world.esdc_clerk, second_factor=True)

    def read():
        response = browser.get(f"/en/phone/calls/{call.pk}/")
        assert response.status_code == 200
        shown = response.context["applications"]
        assert len(shown) == min(50, Application.objects.filter(applicant=call.person).count())

    at_10, at_200 = queries_at_10_and_200(add_applications(amaras_application), read, start=1)
    assert at_200 == at_10


def add_appointments(world):
    """n more slots at Service Canada Toronto on one day (capacity 2), one minute apart,
    each with one of Amara's appointments: every slot still has a seat."""
    office = Office.objects.get(key="sc-toronto-downtown")
    day = timezone.localdate() + datetime.timedelta(days=7)
    first = timezone.make_aware(datetime.datetime.combine(day, datetime.time(9)))
    (template,) = appointments.open_slots(office, [first], capacity=2)
    booked = appointments.book(world.staff(world.esdc_clerk), template.pk, world.amara.person)
    made = [1]

    def add(count: int) -> None:
        start = Slot.objects.filter(office=office).count()
        slots = Slot.objects.bulk_create(
            Slot(
                office=office,
                starts_at=first + datetime.timedelta(minutes=start + n),
                capacity=2,
                minutes=15,
            )
            for n in range(count - len(made))
        )
        fields = {f.attname: getattr(booked, f.attname) for f in Appointment._meta.fields}
        Appointment.objects.bulk_create(
            Appointment(**{**fields, "id": None, "slot_id": slot.pk}) for slot in slots
        )
        made.clear()

    return office, day, add


def test_the_appointment_lists_do_not_query_per_slot(world, queries_at_10_and_200):
    office, day, add = add_appointments(world)
    amara = sign_in(Client(), world.amara)
    clerk = sign_in(Client(), world.esdc_clerk, second_factor=True)

    def read():
        count = Slot.objects.filter(office=office).count()
        slots = Client().get(f"/api/v1/offices/{office.key}/slots?day={day}").json()
        assert len(slots) == count and {s["seats_left"] for s in slots} == {1}
        mine = amara.get("/en/my/appointments/")
        assert len(mine.context["upcoming"]) == count
        booking = amara.get(f"/en/my/appointments/offices/{office.key}/?day={day}")
        assert len(booking.context["slots"]) == count
        assert booking.context["days"] == [day]
        today = clerk.get(f"/en/counter/offices/{office.key}/appointments/?day={day}")
        assert len(today.context["slots"]) == count

    at_10, at_200 = queries_at_10_and_200(add, read)
    assert at_200 == at_10


def test_the_consoles_home_pages_do_not_query_per_row(world, queries_at_10_and_200):
    """The phone console's queue of transfers and call-backs, and the counter's open visits
    (the latest 20), with 200 of each."""
    clerk = world.staff(world.esdc_clerk)
    call = phone.start_call(clerk, world.amara.person)
    visit = counter.start_visit(clerk, world.amara.person)
    esdc = Agency.objects.get(key="esdc")
    browser = sign_in(Client(), world.esdc_clerk, second_factor=True)
    visit_fields = {f.attname: getattr(visit, f.attname) for f in Interaction._meta.fields}

    def add(count: int) -> None:
        CallTask.objects.bulk_create(
            CallTask(
                kind=CallTask.Kind.CALLBACK,
                agency=esdc,
                from_agency=esdc,
                interaction=call,
                person=world.amara.person,
                summary="Call back about the child benefit",
                phone="+1 416 555 0142",
                created_by=world.esdc_clerk,
            )
            for _n in range(count)
        )
        Interaction.objects.bulk_create(
            Interaction(**{**visit_fields, "id": None}) for _n in range(count - 1)
        )

    def read():
        tasks = browser.get("/en/phone/").context["tasks"]
        assert len(tasks) == CallTask.objects.count()
        visits = browser.get("/en/counter/").context["visits"]
        assert len(visits) == min(20, Interaction.objects.filter(channel="counter").count())

    at_10, at_200 = queries_at_10_and_200(add, read)
    assert at_200 == at_10
