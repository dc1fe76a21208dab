"""Delivery engine benchmark on PostgreSQL, each figure beside its reference.

Run it with the project's Python: `.venv/bin/python bench/delivery.py` (also `make bench`).
It needs a PostgreSQL server on which the role of DATABASE_URL may create databases
(default postgres://postgres@127.0.0.1:5432/test; with DATABASE_URL unset or not PostgreSQL
that default is used); it creates a scratch database there, migrates it, loads the small test
federation, deploys a three-step process ending with a document issued, and drops the
database at the end, whatever happens. Nothing else is needed: the HTTP part starts
`joinedup serve` itself, with the production settings (DEBUG off), on a free loopback port.

It measures, in one run:

- applications carried from submission to completion per second through the engine, one
  after another in one process (submit: routing, clock, workflow start, outbox; three work
  items completed by staff; the document signed and recorded; every step persisted and
  committed), with the CPU time and the SQL statements each application costs; beside the
  same BPMN process run by SpiffWorkflow alone in memory (no database, no serialisation),
  and the ratio;
- the same with `--workers` processes working at once (default 2, one per core): the rate
  the machine sustains, as several web or task processes would;
- the median and 95th-percentile latency of `POST /api/v1/applications` over HTTP with
  `--clients` concurrent clients (default 16) against `joinedup serve` (gunicorn, its default
  2 workers × 4 threads), each submission with its own idempotency key.

With its defaults it takes one to three minutes on a two-core machine. Without a PostgreSQL
server it says so and exits 1.
"""

import argparse
import json
import multiprocessing
import os
import socket
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
from _serving import percentile, process_cpu_seconds, server_errors, start_server  # noqa: E402 - the benchmarks' shared module

DEFAULT_SERVER = "postgres://postgres@127.0.0.1:5432/test"

#: A caseworker's three steps, then a document issued (the process the engine's cost test
#: bounds, in tests/delivery/files).
PROCESS = (ROOT / "tests" / "delivery" / "files" / "three_steps.bpmn").read_text()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--applications", type=int, default=300)
    parser.add_argument("--memory", type=int, default=2000, help="in-memory instances")
    parser.add_argument(
        "--workers", type=int, default=2, help="engine processes working at once (0: skip)"
    )
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--requests", type=int, default=25, help="submissions per client")
    args = parser.parse_args()
    import psycopg

    server = os.environ.get("DATABASE_URL", DEFAULT_SERVER)
    if not server.startswith("postgres"):
        server = DEFAULT_SERVER
    admin_url = server.replace("postgres://", "postgresql://")
    name = f"bench_delivery_{uuid.uuid4().hex[:10]}"
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
        return run(args)
    finally:
        from django.db import connections

        connections.close_all()
        with psycopg.connect(admin_url, autocommit=True) as db:
            db.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def spiff_alone(count: int) -> float:
    """Instances per second of the same process in SpiffWorkflow alone, in memory."""
    from SpiffWorkflow.bpmn import BpmnWorkflow
    from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
    from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
    from SpiffWorkflow.task import TaskState

    class Engine(PythonScriptEngine):
        def call_service(self, task, **kwargs):
            return "{}"

    parser = SpiffBpmnParser()
    parser.add_bpmn_str(PROCESS.encode(), "bench.bpmn")
    spec, subprocesses = parser.get_spec("three_steps"), parser.get_subprocess_specs("three_steps")
    engine = Engine()
    started = time.perf_counter()
    for _ in range(count):
        workflow = BpmnWorkflow(spec, subprocesses, script_engine=engine)
        workflow.do_engine_steps()
        while not workflow.completed:
            task = workflow.get_tasks(state=TaskState.READY, manual=True)[0]
            task.data["decision"] = "approve"
            task.run()
            workflow.do_engine_steps()
    return count / (time.perf_counter() - started)


