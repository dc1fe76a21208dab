"""Statements compiled once and run with new values give the rows the ORM gives, on SQLite and
PostgreSQL: texts, lists of each length, numbers, dates, and texts inside a LIKE pattern
(escaped as the ORM escapes them); instances, updates and inserts as the ORM makes them."""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
import uuid

import pytest
from django.db import DatabaseError
from django.db.models import F, Q, Sum

from joinedup import prepared
from joinedup.care.models import Organization
from joinedup.performance.models import GroupRollup
from tests.runs import POSTGRESQL_RUN

pytestmark = pytest.mark.django_db

KEYS = ["ca.pass_port", "ca.pass%port", "ca.passxport", "ca.pass_port.renew", "on.health"]


@pytest.fixture
def rows():
    made = []
    for n, key in enumerate(KEYS):
        for month in (1, 2, 3):
            made.append(
                GroupRollup.objects.create(
                    month=datetime.date(2025, month, 1),
                    service_key=key,
                    jurisdiction="CA",
                    agency="a",
                    channel="online",
                    dimension="place",
                    value=f"CA-ON-{n}",
                    completed=n * 10 + month,
                )
            )
    return made


def _orm(prefix: str, first: datetime.date, last: datetime.date, values: list[str]):
    return sorted(
        GroupRollup.objects.filter(
            Q(service_key=prefix) | Q(service_key__startswith=prefix + "."),
            month__range=(first, last),
            value__in=values,
        )
        .values("service_key")
        .annotate(done=Sum("completed"))
        .values_list("service_key", "done")
        .order_by()
    )


SUMS = prepared.Statement(
    "test.sums",
    lambda a, values: (
        GroupRollup.objects.filter(
            Q(service_key=a.text("prefix")) | Q(service_key__startswith=a.text("prefix") + "."),
            month__range=(a.day("first"), a.day("last")),
            value__in=a.texts("values", values),
        )
        .values("service_key")
        .annotate(done=Sum("completed"))
        .values_list("service_key", "done")
        .order_by()
    ),
)


def test_a_prepared_statement_gives_the_orms_rows_for_every_value(rows):
    january, february, march = (datetime.date(2025, m, 1) for m in (1, 2, 3))
    cases = [
        ("ca.pass_port", january, march, [f"CA-ON-{n}" for n in range(5)]),
        # "_" and "%" are LIKE's wildcards: escaped, they match only themselves
        ("ca.pass%port", february, march, ["CA-ON-1", "CA-ON-2"]),
        ("ca.passxport", january, january, ["CA-ON-2"]),
        ("on.health", january, february, ["CA-ON-4", "CA-ON-0", "CA-ON-3"]),
        ("nothing", january, march, ["CA-ON-1"]),
    ]
    for prefix, first, last, values in cases:
        found = sorted(
            (key, int(done))
            for key, done in SUMS.rows(prefix=prefix, first=first, last=last, values=values)
        )
        assert found == [(k, int(d)) for k, d in _orm(prefix, first, last, values)], prefix
    # one compilation per database and length of the list, whatever the values
    assert len(SUMS._compiled) == 4


NUMBERED = prepared.Statement(
    "test.numbered",
    lambda a, ids, *, by_month: (
        GroupRollup.objects.filter(pk__in=a.numbers("ids", ids), month__gte=a.day("since"))
        .values_list("month" if by_month else "service_key", "completed")
        .order_by("pk")
    ),
)


def test_numbers_dates_and_the_shape_choose_the_statement(rows):
    ids = [row.pk for row in rows[:4]]
    since = datetime.date(2025, 2, 1)
    by_key = NUMBERED.rows(shape={"by_month": False}, ids=ids, since=since)
    assert [tuple(r) for r in by_key] == [
        (row.service_key, row.completed) for row in rows[:4] if row.month >= since
    ]
    by_month = NUMBERED.rows(shape={"by_month": True}, ids=ids, since=since)
    assert [(prepared.as_date(m), c) for m, c in by_month] == [
        (row.month, row.completed) for row in rows[:4] if row.month >= since
    ]


INSTANCES = prepared.Instances(
    "test.instances",
    lambda a: (
        GroupRollup.objects.filter(service_key=a.text("key"), month__gte=a.day("since"))
        .annotate(twice=F("completed") * 2)
        .order_by("pk")
    ),
)


def test_instances_are_the_orms_own(rows):
    since = datetime.date(2025, 2, 1)
    for key in KEYS:
        found = INSTANCES.all(key=key, since=since)
        expected = list(
            GroupRollup.objects.filter(service_key=key, month__gte=since)
            .annotate(twice=F("completed") * 2)
            .order_by("pk")
        )
        assert [(r.pk, r.month, r.completed, r.twice) for r in found] == [
            (r.pk, r.month, r.completed, r.twice) for r in expected
        ]
        assert all(not r._state.adding and r._state.db == "default" for r in found)
    with pytest.raises(GroupRollup.DoesNotExist):
        INSTANCES.get(key="nothing", since=since)


