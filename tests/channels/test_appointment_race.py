"""Several people booking the last seat of a time at once: exactly one gets it.

On PostgreSQL the bookings run in threads, each on its own connection, released together by
a barrier: the slot's row lock (and, behind it, the unique seat constraint) must let exactly
one through. SQLite allows one writer at a time, so there the same bookings run one after
the other and the test checks the same outcome.
"""

from __future__ import annotations

import datetime
import threading
from pathlib import Path

import pytest
from django.db import connection, connections
from django.utils import timezone

from joinedup.channels import appointments
from joinedup.federation.loader import load_federation
from joinedup.federation.models import Agency, Office
from joinedup.identity import acting
from joinedup.identity.client_registry import register_person
from joinedup.identity.models import StaffMembership, User

pytestmark = pytest.mark.django_db(transaction=True)

SMALL = Path(__file__).resolve().parents[1] / "federation" / "files" / "small"
RACERS = 6


def test_only_one_of_several_simultaneous_bookings_gets_the_last_seat():
    load_federation([SMALL])
    office = Office.objects.get(key="esdc-toronto")
    clerk = User.objects.create_user(username="clerk@esdc.example.org", password="x" * 20)
    StaffMembership.objects.create(
        user=clerk, agency=Agency.objects.get(key="esdc"), role="front_line"
    )
    context = acting.for_user(clerk, second_factor=True)
    people = [
        register_person(
            given_names=f"Person {n}", family_name="Racer", birth_date=datetime.date(1990, 1, n)
        )
        for n in range(1, RACERS + 3)
    ]
    (slot,) = appointments.open_slots(
        office, [timezone.now() + datetime.timedelta(days=1)], capacity=3
    )
    # Two seats are taken already: one is left for the racers.
    for early in people[:2]:
        appointments.book(context, slot.pk, early, channel="counter")
    racers = people[2:]

    won: list[int] = []
    refused: list[str] = []
    failed: list[BaseException] = []
    lock = threading.Lock()
    concurrent = connection.vendor == "postgresql"
    barrier = threading.Barrier(len(racers)) if concurrent else None

    def race(person) -> None:
        try:
            if barrier is not None:
                barrier.wait(timeout=30)
            appointment = appointments.book(context, slot.pk, person, channel="counter")
        except appointments.BookingError as refusal:
            with lock:
                refused.append(refusal.code)
        except Exception as error:
            with lock:
                failed.append(error)
        else:
            with lock:
                won.append(appointment.person_id)
        finally:
            if concurrent:
                connections.close_all()

    if concurrent:
        threads = [threading.Thread(target=race, args=(p,)) for p in racers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    else:
        for person in racers:
            race(person)

    assert not failed, failed
    assert len(won) == 1
    assert refused == ["full"] * (len(racers) - 1)
    assert slot.appointments.filter(status="booked").count() == 3
    assert sorted(slot.appointments.values_list("seat", flat=True)) == [1, 2, 3]
    assert appointments.free_seats(slot) == 0
