"""Rollups: the fact table added up per service × jurisdiction × agency × channel × day and
month, kept up to date as facts change and rebuilt from scratch on demand.

Each change to a fact (a transaction starts, ends, or gets staff time) adds its part to the
two rows it belongs to — the day's and the month's — in the same database transaction as the
fact itself, so the rollups never disagree with the facts. A row is taken under a row lock
before it is changed, so concurrent workers add up instead of overwriting each other.

`recompute_rollups()` throws the rollups away and rebuilds them with GROUP BY queries over the
facts; the test suite checks that it gives exactly the rows the increments built.
"""

from __future__ import annotations

import datetime
import itertools
from collections import defaultdict
from collections.abc import Iterable

from django.db import IntegrityError, connection, transaction

from . import measures
from .models import (
    COMPLETIONS,
    DailyRollup,
    GroupRollup,
    InteractionShare,
    MonthlyRollup,
    Outcome,
    RollupBase,
    SurveyGroupRollup,
    SurveyResponse,
    SurveyRollup,
    Transaction,
)

KEY_FIELDS = ("service_key", "jurisdiction", "agency", "channel")
#: The client-group dimensions a transaction carries (see `groups`), one rollup row each.
GROUP_DIMENSIONS = (
    "age_band",
    "language",
    "area",
    "mandate",
    "accessibility",
    "newcomer",
    "business_size",
    "place",
    "postal_area",
)
BATCH = 5000


def month_of(day: datetime.date) -> datetime.date:
    return day.replace(day=1)


def _key(record) -> dict[str, str]:
    return {name: getattr(record, name) for name in KEY_FIELDS}


def _bump(
    model: type[RollupBase],
    key: dict,
    counts: dict[str, int],
    histogram: list[int] | None = None,
) -> None:
    """Add counts (and a histogram) to one rollup row, creating it if needed, under a lock."""
    with transaction.atomic():
        row = model.objects.select_for_update().filter(**key).first()
        if row is None:
            try:
                with transaction.atomic():
                    row = model.objects.create(**key)
            except IntegrityError:  # another worker created it first
                row = model.objects.select_for_update().get(**key)
        for name, value in counts.items():
            setattr(row, name, getattr(row, name) + value)
        if histogram:
            row.histogram = measures.pack(measures.merge(measures.unpack(row.histogram), histogram))
        row.save()


def _bump_both(
    day: datetime.date, key: dict, counts: dict[str, int], histogram=None, txn=None
) -> None:
    _bump(DailyRollup, {"day": day, **key}, counts, histogram)
    _bump(MonthlyRollup, {"month": month_of(day), **key}, counts, histogram)
    if txn is not None:
        for dimension in GROUP_DIMENSIONS:
            group = {"dimension": dimension, "value": getattr(txn, dimension)}
            _bump(GroupRollup, {"month": month_of(day), **key, **group}, counts, histogram)


def ended_counts(txn: Transaction) -> tuple[dict[str, int], list[int] | None]:
    """What an ended transaction adds to the row of the day it ended."""
    counts = {
        "completed": int(txn.outcome == Outcome.COMPLETED),
        "not_eligible": int(txn.outcome == Outcome.NOT_ELIGIBLE),
        "abandoned": int(txn.outcome == Outcome.ABANDONED),
        "channel_cost": txn.channel_cost,
        "handle_seconds": txn.handle_seconds,
        "handle_cost": txn.handle_cost,
    }
    histogram = None
    if txn.outcome in COMPLETIONS:
        if txn.met_standard is not None:
            counts["with_standard"] = 1
            counts["met_standard"] = int(txn.met_standard)
        if txn.elapsed_days is not None:
            counts["elapsed_sum"] = txn.elapsed_days
            histogram = measures.histogram_of([txn.elapsed_days])
    return counts, histogram


def add_started(txn: Transaction) -> None:
    _bump_both(txn.start_day, _key(txn), {"started": 1}, txn=txn)


