"""Funding benchmark: the explorer's totals for one program and one place, beside a full
DuckDB scan of the same expenditure lines.

Run it with the project's Python: `.venv/bin/python bench/funding.py` (also `make bench`);
`--help` lists the sizes. The issue's size is the default: 10,000,000 lines (`--lines`) across
5,000 agencies (`--entities`), 200 programs (`--programs`) and 10 fiscal years (`--years`).
`--quick` is a check of the benchmark itself: 500,000 lines, 1,000 agencies, 50 programs.

In one run it creates a scratch database on the PostgreSQL server of DATABASE_URL (default
postgres://postgres@127.0.0.1:5432/test), named after DATABASE_URL's database
(`<name>_bench_funding`, dropped at the end unless `--keep`), migrates it, loads the Canadian
demonstration federation (for its places), and bulk-loads the agencies, the programs, chains
of allocations (a federal appropriation to a province, passed on to community organisations)
and the expenditure lines with PostgreSQL COPY. The same lines are written to Parquet. Then
it starts `joinedup serve` as a user runs it (gunicorn, DEBUG off, production settings; its
error output to a file, printed when anything fails) and times, each `--repeat` times:

(a) the explorer's totals for one program in one fiscal year: GET /api/v1/funding/totals over
    HTTP from the server (the request handled whole: `explorer.totals`, the code the page
    calls), and `explorer.totals` alone in this process;
(b) the same for one place (a province and everything under it) in one fiscal year;
(c) the same two figures by a full DuckDB scan of the Parquet lines;

checks that (a)/(b) and (c) give identical totals per phase, to the cent, and prints the
median times, the ratio of the scan to each (the issue's figure is the scan over `totals()`)
and the load average. The aim is under 100 ms and at least 10×
faster than the scan. Bulk loading skips the per-record rules (over-allocation checks, change
records) and so the rollup and the allocations' place paths kept on write (allocations are
bulk-created): after COPY the benchmark runs `joinedup rebuild-funding-rollup`, as an
operator would after a bulk load, which sets the place paths and rebuilds the rollup, and
times it. The server's errors during the run are counted and printed; any makes the run fail.
"""

import argparse
import io
import math
import os
import shutil
import signal
import statistics
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

DEFAULT_SERVER = "postgres://postgres@127.0.0.1:5432/test"
CATEGORIES = ("staff", "operations", "payments", "capital", "overhead")
PHASES = ("proposed", "approved", "adjusted", "executed")
FIRST_YEAR = 2016


from _serving import server_errors, start_server  # noqa: E402 - the benchmarks' shared module


