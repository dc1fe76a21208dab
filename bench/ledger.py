"""Access-ledger and outbox benchmark on PostgreSQL, each figure beside its reference.

Run it with the project's Python: `.venv/bin/python bench/ledger.py` (also `make bench`).

It creates a fresh database on the PostgreSQL server of DATABASE_URL (default
postgres://postgres@127.0.0.1:5432/test), migrates it, and measures in one run:

- ledger appends per second with 8 concurrent writers, one transaction each (an append
  locks the head of a free chain, hashes, inserts and moves the head), beside the limit:
  plain inserts of the same rows by the same writers into an unchained copy of the table;
  the same appends with witnessing on (a signer signing the moved heads every
  `--sign-every` seconds and publishing each to a file witness, and the appends asking for
  checkpoints as they do in the platform), beside them with witnessing off, alternately
  (`--rounds`, 3 each); the cost of a signing; the same appends on a single chain (the
  former design); then verifies the chains against the witness;
- the outbox, with dispatchers running as separate processes (`dispatch.run_dispatcher`,
  what `joinedup dispatch-outbox --loop` runs) and one internal subscriber:
  the producer's rate (one event per transaction, nothing dispatching: the limit);
  the dispatchers' capacity (the time to drain that backlog);
  the delay from an event's commit to its delivery at a fixed rate below both (the
  dispatchers keep up: the delay is the wake-up and the work, not a queue);
  and a run with the producer at full speed while the dispatchers work, for comparison
  with the figures measured before the dispatcher was batched.

The database is dropped at the end. Without a PostgreSQL server it says so and exits 1.
"""

import argparse
import os
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
EVENT_TYPE = "org.joinedup.bench.item.created"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--rows", type=int, default=400, help="appends per writer")
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--dispatchers", type=int, default=2)
    parser.add_argument(
        "--rate", type=float, help="events/s for the delay (default: half the lower limit)"
    )
    parser.add_argument(
        "--sign-every",
        type=float,
        default=1.0,
        help="seconds between signings with witnessing on (default 1: five times the "
        "platform's rate, so that each round of a few seconds signs several times)",
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="alternate rounds of witnessing off and on"
    )
    parser.add_argument("--ledger-only", action="store_true", help="skip the outbox")
    parser.add_argument("--dispatcher", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--signer", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.dispatcher:
        return dispatcher_process()
    if args.signer:
        return signer_process(args.signer)

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
        JOINEDUP_LEDGER_WITNESSES=f"file:{data_dir}/witness",
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


def dispatcher_process() -> int:
    """A dispatcher in its own process: ready when set up, dispatching after "go" on its
    standard input, stopping when that input closes."""
    import django

    django.setup()
    from joinedup.sharing import dispatch, subscribers

    @subscribers.subscriber("org.joinedup.bench.*", name="bench.recorder")
    def record(event) -> None:
        """Delivery is stamped on the delivery record (its `delivered_at`)."""

    stop = threading.Event()
    print("ready", flush=True)
    if sys.stdin.readline().strip() != "go":
        return 0

    def watch() -> None:
        sys.stdin.read()
        stop.set()

    threading.Thread(target=watch, daemon=True).start()
    dispatch.run_dispatcher(poll_seconds=1.0, stop=stop)
    return 0


def signer_process(every: float) -> int:
    """The signing as the task worker does it, in its own process: every `every` seconds,
    sign the moved heads and publish them to the witness, until standard input closes;
    then print each signing's seconds and heads signed."""
    import django

    django.setup()
    from joinedup.sharing import ledger

    stop = threading.Event()

    def watch() -> None:
        sys.stdin.read()
        stop.set()

    threading.Thread(target=watch, daemon=True).start()
    print("ready", flush=True)
    signings = []
    while not stop.wait(every):
        started = time.perf_counter()
        signed = ledger.checkpoint()
        signings.append((time.perf_counter() - started, len(signed)))
    for seconds, heads in signings:
        print(f"{seconds} {heads}")
    return 0


def run(args) -> int:
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    print(f"PostgreSQL {connection.pg_version // 10000}, {os.cpu_count()} cores")
    bench_ledger(args, settings)
    if not args.ledger_only:
        bench_outbox(args)
    return 0


def concurrently(writers: int, work) -> float:
    """Run `work(n)` in `writers` threads started together; the seconds they took."""
    from django.db import connections

    barrier = threading.Barrier(writers + 1)
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            barrier.wait()
            work(n)
        except BaseException as error:
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(writers)]
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


