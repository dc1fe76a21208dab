"""Newborn bundles accepted per second over HTTP on PostgreSQL, beside the limit of the
database for the same rows, and the time the task workers take to start every leg, in one run.

Run it with the project's Python: `.venv/bin/python bench/bundles.py` (also `make bench`).

It creates a fresh database on the PostgreSQL server of DATABASE_URL (default
postgres://postgres@127.0.0.1:5432/test), migrates it, loads the Canadian demo federation,
the service versions and the demo bundles, makes 32 demo parents (verified in person, living
in Toronto, each with a personal API token), starts `joinedup serve` as a user runs it (DEBUG
off, its default workers and threads) on a loopback port, and measures:

- bundles accepted per second: `POST /api/v1/bundles/newborn/submissions` from 32
  concurrent clients (a Python asyncio load generator on keep-alive connections, each request
  with its own Idempotency-Key), all six legs kept and consented: each bundle is accepted in
  one transaction (the submission, six consents, six legs, the events that start them, in
  three agencies: ServiceOntario, ESDC, CRA) and answered with each leg "received"; no task
  worker runs meanwhile, so this is the acceptance alone; and the 95th-percentile latency;
- the limit, measured in the same run: the same rows (table by table, as many per bundle as
  the HTTP run wrote on average) inserted with plain psycopg, one transaction per bundle,
  from the same number of concurrent connections; and the ratio of the two;
- the floor, through the same server in the same run: `POST /api/v1/bundles/newborn/floor`
  (an operation the server has only when started with JOINEDUP_BENCH_FLOOR=true, as here),
  the same clients and bodies: token authentication plus the acceptance's transaction and
  inserts alone (its checks done once per person and kept), and the ratio of ours to it;
- legs started per second: the server stopped, two `joinedup worker` processes are started
  and the time is taken until every leg of every bundle accepted (warm-up included) has its
  application and its process started.

The request loop is bounded in count and time and sends traffic only to 127.0.0.1. The
database is dropped at the end. Without a PostgreSQL server it says so and exits 1.
"""

import argparse
import asyncio
import datetime
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
DEFAULT_SERVER = "postgres://postgres@127.0.0.1:5432/test"
LEGS = [
    "birth-registration",
    "birth-certificate",
    "social-insurance-number",
    "child-benefit",
    "provincial-child-benefit",
    "education-savings",
]