def add_ended(txn: Transaction) -> None:
    counts, histogram = ended_counts(txn)
    _bump_both(txn.end_day, _key(txn), counts, histogram, txn=txn)


def add_share(txn: Transaction, share: InteractionShare) -> None:
    """Staff time on a transaction that had already ended: its end day's rows grow. (Time on
    a transaction in progress reaches the rollups with the transaction when it ends.)"""
    if txn.end_day is None:
        return
    counts = {"handle_seconds": share.seconds, "handle_cost": share.cost}
    _bump_both(txn.end_day, _key(txn), counts, txn=txn)


def add_survey(
    month: datetime.date,
    key: dict[str, str],
    invited: int = 0,
    answers: dict[str, int | None] | None = None,
) -> None:
    """Count an invitation sent, or add an answer's scores, to the month's survey row."""
    with transaction.atomic():
        row = SurveyRollup.objects.select_for_update().filter(month=month, **key).first()
        if row is None:
            try:
                with transaction.atomic():
                    row = SurveyRollup.objects.create(month=month, **key)
            except IntegrityError:
                row = SurveyRollup.objects.select_for_update().get(month=month, **key)
        row.invited += invited
        if answers is not None:
            row.responses += 1
            row.sums = _add_answers(row.sums, answers)
        row.save()


def add_survey_groups(
    month: datetime.date,
    key: dict[str, str],
    groups: dict[str, str],
    invited: int = 0,
    answers: dict[str, int | None] | None = None,
) -> None:
    """The same as `add_survey`, to the row of each client group the transaction fell in
    (a dimension the groups do not name counts as "not known", so each dimension's rows
    always add up to the survey rollup's)."""
    for dimension in GROUP_DIMENSIONS:
        where = {"month": month, **key, "dimension": dimension, "value": groups.get(dimension, "")}
        with transaction.atomic():
            row = SurveyGroupRollup.objects.select_for_update().filter(**where).first()
            if row is None:
                try:
                    with transaction.atomic():
                        row = SurveyGroupRollup.objects.create(**where)
                except IntegrityError:
                    row = SurveyGroupRollup.objects.select_for_update().get(**where)
            row.invited += invited
            if answers is not None:
                row.responses += 1
                row.sums = _add_answers(row.sums, answers)
            row.save()


def groups_of(txn: Transaction) -> dict[str, str]:
    """The transaction's value in each client-group dimension."""
    return {dimension: getattr(txn, dimension) for dimension in GROUP_DIMENSIONS}


SURVEY_KEY = ("service_key", "jurisdiction", "channel")
QUESTIONS = ("satisfaction", "timeliness", "competence", "courtesy", "fairness", "outcome", "trust")


def _add_answers(sums: dict, answers: dict[str, int | None]) -> dict:
    sums = {name: list(value) for name, value in (sums or {}).items()}
    for name in QUESTIONS:
        value = answers.get(name)
        if value is not None:
            total, count = sums.get(name, [0, 0])
            sums[name] = [total + value, count + 1]
    return sums


# --- Rebuilding from the facts ---------------------------------------------------------


def _empty_row() -> dict:
    return dict.fromkeys(RollupBase.COUNTERS, 0) | {"histogram": []}


def _period_sql(column: str, period: str) -> str:
    if period == "day":
        return column
    if connection.vendor == "postgresql":
        return f"CAST(date_trunc('month', {column}) AS date)"
    return f"date({column}, 'start of month')"


def _as_date(value) -> datetime.date:
    return value if isinstance(value, datetime.date) else datetime.date.fromisoformat(value)