BY_IDENTIFIER = prepared.Instances(
    "test.by_identifier",
    lambda a: Organization.objects.filter(pk=a.identifier("id")),
)


def test_a_uuid_finds_its_row_given_as_a_uuid_or_as_text():
    made = [
        Organization.objects.create(name=f"Organisation {n}", description="-") for n in range(3)
    ]
    for organization in made:
        assert [o.name for o in BY_IDENTIFIER.all(id=organization.pk)] == [organization.name]
        assert BY_IDENTIFIER.get(id=str(organization.pk)).pk == organization.pk
    # The stand-in UUID is never a real key: a new one finds nothing.
    assert BY_IDENTIFIER.all(id=uuid.uuid4()) == []


def test_an_update_and_an_insert_write_what_the_orm_writes(rows):
    row = rows[0]
    row.completed, row.value = 999, "changed"
    prepared.Update(GroupRollup).save(row, ["completed", "value"])
    again = GroupRollup.objects.get(pk=row.pk)
    assert (again.completed, again.value, again.month) == (999, "changed", row.month)
    row.pk = -1
    with pytest.raises(DatabaseError):
        prepared.Update(GroupRollup).save(row, ["completed"])

    made = [
        GroupRollup(
            month=datetime.date(2026, 1, 1),
            service_key="new",
            jurisdiction="CA",
            agency="a",
            channel="online",
            dimension="place",
            value=f"v{n}",
            completed=n,
        )
        for n in range(3)
    ]
    prepared.Insert(GroupRollup).create(made)
    assert all(m.pk is not None and not m._state.adding for m in made)
    assert [
        (r.pk, r.value, r.completed)
        for r in GroupRollup.objects.filter(service_key="new").order_by("pk")
    ] == [(m.pk, m.value, m.completed) for m in made]


def test_rows_inserted_together_are_the_rows_given_with_their_keys_in_order():
    """`prepared.Rows` (PostgreSQL): instances and mappings in one statement, the fields not
    named taking their defaults, the last part's keys as the database gave them, in order."""
    # Imported here: only these tests write through `prepared.Rows`.
    from django.db import connection

    from joinedup.sharing.models import OutboxEvent

    if connection.vendor != "postgresql":
        pytest.skip("an insert of arrays of columns is PostgreSQL's")
    rows = prepared.Rows(OutboxEvent)
    made = [OutboxEvent(source="/test", type=f"t.{n}", data={"n": n}) for n in range(3)]
    given = [row.pk for row in made]
    prepared.insert_together(
        [(rows, [{"source": "/test", "type": "t.mapped"}]), (rows, made)], returning=True
    )
    assert [row.pk for row in made] == given
    assert not any(row._state.adding for row in made)
    for n, row in enumerate(made):
        assert OutboxEvent.objects.get(pk=row.pk).data == {"n": n}
    mapped = OutboxEvent.objects.get(type="t.mapped")
    assert (mapped.specversion, mapped.data, mapped.attempts) == ("1.0", {}, 0)


def test_a_text_too_long_is_refused_not_cut_and_a_field_it_cannot_write_is_named():
    from django.db import DataError, connection  # as above

    from joinedup.sharing.models import OutboxEvent

    if connection.vendor != "postgresql":
        pytest.skip("an insert of arrays of columns is PostgreSQL's")
    too_long = OutboxEvent(source="/test", type="t", specversion="x" * 9)
    with pytest.raises(DataError):
        prepared.insert_together([(prepared.Rows(OutboxEvent), [too_long])])
    # A binary column has a placeholder of its own: not an array of this kind.
    with pytest.raises(TypeError, match="histogram"):
        prepared.insert_together([(prepared.Rows(GroupRollup), [{"month": None}])])


def test_values_bound_on_the_server_arrive_exactly_and_a_duplicate_is_djangos_error():
    """`insert_together` sends its arrays apart from the statement (server-side binding):
    texts with the characters an array's text form escapes, lazy translations, empty and
    missing values, nested JSON and times arrive as given; a second row with the same key
    is Django's IntegrityError (what a bundle's idempotency race catches), and the
    statement is in the connection's query log like any other."""
    import uuid

    from django.db import IntegrityError, connection, transaction  # as above
    from django.test.utils import CaptureQueriesContext
    from django.utils.translation import gettext_lazy

    from joinedup.sharing.models import OutboxEvent

    if connection.vendor != "postgresql":
        pytest.skip("an insert of arrays of columns is PostgreSQL's")
    awkward = ['a "quoted" {brace}, comma', "back\\slash", "", "NULL", "é ü 中 🙂", "two\nlines"]
    at = datetime.datetime(2026, 12, 7, 15, 0, 1, 250, tzinfo=datetime.UTC)
    made = [
        OutboxEvent(
            source=text,
            type=f"t.{n}",
            subject=gettext_lazy("Personal token"),
            data={"text": text, "list": [1, None, {"x": text}]},
            time=at,
            next_attempt_at=at,
        )
        for n, text in enumerate(awkward)
    ]
    rows = prepared.Rows(OutboxEvent)
    with CaptureQueriesContext(connection) as queries:
        prepared.insert_together([(rows, made)])
    assert len(queries) == 1 and "UNNEST" in queries[0]["sql"]
    for n, text in enumerate(awkward):
        found = OutboxEvent.objects.get(type=f"t.{n}")
        assert (found.source, found.subject, found.time) == (text, "Personal token", at)
        assert found.data == {"text": text, "list": [1, None, {"x": text}]}
        assert found.locked_until is None and found.delivered_at is None
    again = OutboxEvent(id=made[0].pk, source="/test", type="t.again")
    with pytest.raises(IntegrityError), transaction.atomic():
        prepared.insert_together([(rows, [again])])
    assert not OutboxEvent.objects.filter(type="t.again").exists()
    assert isinstance(made[0].pk, uuid.UUID)


