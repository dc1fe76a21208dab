"""KPI benchmark: the all-services KPI page's data from the rollups, beside full scans.

Run it with the project's Python: `.venv/bin/python bench/kpis.py` (also `make bench`).

In one run it creates a scratch database on the PostgreSQL server of DATABASE_URL (default
postgres://postgres@127.0.0.1:5432/test), migrates it, loads the demonstration federations
of Canada and Australia, writes `--transactions` synthetic transactions (default 10,000,000)
with `joinedup generate-history`'s generator (PostgreSQL COPY) and rebuilds the rollups.
Then it times, for the last twelve months:

(a) the data of the all-services KPI page read from the monthly rollups (`kpis.compute`,
    what the page and the API call), in this process;
(b) the same figures by a full DuckDB scan of the transactions, exported once to Parquet
    (read through ADBC into Arrow);
(c) the same figures by a PostgreSQL GROUP BY over the transaction table;

(d) the same page by client group (age band: every service × group) from the group
    rollups, and (e) the same counts by a DuckDB scan grouped by service and age band;

checks that the three give identical figures per service (counts, completion, take-up and
within-standard counts, elapsed days, costs, and the 50th, 90th and 95th percentiles), and
prints the table with the ratios. The database is dropped at the end.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

DEFAULT_SERVER = "postgres://postgres@127.0.0.1:5432/test"
#: The scratch database (another name lets two runs share a server).
DATABASE = os.environ.get("JOINEDUP_BENCH_DATABASE", "bench_kpis")
OVERFLOW = 101  # measures.OVERFLOW: turnarounds past 100 days share the last bucket
DIGITAL = ("online", "partner")
FIELDS = (
    "started",
    "completed",
    "not_eligible",
    "abandoned",
    "with_standard",
    "met_standard",
    "elapsed_sum",
    "channel_cost",
    "handle_seconds",
    "handle_cost",
    "digital_completions",
    "p50",
    "p90",
    "p95",
)

SCAN_SQL = """
WITH started AS (
    SELECT service_key, count(*) AS started
    FROM {table}
    WHERE start_day BETWEEN DATE '{first}' AND DATE '{last}'
    GROUP BY service_key
), ended AS (
    SELECT
        service_key,
        count(*) FILTER (WHERE outcome = 'completed') AS completed,
        count(*) FILTER (WHERE outcome = 'not_eligible') AS not_eligible,
        count(*) FILTER (WHERE outcome = 'abandoned') AS abandoned,
        count(*) FILTER (WHERE outcome IN ('completed', 'not_eligible')
                         AND met_standard IS NOT NULL) AS with_standard,
        count(*) FILTER (WHERE outcome IN ('completed', 'not_eligible')
                         AND met_standard) AS met_standard,
        coalesce(sum(elapsed_days) FILTER (WHERE outcome IN ('completed', 'not_eligible')), 0)
            AS elapsed_sum,
        sum(channel_cost) AS channel_cost,
        sum(handle_seconds) AS handle_seconds,
        sum(handle_cost) AS handle_cost,
        count(*) FILTER (WHERE outcome IN ('completed', 'not_eligible')
                         AND channel IN ('online', 'partner')) AS digital_completions,
        percentile_disc(0.5) WITHIN GROUP (ORDER BY least(elapsed_days, {overflow}))
            FILTER (WHERE outcome IN ('completed', 'not_eligible')
                    AND elapsed_days IS NOT NULL) AS p50,
        percentile_disc(0.9) WITHIN GROUP (ORDER BY least(elapsed_days, {overflow}))
            FILTER (WHERE outcome IN ('completed', 'not_eligible')
                    AND elapsed_days IS NOT NULL) AS p90,
        percentile_disc(0.95) WITHIN GROUP (ORDER BY least(elapsed_days, {overflow}))
            FILTER (WHERE outcome IN ('completed', 'not_eligible')
                    AND elapsed_days IS NOT NULL) AS p95
    FROM {table}
    WHERE end_day BETWEEN DATE '{first}' AND DATE '{last}'
    GROUP BY service_key
)
SELECT coalesce(s.service_key, e.service_key) AS service_key,
       coalesce(s.started, 0), coalesce(e.completed, 0), coalesce(e.not_eligible, 0),
       coalesce(e.abandoned, 0), coalesce(e.with_standard, 0), coalesce(e.met_standard, 0),
       coalesce(e.elapsed_sum, 0), coalesce(e.channel_cost, 0), coalesce(e.handle_seconds, 0),
       coalesce(e.handle_cost, 0), coalesce(e.digital_completions, 0), e.p50, e.p90, e.p95
