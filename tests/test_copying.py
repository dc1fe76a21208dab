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
