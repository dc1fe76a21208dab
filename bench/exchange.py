"""Exchange benchmark: messages between two nodes over HTTP, beside the bare cryptography.

Run it with the project's Python: `.venv/bin/python bench/exchange.py [--messages 300]`.
It sets up two nodes on this machine, each with its own SQLite database in a scratch
directory: the sending node is this process; the receiving node is `joinedup serve`
(gunicorn, production settings, DEBUG off) on a free loopback port. A governance key made
for the run signs the trust list both load. It measures, in one run:

- messages per second and latency (median, p95), one after another: each message sealed
  (signed with Ed25519, encrypted to the receiver with ECDH-ES/X25519 + A256GCM) and queued
  in the sender's outbox, posted, opened, verified, recorded and acknowledged by the
  receiver, and the signed receipt checked and recorded by the sender;
- beside the same messages sealed and opened in memory only (no database, no HTTP): the
  cryptography's own cost, and the ratio;
- beside the same payloads posted unsealed to the same endpoint of the same server (refused
  at once as malformed and logged): HTTP and the server's own floor, and the ratio;
- the p95 latency at a steady 50 messages per second for `--seconds` (default 10), each
  message sent and posted in turn by this process;
- the same steady 50 per second the way a node runs: messages queued by `sending.send` as
  requests would, and posted by one deliverer (`sending.run`, the loop of `exchange-deliver
  --loop`, its posting threads kept from round to round: several conversations at once where
  the database allows, `JOINEDUP_EXCHANGE_DELIVERY_CONCURRENCY`), each timed from its
  queueing on the sender to its recording on the receiver.

`--postgres` puts both nodes on scratch PostgreSQL databases (on the server of DATABASE_URL,
default postgres://postgres@127.0.0.1:5432/test), `--database-prefix`_sender and _receiver,
dropped at the end.

It prints the load average, since other work on the machine moves every figure. With its
defaults it takes about two minutes on a two-core machine (most of it migrating the two
databases).
"""

from __future__ import annotations

import argparse
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
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

SENDER, RECEIVER = "BENCH/GOV/sender/joinedup", "BENCH/GOV/receiver/joinedup"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def body(number: int) -> dict:
    """An evidence message about the size of a real one (about 1 KB of JSON)."""
    return {
        "from_agency": "ca-esdc",
        "to_agency": "on-serviceontario",
        "legal_basis": "statute",
        "evidence": "birth-registration",
        "fields": {
            "given_names": f"Person {number}",
            "family_name": "Tremblay",
            "birth_date": "2026-11-30",
            "birth_place": "Toronto, Ontario",
            "parents": [{"given_names": "Amélie", "family_name": "Tremblay"}] * 2,
        },
        "note": "x" * 600,
    }


class Receiver:
    """The receiving node: its own database and data directory, served by gunicorn."""

    def __init__(self, root: Path, anchors: str):
        self.root, self.port = root, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "PYTHONPATH": str(ROOT / "src"),
            "DATABASE_URL": f"sqlite:///{root / 'receiver.sqlite3'}",
            "JOINEDUP_DATA_DIR": str(root),
            "JOINEDUP_DEBUG": "false",
            "JOINEDUP_EXCHANGE_NODE_ID": RECEIVER,
            "JOINEDUP_EXCHANGE_TRUST_ANCHORS": anchors,
        }
        self.server: subprocess.Popen | None = None

    def command(self, *args: str, background: bool = False):
        argv = [sys.executable, "-m", "joinedup.cli", *args]
        if background:
            return subprocess.Popen(
                argv, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
            )
        result = subprocess.run(argv, env=self.env, capture_output=True, text=True, check=False)
        if result.returncode:
            raise SystemExit(f"receiver: {' '.join(args)} failed:\n{result.stderr[-2000:]}")
        return result.stdout

    def serve(self) -> None:
        log = (self.root / "server.log").open("wb")
        self.server = subprocess.Popen(
            [sys.executable, "-m", "joinedup.cli", "serve", "--bind", f"127.0.0.1:{self.port}"],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                urllib.request.urlopen(self.url + "/ping", timeout=2).read()  # noqa: S310 (loopback)
                return
            except OSError:
                if self.server.poll() is not None:
                    break
                time.sleep(0.3)
        raise SystemExit(
            "the receiving node did not start:\n" + (self.root / "server.log").read_text()
        )

    def stop(self) -> None:
        if self.server is not None:
            self.server.terminate()
            self.server.wait(timeout=30)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=10.0, help="the steady 50/s phase")
    parser.add_argument(
        "--postgres", action="store_true", help="both nodes on scratch PostgreSQL databases"
    )
    parser.add_argument(
        "--database-prefix",
        default="bench_exchange",
        help="with --postgres: the scratch databases are PREFIX_sender and PREFIX_receiver",
    )
    args = parser.parse_args()
    admin = _postgres_admin() if args.postgres else None

    scratch = Path(tempfile.mkdtemp(prefix="joinedup-bench-exchange-"))
    (scratch / "sender").mkdir()
    (scratch / "receiver").mkdir()
    # Only the governance key's public half is needed by the nodes; made before Django loads.
    from joserfc.jwk import OKPKey

    governance = OKPKey.generate_key("Ed25519")
    anchors = json.dumps({"keys": [{**governance.as_dict(private=False), "kid": "bench"}]})
    os.environ.update(
        DJANGO_SETTINGS_MODULE="joinedup.settings",
        DATABASE_URL=_database(
            admin, f"{args.database_prefix}_sender", scratch / "sender" / "sender.sqlite3"
        ),
        JOINEDUP_DATA_DIR=str(scratch / "sender"),
        JOINEDUP_DEBUG="false",
        JOINEDUP_EXCHANGE_NODE_ID=SENDER,
        JOINEDUP_EXCHANGE_TRUST_ANCHORS=anchors,
    )
    receiver = Receiver(scratch / "receiver", anchors)
    receiver.env["DATABASE_URL"] = _database(
        admin, f"{args.database_prefix}_receiver", scratch / "receiver" / "r.sqlite3"
    )
    migrating = receiver.command("migrate", "--verbosity", "0", background=True)

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    if migrating.wait() != 0:
        raise SystemExit("receiver: migrate failed:\n" + migrating.stderr.read().decode()[-2000:])

    try:
        return run(args, receiver, governance)
    finally:
        receiver.stop()
        if admin is not None:
            from django.db import connections

            connections.close_all()
            for role in ("sender", "receiver"):
                name = f"{args.database_prefix}_{role}"
                admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _postgres_admin():
    import psycopg

    server = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")
    try:
        admin = psycopg.connect(
            server.replace("postgres://", "postgresql://", 1), autocommit=True, connect_timeout=3
        )
    except psycopg.OperationalError as error:
        raise SystemExit(f"PostgreSQL does not answer at {server}: {error}") from None
    admin.server_url = server
    return admin


