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
`a.text(name)`, `a.texts(name, n)`, `a.number(name)`, `a.day(name)`. A text may also stand
inside a `startswith` (its LIKE pattern is escaped as the ORM would). A builder that puts
several querysets in one statement (funding's explorer totals) returns instead a function of
the database alias that gives the `(sql, params)` it compiled from them. The rows come back as the
database gives them: the ORM's converters are not run (on SQLite dates and JSON are text; on
PostgreSQL a sum of integers is a Decimal), so the caller converts what it reads.
"""

from __future__ import annotations

import datetime
import itertools
import json
import sqlite3
from collections.abc import Callable
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, models
from django.db.models.query import get_related_populators

#: Stand-in texts are made of this mark and letters only (nothing a LIKE pattern escapes).
MARK = "\x1e"


class Stand:
    """Makes the stand-in values a builder puts where the real ones will go, and remembers
    which is which."""

    def __init__(self) -> None:
        self.texts_of: dict[str, tuple[str, int | None]] = {}
        self.values_of: dict[Any, tuple[str, int | None]] = {}
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
    """

    def __init__(self, name: str, build: Callable[[Stand], models.QuerySet]) -> None:
        self.name = name
        self.build = build
        self._compiled: dict[tuple[str, str], tuple] = {}

    def compile(self, alias: str) -> tuple:
        key = (alias, connections[alias].vendor)
        found = self._compiled.get(key)
        if found is not None:
            return found
        stand = Stand()
        queryset = self.build(stand)
        compiler = queryset.query.get_compiler(using=alias)
        sql, params = compiler.as_sql()
        select, klass_info = compiler.select, compiler.klass_info
        fields = [column[0] for column in select[0 : compiler.col_count]]
        converters = list(compiler.get_converters(fields).items())
        start, end = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
        init_list = [column[0].target.attname for column in select[start:end]]
        like = connections[alias].ops.prep_for_like_query
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

    def all(self, *, using: str = DEFAULT_DB_ALIAS, **values: Any) -> list[models.Model]:
        """The instances for these values (single values only)."""
        sql, getters, converters, model, (start, end, init_list), populators, annotations = (
            self.compile(using)
        )
        connection = connections[using]
        with connection.cursor() as cursor:
            cursor.execute(sql, [get(values) for get in getters])
            rows = cursor.fetchall()
        found = []
        for row in rows:
            row = list(row)
            for position, (functions, expression) in converters:
                value = row[position]
                for function in functions:
                    value = function(value, expression, connection)
                row[position] = value
            instance = model.from_db(using, init_list, row[start:end])
            for populator in populators:
                populator.populate(row, instance)
            for name, position in annotations.items():
                setattr(instance, name, row[position])
            found.append(instance)
        return found

    def get(self, *, using: str = DEFAULT_DB_ALIAS, **values: Any) -> models.Model:
        """The one instance for these values; the model's DoesNotExist when there is none."""
        found = self.all(using=using, **values)
        if not found:
            raise self._compiled[using, connections[using].vendor][3].DoesNotExist(
                f"{self.name}: no row for {values}"
            )
        return found[0]


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
    """`Model.objects.bulk_create(rows)` for a model with an automatic key, its INSERT
    written once per database and number of rows: the ORM builds and compiles it anew each
    time. The key comes back with `RETURNING` (PostgreSQL; SQLite from 3.35, else the ORM
    does it). Values are prepared as the ORM prepares them (`pre_save` with `add`,
    `get_db_prep_save`). No signal is sent, as with `bulk_create`."""

    def __init__(self, model: type[models.Model]) -> None:
        self.model = model
        self._sql: dict[tuple[str, int], str] = {}
        meta = model._meta
        self.fields = [f for f in meta.concrete_fields if f is not meta.auto_field]

    def create(
        self, instances: list[models.Model], *, using: str = DEFAULT_DB_ALIAS
    ) -> list[models.Model]:
        if not instances:
            return instances
        connection = connections[using]
        if not connection.features.can_return_rows_from_bulk_insert:
            return self.model.objects.using(using).bulk_create(instances)
        key = (using, len(instances))
        sql = self._sql.get(key)
        meta = self.model._meta
        if sql is None:
            quote = connection.ops.quote_name
            columns = ", ".join(quote(field.column) for field in self.fields)
            row = "(" + ", ".join(["%s"] * len(self.fields)) + ")"
            sql = self._sql[key] = (
                f"INSERT INTO {quote(meta.db_table)} ({columns}) "  # noqa: S608 (the model's own names, quoted)
                f"VALUES {', '.join([row] * len(instances))} RETURNING {quote(meta.pk.column)}"
            )
        params: list[Any] = []
        for instance in instances:
            instance._prepare_related_fields_for_save(operation_name="bulk_create")
            for field in self.fields:
                params.append(field.get_db_prep_save(field.pre_save(instance, True), connection))
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            keys = cursor.fetchall()
        for instance, (pk,) in zip(instances, keys, strict=True):
            instance.pk = pk
            instance._state.adding, instance._state.db = False, using
        return instances


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
    if isinstance(param, int | str | datetime.date) and not isinstance(param, bool):
        try:
            if param in stand.values_of:
                return _pick(*stand.values_of[param])
        except TypeError:
            pass
    return lambda _values: param


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