FROM started s FULL OUTER JOIN ended e ON s.service_key = e.service_key
ORDER BY 1
"""

#: Counts per service and age band over the period: started by start day, ended by end day.
GROUP_SCAN_SQL = """
WITH started AS (
    SELECT service_key, age_band, count(*) AS started FROM {table}
    WHERE start_day BETWEEN DATE '{first}' AND DATE '{last}' GROUP BY service_key, age_band
), ended AS (
    SELECT service_key, age_band,
           sum(CASE WHEN outcome IN ('completed', 'not_eligible') THEN 1 ELSE 0 END) AS done,
           sum(CASE WHEN outcome = 'abandoned' THEN 1 ELSE 0 END) AS abandoned
    FROM {table}
    WHERE end_day BETWEEN DATE '{first}' AND DATE '{last}' GROUP BY service_key, age_band
)
SELECT coalesce(s.service_key, e.service_key), coalesce(s.age_band, e.age_band),
       coalesce(s.started, 0), coalesce(e.done, 0), coalesce(e.abandoned, 0)
FROM started s FULL OUTER JOIN ended e
  ON s.service_key = e.service_key AND s.age_band = e.age_band
"""


def timed(function, repeat: int) -> tuple[list[float], object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return times, result


def as_table(rows) -> dict[str, tuple]:
    return {row[0]: tuple(int(v) if v is not None else None for v in row[1:]) for row in rows}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--transactions", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=5, help="timed runs of each way")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    args = parser.parse_args()

    import psycopg

    server = os.environ.get("DATABASE_URL", DEFAULT_SERVER)
    admin_url = server.replace("postgres://", "postgresql://", 1)
    try:
        admin = psycopg.connect(admin_url, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as error:
        print(f"PostgreSQL does not answer at {server}: {error}", file=sys.stderr)
        return 1
    admin.execute(f"DROP DATABASE IF EXISTS {DATABASE}")
    admin.execute(f"CREATE DATABASE {DATABASE}")
    scratch = server.rsplit("/", 1)[0] + f"/{DATABASE}"
    os.environ["DATABASE_URL"] = scratch
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "joinedup.settings")
    os.environ["JOINEDUP_TASK_BACKEND"] = "immediate"
    try:
        return run(args, scratch)
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            admin.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        admin.close()


def run(args, scratch: str) -> int:
    import django

    django.setup()
    import adbc_driver_postgresql.dbapi as adbc
    import duckdb
    import pyarrow.parquet as parquet
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import override_settings
    from tqdm import tqdm

    from joinedup.demo import loading
    from joinedup.demo.history.run import generate_history
    from joinedup.federation.loader import load_federation
    from joinedup.performance import groups, kpis
    from joinedup.performance.models import GroupRollup, MonthlyRollup, Transaction

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    load_federation([loading.federation_folder("canada")])
    load_federation([loading.federation_folder("australia")])
    print(f"scratch database {DATABASE} migrated, federations loaded", flush=True)

    step = time.perf_counter()
    with tqdm(total=args.transactions, unit=" rows", unit_scale=True, mininterval=5) as bar:
        # Surveys and overheads are left out: the scans compare the transactions' figures.
        generate_history(
            args.transactions,
            seed=20260101,
            progress=bar.update,
            surveys=False,
            overheads=False,
            skip=("rosters",),
        )
    generation = time.perf_counter() - step
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {Transaction._meta.db_table}")
        # What the server's autovacuum does soon after a rebuild: the planner's statistics.
        for model in (MonthlyRollup, GroupRollup):
            cursor.execute(f"ANALYZE {model._meta.db_table}")
    period = kpis.parse_period("12m")
    rollup_rows = MonthlyRollup.objects.filter(month__range=(period.first, period.last)).count()
    print(
        f"{args.transactions:,} transactions written and rolled up in {generation:.0f} s; "
        f"{rollup_rows:,} monthly rollup rows in the period {period.first} – {period.end}",
        flush=True,
    )

    # (a) the page's data from the rollups
    def from_rollups():
        figures = kpis.compute(period, ("service_key",))
        return {
            f.key["service_key"]: (
                f.started,
                f.completed,
                f.not_eligible,
                f.abandoned,
                f.with_standard,
                f.met_standard,
                f.elapsed_sum,
                f.channel_cost,
                f.handle_seconds,
                f.handle_cost,
                f.digital_completions,
                f.percentile(50),
                f.percentile(90),
                f.percentile(95),
            )
            for f in figures
        }

    with override_settings(PERFORMANCE_DIGITAL_CHANNELS=list(DIGITAL)):
        from_rollups()  # warm the connection and the caches a running server has
        rollup_times, rollup_result = timed(from_rollups, args.repeat)

    # (b) DuckDB over Parquet exported through ADBC
    table = Transaction._meta.db_table
    columns = (
        "service_key, channel, start_day, end_day, outcome, elapsed_days, met_standard, "
        "channel_cost, handle_seconds, handle_cost, age_band"
    )
    step = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "transactions.parquet"
        uri = scratch.replace("postgres://", "postgresql://", 1)
        with adbc.connect(uri) as source, source.cursor() as cursor:
            cursor.execute(f"SELECT {columns} FROM {table}")  # noqa: S608 (our table)
            arrow = cursor.fetch_arrow_table()
        parquet.write_table(arrow, path)
        del arrow
        export = time.perf_counter() - step
        sql = SCAN_SQL.format(
            table=f"read_parquet('{path}')",
            first=period.first,
            last=period.end,
            overflow=OVERFLOW,
        )
        duck = duckdb.connect()
        duck_times, duck_rows = timed(lambda: duck.sql(sql).fetchall(), args.repeat)
        group_sql = GROUP_SCAN_SQL.format(
            table=f"read_parquet('{path}')", first=period.first, last=period.end
        )
        duck_group_times, duck_group_rows = timed(
            lambda: duck.sql(group_sql).fetchall(), args.repeat
        )
        duck.close()
    duck_result = as_table(duck_rows)

    # (c) PostgreSQL GROUP BY
    pg_sql = SCAN_SQL.format(table=table, first=period.first, last=period.end, overflow=OVERFLOW)

    def postgres():
        with connection.cursor() as cursor:
            cursor.execute(pg_sql)
            return cursor.fetchall()

    pg_times, pg_rows = timed(postgres, max(1, min(args.repeat, 3)))
    pg_result = as_table(pg_rows)

    # (d) the page by client group, from the group rollups
    def by_group():
        return {
            (f.key["service_key"], f.key["group"]): (f.started, f.completions, f.abandoned)
            for f in kpis.compute(period, ("service_key", "group"), dimension="age_band")
        }

    # (f) what GET /api/v1/performance/kpis?by=service&dimension=age_band publishes: the same
    # figures, with suppression within each service and the groups' names
    def published_by_group():
        cells = kpis.compute(period, ("service_key", "group"), dimension="age_band")
        return groups.publish_by_group(cells, "age_band")

    with override_settings(PERFORMANCE_DIGITAL_CHANNELS=list(DIGITAL)):
        by_group()
        group_times, group_result = timed(by_group, args.repeat)
        published_by_group()
        published_times, published = timed(published_by_group, args.repeat)
    duck_group = {(row[0], row[1]): tuple(int(v) for v in row[2:]) for row in duck_group_rows}
    groups_identical = {k: v for k, v in group_result.items() if any(v)} == {
        k: v for k, v in duck_group.items() if any(v)
    }

    identical = rollup_result == duck_result == pg_result and groups_identical
    if not identical:
        for key in sorted(set(rollup_result) | set(duck_result) | set(pg_result)):
            a, b, c = rollup_result.get(key), duck_result.get(key), pg_result.get(key)
            if not a == b == c:
                print(f"DIFFERENT {key}:\n  rollups {a}\n  duckdb  {b}\n  pg      {c}")
    completions = sum(v[1] + v[2] for v in rollup_result.values())
    reference = statistics.median(rollup_times)
    print()
    print(
        f"All-services KPI page, last twelve months: {len(rollup_result)} services, "
        f"{completions:,} completions; median of {args.repeat} runs (best in brackets)"
    )
    print(f"{'way':<46} {'median':>10} {'best':>10} {'× rollups':>10}")
    for label, times in (
        ("(a) rollups (kpis.compute, the page's call)", rollup_times),
        ("(b) DuckDB full scan of Parquet", duck_times),
        ("(c) PostgreSQL GROUP BY", pg_times),
        ("(d) by client group (age band), group rollups", group_times),
        ("(e) by client group, DuckDB full scan", duck_group_times),
        ("(f) (d) published as the API gives it", published_times),
    ):
        median = statistics.median(times)
        print(
            f"{label:<46} {median * 1000:>8.1f} ms {min(times) * 1000:>7.1f} ms "
            f"{median / reference:>9.1f}×"
        )
    print(f"figures identical in the three ways: {'yes' if identical else 'NO'}")
    print(
        f"by client group: {len(group_result)} service × age band cells, DuckDB scan "
        f"{statistics.median(duck_group_times) / statistics.median(group_times):.1f}× the "
        f"group rollups; counts identical: {'yes' if groups_identical else 'NO'}"
    )
    print(f"published by client group: {len(published)} records")
    print(
        f"(Parquet export through ADBC: {export:.1f} s; whole run "
        f"{time.perf_counter() - started:.0f} s)"
    )
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
