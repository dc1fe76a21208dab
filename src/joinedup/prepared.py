"""Statements the ORM compiles once, then run again and again with new values.

A page read for many places or groups at once (a place's counts, the benchmark, a map) builds
the same queries each time: resolving a QuerySet's paths, joins and lookups and compiling it
costs more Python than the database spends running it. Here a QuerySet is built once from
stand-in values and compiled once per database, name and shape (the length of each list of
values); each later call runs the SQL with the real values.

    ROWS = prepared.Statement(
        "areas",
        lambda a, n: Place.objects.filter(key__in=a.texts("keys", n)).values_list("pk"),
    )
    ROWS.rows(n=len(keys), keys=keys)

The builder takes a `Stand` and the shape's numbers, and marks where each value goes:
`a.text(name)`, `a.texts(name, n)`, `a.number(name)`, `a.day(name)`, `a.identifier(name)`
(a UUID). A text may also stand inside a `startswith` (its LIKE pattern is escaped as the ORM
would). A builder that puts several querysets in one statement (funding's explorer totals)
returns instead a function of the database alias that gives the `(sql, params)` it compiled
from them. The rows come back as the database gives them: the ORM's converters are not run
(on SQLite dates and JSON are text; on PostgreSQL a sum of integers is a Decimal), so the
caller converts what it reads.
"""

from __future__ import annotations

import datetime
import itertools
import json
import sqlite3
import uuid
from collections.abc import Callable
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, models
from django.db.models.query import ModelIterable, get_related_populators

#: Stand-in texts are made of this mark and letters only (nothing a LIKE pattern escapes).
MARK = "\x1e"


class Stand:
    """Makes the stand-in values a builder puts where the real ones will go, and remembers
    which is which."""

    def __init__(self) -> None:
        self.texts_of: dict[str, tuple[str, int | None]] = {}
        self.values_of: dict[Any, tuple[str, int | None]] = {}
        self.adapted: dict[str, tuple[str, Callable[[Any], Any]]] = {}
        self._count = itertools.count(1)

    def _text(self, name: str, index: int | None) -> str:
        value = f"{MARK}{next(self._count)}{MARK}"
        self.texts_of[value] = (name, index)
        return value

    def text(self, name: str) -> str:
        return self._text(name, None)

    def texts(self, name: str, size: int) -> list[str]:
        return [self._text(name, i) for i in range(size)]

    def number(self, name: str) -> int:
        # Small and negative: inside every integer column's range, never a real key.
        value = -7_000_000 - next(self._count)
        self.values_of[value] = (name, None)
        return value

    def numbers(self, name: str, size: int) -> list[int]:
        found = []
        for index in range(size):
            value = -7_000_000 - next(self._count)
            self.values_of[value] = (name, index)
            found.append(value)
        return found

    def day(self, name: str) -> datetime.date:
        value = datetime.date(1, 1, 1) + datetime.timedelta(days=next(self._count))
        # SQLite's backend sends dates as ISO text, PostgreSQL's as dates.
        self.values_of[value] = (name, None)
        self.values_of[value.isoformat()] = (name, None)
        return value

    def moment(self, name: str) -> datetime.datetime:
        """A stand-in for an aware date and time (a `timezone.now()`)."""
        value = datetime.datetime(2, 1, 1, tzinfo=datetime.UTC) + datetime.timedelta(
            seconds=next(self._count)
        )
        self.values_of[value] = (name, None)
        # SQLite's backend sends a date and time as text, made naive in UTC: the real value
        # is sent the same way.
        self.adapted[str(value.replace(tzinfo=None))] = (name, _naive_utc_text)
        return value

    def identifier(self, name: str) -> uuid.UUID:
        """A stand-in for a UUID (an application's key, say)."""
        # A UUID of version 0: `uuid4()` never makes one, so it is never a real key.
        value = uuid.UUID(int=next(self._count))
        self.values_of[value] = (name, None)
        # SQLite's backend sends a UUID as its 32 hex digits: the real value is sent so too.
        self.adapted[value.hex] = (name, _hex)
        return value

    def days(self, name: str, size: int) -> list[datetime.date]:
        found = []
        for index in range(size):
            value = datetime.date(1, 1, 1) + datetime.timedelta(days=next(self._count))
            self.values_of[value] = (name, index)
            self.values_of[value.isoformat()] = (name, index)
            found.append(value)
        return found


