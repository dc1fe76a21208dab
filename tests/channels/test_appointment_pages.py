"""Appointment pages: a person books, sees and cancels their own from My services; staff
book for the person of a visit or a call (another agency's office only under joint
delivery); an office's staff mark who came. Full times and someone else's appointment are
refused with a 4xx and a clear message, never a 500."""

from __future__ import annotations

import datetime

import pytest
from django.test import Client
from django.utils import timezone

from joinedup.channels import appointments, counter, phone
from joinedup.channels.models import Appointment, Slot
from joinedup.federation.models import Office
from joinedup.identity.client_registry import register_person
from joinedup.identity.models import User
from joinedup.sharing.models import AccessEvent

pytestmark = pytest.mark.django_db


def signed_in(user: User, *, second_factor: bool = False) -> Client:
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    client = Client()
    client.force_login(user)
    if second_factor:
        device = TOTPDevice.objects.create(user=user, name="phone")
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
    return client


def slot_at(office_key: str, *, days: int = 3, hour: int = 10, capacity: int = 1) -> Slot:
    office = Office.objects.get(key=office_key)
    day = timezone.localdate() + datetime.timedelta(days=days)
    start = timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, 0)))
    (slot,) = appointments.open_slots(office, [start], capacity=capacity)
    return slot


def someone_else():
    return register_person(
        given_names="Lee", family_name="Chan", birth_date=datetime.date(1990, 1, 1)
    )


def test_a_person_finds_an_office_books_a_time_sees_it_and_cancels_it(world):
    slot = slot_at("sc-toronto-downtown", capacity=2)
    client = signed_in(world.amara)

    my = client.get("/en/my/")
    assert "/en/my/appointments/" in my.content.decode()

    found = client.get("/en/my/appointments/book/", {"service": "", "place": "Toronto"})
    assert found.status_code == 200
    assert "Service Canada Centre Toronto Downtown" in found.content.decode()
    found = client.get("/en/my/appointments/book/", {"place": "Vancouver"})
    assert "Service Canada Centre Toronto Downtown" not in found.content.decode()

    day = timezone.localtime(slot.starts_at).date().isoformat()
    page = client.get("/en/my/appointments/offices/sc-toronto-downtown/", {"day": day})
    assert page.status_code == 200
    text = page.content.decode()
    assert f'value="{slot.pk}"' in text
    assert "2 places left" in text

    booked = client.post(
        "/en/my/appointments/offices/sc-toronto-downtown/", {"slot": slot.pk, "day": day}
    )
    assert booked.status_code == 302
    mine = Appointment.objects.get(slot=slot, person=world.amara.person)
    assert mine.channel == "online" and mine.status == "booked"
    listed = client.get(booked["Location"])
    assert "Your appointment is booked." in listed.content.decode()
    assert "Service Canada Centre Toronto Downtown" in listed.content.decode()
    assert appointments.free_seats(slot) == 1

    cancelled = client.post(f"/en/my/appointments/{mine.pk}/cancel/")
    assert cancelled.status_code == 302
    mine.refresh_from_db()
    assert mine.status == "cancelled"
    assert appointments.free_seats(slot) == 2
    # Cancelling twice is a conflict, said on the page.
    again = client.post(f"/en/my/appointments/{mine.pk}/cancel/")
    assert again.status_code == 409
    assert "no longer booked" in again.content.decode()


def test_a_full_time_is_refused_with_a_message_and_a_409(world):
    slot = slot_at("sc-toronto-downtown", hour=11)
    clerk = world.staff(world.esdc_clerk)
    appointments.book(clerk, slot.pk, someone_else(), channel="counter")
    client = signed_in(world.amara)
    day = timezone.localtime(slot.starts_at).date().isoformat()
    # The time is no longer offered...
    page = client.get("/en/my/appointments/offices/sc-toronto-downtown/", {"day": day})
    assert f'value="{slot.pk}"' not in page.content.decode()
    # ...and a booking sent from a page loaded earlier is refused, nothing written.
    refused = client.post(
        "/en/my/appointments/offices/sc-toronto-downtown/", {"slot": slot.pk, "day": day}
    )
    assert refused.status_code == 409
    assert "This time is fully booked: choose another." in refused.content.decode()
    assert not Appointment.objects.filter(slot=slot, person=world.amara.person).exists()
    # In French too.
    refused = client.post(
        "/fr/my/appointments/offices/sc-toronto-downtown/", {"slot": slot.pk, "day": day}
    )
    assert refused.status_code == 409