def scratch_name(server: str) -> str:
    """The scratch database: named after the one given, so runs on a shared server do not meet."""
    name = server.rpartition("/")[2].split("?")[0] or "joinedup"
    return f"{name}_bench_funding"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--lines", type=int, default=10_000_000, help="expenditure lines (10,000,000)"
    )
    parser.add_argument(
        "--entities",
        type=int,
        default=5_000,
        help="agencies: federal, provincial, community (5,000)",
    )
    parser.add_argument("--programs", type=int, default=200, help="federal programs (200)")
    parser.add_argument("--years", type=int, default=10, help="fiscal years, from 2016 (10)")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs of each way (5)")
    parser.add_argument("--port", type=int, default=8170, help="the server's port (8170)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    parser.add_argument(
        "--quick", action="store_true", help="a check: 500,000 lines, 1,000 agencies, 50 programs"
    )
    args = parser.parse_args()
    if args.quick:
        args.lines, args.entities, args.programs = 500_000, 1_000, 50

    import psycopg

    server = os.environ.get("DATABASE_URL", DEFAULT_SERVER)
    admin_url = server.replace("postgres://", "postgresql://", 1)
    try:
        admin = psycopg.connect(admin_url, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as error:
        print(f"PostgreSQL does not answer at {server}: {error}", file=sys.stderr)
        return 1
    database = scratch_name(server)
    admin.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
    admin.execute(f"CREATE DATABASE {database}")
    os.environ["DATABASE_URL"] = server.rsplit("/", 1)[0] + f"/{database}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "joinedup.settings")
    os.environ["JOINEDUP_DEBUG"] = "0"
    try:
        return run(args)
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            admin.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
        admin.close()


def build(args):
    """Agencies, programs and allocation chains through the ORM (bulk), in memory too."""
    from joinedup.demo import loading
    from joinedup.federation.loader import load_federation
    from joinedup.federation.models import Agency, Jurisdiction, Program
    from joinedup.funding.models import Allocation

    load_federation([loading.federation_folder("canada")])
    places = list(Jurisdiction.objects.filter(level="local"))
    provinces = list(Jurisdiction.objects.filter(level="subnational"))
    canada = Jurisdiction.objects.get(code="CA")
    federal_count = max(1, args.entities // 100)
    provincial_count = max(len(provinces), args.entities // 10)
    agencies = [
        Agency(key=f"b-fed-{i}", kind="ministry", jurisdiction=canada, names={"en": f"F{i}"})
        for i in range(federal_count)
    ]
    agencies += [
        Agency(
            key=f"b-prov-{i}",
            kind="ministry",
            jurisdiction=provinces[i % len(provinces)],
            names={"en": f"P{i}"},
        )
        for i in range(provincial_count)
    ]
    agencies += [
        Agency(
            key=f"b-org-{i}",
            kind="community_organisation",
            jurisdiction=places[i % len(places)],
            names={"en": f"O{i}"},
        )
        for i in range(args.entities - federal_count - provincial_count)
    ]
    Agency.objects.bulk_create(agencies, batch_size=2000)
    agencies = list(Agency.objects.filter(key__startswith="b-").select_related("jurisdiction"))
    federal = [a for a in agencies if a.key.startswith("b-fed-")]
    provincial = [a for a in agencies if a.key.startswith("b-prov-")]
    community = [a for a in agencies if a.key.startswith("b-org-")]
    programs = Program.objects.bulk_create(
        Program(key=f"b-program-{i}", agency=federal[i % len(federal)], names={"en": f"P{i}"})
        for i in range(args.programs)
    )
    combos = 12 * len(CATEGORIES) * len(PHASES)
    per_chain = max(2, math.ceil(args.lines / combos / args.years / args.programs))
    rows, chains = [], []
    for year in range(FIRST_YEAR, FIRST_YEAR + args.years):
        for p_index, program in enumerate(programs):
            province = provincial[(p_index * 7 + year) % len(provincial)]
            head = Allocation(
                key=f"b-{year}-{p_index}",
                kind="appropriation",
                funder=program.agency,
                recipient=province,
                program=program,
                fiscal_year=year,
                calendar=canada,
                currency="CAD",
                amount=10_000_000,
                instrument="transfer",
                condition="ring_fenced",
            )
            rows.append(head)
            chains.append((head, []))
    Allocation.objects.bulk_create(rows, batch_size=5000)
    rows = []
    for head, children in chains:
        for k in range(per_chain - 1):
            child = Allocation(
                key=f"{head.key}-{k}",
                kind="allocation",
                funder=head.recipient,
                recipient=community[(head.pk * 31 + k) % len(community)],
                program=head.program,
                fiscal_year=head.fiscal_year,
                calendar=canada,
                currency="CAD",
                amount=100_000,
                instrument="contribution",
                condition="ring_fenced",
                source=head,
            )
            rows.append(child)
            children.append(child)
    Allocation.objects.bulk_create(rows, batch_size=5000)
    return Allocation.objects.select_related("recipient__jurisdiction").order_by("pk"), provinces


def run(args) -> int:
    import django

    django.setup()
    import duckdb
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as csv
    import pyarrow.parquet as parquet
    from django.core.management import call_command
    from django.db import connection

    from joinedup.federation.models import Program
    from joinedup.funding import explorer, rollup
    from joinedup.funding.models import Expenditure

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    allocations, provinces = build(args)
    allocations = list(allocations)
    count = len(allocations)
    print(
        f"{args.entities:,} agencies, {args.programs} programs, {args.years} fiscal years, "
        f"{count:,} allocations ({time.perf_counter() - started:.1f} s)",
        flush=True,
    )

    # Each line is a distinct (allocation, month, category, phase): line i takes allocation
    # i mod count and the (i div count)-th combination of the other three.
    step = time.perf_counter()
    rng = np.random.default_rng(21)
    index = np.arange(args.lines, dtype=np.int64)
    which = index % count
    combo = index // count
    if combo.max() >= 12 * len(CATEGORIES) * len(PHASES):
        print("Too many lines for the allocations: raise --programs or --years.")
        return 1
    month = combo % 12
    category = (combo // 12) % len(CATEGORIES)
    phase = combo // (12 * len(CATEGORIES))
    cents = rng.integers(100, 500_000, args.lines, dtype=np.int64)
    ids = np.array([a.pk for a in allocations], dtype=np.int64)
    years = np.array([a.fiscal_year for a in allocations], dtype=np.int64)
    month_index = years[which] * 12 + 3 + month  # April first
    table = Expenditure._meta.db_table

    def coded(codes, values) -> pa.DictionaryArray:
        return pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int32)), pa.array(values))

    months, month_code = np.unique(month_index, return_inverse=True)
    month_names = [f"{m // 12}-{m % 12 + 1:02d}-01" for m in months.tolist()]
    zero = np.zeros(args.lines, dtype=np.int32)
    with connection.cursor() as cursor:
        # The usual bulk load: the table's foreign keys, unique constraints and indexes are
        # dropped, the lines copied, then each is made again (and checked) in one pass.
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = %s::regclass AND contype IN ('f', 'u')",
            [table],
        )
        constraints = cursor.fetchall()
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s "
            "AND indexname NOT IN (SELECT conname FROM pg_constraint "
            "WHERE conrelid = %s::regclass)",
            [table, table],
        )
        indexes = cursor.fetchall()
        for name, _definition in constraints:
            cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        for name, _definition in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        raw = cursor.cursor
        columns = "allocation_id, period, category, phase, amount, ftes, reported_at"
        with raw.copy(f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT csv)") as copy:
            batch = 500_000
            for start in range(0, args.lines, batch):
                part = slice(start, min(start + batch, args.lines))
                piece = cents[part]
                # "123.45" from whole cents, exactly: no float on the way.
                amount = pc.binary_join_element_wise(
                    pa.array(piece // 100).cast(pa.string()),
                    pc.utf8_slice_codeunits(pa.array(piece % 100 + 100).cast(pa.string()), 1, 3),
                    ".",
                )
                chunk = pa.table(
                    {
                        "allocation_id": ids[which[part]],
                        "period": coded(month_code[part], month_names),
                        "category": coded(category[part], list(CATEGORIES)),
                        "phase": coded(phase[part], list(PHASES)),
                        "amount": amount,
                        "ftes": coded(zero[part], ["0"]),
                        "reported_at": coded(zero[part], ["2026-01-01T00:00:00Z"]),
                    }
                )
                out = io.BytesIO()
                csv.write_csv(
                    chunk, out, csv.WriteOptions(include_header=False, quoting_style="none")
                )
                copy.write(out.getvalue())
        copied = time.perf_counter() - step
        for _name, definition in indexes:
            cursor.execute(definition)
        for name, definition in constraints:
            cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
        cursor.execute(f"ANALYZE {table}")
        cursor.execute("ANALYZE funding_allocation")
    print(
        f"{args.lines:,} expenditure lines loaded by COPY ({copied:.1f} s), indexes and "
        f"constraints made again ({time.perf_counter() - step - copied:.1f} s)"
    )
    step = time.perf_counter()
    call_command("rebuild_funding_rollup", stdout=io.StringIO())
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE funding_spendingrollup")
    print(
        f"rollup rebuilt from the lines: {rollup.SpendingRollup.objects.count():,} rows "
        f"({time.perf_counter() - step:.1f} s; total so far {time.perf_counter() - started:.0f} s)",
        flush=True,
    )

    folder = Path(tempfile.mkdtemp(prefix="bench-funding-"))
    parquet.write_table(
        pa.table({"allocation_id": ids[which], "phase": np.array(PHASES)[phase], "cents": cents}),
        folder / "lines.parquet",
    )
    parquet.write_table(
        pa.table(
            {
                "id": ids,
                "program_id": np.array([a.program_id for a in allocations], dtype=np.int64),
                "fiscal_year": years,
                "place": [a.recipient.jurisdiction.path for a in allocations],
                "published": [a.published for a in allocations],
            }
        ),
        folder / "allocations.parquet",
    )
    scan = duckdb.connect()

    def duck(where: str, params: list) -> dict:
        # The file names are our own temporary folder's; the values go as parameters.
        query = (
            f"SELECT l.phase, sum(l.cents) FROM '{folder}/lines.parquet' l "  # noqa: S608
            f"JOIN '{folder}/allocations.parquet' a ON a.id = l.allocation_id "
            f"WHERE a.published AND a.fiscal_year = ? AND {where} GROUP BY l.phase"
        )
        rows = scan.execute(query, params).fetchall()
        return {phase: (Decimal(total) / 100).quantize(Decimal("0.01")) for phase, total in rows}

    year = FIRST_YEAR + args.years - 1
    program = Program.objects.select_related("agency__jurisdiction").get(key="b-program-7")
    province = provinces[0]
    cases = [
        (
            f"one program ({program.key}), FY {year}",
            explorer.Selection(year, program=program),
            {"fiscal_year": year, "program": program.key},
            ("a.program_id = ?", [year, program.pk]),
        ),
        (
            f"one place ({province.code} and below), FY {year}",
            explorer.Selection(year, place=province),
            {"fiscal_year": year, "place": province.code},
            ("(a.place = ? OR a.place LIKE ?)", [year, province.path, province.path + "/%"]),
        ),
    ]
    # The API serves no static file; an empty folder keeps whitenoise quiet.
    static = tempfile.mkdtemp(prefix="joinedup-bench-funding-static-")
    process, log = start_server(args.port, "funding", JOINEDUP_STATIC_ROOT=static)
    try:
        if process.poll() is not None:
            print(f"the server did not start; its error output:\n{server_errors(log)}")
            return 1
        return timed(args, cases, duck, f"http://127.0.0.1:{args.port}", log, started)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
        log.unlink(missing_ok=True)
        shutil.rmtree(folder, ignore_errors=True)


def timed(args, cases, duck, base: str, log: Path, started: float) -> int:
    import json

    from joinedup.funding import explorer

    failed = False
    print(f"load average at the start of the timings: {os.getloadavg()[0]:.1f}")
    print(
        f"{'selection':<36} {'API':>9} {'totals()':>9} {'DuckDB scan':>12} {'scan/API':>9} "
        f"{'scan/totals()':>14}"
    )
    for label, selection, query, (where, params) in cases:
        url = f"{base}/api/v1/funding/totals?{urllib.parse.urlencode(query)}"
        try:
            fetch(url)  # warm: the worker's first connection, its first statement
        except OSError as error:
            print(f"   the server failed: {error}\nits error output:\n{server_errors(log)}")
            return 1
        ours, inner, theirs = [], [], []
        for _run in range(args.repeat):
            step = time.perf_counter()
            body = fetch(url)
            ours.append(time.perf_counter() - step)
            step = time.perf_counter()
            totals = explorer.totals(selection)
            inner.append(time.perf_counter() - step)
            step = time.perf_counter()
            scanned = duck(where, params)
            theirs.append(time.perf_counter() - step)
        served = {k: Decimal(v) for k, v in json.loads(body)["phases"].items() if Decimal(v)}
        same = served == scanned == {k: v for k, v in totals.phases.items() if v}
        failed |= not same
        a, i, b = statistics.median(ours), statistics.median(inner), statistics.median(theirs)
        print(
            f"{label:<36} {a * 1000:6.1f} ms {i * 1000:6.1f} ms {b * 1000:9.1f} ms {b / a:8.1f}× "
            f"{b / i:13.1f}×"
        )
        # The figure: the explorer's totals through the code the page uses, beside
        # the scan of the same lines in the same run (the aim is at least 10×).
        print(
            f"   totals() {b / i:.1f}× faster than the scan "
            f"({'meets' if b / i >= 10 else 'does not meet'} the 10× aim); "
            f"over HTTP {b / a:.1f}×"
        )
        print(
            f"   executed {totals.executed:,.2f} CAD; allocated {totals.allocated:,.2f} CAD "
            f"({totals.gross:,.2f} with transfers counted again); "
            f"{'identical to the scan' if same else 'DIFFERENT from the scan: ' + str(scanned)}"
        )
    errors = [line for line in log.read_text(errors="replace").splitlines() if "ERROR" in line]
    print(f"server errors during the run: {len(errors)}")
    for line in errors[:10]:
        print("  " + line)
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    print(f"whole run {time.perf_counter() - started:.0f} s")
    return 1 if failed or errors else 0


def fetch(url: str) -> bytes:
    """A GET to our own loopback server; anything but a 200 raises (urllib's HTTPError)."""
    if not url.startswith("http://127.0.0.1:"):
        raise ValueError(url)
    with urllib.request.urlopen(url, timeout=120) as response:  # noqa: S310 (our loopback server)
        return response.read()


if __name__ == "__main__":
    sys.exit(main())