class Statement:
    """One query, compiled once per database and shape by `build(stand, **shape)`."""

    def __init__(self, name: str, build: Callable[..., models.QuerySet]) -> None:
        self.name = name
        self.build = build
        self._compiled: dict[tuple, tuple[str, list[Callable[[dict], Any]]]] = {}
        self._qmark: dict[str, str] = {}

    def compile(self, alias: str, shape: dict[str, int]) -> tuple[str, list]:
        key = (alias, connections[alias].vendor, tuple(sorted(shape.items())))
        found = self._compiled.get(key)
        if found is not None:
            return found
        stand = Stand()
        built = self.build(stand, **shape)
        if isinstance(built, str):
            raise TypeError("a prepared statement is built from a QuerySet")
        try:
            if callable(built):
                sql, params = built(alias)
            else:
                sql, params = built.query.get_compiler(using=alias).as_sql()
        except EmptyResultSet:  # a filter that matches nothing whatever the values (`__in=[]`)
            found = self._compiled[key] = ("", [])
            return found
        like = connections[alias].ops.prep_for_like_query
        getters = [_getter(stand, param, like) for param in params]
        found = self._compiled[key] = (sql, getters)
        return found

    def rows(
        self,
        *,
        using: str = DEFAULT_DB_ALIAS,
        shape: dict[str, Any] | None = None,
        **values: Any,
    ) -> list[tuple]:
        """The rows for these values: lists by their name (their lengths join the shape),
        single values by theirs. `shape` passes the builder what else decides the statement
        (which filters, which columns): hashable values, one compilation for each."""
        lengths = {
            name: len(value)
            for name, value in values.items()
            if isinstance(value, list | tuple | set | frozenset)
        }
        sql, getters = self.compile(using, {**(shape or {}), **lengths})
        if not sql:
            return []
        lists = {name: list(values[name]) for name in lengths}
        merged = {**values, **lists}
        params = [get(merged) for get in getters]
        connection = connections[using]
        with connection.cursor() as cursor:
            if (
                connection.vendor == "sqlite"
                and not connection.queries_logged
                and not connection.execute_wrappers
            ):
                # Django's SQLite cursor turns every `%s` into `?` with a regular expression at
                # each run; the statement's own text is turned once. Only when nothing watches
                # the queries (a test counting them, a wrapper): those go the ordinary way.
                raw = cursor.cursor
                qmark = self._qmark.get(sql)
                if qmark is None:
                    qmark = self._qmark[sql] = raw.convert_query(sql)
                with connection.wrap_database_errors:
                    sqlite3.Cursor.execute(raw, qmark, params)
                    return raw.fetchall()
            cursor.execute(sql, params)
            return cursor.fetchall()