def compute_rows(period: str = "day", fields: tuple[str, ...] = KEY_FIELDS) -> dict[tuple, dict]:
    """Rollup rows per day (or month), {(day, service, jurisdiction, agency, channel):
    figures}, from the facts (with `fields`, grouped by those columns instead). The database
    does the adding up, histograms included (one "bucket:count" list per row), so that
    Python only reads the finished rows."""
    table = Transaction._meta.db_table
    keys = ", ".join(fields)
    end = 1 + len(fields)
    done = "outcome IN ('completed', 'not_eligible')"
    smaller = "LEAST" if connection.vendor == "postgresql" else "MIN"
    concat = "string_agg" if connection.vendor == "postgresql" else "group_concat"
    cast = "CAST(bucket AS text)" if connection.vendor == "postgresql" else "bucket"
    started_on, ended_on = _period_sql("start_day", period), _period_sql("end_day", period)
    # The table, columns and expressions are our own names, never input.
    queries = {
        "started": f"SELECT {started_on}, {keys}, COUNT(*) FROM {table} "  # noqa: S608
        f"GROUP BY {started_on}, {keys}",
        "ended": f"""SELECT {ended_on}, {keys},
                SUM(CASE WHEN outcome = 'completed' THEN 1 ELSE 0 END),
                SUM(CASE WHEN outcome = 'not_eligible' THEN 1 ELSE 0 END),
                SUM(CASE WHEN outcome = 'abandoned' THEN 1 ELSE 0 END),
                SUM(CASE WHEN {done} AND met_standard IS NOT NULL THEN 1 ELSE 0 END),
                SUM(CASE WHEN {done} AND met_standard THEN 1 ELSE 0 END),
                COALESCE(SUM(CASE WHEN {done} THEN elapsed_days END), 0),
                SUM(channel_cost), SUM(handle_seconds), SUM(handle_cost)
            FROM {table} WHERE end_day IS NOT NULL
            GROUP BY {ended_on}, {keys}""",  # noqa: S608
        "histogram": f"""SELECT period, {keys}, {concat}({cast} || ':' || n, ',')
            FROM (SELECT {ended_on} AS period, {keys},
                         {smaller}(elapsed_days, {measures.OVERFLOW}) AS bucket, COUNT(*) AS n
                  FROM {table}
                  WHERE {done} AND end_day IS NOT NULL AND elapsed_days IS NOT NULL
                  GROUP BY {ended_on}, {keys}, {smaller}(elapsed_days, {measures.OVERFLOW})) AS b
            GROUP BY period, {keys}""",  # noqa: S608
    }
    rows: dict[tuple, dict] = defaultdict(_empty_row)
    ended_fields = RollupBase.COUNTERS[1:]
    with connection.cursor() as cursor:
        cursor.execute(queries["started"])
        for found in cursor.fetchall():
            rows[(_as_date(found[0]), *found[1:end])]["started"] += found[end]
        cursor.execute(queries["ended"])
        for found in cursor.fetchall():
            row = rows[(_as_date(found[0]), *found[1:end])]
            for name, value in zip(ended_fields, found[end:], strict=True):
                row[name] += int(value or 0)
        cursor.execute(queries["histogram"])
        for found in cursor.fetchall():
            counts = [0] * (measures.OVERFLOW + 1)
            for pair in found[end].split(","):
                bucket, count = pair.split(":")
                counts[int(bucket)] += int(count)
            rows[(_as_date(found[0]), *found[1:end])]["histogram"] = measures.trim(counts)
    return dict(rows)


def compute_daily() -> dict[tuple, dict]:
    return compute_rows("day")


def compute_group_rows() -> dict[tuple, dict]:
    """Client-group rollup rows, {(month, service, jurisdiction, agency, channel, dimension,
    value): figures}: one GROUP BY per dimension."""
    rows: dict[tuple, dict] = {}
    for dimension in GROUP_DIMENSIONS:
        for (month, *key, value), figures in compute_rows(
            "month", (*KEY_FIELDS, dimension)
        ).items():
            rows[(month, *key, dimension, value)] = figures
    return rows