from _serving import (  # noqa: E402 - the benchmarks' shared module
    percentile,
    process_cpu_seconds,
    server_errors,
    start_server,
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--bundles", type=int, default=640, help="submissions over HTTP at most")
    parser.add_argument("--seconds", type=float, default=120, help="time limit of the HTTP run")
    parser.add_argument("--warmup", type=int, default=32, help="submissions before measuring")
    parser.add_argument("--workers", type=int, default=2, help="`joinedup worker` processes")
    parser.add_argument(
        "--quick", action="store_true", help="128 bundles at most, 30 s per HTTP run"
    )
    args = parser.parse_args()
    if args.quick:
        args.bundles, args.seconds = min(args.bundles, 128), min(args.seconds, 30)
    import psycopg

    server = os.environ.get("DATABASE_URL", DEFAULT_SERVER)
    if not server.startswith("postgres"):
        server = DEFAULT_SERVER
    admin_url = server.replace("postgres://", "postgresql://")
    name = f"bench_bundles_{uuid.uuid4().hex[:10]}"
    try:
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=3) as db:
            db.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as error:
        print(f"PostgreSQL does not answer at {server}: {error}", file=sys.stderr)
        return 1
    data_dir = tempfile.mkdtemp(prefix="joinedup-bench-")
    os.environ.update(
        DATABASE_URL=server.rsplit("/", 1)[0] + "/" + name,
        JOINEDUP_DATA_DIR=data_dir,
        DJANGO_SETTINGS_MODULE="joinedup.settings",
        JOINEDUP_TASK_BACKEND="database",
        JOINEDUP_LOG_LEVEL="WARNING",
    )
    # The load comes from a few tokens at full speed: their rate limit must not answer it.
    os.environ.update(
        {
            "JOINEDUP_PERSONAL_TOKEN_RATE_PER_MINUTE": "10000000",
            "JOINEDUP_PERSONAL_TOKEN_BURST": "100000",
        }
    )
    try:
        return run(args, admin_url.rsplit("/", 1)[0] + "/" + name)
    finally:
        from django.db import connections

        connections.close_all()
        with psycopg.connect(admin_url, autocommit=True) as db:
            db.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def setup(clients: int) -> list[str]:
    """The catalogue, versions, bundles and one verified parent (with a token) per client."""
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from joinedup.delivery import versions
    from joinedup.demo import loading
    from joinedup.federation.loader import load_federation
    from joinedup.federation.models import Office
    from joinedup.identity import assurance, tokens
    from joinedup.identity.client_registry import AddressInput, register_person
    from joinedup.identity.models import User

    load_federation([loading.federation_folder("canada")])
    versions.load_paths([loading.SERVICE_VERSIONS])
    loading.load_demo_bundles()
    clerk = User.objects.create_user("clerk@example.org", "clerk@example.org", "x" * 20)
    office = Office.objects.get(key="sc-toronto-downtown")
    secrets = []
    for n in range(clients):
        person = register_person(
            given_names="Parent",
            family_name=f"Number{n}",
            birth_date=datetime.date(1990, 1, 1),
            address=AddressInput("40 Bay St", "Toronto", "ON", "M5J 2X2", "CA", "CA-ON-TOR"),
            contacts=[("email", f"parent{n}@example.org")],
        )
        user = User.objects.create_user(
            f"parent{n}@example.org", f"parent{n}@example.org", "x" * 20, person=person
        )
        assurance.record_proofing(
            person, level=3, method="in_person", verified_by=clerk, office=office
        )
        _token, secret = tokens.create_personal_token(user, name="bench", scopes=["read", "write"])
        secrets.append(secret)
    return secrets


def body(number: int) -> bytes:
    born = (datetime.date.today() - datetime.timedelta(days=2 + number % 20)).isoformat()
    return json.dumps(
        {
            "screening": {
                "birth_province": "CA-ON",
                "lives_with_child": True,
                "wants_certificate": True,
            },
            "answers": {
                "child_given_names": f"Child {number}",
                "child_family_name": "Number",
                "birth_date": born,
                "sex": "female",
                "birth_place": "Toronto General Hospital",
                "birth_town": "Toronto",
                "certificate_reason": "passport",
                "marital_status": "single",
                "income_last_year": 50000 + number,
            },
            "consents": LEGS,
            "dropped_legs": [],
        }
    ).encode()