def bench_ledger(args, settings) -> None:
    import json

    from django.db import connection, transaction
    from django.utils import timezone

    from joinedup.sharing import ledger

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
    total = args.writers * args.rows

    # The limit: the same rows into an unchained copy of the table, same writers.
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE bench_plain (LIKE sharing_accessevent INCLUDING DEFAULTS "
            "INCLUDING IDENTITY)"
        )
    columns = ["chain", "seq", "occurred_at", "prev_hash", "hash", *row]
    placeholders = ", ".join(["%s"] * len(columns))
    # Column names are our own constants, not input.
    insert = f"INSERT INTO bench_plain ({', '.join(columns)}) VALUES ({placeholders})"  # noqa: S608

    def plain(n: int) -> None:
        for i in range(args.rows):
            values = [1, n * args.rows + i, timezone.now(), "0" * 64, "0" * 64]
            values += [json.dumps(v) if isinstance(v, list) else v for v in row.values()]
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(insert, values)

    def chained(n: int) -> None:
        for _ in range(args.rows):
            ledger.append(**row)

    chains = settings.LEDGER_CHAINS
    sign_every = args.sign_every
    signings: list[tuple[float, int]] = []  # (seconds, heads signed)

    def witnessing(on: bool):
        """Appends with witnessing on (a signer process every `sign_every` seconds, as the
        task worker, and appends asking for checkpoints) or off (neither: the ledger as it
        was before witnesses)."""
        hooks = list(ledger.after_append)

        def run() -> float:
            signer = None
            if on:
                signer = subprocess.Popen(
                    [sys.executable, __file__, "--signer", str(sign_every)],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    text=True,
                    env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
                )
                assert signer.stdout.readline().strip() == "ready"
            else:
                ledger.after_append.clear()
            try:
                return concurrently(args.writers, chained)
            finally:
                ledger.after_append[:] = hooks
                if signer:
                    out, _ = signer.communicate(timeout=120)
                    for line in out.split("\n"):
                        if line.strip():
                            seconds, heads = line.split()
                            signings.append((float(seconds), int(heads)))

        return run

    # Warm up both paths, then measure the limit first and the ledger second.
    plain(-1)
    ledger.append(**row)
    ledger.checkpoint()
    plain_seconds = concurrently(args.writers, plain)
    off_seconds, on_seconds = [], []
    for n in range(args.rounds):
        # Off first in even rounds, on first in odd ones: neither gains from going first.
        for on in (False, True) if n % 2 == 0 else (True, False):
            (on_seconds if on else off_seconds).append(witnessing(on=on)())
    settings.LEDGER_CHAINS = 1
    single_seconds = concurrently(args.writers, chained)
    settings.LEDGER_CHAINS = chains

    # The signing alone: an Ed25519 signature of a tree head, and a whole checkpoint
    # (read the heads, sign, insert, publish to the file witness with fsync) of one head.
    from joinedup.sharing import witness

    key = ledger.signing_key()
    head = witness.TreeHead(chain=1, tree_size=10**6, root_hash="ab" * 32, timestamp=0)
    started = time.perf_counter()
    for _ in range(1000):
        key.sign(head.tbs())
    sign_ms = (time.perf_counter() - started) / 1000 * 1000
    one_head = []
    for _ in range(20):
        ledger.append(**row)
        started = time.perf_counter()
        ledger.checkpoint()
        one_head.append((time.perf_counter() - started) * 1000)

    ledger.checkpoint()
    places = witness.configured()
    started = time.perf_counter()
    verification = ledger.verify(witnesses=places)
    verify_seconds = time.perf_counter() - started
    assert verification.ok, verification.problems
    assert verification.checked == (1 + 2 * args.rounds) * total + 1 + 20
    plain_rate = total / plain_seconds
    print(f"\nLedger, {args.writers} concurrent writers, {total} rows each way:")
    print(f"  plain inserts (the limit)        {plain_rate:8.0f} rows/s")
    off_rate = args.rounds * total / sum(off_seconds)
    on_rate = args.rounds * total / sum(on_seconds)
    for label, rate in (
        (f"ledger appends, {chains} chains, witnessing off (before)", off_rate),
        (f"ledger appends, {chains} chains, witnessing on", on_rate),
        ("ledger appends, 1 chain (the first design)", total / single_seconds),
    ):
        print(f"  {label:52s} {rate:8.0f} rows/s   ratio to plain {rate / plain_rate:.2f}")
    rounds = ", ".join(
        f"{total / off:.0f} / {total / on:.0f}"
        for off, on in zip(off_seconds, on_seconds, strict=True)
    )
    print(f"  witnessing on / off: {on_rate / off_rate:.2f} (rounds, off / on rows/s: {rounds})")
    signed_heads = sum(n for _, n in signings)
    busy = sum(seconds for seconds, _ in signings)
    print(
        f"  signings while writing: {len(signings)} every {sign_every:g} s, {signed_heads} "
        f"heads signed and witnessed, {busy * 1000 / max(1, signed_heads):.1f} ms per head"
    )
    print(
        f"  signing cost: Ed25519 signature of a tree head {sign_ms:.3f} ms; a checkpoint "
        f"of one head (read, sign, insert, witness file + fsync) median "
        f"{statistics.median(one_head):.1f} ms, p90 {percentile(one_head, 0.9):.1f} ms"
    )
    print(
        f"  verified against the witness: {verification.checked} rows in "
        f"{verification.chains} chains, {verification.checkpoints} checkpoints intact "
        f"({verification.checked / verify_seconds:.0f} rows/s)"
    )


