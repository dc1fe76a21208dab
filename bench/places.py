"""Places benchmark: what a place's page reads ("everything in this place") by where the
people live, for a service area and for a municipality, beside a DuckDB scan of the same facts.

Run it with the project's Python: `.venv/bin/python bench/places.py` (also `make bench`).

In one run it creates a scratch SQLite database (or, with `--postgres`, a scratch database on
the server of DATABASE_URL), migrates it, loads the Canadian demonstration federation (its
jurisdictions become places) and adds `--places` service areas, each listing two postal areas.
It draws `--transactions` transaction facts — service, the municipality and postal area the
person lives in, month, completed, within the service standard — over `--months` months up to
this one, delivered by the federal government, and writes them to Parquet. The rollups the
platform keeps as transactions are recorded (one row per month × service × delivering
jurisdiction × channel × place where the person lives, and the same per postal area) are
summed from the facts and bulk-loaded. Then it times, each `--repeat` times, for `--sample`
service areas and for every municipality:

(a) `places.view(place)`: the code the place page calls — for a service area, the services of
    the people living in its postal areas over the last twelve months; for a municipality,
    that by residence too, with money, funders, referrals, take-up, figures and pilots;
(b) the same per-service counts by a DuckDB scan of the Parquet facts, filtered to the place;

checks that (a) and (b) agree for every service, and prints the medians per place with the
ratio and the load average. The issue's aim: under 200 ms per place and at least 10× the
scan, for 500 places and 10,000,000 transactions (the default). `--quick`: 100 places,
1,000,000 transactions. `--profile` also prints where the view's time goes (cProfile).
"""

import argparse
import datetime
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

DEFAULT_SERVER = "postgres://postgres@127.0.0.1:5432/test"
DATABASE = "bench_places"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--places", type=int, default=500)
    parser.add_argument("--transactions", type=int, default=10_000_000)
    parser.add_argument("--months", type=int, default=36)
    parser.add_argument("--sample", type=int, default=50, help="places timed")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each way")
    parser.add_argument("--postgres", action="store_true", help="a scratch PostgreSQL database")
    parser.add_argument("--quick", action="store_true", help="100 places, 1,000,000 facts")
    parser.add_argument(
        "--profile", action="store_true", help="also print where the view's time goes"
    )
    args = parser.parse_args()
    if args.quick:
        args.places, args.transactions, args.sample = 100, 1_000_000, 30
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "joinedup.settings")
    os.environ["JOINEDUP_DEBUG"] = "0"
    with tempfile.TemporaryDirectory() as scratch:
        admin = None
        if args.postgres:
            import psycopg

            server = os.environ.get("DATABASE_URL", DEFAULT_SERVER)
            admin = psycopg.connect(
                server.replace("postgres://", "postgresql://", 1), autocommit=True
            )
            admin.execute(f"DROP DATABASE IF EXISTS {DATABASE}")
            admin.execute(f"CREATE DATABASE {DATABASE}")
            os.environ["DATABASE_URL"] = server.rsplit("/", 1)[0] + f"/{DATABASE}"
        else:
            os.environ["DATABASE_URL"] = f"sqlite:///{scratch}/bench.sqlite3"
        try:
            return run(args, Path(scratch))
        finally:
            if admin is not None:
                from django.db import connections

                connections.close_all()
                admin.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
                admin.close()


SERVICES = 20


