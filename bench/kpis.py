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

(d) the all-services page by client group (age band: every service × group) from the group
    rollups, (e) the same figures by a DuckDB scan grouped by service and age band, and (f)
    (d) published as the API gives it (suppression, the groups' names);
(g) the data of the groups page for every service (`insight.by_group`: each age band, the
    total of all clients, the service choices, the charts), and (h) its figures by a DuckDB
    scan grouped by age band;

checks that the rollups give the scans' figures, field by field (counts, completion, take-up
and within-standard counts, elapsed days, costs, and the 50th, 90th and 95th percentiles),
by service, by service × age band and by age band, and prints each way's time, then for
each page its figure, the scan's (the reference), the ratio and whether the figures are
identical. The database is dropped at the end (`--keep` keeps it; `--reuse` times a kept
one again without writing the history).

The history holds only what the figures read: the transactions (COPY, one process per core)
with their costs; surveys, overheads and the other apps' demo records are left out. The
rollups are rebuilt after it (timed on their own).
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


def scan_sql(table: str, keys: tuple[str, ...], first, last) -> str:
    """Every figure of the KPI page grouped by `keys`, in one scan of the transactions:
    started counted by start day, the rest by end day (as the rollups count them)."""
    names = ", ".join(keys)
    done = "outcome IN ('completed', 'not_eligible')"
    percentiles = ",\n".join(
        f"percentile_disc({share}) WITHIN GROUP (ORDER BY least(elapsed_days, {OVERFLOW}))"
        f" FILTER (WHERE {done} AND elapsed_days IS NOT NULL) AS p{name}"
        for share, name in ((0.5, 50), (0.9, 90), (0.95, 95))
    )
    joined = " AND ".join(f"s.{key} = e.{key}" for key in keys)  # the columns are NOT NULL
    chosen = ", ".join(f"coalesce(s.{key}, e.{key}) AS {key}" for key in keys)
    return f"""
WITH started AS (
    SELECT {names}, count(*) AS started
    FROM {table}
    WHERE start_day BETWEEN DATE '{first}' AND DATE '{last}'
    GROUP BY {names}
), ended AS (
    SELECT
        {names},
        count(*) FILTER (WHERE outcome = 'completed') AS completed,
        count(*) FILTER (WHERE outcome = 'not_eligible') AS not_eligible,
        count(*) FILTER (WHERE outcome = 'abandoned') AS abandoned,
        count(*) FILTER (WHERE {done} AND met_standard IS NOT NULL) AS with_standard,
        count(*) FILTER (WHERE {done} AND met_standard) AS met_standard,
        coalesce(sum(elapsed_days) FILTER (WHERE {done}), 0) AS elapsed_sum,
        sum(channel_cost) AS channel_cost,
        sum(handle_seconds) AS handle_seconds,
        sum(handle_cost) AS handle_cost,
        count(*) FILTER (WHERE {done} AND channel IN ('online', 'partner'))
            AS digital_completions,
        {percentiles}
    FROM {table}
    WHERE end_day BETWEEN DATE '{first}' AND DATE '{last}'
    GROUP BY {names}
)
SELECT {chosen},
       coalesce(s.started, 0), coalesce(e.completed, 0), coalesce(e.not_eligible, 0),
       coalesce(e.abandoned, 0), coalesce(e.with_standard, 0), coalesce(e.met_standard, 0),
       coalesce(e.elapsed_sum, 0), coalesce(e.channel_cost, 0), coalesce(e.handle_seconds, 0),
       coalesce(e.handle_cost, 0), coalesce(e.digital_completions, 0), e.p50, e.p90, e.p95
FROM started s FULL OUTER JOIN ended e ON {joined}
ORDER BY {", ".join(str(i + 1) for i in range(len(keys)))}
"""  # noqa: S608 (our own table and columns)