def _database(admin, name: str, sqlite_path: Path) -> str:
    """The URL of a node's scratch database: a fresh PostgreSQL one, or a SQLite file."""
    if admin is None:
        return f"sqlite:///{sqlite_path}"
    admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    admin.execute(f"CREATE DATABASE {name}")
    return admin.server_url.rsplit("/", 1)[0] + f"/{name}"


def _received_at(url: str) -> dict[str, float]:
    """When the receiver recorded each message (message id, hex, to a Unix time)."""
    if url.startswith("sqlite:///"):
        import sqlite3

        with sqlite3.connect(url.removeprefix("sqlite:///")) as connection:
            rows = connection.execute(
                "select message_id, received_at from exchange_incomingmessage"
            ).fetchall()
        from django.utils.dateparse import parse_datetime

        return {
            str(m).replace("-", ""): parse_datetime(str(t)).replace(tzinfo=datetime.UTC).timestamp()
            for m, t in rows
        }
    import psycopg

    with psycopg.connect(url.replace("postgres://", "postgresql://", 1)) as connection:
        rows = connection.execute(
            "select message_id, received_at from exchange_incomingmessage"
        ).fetchall()
    return {m.hex: t.timestamp() for m, t in rows}


def entry(node_id: str, url: str, jwks: dict) -> dict:
    return {"id": node_id, "base_url": url, "jurisdictions": [], "keys": jwks["keys"]}