class Instances:
    """A query of model instances compiled once per database, then run with new values.

    A step of the process engine locks its work item with the application, version, service,
    agency and back-end: compiling that statement (joins, deferred columns, the lock, an
    `EXISTS`) cost the ORM more than PostgreSQL spent running it. Here the builder's QuerySet
    is compiled once; each call sends its SQL with the real values and builds the instances
    as the ORM's own iteration does (the same converters, related objects and annotations).

        LOCK = prepared.Instances("lock", lambda a: Item.objects.filter(pk=a.number("pk")))
        LOCK.get(pk=item.pk)

    A value may be a list (`a.texts(name, n)`, `a.numbers(name, n)`): the builder then takes
    the lists' lengths by name, as `Statement`'s does, and each shape is compiled once.

        NOTES = prepared.Instances(
            "notes", lambda a, domains: Note.objects.filter(domain__in=a.texts("domains", domains))
        )
        NOTES.all(domains=["housing", "income"])
    """

    def __init__(self, name: str, build: Callable[..., models.QuerySet]) -> None:
        self.name = name
        self.build = build
        self._compiled: dict[tuple, tuple] = {}

    def compile(self, alias: str, shape: dict[str, int] | None = None) -> tuple:
        key = (alias, connections[alias].vendor, tuple(sorted((shape or {}).items())))
        found = self._compiled.get(key)
        if found is not None:
            return found
        stand = Stand()
        try:
            queryset = self.build(stand, **(shape or {}))
        except EmptyResultSet:
            queryset = None
        if queryset is None or _matches_nothing(queryset, alias):
            found = self._compiled[key] = ("",)  # `__in=[]`: no row whatever the values
            return found
        compiler = queryset.query.get_compiler(using=alias)
        sql, params = compiler.as_sql()
        select, klass_info = compiler.select, compiler.klass_info
        fields = [column[0] for column in select[0 : compiler.col_count]]
        converters = list(compiler.get_converters(fields).items())
        like = connections[alias].ops.prep_for_like_query
        if klass_info is None or queryset._iterable_class is not ModelIterable:  # values
            found = self._compiled[key] = (
                sql,
                [_getter(stand, param, like) for param in params],
                converters,
                None,
            )
            return found
        start, end = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
        init_list = [column[0].target.attname for column in select[start:end]]
        found = self._compiled[key] = (
            sql,
            [_getter(stand, param, like) for param in params],
            converters,
            klass_info["model"],
            (start, end, init_list),
            get_related_populators(klass_info, select, alias),
            dict(compiler.annotation_col_map or {}),
        )
        return found

    @staticmethod
    def _shape(values: dict[str, Any]) -> dict[str, int]:
        return {
            name: len(value)
            for name, value in values.items()
            if isinstance(value, list | tuple | set | frozenset)
        }

    def all(self, *, using: str = DEFAULT_DB_ALIAS, **values: Any) -> list[models.Model]:
        """The instances for these values (single values, or lists whose lengths make the
        shape)."""
        compiled = self.compile(using, self._shape(values))
        if len(compiled) == 1:
            return []
        sql, getters, converters, model, (start, end, init_list), populators, annotations = compiled
        found = []
        for row in self._run(using, sql, getters, converters, values):
            instance = model.from_db(using, init_list, row[start:end])
            for populator in populators:
                populator.populate(row, instance)
            for name, position in annotations.items():
                setattr(instance, name, row[position])
            found.append(instance)
        return found

    def rows(self, *, using: str = DEFAULT_DB_ALIAS, **values: Any) -> list[list]:
        """The rows of a `values_list` builder for these values, each value converted as the
        ORM converts it (JSON decoded, dates as dates)."""
        compiled = self.compile(using, self._shape(values))
        if len(compiled) == 1:
            return []
        sql, getters, converters, _model = compiled
        return self._run(using, sql, getters, converters, values)

    def _run(self, using: str, sql: str, getters: list, converters: list, values: dict) -> list:
        merged = {
            name: list(value) if isinstance(value, set | frozenset | tuple) else value
            for name, value in values.items()
        }
        connection = connections[using]
        with connection.cursor() as cursor:
            cursor.execute(sql, [get(merged) for get in getters])
            rows = cursor.fetchall()
        found = []
        for row in rows:
            row = list(row)
            for position, (functions, expression) in converters:
                value = row[position]
                for function in functions:
                    value = function(value, expression, connection)
                row[position] = value
            found.append(row)
        return found

    def get(self, *, using: str = DEFAULT_DB_ALIAS, **values: Any) -> models.Model:
        """The one instance for these values; the model's DoesNotExist when there is none."""
        found = self.all(using=using, **values)
        if not found:
            model = self.build(Stand(), **self._shape(values)).model
            raise model.DoesNotExist(f"{self.name}: no row for {values}")
        return found[0]


def _matches_nothing(queryset: models.QuerySet, alias: str) -> bool:
    """Whether the query can match no row whatever the values (an `__in` of no value)."""
    try:
        queryset.query.get_compiler(using=alias).as_sql()
    except EmptyResultSet:
        return True
    return False