def bench_outbox(args) -> None:
    from django.db import transaction

    from joinedup.sharing import outbox
    from joinedup.sharing.models import Delivery, OutboxEvent

    committed: dict[str, float] = {}

    def produce(count: int, rate: float | None = None) -> float:
        """Emit `count` events, one per transaction, at `rate` per second or flat out;
        returns the seconds it took. Commit times are noted as the commit returns."""
        started = time.perf_counter()
        for n in range(count):
            if rate:
                ahead = started + n / rate - time.perf_counter()
                if ahead > 0:
                    time.sleep(ahead)
            holder: list = []
            with transaction.atomic():
                # Registered before emit's own callback (the wake-up), so it runs first.
                transaction.on_commit(lambda h=holder: committed.__setitem__(h[0], time.time()))
                holder.append(str(outbox.emit(EVENT_TYPE, data={"n": n}).pk))
        return time.perf_counter() - started

    def delivered_count() -> int:
        return OutboxEvent.objects.filter(status=OutboxEvent.Status.DELIVERED).count()

    def wait_delivered(count: int, limit: float = 300) -> float:
        started = time.perf_counter()
        while delivered_count() < count:
            if time.perf_counter() - started > limit:
                raise RuntimeError("the dispatchers did not deliver every event in time")
            time.sleep(0.01)
        return time.perf_counter() - started

    def delays(ids: list[str]) -> list[float]:
        at = dict(Delivery.objects.filter(event_id__in=ids).values_list("event_id", "delivered_at"))
        assert len(at) == len(ids), "every event is delivered"
        return [(at[uuid.UUID(i)].timestamp() - committed[i]) * 1000 for i in ids]

    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    dispatchers = [
        subprocess.Popen(
            [sys.executable, __file__, "--dispatcher"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(args.dispatchers)
    ]
    try:
        for process in dispatchers:
            assert process.stdout.readline().strip() == "ready"
        n = args.events

        # 1. The producer alone: the limit. What it emits is the dispatchers' backlog.
        produced = n / produce(n)
        # 2. The dispatchers' capacity: draining that backlog.
        for process in dispatchers:
            process.stdin.write("go\n")
            process.stdin.flush()
        capacity = n / wait_delivered(n)
        # 3. Commit to delivery at a fixed rate both keep up with.
        rate = args.rate or 0.5 * min(produced, capacity)
        before = set(committed)
        produce(n, rate)
        wait_delivered(2 * n)
        steady = delays([i for i in committed if i not in before])
        # 4. Flat out, producing while dispatching (the setting of the earlier figures).
        before = set(committed)
        started = time.perf_counter()
        produce_seconds = produce(n)
        wait_delivered(3 * n)
        elapsed = time.perf_counter() - started
        full = delays([i for i in committed if i not in before])
    finally:
        for process in dispatchers:
            if process.stdin and not process.stdin.closed:
                process.stdin.close()
        for process in dispatchers:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    print(
        f"\nOutbox, {n} events per step, {args.dispatchers} dispatcher processes, "
        "1 internal subscriber:"
    )
    print(f"  produced, nothing dispatching (the limit)   {produced:8.0f} events/s")
    print(
        f"  dispatched, draining that backlog           {capacity:8.0f} events/s   "
        f"ratio {capacity / produced:.2f}"
    )
    print(
        f"  commit to delivery at {rate:.0f} events/s           "
        f"p50 {statistics.median(steady):.1f} ms, p99 {percentile(steady, 0.99):.1f} ms"
    )
    print(
        f"  flat out: produced {n / produce_seconds:.0f} events/s, dispatched "
        f"{n / elapsed:.0f} events/s, commit to delivery "
        f"p50 {statistics.median(full):.1f} ms, p99 {percentile(full, 0.99):.1f} ms"
    )


if __name__ == "__main__":
    sys.exit(main())