def timed(function, repeat: int) -> tuple[list[float], object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return times, result


def as_table(rows, width: int = 1) -> dict:
    """{key: figures} from a scan's rows whose first `width` columns are the key (a single
    key is the value itself); cells with every figure zero are left out, as the rollups
    have no row for them."""
    table = {}
    for row in rows:
        key = row[0] if width == 1 else tuple(row[:width])
        figures = tuple(int(v) if v is not None else None for v in row[width:])
        if any(figures):
            table[key] = figures
    return table


def figures_of(f) -> tuple:
    """The fields of FIELDS of one `kpis.Figures`, in order."""
    return (
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--transactions", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=5, help="timed runs of each way")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="time the scratch database a run with --keep left (no new history written)",
    )
    args = parser.parse_args()

    import psycopg

    server = os.environ.get("DATABASE_URL", DEFAULT_SERVER)
    admin_url = server.replace("postgres://", "postgresql://", 1)
    try:
        admin = psycopg.connect(admin_url, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as error:
        print(f"PostgreSQL does not answer at {server}: {error}", file=sys.stderr)
        return 1
    if not args.reuse:
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
        if not (args.keep or args.reuse):
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
    from django.utils import translation
    from tqdm import tqdm

    from joinedup.demo import loading
    from joinedup.demo.history.run import generate_history
    from joinedup.federation.loader import load_federation
    from joinedup.performance import groups, insight, kpis, rollups
    from joinedup.performance.models import GroupRollup, MonthlyRollup, Transaction

    started = time.perf_counter()
    generation = rebuild = 0.0
    if args.reuse:
        print(f"reusing the scratch database {DATABASE} (no history written)", flush=True)
    else:
        call_command("migrate", verbosity=0)
        load_federation([loading.federation_folder("canada")])
        load_federation([loading.federation_folder("australia")])
        print(f"scratch database {DATABASE} migrated, federations loaded", flush=True)
        step = time.perf_counter()
        with tqdm(total=args.transactions, unit=" rows", unit_scale=True, mininterval=5) as bar:
            # Only what the figures read: the transactions (COPY, one process per core) and
            # their costs. Surveys and overheads are left out (the scans compare the
            # transactions' figures), and so are the other apps' demo records; the rollups
            # are rebuilt below, timed on their own.
            generate_history(
                args.transactions,
                seed=20260101,
                progress=bar.update,
                surveys=False,
                overheads=False,
                skip=("rosters", "casework-rosters", "places", "backoffice", "rollups"),
            )
        generation = time.perf_counter() - step
        step = time.perf_counter()
        rollups.recompute_rollups()
        rebuild = time.perf_counter() - step
        with connection.cursor() as cursor:
            cursor.execute(f"VACUUM ANALYZE {Transaction._meta.db_table}")
            # What the server's autovacuum does soon after a rebuild: the planner's statistics.
            for model in (MonthlyRollup, GroupRollup):
                cursor.execute(f"ANALYZE {model._meta.db_table}")
    period = kpis.parse_period("12m")
    rollup_rows = MonthlyRollup.objects.filter(month__range=(period.first, period.last)).count()
    group_rows = GroupRollup.objects.filter(
        month__range=(period.first, period.last), dimension="age_band"
    ).count()
    print(
        f"{Transaction.objects.count():,} transactions written in {generation:.0f} s, "
        f"rollups rebuilt in {rebuild:.0f} s; in the period {period.first} – {period.end}: "
        f"{rollup_rows:,} monthly rollup rows, {group_rows:,} group rollup rows by age band",
        flush=True,
    )

    # (a) the page's data from the rollups
    def from_rollups():
        return {f.key["service_key"]: figures_of(f) for f in kpis.compute(period, ("service_key",))}

    # (d) the all-services page by client group: every service × age band from the group
    # rollups (what GET /api/v1/performance/kpis?by=service&dimension=age_band computes)
    def by_group():
        return {
            (f.key["service_key"], f.key["group"]): figures_of(f)
            for f in kpis.compute(period, ("service_key", "group"), dimension="age_band")
        }

    # (f) what that API call publishes: (d) with suppression within each service and the
    # groups' names
    def published_by_group():
        cells = kpis.compute(period, ("service_key", "group"), dimension="age_band")
        return groups.publish_by_group(cells, "age_band")

    # (g) the data of the groups page for every service (/performance/groups/?dimension=
    # age_band): each age band's figures, the total, the service choices and the charts
    def groups_page():
        with translation.override("en"):
            return insight.by_group(period, "age_band", "completion_rate")

    def page_cells():
        return {
            f.key["group"]: figures_of(f)
            for f in kpis.compute(period, ("group",), dimension="age_band")
        }

    with override_settings(PERFORMANCE_DIGITAL_CHANNELS=list(DIGITAL)):
        from_rollups()  # warm the connection and the caches a running server has
        rollup_times, rollup_result = timed(from_rollups, args.repeat)
        by_group()
        group_times, group_result = timed(by_group, args.repeat)
        published_by_group()
        published_times, published = timed(published_by_group, args.repeat)
        groups_page()
        page_times, page_data = timed(groups_page, args.repeat)
        page_result = page_cells()

    # (b) DuckDB over Parquet exported through ADBC, (e) and (h) the same scan grouped by
    # service × age band and by age band
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
        parquet_table = f"read_parquet('{path}')"
        duck = duckdb.connect()
        scans = {}
        for name, keys in (
            ("services", ("service_key",)),
            ("service_groups", ("service_key", "age_band")),
            ("groups", ("age_band",)),
        ):
            sql = scan_sql(parquet_table, keys, period.first, period.end)
            duck.sql(sql).fetchall()  # warm: the file in the page cache, as for the rollups
            scans[name] = timed(lambda sql=sql: duck.sql(sql).fetchall(), args.repeat)
        duck.close()
    duck_times, duck_rows = scans["services"]
    duck_result = as_table(duck_rows)
    duck_group_times, duck_group_rows = scans["service_groups"]
    duck_group = as_table(duck_group_rows, 2)
    duck_page_times, duck_page_rows = scans["groups"]
    duck_page = as_table(duck_page_rows)

    # (c) PostgreSQL GROUP BY
    pg_sql = scan_sql(table, ("service_key",), period.first, period.end)

    def postgres():
        with connection.cursor() as cursor:
            cursor.execute(pg_sql)
            return cursor.fetchall()

    pg_times, pg_rows = timed(postgres, max(1, min(args.repeat, 3)))
    pg_result = as_table(pg_rows)

    def nonzero(table: dict) -> dict:
        return {key: value for key, value in table.items() if any(value)}

    same_services = nonzero(rollup_result) == duck_result == pg_result
    same_groups = nonzero(group_result) == duck_group
    same_page = nonzero(page_result) == duck_page
    for label, mine, theirs in (
        ("by service", nonzero(rollup_result), duck_result),
        ("by service and age band", nonzero(group_result), duck_group),
        ("by age band", nonzero(page_result), duck_page),
    ):
        for key in sorted(set(mine) | set(theirs), key=str):
            if mine.get(key) != theirs.get(key):
                print(
                    f"DIFFERENT {label} {key}:\n"
                    f"  rollups {mine.get(key)}\n  duckdb  {theirs.get(key)}"
                )
    if pg_result != duck_result:
        print("DIFFERENT: the PostgreSQL GROUP BY and the DuckDB scan disagree")
    identical = same_services and same_groups and same_page
    completions = sum(v[1] + v[2] for v in rollup_result.values())
    reference = statistics.median(rollup_times)
    print()
    print(
        f"All-services KPI page, last twelve months: {len(rollup_result)} services, "
        f"{completions:,} completions; median of {args.repeat} runs (best in brackets)"
    )
    print(f"{'way':<52} {'median':>10} {'best':>10} {'× (a)':>8}")
    for label, times in (
        ("(a) rollups (kpis.compute, the page's call)", rollup_times),
        ("(b) DuckDB full scan of Parquet", duck_times),
        ("(c) PostgreSQL GROUP BY", pg_times),
        ("(d) every service × age band, group rollups", group_times),
        ("(e) every service × age band, DuckDB full scan", duck_group_times),
        ("(f) (d) published as the API gives it", published_times),
        ("(g) the groups page's data, every service, age band", page_times),
        ("(h) the same figures by age band, DuckDB full scan", duck_page_times),
    ):
        median = statistics.median(times)
        print(
            f"{label:<52} {median * 1000:>8.1f} ms {min(times) * 1000:>7.1f} ms "
            f"{median / reference:>7.1f}×"
        )
    print()
    print(f"{'page':<40} {'figure':>10} {'reference':>12} {'ratio':>8}  identical")
    for label, mine, theirs, same in (
        ("all services (a) / DuckDB (b)", rollup_times, duck_times, same_services),
        ("by client group (d) / DuckDB (e)", group_times, duck_group_times, same_groups),
        ("groups page (g) / DuckDB (h)", page_times, duck_page_times, same_page),
    ):
        figure, scan = statistics.median(mine), statistics.median(theirs)
        print(
            f"{label:<40} {figure * 1000:>7.1f} ms {scan * 1000:>9.1f} ms "
            f"{scan / figure:>7.1f}×  {'yes' if same else 'NO'}"
        )
    print(
        f"({len(group_result)} service × age band cells, {len(page_result)} age bands, "
        f"{len(published)} records published by the API, {len(page_data['rows'])} rows on the "
        f"groups page; figures compared: {', '.join(FIELDS)})"
    )
    print(f"figures identical to the scans: {'yes' if identical else 'NO'}")
    print(
        f"(Parquet export through ADBC: {export:.1f} s; whole run "
        f"{time.perf_counter() - started:.0f} s)"
    )
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