class Update:
    """`instance.save(update_fields=...)` for one row, its UPDATE written once per database
    and set of columns. The ORM's save builds and compiles the UPDATE anew each time; a step
    of the process engine writes the same columns of its application and work item on every
    step. The values are prepared as the save prepares them (`pre_save`, so `auto_now`
    columns take the time; `get_db_prep_save`). No `pre_save`/`post_save` signal is sent:
    only for models whose saves nothing listens to."""

    def __init__(self, model: type[models.Model]) -> None:
        self.model = model
        self._sql: dict[tuple[str, tuple[str, ...]], tuple[str, list]] = {}

    def _compile(self, alias: str, names: tuple[str, ...]) -> tuple[str, list]:
        key = (alias, names)
        found = self._sql.get(key)
        if found is None:
            meta = self.model._meta
            fields = [meta.get_field(name) for name in names]
            quote = connections[alias].ops.quote_name
            columns = ", ".join(f"{quote(field.column)} = %s" for field in fields)
            sql = f"UPDATE {quote(meta.db_table)} SET {columns} WHERE {quote(meta.pk.column)} = %s"  # noqa: S608 (the model's own names, quoted)
            found = self._sql[key] = (sql, fields)
        return found

    def save(
        self, instance: models.Model, fields: list[str], *, using: str = DEFAULT_DB_ALIAS
    ) -> None:
        """Write these columns of the instance's row; an error when no row was updated (as
        the ORM's save with `update_fields` does)."""
        connection = connections[using]
        sql, found = self._compile(using, tuple(fields))
        params = [
            field.get_db_prep_save(field.pre_save(instance, False), connection) for field in found
        ]
        params.append(self.model._meta.pk.get_db_prep_value(instance.pk, connection))
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            if cursor.rowcount == 0:
                raise DatabaseError("Save with update_fields did not affect any rows.")


class Insert:
    """`Model.objects.bulk_create(rows)` for a model whose key the database makes, the keys
    given back: on PostgreSQL one `UNNEST` insert written once (`Rows`), as the ORM would
    otherwise build and compile it anew each time; elsewhere the ORM's own bulk insert. No
    signal is sent, as with `bulk_create`."""

    def __init__(self, model: type[models.Model]) -> None:
        self.model = model
        self.rows = Rows(model)

    def create(
        self, instances: list[models.Model], *, using: str = DEFAULT_DB_ALIAS
    ) -> list[models.Model]:
        if not instances:
            return instances
        if connections[using].vendor != "postgresql" or not self._as_arrays(using):
            return self.model.objects.using(using).bulk_create(instances)
        for instance in instances:
            instance._prepare_related_fields_for_save(operation_name="bulk_create")
        insert_together([(self.rows, instances)], using, returning=True)
        return instances

    def _as_arrays(self, alias: str) -> bool:
        """Whether `Rows` can write this model (not a binary column, say)."""
        try:
            self.rows._statement(alias)
        except TypeError:
            return False
        return True


def _getter(stand: Stand, param: Any, like: Callable[[str], str]) -> Callable[[dict], Any]:
    """How to find, among the call's values, the one that goes where `param` stood."""
    if isinstance(param, str):
        if param in stand.texts_of:
            return _pick(*stand.texts_of[param])
        if MARK in param:
            # A stand-in inside a pattern (startswith): the real text, escaped the same way.
            for value, (name, index) in stand.texts_of.items():
                if value in param:
                    head, tail = param.split(value, 1)
                    get = _pick(name, index)
                    return lambda values: head + like(get(values)) + tail
    if isinstance(param, str) and param in stand.adapted:
        name, adapt = stand.adapted[param]
        return lambda values: adapt(values[name])
    if isinstance(param, int | str | datetime.date | uuid.UUID) and not isinstance(param, bool):
        try:
            if param in stand.values_of:
                return _pick(*stand.values_of[param])
        except TypeError:
            pass
    return lambda _values: param


def _naive_utc_text(value: datetime.datetime) -> str:
    """An aware date and time as Django's SQLite backend sends it (naive, in UTC, as text)."""
    return str(value.astimezone(datetime.UTC).replace(tzinfo=None))


def _hex(value: uuid.UUID | str) -> str:
    """A UUID as Django's SQLite backend sends it (32 hex digits)."""
    return value.hex if isinstance(value, uuid.UUID) else uuid.UUID(value).hex


def _pick(name: str, index: int | None) -> Callable[[dict], Any]:
    if index is None:
        return lambda values: values[name]
    return lambda values: values[name][index]