def run(args, receiver: Receiver, governance) -> int:
    import requests
    from django.utils import timezone
    from joserfc import jwe, jws
    from joserfc.jwk import OKPKey

    from joinedup.exchange import envelope, keys, sending, trustlist
    from joinedup.exchange.models import PeerNode

    now = timezone.now()
    document = {
        "issuer": "BENCH/GOV/governance",
        "sequence": 1,
        "issued_at": now.isoformat(),
        "expires_at": (now + timezone.timedelta(days=1)).isoformat(),
        "nodes": [
            entry(SENDER, "http://127.0.0.1:9", keys.public_jwks()),
            entry(RECEIVER, receiver.url, json.loads(receiver.command("exchange-keys", "show"))),
        ],
    }
    signed = trustlist.sign(document, governance, "bench")
    (receiver.root / "trust-list.json").write_text(json.dumps(signed))
    trustlist.load(signed)
    receiver.command("load-trust-list", str(receiver.root / "trust-list.json"))
    receiver.serve()
    peer = PeerNode.objects.prefetch_related("keys").get(node_id=RECEIVER)
    session = requests.Session()

    def one(number: int) -> float:
        started = time.perf_counter()
        message = sending.send("evidence", peer, body(number), purpose="bench")
        if sending.attempt(message, session) != "delivered":
            raise SystemExit(f"message {number} not delivered: {message.last_error}")
        return time.perf_counter() - started

    for number in range(20):  # warm up both processes
        one(number)

    # 1. Over HTTP, one after another.
    latencies = []
    started = time.perf_counter()
    for number in range(args.messages):
        latencies.append(one(number))
    http_rate = args.messages / (time.perf_counter() - started)

    # 2. The bare cryptography, in memory: the same seal and open, no database, no HTTP.
    sig = OKPKey.generate_key("Ed25519")
    enc = OKPKey.generate_key("X25519")
    enc_public = OKPKey.import_key(enc.as_dict(private=False))
    sig_public = OKPKey.import_key(sig.as_dict(private=False))
    started = time.perf_counter()
    for number in range(args.messages):
        claims = {
            "iss": SENDER,
            "aud": RECEIVER,
            "jti": str(uuid.uuid4()),
            "iat": 0,
            "exp": 0,
            "kind": "evidence",
            "cid": "c",
            "purpose": "bench",
            "body": body(number),
        }
        token = envelope.sign(claims, signer=("k", sig))
        sealed = jwe.encrypt_compact(
            {"alg": envelope.KEY_WRAP_ALG, "enc": envelope.CONTENT_ALG, "kid": "e"},
            token.encode(),
            enc_public,
            algorithms=envelope.JWE_ALGORITHMS,
        )
        opened = jwe.decrypt_compact(sealed, enc, algorithms=envelope.JWE_ALGORITHMS)
        jws.deserialize_compact(opened.plaintext, sig_public, algorithms=[envelope.SIGNATURE_ALG])
    crypto_rate = args.messages / (time.perf_counter() - started)

    # 3. The same payloads posted unsealed to the same endpoint (refused at once, logged).
    plain_latencies = []
    started = time.perf_counter()
    for number in range(args.messages):
        t0 = time.perf_counter()
        answer = session.post(
            receiver.url + sending.PATH,
            data=json.dumps(body(number)).encode(),
            headers={"Content-Type": "application/jose"},
            timeout=10,
        )
        assert answer.status_code == 400, answer.status_code
        plain_latencies.append(time.perf_counter() - t0)
    plain_rate = args.messages / (time.perf_counter() - started)

    # 4. A steady 50 messages per second.
    steady, service, interval = [], [], 1 / 50
    count = int(args.seconds * 50)
    start = time.perf_counter()
    for number in range(count):
        due = start + number * interval
        wait = due - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
        service.append(one(number))
        steady.append(time.perf_counter() - due)  # from when it was due: queueing counts
    achieved = count / (time.perf_counter() - start)

    # 5. A steady 50 messages per second the way a node runs: queued, posted by a deliverer.
    from django.conf import settings
    from django.db import connection

    from joinedup.exchange.models import OutgoingMessage

    stop = threading.Event()

    def deliverer() -> None:
        # The node's own loop (`exchange-deliver --loop`), polling every 5 ms when idle.
        try:
            sending.run(interval=0.005, should_stop=stop.is_set)
        finally:
            connection.close()

    worker = threading.Thread(target=deliverer)
    worker.start()
    queued = []
    start = time.perf_counter()
    for number in range(count):
        wait = start + number * interval - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
        queued.append(
            sending.send("evidence", peer, body(number), purpose="bench", conversation=f"c{number}")
        )
    deadline = time.time() + 120
    ids = [m.pk for m in queued]
    while OutgoingMessage.objects.filter(pk__in=ids, status="pending").exists():
        if time.time() > deadline:
            break
        time.sleep(0.05)
    stop.set()
    worker.join()
    received = _received_at(receiver.env["DATABASE_URL"])
    flow = [
        received[m.message_id.hex] - m.created_at.timestamp()
        for m in queued
        if m.message_id.hex in received
    ]
    concurrency = settings.EXCHANGE_DELIVERY_CONCURRENCY

    ms = 1000
    load = os.getloadavg()
    print(
        f"exchange between two nodes on this machine ({args.messages} messages, "
        f"{'PostgreSQL' if args.postgres else 'SQLite'})"
    )
    print(
        f"  sealed+sent+received+opened over HTTP: {http_rate:7.1f} messages/s, "
        f"median {statistics.median(latencies) * ms:.1f} ms, "
        f"p95 {percentile(latencies, 0.95) * ms:.1f} ms"
    )
    print(
        f"  bare crypto (seal+open in memory)     : {crypto_rate:7.1f} messages/s"
        f"   ratio HTTP/crypto {http_rate / crypto_rate:.3f}"
    )
    print(
        f"  unsealed POST to the same endpoint    : {plain_rate:7.1f} messages/s, "
        f"p95 {percentile(plain_latencies, 0.95) * ms:.1f} ms"
        f"   ratio sealed/unsealed {http_rate / plain_rate:.3f}"
    )
    print(
        f"  steady 50 messages/s for {args.seconds:.0f} s: achieved {achieved:.1f}/s, "
        f"p95 {percentile(steady, 0.95) * ms:.1f} ms from when due (target < 100 ms), "
        f"p95 {percentile(service, 0.95) * ms:.1f} ms per message alone"
    )
    print(
        f"  steady 50 messages/s queued, one deliverer ({concurrency} at once): "
        f"{len(flow)}/{count} received, p95 {percentile(flow, 0.95) * ms:.1f} ms "
        f"from queued to recorded by the receiver (target < 100 ms)"
    )
    print(f"  load average: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} ({os.cpu_count()} cores)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