@pytest.mark.parametrize(
    ("data", "status"),
    [({"slot": "x"}, 400), ({"slot": "999999"}, 400), ({"slot": "1", "day": "yesterday"}, 400)],
)
def test_bad_booking_input_is_a_400(world, data, status):
    client = signed_in(world.amara)
    answer = client.post("/en/my/appointments/offices/sc-toronto-downtown/", data)
    assert answer.status_code == status


def test_a_past_time_cannot_be_booked(world):
    office = Office.objects.get(key="sc-toronto-downtown")
    (past,) = appointments.open_slots(office, [timezone.now() - datetime.timedelta(hours=1)], 1)
    client = signed_in(world.amara)
    answer = client.post("/en/my/appointments/offices/sc-toronto-downtown/", {"slot": past.pk})
    assert answer.status_code == 400
    assert "This time has passed" in answer.content.decode()


def test_nobody_cancels_someone_elses_appointment(world):
    slot = slot_at("sc-toronto-downtown", hour=12)
    theirs = appointments.book(
        world.staff(world.esdc_clerk), slot.pk, someone_else(), channel="counter"
    )
    client = signed_in(world.amara)
    answer = client.post(f"/en/my/appointments/{theirs.pk}/cancel/")
    assert answer.status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == "booked"
    assert client.get("/en/my/appointments/missing/").status_code == 404


def test_the_pages_ask_to_sign_in(world):
    answer = Client().get("/en/my/appointments/")
    assert answer.status_code in (302, 401, 403)


def test_the_clerk_books_during_a_visit_recorded_in_it(world):
    slot = slot_at("sc-toronto-downtown", hour=13)
    clerk = world.staff(world.esdc_clerk)
    visit = counter.start_visit(clerk, world.amara.person)
    client = signed_in(world.esdc_clerk, second_factor=True)
    url = f"/en/counter/visits/{visit.pk}/appointment/"
    day = timezone.localtime(slot.starts_at).date().isoformat()
    choice = {"service": "ca.social-insurance-number", "office": "sc-toronto-downtown", "day": day}
    page = client.get(url, choice)
    assert page.status_code == 200
    assert f'value="{slot.pk}"' in page.content.decode()
    answer = client.post(url, {**choice, "slot": slot.pk})
    assert answer.status_code == 302
    booked = Appointment.objects.get(slot=slot)
    assert booked.interaction_id == visit.pk
    assert booked.person_id == world.amara.person.pk
    assert booked.channel == "counter" and booked.booked_by_id == world.esdc_clerk.pk
    visit_page = client.get(f"/en/counter/visits/{visit.pk}/")
    assert "Service Canada Centre Toronto Downtown" in visit_page.content.decode()
    # The same person again at the same time: a conflict, not a 500.
    again = client.post(url, {**choice, "slot": slot.pk})
    assert again.status_code == 409