def as_date(value: Any) -> datetime.date:
    """A date column as the database gives it (SQLite: ISO text)."""
    return datetime.date.fromisoformat(value) if isinstance(value, str) else value


def as_int(value: Any) -> int:
    """A whole number as the database gives it (a sum: Decimal on PostgreSQL; NULL: 0)."""
    return int(value or 0)


def as_json(value: Any) -> Any:
    """A JSON column as the database gives it (text on both backends through Django's
    connection; decoded here)."""
    return json.loads(value) if isinstance(value, str | bytes) else value


class Rows:
    """Many rows of one model inserted as arrays of columns (PostgreSQL's `INSERT … SELECT *
    FROM UNNEST(…)`), the statement's text made once per database rather than compiled by
    the ORM at each call, and no model instance built for a row given as a mapping.

    Several models' rows go in one statement, and so one round trip, with `insert_together`
    (each insert but the last a data-modifying `WITH`): what a request writes to a few link
    tables at once (a bundle's consents, their recipients, controllers and events). No
    signal is sent and nothing is read back, as with `bulk_create` on a model whose keys
    the caller made; foreign keys are checked at the commit (they are deferred).

        RECIPIENTS = prepared.Rows(ConsentRecord.recipients.through)
        prepared.insert_together([(RECIPIENTS, [{"consentrecord_id": c, "agency_id": a}])])

    A row is a model instance (its fields' values as `save` would write them) or a mapping
    of column names (attnames) to values, the fields not named taking their defaults. A
    model whose key the database makes (an identity column) is written without it. For
    PostgreSQL only: the caller keeps the ORM's way for other databases.
    """

    def __init__(self, model: type[models.Model]) -> None:
        self.model = model
        self._sql: dict[str, tuple[str, list[models.Field]]] = {}
        self._plain: dict[str, list[frozenset[type]]] = {}

    def _statement(self, alias: str) -> tuple[str, list[models.Field]]:
        found = self._sql.get(alias)
        if found is not None:
            return found
        connection = connections[alias]
        quote = connection.ops.quote_name
        meta = self.model._meta
        fields = [
            f
            for f in meta.concrete_fields
            if not (f.primary_key and isinstance(f, models.AutoField | models.BigAutoField))
        ]
        for f in fields:
            kind = (f.target_field if f.is_relation else f).get_internal_type()
            if hasattr(f, "get_placeholder") or kind not in connection.data_types:
                raise TypeError(f"{meta.label}.{f.name} cannot be written as an array")
        columns = ", ".join(quote(f.column) for f in fields)
        # The types without their lengths, as the ORM's own UNNEST insert writes them: a cast
        # to varchar(12)[] would cut a longer text rather than refuse it.
        arrays = ", ".join(f"(%b)::{f.db_type(connection).split('(')[0]}[]" for f in fields)
        # Names and types from the model's own metadata, values bound: nothing from a caller.
        sql = f"INSERT INTO {quote(meta.db_table)} ({columns}) SELECT * FROM UNNEST({arrays})"  # noqa: S608
        found = self._sql[alias] = (sql, fields)
        return found

    def part(self, rows: list[Any], alias: str = DEFAULT_DB_ALIAS) -> tuple[str, list[list]]:
        """(SQL, params) inserting these rows."""
        sql, fields = self._statement(alias)
        connection = connections[alias]
        columns: list[list] = [[] for _ in fields]
        plain = self._plain.get(alias)
        if plain is None:
            plain = self._plain[alias] = [_as_it_is(f) for f in fields]
        for row in rows:
            if isinstance(row, models.Model):
                for column, f, kinds in zip(columns, fields, plain, strict=True):
                    if kinds:
                        value = getattr(row, f.attname)
                        if type(value) in kinds:
                            column.append(value)
                            continue
                    column.append(f.get_db_prep_save(f.pre_save(row, True), connection))
            else:
                for column, f, kinds in zip(columns, fields, plain, strict=True):
                    value = row[f.attname] if f.attname in row else f.get_default()
                    column.append(
                        value if type(value) in kinds else f.get_db_prep_save(value, connection)
                    )
        return sql, columns


