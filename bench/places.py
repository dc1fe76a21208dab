"""Places benchmark: what a place's page reads ("everything in this place") for many places,
beside a DuckDB scan of the same facts.

Run it with the project's Python: `.venv/bin/python bench/places.py` (also `make bench`).

In one run it creates a scratch SQLite database (or, with `--postgres`, a scratch database on
the server of DATABASE_URL), migrates it, loads the Canadian demonstration federation (its
jurisdictions become places) and adds `--places` synthetic places. It draws `--transactions`
transaction facts (place, month, within the service standard or not) over `--months` months
and writes them to Parquet; the places' monthly figures (completed transactions, share within
the standard) are those facts summed, bulk-loaded as the synthetic history would. Then, for
`--sample` places, it times, each `--repeat` times:

(a) `places.view(place)`: the code the place page calls — money traced from the funding
    flows, funders, services offered, every monthly figure, the pilots;
(b) the same monthly figures by a DuckDB scan of the Parquet facts, filtered to the place;

checks that (a) and (b) agree for every place and month, and prints the medians per place
with the ratio. The issue's aim: under 200 ms per place and at least 10× the scan, for 500
places and 10,000,000 transactions (the default). `--quick`: 100 places, 1,000,000
transactions. `--profile` also prints where the view's time goes (cProfile, by own time).
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


def run(args, scratch: Path) -> int:
    import django

    django.setup()
    import duckdb
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq
    from django.core.management import call_command
    from django.db import connection

    from joinedup.demo import loading
    from joinedup.federation.loader import load_federation
    from joinedup.federation.models import Jurisdiction
    from joinedup.funding import places
    from joinedup.funding.models import Place, PlaceFigure

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    load_federation([loading.federation_folder("canada")])
    places.load_places([])
    within = list(Jurisdiction.objects.filter(level="local"))
    Place.objects.bulk_create(
        Place(
            key=f"bench-{i:04d}",
            kind=Place.Kind.AREA,
            jurisdiction=within[i % len(within)],
            names={"en": f"Bench place {i}"},
            synthetic=True,
        )
        for i in range(args.places)
    )
    ids = [p.pk for p in Place.objects.filter(key__startswith="bench-").order_by("key")]
    rng = np.random.default_rng(1)
    place_index = rng.integers(0, args.places, size=args.transactions)
    month_index = rng.integers(0, args.months, size=args.transactions)
    quality = rng.uniform(0.6, 0.95, size=args.places)
    met = rng.random(args.transactions) < quality[place_index]
    facts = scratch / "facts.parquet"
    pq.write_table(
        pa.table(
            {
                "place_id": np.asarray(ids)[place_index],
                "month": month_index.astype(np.int32),
                "within_standard": met,
            }
        ),
        facts,
    )
    cell = place_index * args.months + month_index
    completed = np.bincount(cell, minlength=args.places * args.months)
    within_count = np.bincount(cell, weights=met, minlength=args.places * args.months)
    first = datetime.date(2023, 1, 1)
    months = [
        first.replace(year=first.year + m // 12, month=m % 12 + 1) for m in range(args.months)
    ]
    figures = []
    for i, pk in enumerate(ids):
        for m, month in enumerate(months):
            n = int(completed[i * args.months + m])
            if not n:
                continue
            figures.append(PlaceFigure(place_id=pk, measure="completed", period=month, value=n))
            figures.append(
                PlaceFigure(
                    place_id=pk,
                    measure="within_standard",
                    period=month,
                    value=float(within_count[i * args.months + m]) / n * 100,
                )
            )
    PlaceFigure.objects.bulk_create(figures, batch_size=5000)
    loaded = time.perf_counter() - started
    print(
        f"{connection.vendor}: {args.places:,} places, {args.transactions:,} transactions over "
        f"{args.months} months, {len(figures):,} monthly figures; set up in {loaded:.1f} s"
    )

    sample = list(Place.objects.filter(key__startswith="bench-").order_by("key"))[: args.sample]
    scan = duckdb.connect()
    # A view over the file: each query below still scans the Parquet facts.
    scan.execute(f"CREATE VIEW facts AS SELECT * FROM read_parquet('{facts}')")  # noqa: S608
    view_times, scan_times, mismatches = [], [], 0
    for place in sample:
        best_view, best_scan = [], []
        for _ in range(args.repeat):
            t = time.perf_counter()
            counted = places.view(place)
            best_view.append(time.perf_counter() - t)
            t = time.perf_counter()
            rows = scan.execute(
                "SELECT month, count(*), avg(within_standard::INTEGER) * 100 "
                "FROM facts WHERE place_id = ? GROUP BY month ORDER BY month",
                [place.pk],
            ).fetchall()
            best_scan.append(time.perf_counter() - t)
        view_times.append(statistics.median(best_view))
        scan_times.append(statistics.median(best_scan))
        shown = dict(counted.figures.get("completed", []))
        share = dict(counted.figures.get("within_standard", []))
        for month, count, percent in rows:
            period = months[month]
            if shown.get(period) != count or abs(share.get(period, -1) - percent) > 1e-6:
                mismatches += 1
    if args.profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.enable()
        for place in sample:
            places.view(place)
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
    view_ms = statistics.median(view_times) * 1000
    scan_ms = statistics.median(scan_times) * 1000
    print(f"place view (places.view), median per place: {view_ms:8.1f} ms")
    print(f"DuckDB scan of the facts, median per place: {scan_ms:8.1f} ms")
    print(f"ratio (scan ÷ view): {scan_ms / view_ms:.1f}×   aim: < 200 ms and ≥ 10×")
    print("figures identical to the scan" if not mismatches else f"{mismatches} months differ")
    return 1 if mismatches else 0


if __name__ == "__main__":
    raise SystemExit(main())