def run(args) -> int:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from joinedup.delivery import queues, versions
    from joinedup.delivery.applications import submit_application
    from joinedup.delivery.models import Application, Document
    from joinedup.federation.loader import load_federation
    from joinedup.federation.models import Agency
    from joinedup.identity import acting, assurance, tokens
    from joinedup.identity.acting import ActingContext
    from joinedup.identity.client_registry import AddressInput, register_person
    from joinedup.identity.models import IdentityProofing, StaffMembership, User

    load_federation([ROOT / "tests" / "federation" / "files" / "small"])
    versions.deploy(
        "ca.birth-registration",
        PROCESS,
        {"schema": {"type": "object", "properties": {"note": {"type": "string"}}}},
        documents={"confirmation": {"title": {"en": "Confirmation"}}},
    )
    person = register_person(
        given_names="Bench",
        family_name="Person",
        address=AddressInput(
            street_address="1 Main", locality="Toronto", jurisdiction_code="CA-ON-TOR"
        ),
    )
    user = User.objects.create_user(
        "bench@example.org", "bench@example.org", "x" * 20, person=person
    )
    assurance.record_proofing(person, level=2, method=IdentityProofing.Method.DOCUMENT_CHECK)
    context = acting.for_user(user)
    agency = Agency.objects.get(key="serviceontario")
    clerk = User.objects.create_user("clerk@example.org", "clerk@example.org", "x" * 20)
    membership = StaffMembership.objects.create(user=clerk, agency=agency, role="caseworker")
    staff = ActingContext(
        user_id=clerk.pk,
        second_factor=True,
        needs_second_factor=True,
        membership_id=membership.pk,
        agency_key=agency.key,
        agency_jurisdiction="CA-ON",
        role="caseworker",
    )

    # 1. The engine on PostgreSQL: submit, three steps, document issued, one at a time.
    from django.db import connection, connections
    from django.test.utils import CaptureQueriesContext

    def carry(prefix: str, n: int) -> None:
        application, _ = submit_application(
            context, "ca.birth-registration", {"note": str(n)}, "online", f"{prefix}{n}"
        )
        for _step in range(3):
            # The task waiting on the application, as the product finds it (one statement
            # compiled once), standing for the staff member's client.
            item = queues.waiting_item(application.pk)
            queues.complete(staff, item, "approve")

    carry("warm", 0)  # the first one reads the calendar, the definition and the signing key
    with CaptureQueriesContext(connection) as counted:
        carry("counted", 0)
    statements = len(counted.captured_queries)
    started, cpu = time.perf_counter(), time.process_time()
    for n in range(args.applications):
        carry("seq-", n)
    elapsed = time.perf_counter() - started
    engine_rate = args.applications / elapsed
    engine_cpu = (time.process_time() - cpu) / args.applications
    done = Application.objects.filter(status="approved", idempotency_key__startswith="seq-").count()
    documents = Document.objects.filter(application__idempotency_key__startswith="seq-").count()
    assert done == args.applications and documents == args.applications, (done, documents)

    # 1b. The same with several processes at once (each with its own connection).
    parallel_rate = None
    if args.workers > 0:
        connections.close_all()
        fork = multiprocessing.get_context("fork")
        ready = fork.Barrier(args.workers + 1)
        share = max(1, args.applications // args.workers)

        def worker(number: int) -> None:
            ready.wait()
            for n in range(share):
                carry(f"par{number}-", n)
            connections.close_all()

        processes = [fork.Process(target=worker, args=(i,)) for i in range(args.workers)]
        for process in processes:
            process.start()
        ready.wait()
        started = time.perf_counter()
        for process in processes:
            process.join()
        wall = time.perf_counter() - started
        if any(process.exitcode for process in processes):
            print("an engine worker process failed", file=sys.stderr)
            return 1
        finished = Application.objects.filter(
            status="approved", idempotency_key__startswith="par"
        ).count()
        assert finished == share * args.workers, finished
        parallel_rate = finished / wall

    # 2. SpiffWorkflow alone, in memory, same process.
    memory_rate = spiff_alone(args.memory)

    # 3. HTTP: p95 submit latency with concurrent clients.
    _token, secret = tokens.create_personal_token(user, name="bench", scopes=["read", "write"])
    connections.close_all()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server, server_log = start_server(port)
    try:
        base = f"http://127.0.0.1:{port}"
        latencies: list[float] = []
        errors: list[str] = []
        lock = threading.Lock()

        def client(number: int) -> None:
            for n in range(args.requests):
                body = json.dumps(
                    {"service": "ca.birth-registration", "answers": {"note": f"{number}-{n}"}}
                ).encode()
                request = urllib.request.Request(  # noqa: S310 (loopback)
                    f"{base}/api/v1/applications",
                    data=body,
                    headers={
                        "Authorization": f"Bearer {secret}",
                        "Content-Type": "application/json",
                        "Idempotency-Key": f"http-{number}-{n}",
                    },
                )
                began = time.perf_counter()
                try:
                    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                        response.read()
                except OSError as error:
                    with lock:
                        errors.append(str(error))
                    continue
                with lock:
                    latencies.append(time.perf_counter() - began)

        threads = [threading.Thread(target=client, args=(i,)) for i in range(args.clients)]
        server_cpu = process_cpu_seconds(server.pid)
        began = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - began
        server_cpu = process_cpu_seconds(server.pid) - server_cpu
    finally:
        server.terminate()
        server.wait(timeout=20)

    print(f"engine on PostgreSQL (submit, 3 steps, document): {engine_rate:8.1f} applications/s")
    print(f"  per application: {engine_cpu * 1000:.1f} ms of CPU here, {statements} SQL statements")
    print(f"SpiffWorkflow alone in memory, same process:       {memory_rate:8.1f} instances/s")
    print(f"ratio (engine / SpiffWorkflow in memory):          {engine_rate / memory_rate:8.3f}")
    if parallel_rate is not None:
        print(
            f"engine, {args.workers} processes at once:                "
            f"{parallel_rate:8.1f} applications/s"
        )
    if latencies:
        p95 = percentile(latencies, 0.95) * 1000
        median = statistics.median(latencies) * 1000
        print(
            f"POST /api/v1/applications, {args.clients} clients: p95 {p95:.0f} ms, "
            f"median {median:.0f} ms, {len(latencies) / wall:.1f} submissions/s, "
            f"{len(errors)} errors; server CPU {server_cpu / len(latencies) * 1000:.1f} ms "
            "per submission"
        )
    else:
        print(f"POST /api/v1/applications: no answer ({len(errors)} errors: {errors[:1]})")
    if errors or not latencies:
        print(f"errors: {errors[:3]}", file=sys.stderr)
        print(f"the server said:\n{server_errors(server_log)}", file=sys.stderr)
    return 0 if latencies and not errors else 1


if __name__ == "__main__":
    sys.exit(main())