#: The values a field of each of these kinds writes as they are (its `get_db_prep_save` gives
#: them back unchanged on PostgreSQL): `Rows` passes such a value without asking the field.
#: Exact classes only: a subclass may prepare its values (an encrypted text, say).
_UNCHANGED: dict[type, frozenset[type]] = {
    models.CharField: frozenset({str}),
    models.SlugField: frozenset({str}),
    models.TextField: frozenset({str}),
    models.BooleanField: frozenset({bool}),
    models.UUIDField: frozenset({uuid.UUID}),
    models.DateField: frozenset({datetime.date}),
    **{
        kind: frozenset({int})
        for kind in (
            models.IntegerField,
            models.BigIntegerField,
            models.SmallIntegerField,
            models.PositiveIntegerField,
            models.PositiveSmallIntegerField,
            models.PositiveBigIntegerField,
            models.AutoField,
            models.BigAutoField,
        )
    },
}


def _as_it_is(field: models.Field) -> frozenset[type]:
    """The types of value `field` writes unchanged (with None): none for a field that sets
    its own value when saved (`auto_now`) or prepares every value (JSON, an aware time)."""
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return frozenset()
    kind = field.target_field if field.is_relation else field
    found = _UNCHANGED.get(type(kind))
    return found | {type(None)} if found else frozenset()


def insert_together(
    parts: list[tuple[Rows, list[Any]]],
    using: str = DEFAULT_DB_ALIAS,
    *,
    returning: bool = False,
) -> None:
    """Insert the rows of each part in one statement (see `Rows`); parts without rows are
    left out. Model instances given are marked saved, as `bulk_create` marks them. With
    `returning`, the last part's rows are model instances whose keys the database makes:
    each gets its key, in the order given (the rows of an `UNNEST` are inserted in order, as
    the ORM's own bulk insert relies on)."""
    statements = []
    params: list[list] = []
    for rows_of, rows in parts:
        if not rows:
            continue
        sql, columns = rows_of.part(rows, using)
        statements.append(sql)
        params.extend(columns)
        for row in rows:
            if isinstance(row, models.Model):
                row._state.adding = False
                row._state.db = using
    if not statements:
        return
    *first, last = statements
    sql = (
        "WITH " + ", ".join(f"w{n} AS ({s})" for n, s in enumerate(first)) + " " + last
        if first
        else last
    )
    if not returning or not parts[-1][1]:
        with bound_cursor(using) as cursor:
            cursor.execute(sql, params)
        return
    last_rows = parts[-1][1]
    pk = parts[-1][0].model._meta.pk
    sql += f" RETURNING {connections[using].ops.quote_name(pk.column)}"
    with bound_cursor(using) as cursor:
        cursor.execute(sql, params)
        keys = cursor.fetchall()
    for row, (key,) in zip(last_rows, keys, strict=True):
        setattr(row, pk.attname, key)


def bound_cursor(using: str = DEFAULT_DB_ALIAS) -> Any:
    """A cursor of the connection that sends the values apart from the statement (psycopg's
    server-side binding), on PostgreSQL; elsewhere, or when the whole connection binds so
    already (the default: JOINEDUP_DB_SERVER_BINDING), the connection's own cursor.

    With client-side binding each value is quoted into the statement's text in Python, an
    array element by element with a regular expression: for `Rows`' arrays of a whole
    submission that quoting cost more CPU than the database's insert, so these statements
    bind on the server whatever the setting. Bound on the server, the values go in
    psycopg's binary formats, not quoted. The cursor is Django's wrapper (the same
    transaction, errors, query log and execute wrappers). The connection binds on the
    server already unless both JOINEDUP_DB_SERVER_BINDING=false and
    JOINEDUP_DB_PREPARE_THRESHOLD=off: this cursor then prepares nothing either, so it works
    behind any transaction-mode pooler."""
    connection = connections[using]
    if connection.vendor != "postgresql" or connection.settings_dict["OPTIONS"].get(
        "server_side_binding"
    ):
        return connection.cursor()
    # Imported here: psycopg is there only when the database is PostgreSQL.
    from django.db.backends.postgresql.base import ServerBindingCursor

    connection.ensure_connection()
    with connection.wrap_database_errors:
        return connection._prepare_cursor(ServerBindingCursor(connection.connection))
