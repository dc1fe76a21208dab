"""Access-ledger and outbox benchmark on PostgreSQL, each figure beside its reference.

Run it with the project's Python: `.venv/bin/python bench/ledger.py` (also `make bench`).

It creates a fresh database on the PostgreSQL server of DATABASE_URL (default
postgres://postgres@127.0.0.1:5432/test), migrates it, and measures in one run:

- ledger appends per second with 8 concurrent writers (each append locks the chain's head
  row, hashes, inserts and moves the head, in its own transaction), then verifies the chain;
- the limit: plain inserts of the same rows, by the same 8 writers, one transaction per row,
  into an unchained copy of the table (no head row, no unique position); and the ratio;
- outbox events dispatched per second and the 99th-percentile delay from the commit of the
  event to its delivery to an internal subscriber, with one producer committing events one
  per transaction while two dispatchers poll every 10 ms.

The database is dropped at the end. Without a PostgreSQL server it says so and exits 1.
"""

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

DEFAULT_SERVER = "postgres://postgres@127.0.0.1:5432/test"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--rows", type=int, default=400, help="appends per writer")
    parser.add_argument("--events", type=int, default=2000)
    args = parser.parse_args()

    import psycopg

    server = os.environ.get("DATABASE_URL", DEFAULT_SERVER)
    if not server.startswith("postgres"):
        server = DEFAULT_SERVER
    admin_url = server.replace("postgres://", "postgresql://")
    name = f"bench_ledger_{uuid.uuid4().hex[:10]}"
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
    try:
        return run(args)
    finally:
        from django.db import connections

        connections.close_all()
        with psycopg.connect(admin_url, autocommit=True) as db:
            db.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run(args) -> int:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, connections, transaction

    from joinedup.sharing import dispatch, ledger, outbox, subscribers

    call_command("migrate", verbosity=0)
    print(f"PostgreSQL {connection.pg_version // 10000}, {os.cpu_count()} cores")

    row = {
        "subject_id": 1,
        "actor_user_id": 2,
        "actor_agency": "esdc",
        "actor_role": "caseworker",
        "holder_agency": "serviceontario",
        "action": "read",
        "categories": ["birth", "identity"],
        "fields": ["birth_date", "family_name", "given_names"],
        "purpose": "sin-issuance",
        "legal_basis": "statute",
        "agreement_key": "sin-at-birth",
        "outcome": "disclosed",
        "channel": "online",
        "consent_id": "",
        "reason": "",
    }

    def concurrently(work) -> float:
        barrier = threading.Barrier(args.writers + 1)
        errors: list[BaseException] = []

        def writer(n: int) -> None:
            try:
                barrier.wait()
                work(n)
            except BaseException as error:
                errors.append(error)
            finally:
                connections.close_all()

        threads = [threading.Thread(target=writer, args=(n,)) for n in range(args.writers)]
        for thread in threads:
            thread.start()
        barrier.wait()
        started = time.perf_counter()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        if errors:
            raise errors[0]
        return elapsed

    total = args.writers * args.rows

    # The limit: the same rows into an unchained copy of the table, same writers.
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE bench_plain (LIKE sharing_accessevent INCLUDING DEFAULTS "
            "INCLUDING IDENTITY)"
        )
    columns = ["seq", "occurred_at", "prev_hash", "hash", *row]
    placeholders = ", ".join(["%s"] * len(columns))
    # Column names are our own constants, not input.
    insert = f"INSERT INTO bench_plain ({', '.join(columns)}) VALUES ({placeholders})"  # noqa: S608

    def plain(n: int) -> None:
        import json

        from django.utils import timezone

        for i in range(args.rows):
            values = [n * args.rows + i, timezone.now(), "0" * 64, "0" * 64]
            values += [json.dumps(v) if isinstance(v, list) else v for v in row.values()]
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(insert, values)

    def chained(n: int) -> None:
        for _ in range(args.rows):
            ledger.append(**row)

    # Warm up both paths, then measure the limit first and the ledger second.
    plain(-1)
    ledger.append(**row)
    plain_seconds = concurrently(plain)
    ledger_seconds = concurrently(chained)
    verification = ledger.verify()
    assert verification.ok, verification.problems
    assert verification.checked == total + 1
    plain_rate = total / plain_seconds
    ledger_rate = total / ledger_seconds
    print(f"\nLedger, {args.writers} concurrent writers, {total} rows each way:")
    print(f"  plain inserts (the limit)  {plain_rate:10.0f} rows/s")
    print(f"  ledger appends             {ledger_rate:10.0f} rows/s")
    print(f"  ratio                      {ledger_rate / plain_rate:10.2f}")
    print(f"  chain verified: {verification.checked} rows intact")

    # Outbox: commit-to-delivery delay with a producer and two polling dispatchers.
    committed: dict[str, float] = {}
    delivered: dict[str, float] = {}

    @subscribers.subscriber("org.joinedup.bench.*", name="bench.recorder")
    def record(event) -> None:
        delivered[event.id] = time.perf_counter()

    done = threading.Event()

    def dispatcher() -> None:
        worker = dispatch.new_worker_id()
        try:
            while not (done.is_set() and len(delivered) >= args.events):
                if not dispatch.dispatch_pending(worker_id=worker, limit=50).events:
                    time.sleep(0.01)
        finally:
            connections.close_all()

    def producer() -> None:
        try:
            for n in range(args.events):
                with transaction.atomic():
                    event = outbox.emit("org.joinedup.bench.item.created", data={"n": n})
                committed[str(event.pk)] = time.perf_counter()
        finally:
            done.set()
            connections.close_all()

    threads = [threading.Thread(target=dispatcher) for _ in range(2)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    producing = threading.Thread(target=producer)
    producing.start()
    producing.join()
    for thread in threads:
        thread.join(timeout=300)
    elapsed = max(delivered.values()) - started
    delays = [(delivered[k] - committed[k]) * 1000 for k in committed if k in delivered]
    assert len(delays) == args.events, "every event is delivered"
    print(f"\nOutbox, {args.events} events, 1 producer, 2 dispatchers polling every 10 ms:")
    produced = args.events / (max(committed.values()) - started)
    print(f"  produced (the limit)       {produced:10.0f} events/s")
    print(f"  dispatched                 {args.events / elapsed:10.0f} events/s")
    print(
        f"  commit to delivery         p50 {statistics.median(delays):.1f} ms, "
        f"p99 {percentile(delays, 0.99):.1f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
