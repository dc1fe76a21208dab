"""Bulk reading and writing (`joinedup.copying`): COPY on PostgreSQL, executemany on SQLite.
What it writes reads back through the ORM exactly as the ORM would have written it."""

from __future__ import annotations

import datetime
import uuid

import pytest
from django.db import transaction

from joinedup import copying
from joinedup.identity.models import Person
from joinedup.sharing.models import OutboxEvent

pytestmark = pytest.mark.django_db


def test_rows_written_read_back_as_the_orm_writes_them_with_defaults_filled():
    pk = uuid.uuid4()
    copying.write(
        OutboxEvent,
        ["id", "type", "source", "data"],
        [(pk, "org.joinedup.test.copied", "/test", {"amount": "5.10", "tab": "a\tb\n"})],
    )
    event = OutboxEvent.objects.get(pk=pk)
    assert event.data == {"amount": "5.10", "tab": "a\tb\n"}
    assert (event.status, event.attempts, event.specversion) == ("pending", 0, "1.0")
    assert event.time is not None and event.next_attempt_at is not None
    # Text made once as JSON is written as it is.
    other = uuid.uuid4()
    copying.write(
        OutboxEvent,
        ["id", "type", "source", "data"],
        [(other, "org.joinedup.test.copied", "/test", copying.JSONText('{"a": [1, 2]}'))],
    )
    assert OutboxEvent.objects.get(pk=other).data == {"a": [1, 2]}


def test_a_conflicting_row_is_skipped_only_when_asked_and_a_failure_writes_nothing():
    pk = uuid.uuid4()
    row = (pk, "org.joinedup.test.copied", "/test", {})
    copying.write(OutboxEvent, ["id", "type", "source", "data"], [row])
    copying.write(OutboxEvent, ["id", "type", "source", "data"], [row], ignore_conflicts=True)
    assert OutboxEvent.objects.filter(pk=pk).count() == 1
    fresh = uuid.uuid4()
    with pytest.raises(Exception), transaction.atomic():  # noqa: B017 (the driver's error)
        copying.write(
            OutboxEvent,
            ["id", "type", "source", "data"],
            [(fresh, "org.joinedup.test.copied", "/test", {}), row],
        )
    assert not OutboxEvent.objects.filter(pk=fresh).exists()


def test_integers_read_as_one_array_and_ids_matched_as_one_parameter():
    people = [
        Person.objects.create(
            given_names=f"P{n}", family_name="Copy", birth_date=datetime.date(1990, 1, n + 1)
        )
        for n in range(3)
    ]
    ids = [p.pk for p in people]
    read = copying.read_ints(Person.objects.filter(pk__in=ids).values_list("pk", "id"))
    assert read.shape == (3, 2) and sorted(read[:, 0].tolist()) == sorted(ids)
    assert copying.read_ints(Person.objects.none().values_list("pk")).shape == (0, 1)
    among = copying.among(Person.objects.all(), "id", ids[:2])
    assert sorted(among.values_list("given_names", flat=True)) == ["P0", "P1"]
    query = Person.objects.filter(pk=ids[2]).values_list("pk", "given_names").query
    rows = list(copying.read(*query.sql_with_params(), types=["int8", "text"]))
    assert [tuple(r) for r in rows] == [(ids[2], "P2")]


def test_ids_taken_from_the_sequence_are_new_and_written_with_the_rows():
    """`next_ids`: on PostgreSQL new values of the table's sequence, as a range when no other
    session took one meanwhile, else listed; elsewhere None (the caller reads back)."""
    from django.db import connection

    from joinedup.rules.models import Entitlement

    person = Person.objects.create(given_names="Seq", family_name="Copy")
    ids = copying.next_ids(Entitlement, 3)
    if connection.vendor != "postgresql":
        assert ids is None
        return
    assert copying.next_ids(Entitlement, 0) == []
    assert len(set(ids)) == 3
    columns = ["id", "person_id", "benefit", "jurisdiction", "period", "amount", "package"]
    copying.write(
        Entitlement,
        columns,
        [(pk, person.pk, f"b{n}", "CA", "2026-07", "1.00", "ca") for n, pk in enumerate(ids)],
    )
    assert sorted(Entitlement.objects.values_list("pk", flat=True)) == sorted(ids)
    # The ORM's next insert takes a value after them.
    later = Entitlement.objects.create(
        person=person, benefit="b9", jurisdiction="CA", period="2026-07", amount=1, package="ca"
    )
    assert later.pk > max(ids)
    # Values that are not a range (here the sequence steps by 2) come back listed.
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [Entitlement._meta.db_table])
        sequence = cursor.fetchone()[0]
        cursor.execute(f"ALTER SEQUENCE {sequence} INCREMENT BY 2")
    stepped = copying.next_ids(Entitlement, 4)
    assert len(set(stepped)) == 4 and stepped[1] - stepped[0] == 2
    assert not set(stepped) & set(Entitlement.objects.values_list("pk", flat=True))