def run(args, scratch: Path) -> int:
    import django

    django.setup()
    import duckdb
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from joinedup import copying
    from joinedup.demo import loading
    from joinedup.federation.loader import load_federation
    from joinedup.federation.models import Jurisdiction
    from joinedup.funding import places
    from joinedup.funding.models import Place
    from joinedup.performance.models import GroupRollup

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    load_federation([loading.federation_folder("canada")])
    places.load_places([])
    towns = list(
        Jurisdiction.objects.filter(level="local", code__startswith="CA-").order_by("code")
    )
    postal = [
        f"{chr(65 + i // 260 % 26)}{i // 26 % 10}{chr(65 + i % 26)}" for i in range(2 * args.places)
    ]
    Place.objects.bulk_create(
        Place(
            key=f"bench-{i:04d}",
            kind=Place.Kind.AREA,
            jurisdiction=towns[i % len(towns)],
            names={"en": f"Bench area {i}"},
            synthetic=True,
            postal_codes=postal[2 * i : 2 * i + 2],
        )
        for i in range(args.places)
    )
    # The facts: the postal area decides the town (an area lies in one municipality).
    rng = np.random.default_rng(1)
    n = args.transactions
    area_index = rng.integers(0, 2 * args.places, size=n)
    town_index = (area_index // 2) % len(towns)
    service_index = rng.integers(0, SERVICES, size=n)
    month_index = rng.integers(0, args.months, size=n)
    completed = rng.random(n) < 0.9
    quality = rng.uniform(0.6, 0.95, size=2 * args.places)
    met = completed & (rng.random(n) < quality[area_index])
    this_month = timezone.localdate().replace(day=1)
    months = []
    for back in range(args.months - 1, -1, -1):
        index = this_month.year * 12 + this_month.month - 1 - back
        months.append(datetime.date(index // 12, index % 12 + 1, 1))
    facts = scratch / "facts.parquet"
    pq.write_table(
        pa.table(
            {
                "service": np.char.add("bench.service-", service_index.astype(str)),
                "place": np.asarray([t.code for t in towns])[town_index],
                "postal_area": np.asarray(postal)[area_index],
                "month": pa.array([months[m] for m in range(args.months)]).take(
                    pa.array(month_index)
                ),
                "completed": completed,
                "met": met,
            }
        ),
        facts,
    )
    scan = duckdb.connect()
    # A view over the file: each query below still scans the Parquet facts.
    scan.execute(f"CREATE VIEW facts AS SELECT * FROM read_parquet('{facts}')")  # noqa: S608
    # Written as plain rows (COPY on PostgreSQL, executemany on SQLite): no model object per
    # rollup row, so setting up is the generator's and the database's time, not the ORM's.
    rows = [
        (month, service, "CA", "bench", "online", dimension, value, done, done, done, met_count)
        for dimension in ("place", "postal_area")
        for month, service, value, done, met_count in scan.execute(
            f"SELECT month, service, {dimension}, sum(completed::INTEGER), "  # noqa: S608
            f"sum(met::INTEGER) FROM facts GROUP BY ALL"
        ).fetchall()
    ]
    copying.write(
        GroupRollup,
        (
            "month",
            "service_key",
            "jurisdiction",
            "agency",
            "channel",
            "dimension",
            "value",
            "started",
            "completed",
            "with_standard",
            "met_standard",
        ),
        rows,
    )
    if connection.vendor == "postgresql":
        # Freshly copied rows have no planner statistics until autovacuum gets to them; a
        # running platform's tables have them. Without, the place's statements may walk
        # every postal area's rows of the months (the index on dimension and month).
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {GroupRollup._meta.db_table}")
    loaded = time.perf_counter() - started
    print(
        f"{connection.vendor}: {args.places:,} service areas and {len(towns)} municipalities, "
        f"{n:,} transactions over {args.months} months, {len(rows):,} rollup rows; "
        f"set up in {loaded:.1f} s"
    )
    first, last = places.window()
    areas = list(Place.objects.filter(key__startswith="bench-").order_by("key"))[: args.sample]
    municipalities = list(
        Place.objects.filter(kind=Place.Kind.JURISDICTION, jurisdiction__in=towns)
        .select_related("jurisdiction")
        .order_by("key")
    )
    mismatches = 0

    def timed(place, column: str, values: list[str]) -> tuple[float, float]:
        nonlocal mismatches
        view_runs, scan_runs = [], []
        marks = ", ".join("?" for _ in values)
        for _ in range(args.repeat):
            t = time.perf_counter()
            counted = places.view(place)
            view_runs.append(time.perf_counter() - t)
            t = time.perf_counter()
            found = scan.execute(
                f"SELECT service, sum(completed::INTEGER) FROM facts "  # noqa: S608
                f"WHERE {column} IN ({marks}) AND month BETWEEN ? AND ? GROUP BY service",
                [*values, first, last],
            ).fetchall()
            scan_runs.append(time.perf_counter() - t)
        shown = sorted(
            int(row[1].replace(",", "").replace("\u202f", "")) for row in counted.performance
        )
        if shown != sorted(int(count) for _service, count in found):
            mismatches += 1
        return statistics.median(view_runs), statistics.median(scan_runs)

    measured = {
        "service area": [timed(p, "postal_area", p.postal_codes) for p in areas],
        "municipality": [timed(p, "place", [p.jurisdiction.code]) for p in municipalities],
    }
    if args.profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.enable()
        for place in areas + municipalities:
            places.view(place)
        profiler.disable()
        stats = pstats.Stats(profiler)
        stats.sort_stats("tottime").print_stats(25)
        stats.sort_stats("cumulative").print_stats(40)
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for kind, pairs in measured.items():
        view_ms = statistics.median(v for v, _s in pairs) * 1000
        scan_ms = statistics.median(s for _v, s in pairs) * 1000
        print(
            f"{kind:>12} ({len(pairs)} timed): places.view {view_ms:8.1f} ms; "
            f"DuckDB scan {scan_ms:8.1f} ms; ratio (scan ÷ view) {scan_ms / view_ms:5.1f}×"
        )
    print("aim: under 200 ms per place and at least 10× the scan")
    print("counts identical to the scan" if not mismatches else f"{mismatches} places differ")
    return 1 if mismatches else 0


if __name__ == "__main__":
    raise SystemExit(main())