async def one_client(
    port: int,
    secret: str,
    numbers,
    latencies: list,
    errors: list,
    deadline: float,
    path: str = "submissions",
) -> None:
    """One keep-alive connection sending submissions one after the other."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for number in numbers:
            if time.perf_counter() > deadline:
                return
            payload = body(number)
            head = (
                f"POST /api/v1/bundles/newborn/{path} HTTP/1.1\r\n"
                f"Host: 127.0.0.1:{port}\r\nAuthorization: Bearer {secret}\r\n"
                f"Content-Type: application/json\r\nIdempotency-Key: bench-{number}\r\n"
                f"Content-Length: {len(payload)}\r\nConnection: keep-alive\r\n\r\n"
            ).encode()
            began = time.perf_counter()
            writer.write(head + payload)
            await writer.drain()
            status_line = await reader.readline()
            length = 0
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b""):
                    break
                key, _sep, value = line.decode("latin-1").partition(":")
                if key.lower() == "content-length":
                    length = int(value.strip())
            answer = await reader.readexactly(length) if length else b""
            elapsed = time.perf_counter() - began
            code = int(status_line.split()[1]) if status_line else 0
            if code == 201:
                latencies.append(elapsed)
            else:
                errors.append(f"{code}: {answer[:2000]!r}")
    finally:
        writer.close()


async def load(
    port: int,
    secrets: list[str],
    first: int,
    count: int,
    seconds: float,
    path: str = "submissions",
):
    latencies: list[float] = []
    errors: list[str] = []
    deadline = time.perf_counter() + seconds
    clients = len(secrets)
    began = time.perf_counter()
    await asyncio.gather(
        *[
            one_client(
                port,
                secret,
                range(first + i, first + count, clients),
                latencies,
                errors,
                deadline,
                path,
            )
            for i, secret in enumerate(secrets)
        ]
    )
    return latencies, errors, time.perf_counter() - began


def table_counts(conn) -> dict[str, int]:
    tables = [
        row[0]
        for row in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
        )
    ]
    # Table names come from the catalogue of our own scratch database.
    return {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}  # noqa: S608


def insert_template(
    conn, table: str, rows: int, copied: set[str]
) -> tuple[str, str | None, dict[str, str]]:
    """`INSERT … SELECT` copying `rows` existing rows of the table with fresh keys: the
    primary key renewed (a UUID drawn, an identity left to its default), every other unique
    column made unique again, and a unique foreign key (one-to-one) pointed at the rows its
    table received in the same transaction. Returns (SQL, primary key, {column: table})."""
    columns = conn.execute(
        """SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attidentity <> ''
                  OR coalesce(pg_get_expr(d.adbin, d.adrelid) LIKE 'nextval%%', false)
           FROM pg_attribute a LEFT JOIN pg_attrdef d
                ON d.adrelid = a.attrelid AND d.adnum = a.attnum
           WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped
           ORDER BY a.attnum""",
        (f'"{table}"',),
    ).fetchall()
    unique, together = set(), set()
    for name, columns_in_index in conn.execute(
        """SELECT a.attname, i.indnatts FROM pg_index i
           JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
           WHERE i.indrelid = %s::regclass AND i.indisunique AND NOT i.indisprimary""",
        (f'"{table}"',),
    ):
        (unique if columns_in_index == 1 else together).add(name)
    primary = conn.execute(
        """SELECT a.attname FROM pg_index i
           JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
           WHERE i.indrelid = %s::regclass AND i.indisprimary""",
        (f'"{table}"',),
    ).fetchone()
    foreign = {
        row[0]: row[1]
        for row in conn.execute(
            """SELECT a.attname, c.confrelid::regclass::text FROM pg_constraint c
               JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY(c.conkey)
               WHERE c.conrelid = %s::regclass AND c.contype = 'f'""",
            (f'"{table}"',),
        )
    }
    # A key that must be unique (alone or with others) points at the rows its table
    # received in the same transaction, when that table is copied too.
    if primary:
        unique.add(primary[0])
    linked = {
        name: foreign[name].strip('"')
        for name in (unique | together) & set(foreign)
        if foreign[name].strip('"') in copied
    }
    names, values = [], []
    for name, kind, generated in columns:
        if generated:
            continue
        names.append(f'"{name}"')
        if name in linked:
            array = f"%(link_{name})s::{kind}[]"
            values.append(f"({array})[least(t.rn::int, cardinality({array}))]")
        elif name in (unique | together) and kind == "uuid" and name not in foreign:
            values.append("gen_random_uuid()")
        elif name in (unique | together) and kind.startswith(("character varying", "text")):
            width = int(kind[kind.find("(") + 1 : -1]) if "(" in kind else 32
            values.append(f"left(md5(random()::text || clock_timestamp()::text), {min(width, 32)})")
        elif name in unique and kind in {"integer", "bigint"}:
            values.append(f't."{name}" + (random() * 1000000000)::int')
        else:
            values.append(f't."{name}"')
    # Names come from the catalogue of our own scratch database.
    sql = (
        f'INSERT INTO "{table}" ({", ".join(names)}) SELECT {", ".join(values)} '  # noqa: S608
        f'FROM (SELECT *, row_number() OVER () AS rn FROM "{table}" LIMIT {rows}) t'
    )
    key = primary[0] if primary else None
    if key:
        sql += f' RETURNING "{key}"'
    return sql, key, linked


def reference(database_url: str, per_bundle: dict[str, int], bundles: int, clients: int):
    """Bundles per second when the same rows are inserted with plain psycopg, one
    transaction per bundle, from `clients` connections."""
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as conn:
        copied = {t for t, n in per_bundle.items() if n > 0}
        templates = {t: insert_template(conn, t, per_bundle[t], copied) for t in copied}
    # Tables a one-to-one key points to are filled first, in the same transaction.
    order, pending = [], dict(templates)
    while pending:
        ready = [
            t
            for t, (_sql, _key, linked) in pending.items()
            if all(target in order or target == t for target in linked.values())
        ]
        for table in sorted(ready or pending):
            order.append(table)
            pending.pop(table)
    done = []
    lock = threading.Lock()
    counter = iter(range(bundles))

    def worker() -> None:
        with psycopg.connect(database_url) as conn:
            while True:
                with lock:
                    number = next(counter, None)
                if number is None:
                    return
                with conn.transaction():
                    made: dict[str, list] = {}
                    for table in order:
                        sql, key, linked = templates[table]
                        params = {
                            f"link_{col}": made.get(target, []) for col, target in linked.items()
                        }
                        cursor = conn.execute(sql, params or None)
                        if key:
                            made[table] = [row[0] for row in cursor.fetchall()]
                with lock:
                    done.append(number)

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return len(done) / (time.perf_counter() - began)


def legs_started(database_url: str, last_leg: int) -> tuple[int, int]:
    """(legs started, legs) of the bundles accepted over HTTP."""
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as conn:
        return conn.execute(
            "SELECT count(application_id), count(*) FROM bundles_bundleleg WHERE id <= %s",
            (last_leg,),
        ).fetchone()


def start_legs(database_url: str, workers: int, last_leg: int, seconds: float = 900) -> dict:
    """Start `workers` task workers and time them until every leg is started."""
    logs = [
        Path(tempfile.mkstemp(prefix="joinedup-bench-worker-", suffix=".log")[1])
        for _ in range(workers)
    ]
    began = time.perf_counter()
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "joinedup.cli", "worker"],
            stdout=subprocess.DEVNULL,
            stderr=log.open("wb"),
            env={**os.environ, "JOINEDUP_DEBUG": "false"},
        )
        for log in logs
    ]
    cpu = [0.0] * workers
    first = None
    try:
        deadline = began + seconds
        while time.perf_counter() < deadline:
            started, total = legs_started(database_url, last_leg)
            if started and first is None:
                first = time.perf_counter()
            if started == total:
                break
            for n, process in enumerate(processes):
                if process.poll() is None:
                    cpu[n] = process_cpu_seconds(process.pid)
            time.sleep(0.05)
        ended = time.perf_counter()
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    started, total = legs_started(database_url, last_leg)
    return {
        "started": started,
        "total": total,
        "wall": ended - began,
        "from_first": ended - (first or began),
        "cpu": sum(cpu),
        "errors": "\n".join(server_errors(log, 20) for log in logs) if started < total else "",
    }


def run(args, database_url: str) -> int:
    import psycopg

    secrets = setup(args.clients)
    from django.db import connections

    connections.close_all()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server, server_log = start_server(port, JOINEDUP_BENCH_FLOOR="true")
    try:
        _warm, warm_errors, _wall = asyncio.run(load(port, secrets, 0, args.warmup, 60))
        if warm_errors:
            print(f"warm-up failed: {warm_errors[:2]}", file=sys.stderr)
            print(f"the server said:\n{server_errors(server_log)}", file=sys.stderr)
            return 1
        with psycopg.connect(database_url, autocommit=True) as conn:
            before = table_counts(conn)
        server_cpu = process_cpu_seconds(server.pid)
        latencies, errors, wall = asyncio.run(
            load(port, secrets, args.warmup, args.bundles, args.seconds)
        )
        server_cpu = process_cpu_seconds(server.pid) - server_cpu
        with psycopg.connect(database_url, autocommit=True) as conn:
            after = table_counts(conn)
            last_leg = conn.execute("SELECT max(id) FROM bundles_bundleleg").fetchone()[0]
            waiting = [
                row[0]
                for row in conn.execute(
                    "SELECT id FROM sharing_outboxevent WHERE status = 'pending'"
                )
            ]
        # The floor: one request per client first (each person's checks, done once and
        # kept), then the same number of requests as the run above, through the same server.
        _warm, floor_errors, _wall = asyncio.run(
            load(port, secrets, 10**6, len(secrets), 60, "floor")
        )
        floor_cpu = process_cpu_seconds(server.pid)
        floor_latencies, more, floor_wall = asyncio.run(
            load(port, secrets, 2 * 10**6, args.bundles, args.seconds, "floor")
        )
        floor_cpu = process_cpu_seconds(server.pid) - floor_cpu
        floor_errors += more
    finally:
        server.terminate()
        server.wait(timeout=20)
    if not latencies:
        print(f"no bundle was accepted ({len(errors)} errors: {errors[:2]})", file=sys.stderr)
        print(f"the server said:\n{server_errors(server_log)}", file=sys.stderr)
        return 1
    submitted = len(latencies)
    rate = submitted / wall
    added = {t: after[t] - before.get(t, 0) for t in after if after[t] > before.get(t, 0)}
    per_bundle = {t: max(1, round(n / submitted)) for t, n in added.items()}
    # The reference copies the legs as accepted (no application yet): they start only after.
    limit = reference(database_url, per_bundle, submitted, args.clients)
    with psycopg.connect(database_url, autocommit=True) as conn:
        # The reference's copies and the floor's are not bundles: their events are set
        # aside, their legs not counted.
        conn.execute(
            "UPDATE sharing_outboxevent SET status = 'delivered' "
            "WHERE status = 'pending' AND NOT (id = ANY(%s))",
            (waiting,),
        )
    legs = start_legs(database_url, args.workers, last_leg)
    rows = sum(per_bundle.values())
    print(
        f"newborn bundles accepted over HTTP, {args.clients} clients: {rate:8.1f} bundles/s "
        f"({submitted} in {wall:.1f} s, {len(errors)} errors)"
    )
    print(
        f"  latency: p95 {percentile(latencies, 0.95) * 1000:.0f} ms, "
        f"median {statistics.median(latencies) * 1000:.0f} ms; "
        f"server CPU {server_cpu / submitted * 1000:.0f} ms per bundle "
        f"({server_cpu / wall:.2f} of {os.cpu_count()} cores busy)"
    )
    print(
        f"the same rows with plain psycopg (limit):          {limit:8.1f} bundles/s "
        f"({rows} rows in {len(per_bundle)} tables per bundle, one transaction each)"
    )
    floor = len(floor_latencies) / floor_wall if floor_latencies else 0.0
    if floor_latencies:
        print(
            f"the floor through the same server (auth + inserts): {floor:8.1f} bundles/s "
            f"(p95 {percentile(floor_latencies, 0.95) * 1000:.0f} ms; server CPU "
            f"{floor_cpu / len(floor_latencies) * 1000:.0f} ms per bundle; "
            f"{len(floor_errors)} errors)"
        )
    print(f"ratio (HTTP / limit):                              {rate / limit:8.3f}")
    if floor:
        print(f"ratio (HTTP / floor):                              {rate / floor:8.3f}")
        print(f"ratio (floor / limit):                             {floor / limit:8.3f}")
    print("rows per bundle: " + ", ".join(f"{t} {n}" for t, n in sorted(per_bundle.items())))
    print(
        f"legs started by {args.workers} task workers:               "
        f"{legs['started'] / legs['wall']:8.1f} legs/s "
        f"({legs['started']} of {legs['total']} legs in {legs['wall']:.1f} s from the workers' "
        f"start; {legs['started'] / legs['from_first']:.1f} legs/s from the first leg started; "
        f"workers' CPU {legs['cpu'] / max(1, legs['started']) * 1000:.0f} ms per leg)"
    )
    if legs["started"] < legs["total"]:
        print(f"not every leg started; the workers said:\n{legs['errors']}", file=sys.stderr)
        return 1
    if errors or floor_errors:
        print(
            f"errors: {(errors + floor_errors)[:3]}\nthe server said:\n{server_errors(server_log)}",
            file=sys.stderr,
        )
    return 0 if not (errors or floor_errors) else 1


if __name__ == "__main__":
    sys.exit(main())