def test_another_agencys_office_needs_a_joint_delivery_agreement(world):
    # ESDC is a party to the Ontario newborn agreement with ServiceOntario: allowed, and the
    # ledger names both agencies.
    slot = slot_at("so-toronto-college-park", hour=9, capacity=3)
    clerk = world.staff(world.esdc_clerk)
    visit = counter.start_visit(clerk, world.amara.person)
    client = signed_in(world.esdc_clerk, second_factor=True)
    day = timezone.localtime(slot.starts_at).date().isoformat()
    choice = {"service": "ca.birth-certificate", "office": "so-toronto-college-park", "day": day}
    answer = client.post(f"/en/counter/visits/{visit.pk}/appointment/", {**choice, "slot": slot.pk})
    assert answer.status_code == 302
    assert Appointment.objects.filter(slot=slot, interaction=visit).exists()
    visit.refresh_from_db()
    assert visit.served_for == ["serviceontario"]
    row = AccessEvent.objects.filter(
        subject_id=world.amara.person.pk, purpose="joint-delivery", actor_agency="esdc"
    ).latest("pk")
    assert row.holder_agency == "serviceontario" and row.outcome == "disclosed"

    # Toronto's clerk has no such agreement: refused (403), nothing booked, the refusal kept.
    city = world.staff(world.city_clerk)
    city_visit = counter.start_visit(city, world.amara.person)
    city_client = signed_in(world.city_clerk, second_factor=True)
    refused = city_client.post(
        f"/en/counter/visits/{city_visit.pk}/appointment/", {**choice, "slot": slot.pk}
    )
    assert refused.status_code == 403
    assert "no joint-delivery agreement" in refused.content.decode()
    assert not Appointment.objects.filter(interaction=city_visit).exists()
    assert AccessEvent.objects.filter(
        actor_agency="toronto", holder_agency="serviceontario", outcome="refused"
    ).exists()


def test_the_phone_agent_books_only_for_a_verified_caller(world):
    slot = slot_at("sc-toronto-downtown", hour=14)
    agent = world.staff(world.esdc_clerk)
    call = phone.start_call(agent, world.amara.person)
    client = signed_in(world.esdc_clerk, second_factor=True)
    url = f"/en/phone/calls/{call.pk}/appointment/"
    day = timezone.localtime(slot.starts_at).date().isoformat()
    choice = {"service": "ca.social-insurance-number", "office": "sc-toronto-downtown", "day": day}
    refused = client.post(url, {**choice, "slot": slot.pk})
    assert refused.status_code == 403
    assert not Appointment.objects.filter(slot=slot).exists()
    call.verified_at = timezone.now()
    call.save(update_fields=["verified_at"])
    answer = client.post(url, {**choice, "slot": slot.pk})
    assert answer.status_code == 302
    booked = Appointment.objects.get(slot=slot)
    assert booked.interaction_id == call.pk and booked.channel == "phone"


def test_the_offices_day_lists_appointments_and_marks_who_came(world):
    slot = slot_at("sc-toronto-downtown", days=0, hour=23)
    if slot.starts_at <= timezone.now():
        slot.starts_at = timezone.now() + datetime.timedelta(minutes=30)
        slot.save()
    clerk = world.staff(world.esdc_clerk)
    booked = appointments.book(clerk, slot.pk, world.amara.person, channel="counter")
    client = signed_in(world.esdc_clerk, second_factor=True)
    # The office lists its own day, in its own time zone (not the server's).
    office_day = slot.starts_at.astimezone(appointments.office_zone(slot.office)).date()
    page = client.get(
        "/en/counter/offices/sc-toronto-downtown/appointments/", {"day": office_day.isoformat()}
    )
    assert page.status_code == 200
    assert "Amara Okafor" in page.content.decode()
    assert (
        client.get(
            "/en/counter/offices/sc-toronto-downtown/appointments/", {"day": "soon"}
        ).status_code
        == 400
    )
    bad = client.post(f"/en/counter/appointments/{booked.pk}/mark/", {"outcome": "maybe"})
    assert bad.status_code == 400
    marked = client.post(f"/en/counter/appointments/{booked.pk}/mark/", {"outcome": "attended"})
    assert marked.status_code == 302
    booked.refresh_from_db()
    assert booked.status == "attended"
    # A seat of someone who came stays taken.
    assert appointments.free_seats(slot) == 0
    # Another agency's staff see neither the day nor the appointment.
    city = signed_in(world.city_clerk, second_factor=True)
    assert city.get("/en/counter/offices/sc-toronto-downtown/appointments/").status_code == 403
    assert (
        city.post(f"/en/counter/appointments/{booked.pk}/mark/", {"outcome": "no_show"})
    ).status_code == 404