def months_of(daily: dict[tuple, dict]) -> dict[tuple, dict]:
    """Monthly rows from daily rows: the same figures added up per month (histograms added
    as packed integers, one addition per day)."""
    monthly: dict[tuple, dict] = defaultdict(_empty_row)
    packed: dict[tuple, int] = defaultdict(int)
    for (day, *key), figures in daily.items():
        month_key = (month_of(day), *key)
        row = monthly[month_key]
        for name in RollupBase.COUNTERS:
            row[name] += figures[name]
        if figures["histogram"]:
            packed[month_key] += int.from_bytes(measures.pack(figures["histogram"]), "little")
    for month_key, number in packed.items():
        size = (number.bit_length() + 31) // 32 * measures.LANE
        monthly[month_key]["histogram"] = measures.unpack(number.to_bytes(size, "little"))
    return dict(monthly)


def _write(
    model: type[RollupBase],
    period: str,
    rows: dict[tuple, dict],
    key_fields: tuple[str, ...] = KEY_FIELDS,
) -> None:
    """Insert rollup rows in bulk (COPY on PostgreSQL, batched INSERTs elsewhere): the ORM's
    per-object work would dominate a rebuild of a few hundred thousand rows."""
    columns = (period, *key_fields, *RollupBase.COUNTERS, "histogram")
    table = model._meta.db_table

    def values() -> Iterable[tuple]:
        for (when, *key), figures in rows.items():
            yield (
                when,
                *key,
                *(figures[name] for name in RollupBase.COUNTERS),
                measures.pack(figures["histogram"]),
            )

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                lines = (
                    "\t".join(map(str, record[:-1])) + "\t\\\\x" + record[-1].hex() + "\n"
                    for record in values()
                )
                while chunk := "".join(itertools.islice(lines, BATCH)):
                    copy.write(chunk)
            return
        # The table and columns are our model's own names, never input.
        placeholders = ", ".join("%s" for _ in columns)
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})"  # noqa: S608
        records = iter(values())
        while batch := list(itertools.islice(records, BATCH)):
            cursor.executemany(sql, batch)


def _clear(*models) -> None:
    with connection.cursor() as cursor:
        for model in models:
            cursor.execute(f"DELETE FROM {model._meta.db_table}")  # noqa: S608 (our table)


def recompute_survey_rollups() -> None:
    """Rebuild the answer sums from the responses; the invitation counts are kept. The
    client-group survey sums are left as they are: the responses carry no group."""
    invited = {
        (row.month, row.service_key, row.jurisdiction, row.channel): row.invited
        for row in SurveyRollup.objects.all()
    }
    rows: dict[tuple, dict] = {}
    for response in SurveyResponse.objects.all().iterator(chunk_size=BATCH):
        key = (response.month, response.service_key, response.jurisdiction, response.channel)
        row = rows.setdefault(key, {"responses": 0, "sums": {}})
        row["responses"] += 1
        row["sums"] = _add_answers(row["sums"], {q: getattr(response, q) for q in QUESTIONS})
    SurveyRollup.objects.all().delete()
    records = []
    for key in sorted(set(invited) | set(rows)):
        month, *rest = key
        row = rows.get(key, {"responses": 0, "sums": {}})
        records.append(
            SurveyRollup(
                month=month,
                **dict(zip(SURVEY_KEY, rest, strict=True)),
                invited=invited.get(key, 0),
                **row,
            )
        )
    SurveyRollup.objects.bulk_create(records, batch_size=BATCH)


#: PostgreSQL's memory for each sort or hash of the rebuild's GROUP BYs, for its transaction
#: only: the thirty GROUP BYs over millions of facts sort and hash far more than the default
#: 4 MB holds, and the rebuild runs alone and rarely.
REBUILD_WORK_MEM = "256MB"


def recompute_rollups() -> int:
    """Rebuild every rollup from the facts, in one transaction. Returns the daily rows."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT set_config('work_mem', %s, true)", [REBUILD_WORK_MEM])
        daily = compute_daily()
        _clear(DailyRollup, MonthlyRollup, GroupRollup)
        _write(DailyRollup, "day", daily)
        _write(MonthlyRollup, "month", months_of(daily))
        _write(GroupRollup, "month", compute_group_rows(), (*KEY_FIELDS, "dimension", "value"))
        recompute_survey_rollups()
    return len(daily)