def _database_options(**env: str) -> dict:
    """The database OPTIONS the settings give a process started with `env`, on PostgreSQL."""
    code = (
        "import json, django; from django.conf import settings; django.setup(); "
        "print(json.dumps(settings.DATABASES['default'].get('OPTIONS', {})))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith("JOINEDUP_DB_")},
            "DJANGO_SETTINGS_MODULE": "joinedup.settings",
            "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/anything",
            **env,
        },
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_postgresql_binds_values_on_the_server_and_prepares_unless_told_not_to():
    assert _database_options() == {"server_side_binding": True, "prepare_threshold": 5}
    assert _database_options(JOINEDUP_DB_PREPARE_THRESHOLD="3") == {
        "server_side_binding": True,
        "prepare_threshold": 3,
    }
    # Preparing needs the values bound on the server, whatever the other setting says.
    assert _database_options(JOINEDUP_DB_SERVER_BINDING="false") == {
        "server_side_binding": True,
        "prepare_threshold": 5,
    }
    # Off (behind an old transaction-mode pooler): nothing prepared; binding as asked.
    assert _database_options(JOINEDUP_DB_PREPARE_THRESHOLD="off") == {"server_side_binding": True}
    assert _database_options(
        JOINEDUP_DB_PREPARE_THRESHOLD="OFF", JOINEDUP_DB_SERVER_BINDING="false"
    ) == {"server_side_binding": False}
    with pytest.raises(subprocess.CalledProcessError) as refused:
        _database_options(JOINEDUP_DB_PREPARE_THRESHOLD="sometimes")
    assert "JOINEDUP_DB_PREPARE_THRESHOLD must be a whole number or off" in refused.value.stderr


@pytest.mark.skipif(not POSTGRESQL_RUN, reason="prepared statements are PostgreSQL's")
@pytest.mark.django_db
def test_a_statement_used_again_and_again_on_a_connection_is_prepared_there():
    from django.db import connection

    sql = "SELECT count(*) FROM identity_person WHERE id > %s AND family_name <> %s"
    threshold = connection.settings_dict["OPTIONS"]["prepare_threshold"]

    def prepared_here() -> bool:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
                ["%identity_person WHERE id > $1 AND family_name <> $2%"],
            )
            return cursor.fetchone()[0] > 0

    with connection.cursor() as cursor:
        cursor.execute(sql, [0, "x"])
        assert cursor.fetchone() == (0,)
        assert not prepared_here()
        for n in range(threshold):
            cursor.execute(sql, [n, "x"])
            assert cursor.fetchone() == (0,)
    assert prepared_here()


@pytest.mark.skipif(not POSTGRESQL_RUN, reason="binding on the server is PostgreSQL's")
def test_statements_send_their_values_apart_and_bound_cursor_does_under_either_setting():
    from django.db import connection, transaction
    from django.db.backends.postgresql.base import Cursor, ServerBindingCursor

    with connection.cursor() as cursor:
        assert isinstance(cursor.cursor, ServerBindingCursor)
        # Two commands in one statement are refused when the values travel apart.
        with pytest.raises(DatabaseError), transaction.atomic():
            cursor.execute("SELECT %s::int; SELECT 1", [1])
    # With JOINEDUP_DB_SERVER_BINDING=false the connection quotes values into the text, but
    # `bound_cursor` (a whole submission's arrays) still sends them apart.
    options = connection.settings_dict["OPTIONS"]
    options["server_side_binding"], connection.connection.cursor_factory = False, Cursor
    try:
        with connection.cursor() as cursor:
            assert not isinstance(cursor.cursor, ServerBindingCursor)
        with prepared.bound_cursor() as cursor:
            assert isinstance(cursor.cursor, ServerBindingCursor)
            cursor.execute("SELECT %s::int + 1", [41])
            assert cursor.fetchone() == (42,)
    finally:
        options["server_side_binding"] = True
        connection.connection.cursor_factory = ServerBindingCursor
