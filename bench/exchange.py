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
- the reference: the same messages (the same claims, as plain JSON) neither signed nor
  encrypted, through the same application work on both sides — the sender records the
  outgoing message, posts it to the same server (`POST /exchange/v1/plain-messages`, routed
  only with JOINEDUP_BENCH_FLOOR, which the receiving node runs with here), which looks up
  the sender, runs the same handler, records the message once with its outcome and emits
  the outbox event, and answers (no signed receipt); the sender marks it delivered — and
  the ratio sealed/reference (aim >= 0.5);
- the p95 latency at a fixed offered rate of 50 messages per second for `--seconds`
  (default 10), sealed and reference, each message timed from when it was due (so that a
  message held up behind a slow one counts its wait), sent and posted in turn by this
  process (aim < 100 ms);
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
import hashlib
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
PLAIN_PATH = "/exchange/v1/plain-messages"


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
            # The reference endpoint (plain, unsigned messages): for this benchmark only.
            "JOINEDUP_BENCH_FLOOR": "true",
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
        deadline = time.time() + 180  # a busy machine starts gunicorn slowly
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

    from joinedup.exchange.models import OutgoingMessage

    errors = {"sealed": 0, "reference": 0}

    def one(number: int) -> float:
        started = time.perf_counter()
        message = sending.send("evidence", peer, body(number), purpose="bench")
        if sending.attempt(message, session) != "delivered":
            errors["sealed"] += 1
        return time.perf_counter() - started

    def reference(number: int) -> float:
        """The same message without signature or encryption, the same work on both sides."""
        started = time.perf_counter()
        message_id, at = uuid.uuid4(), int(time.time())
        text = json.dumps(
            {
                "iss": SENDER,
                "aud": RECEIVER,
                "jti": str(message_id),
                "iat": at,
                "exp": at + 3600,
                "kind": "evidence",
                "cid": str(message_id),
                "purpose": "bench",
                "body": body(number),
            }
        )
        message = OutgoingMessage.objects.create(
            message_id=message_id,
            conversation=str(message_id),
            kind="evidence",
            purpose="bench",
            to_node=peer,
            sealed=text,
            digest=hashlib.sha256(text.encode()).hexdigest(),
            expires_at=timezone.now() + datetime.timedelta(hours=1),
        )
        answer = session.post(
            receiver.url + PLAIN_PATH,
            data=text.encode(),
            headers={"Content-Type": "application/json", "Accept": "application/json"},
            timeout=10,
        )
        if answer.status_code != 201:
            errors["reference"] += 1
        message.attempts, message.status = 1, OutgoingMessage.Status.DELIVERED
        message.delivered_at = timezone.now()
        message.save(update_fields=["attempts", "status", "delivered_at"])
        return time.perf_counter() - started

    for number in range(20):  # warm up both processes and both paths
        one(number)
        reference(number)
    errors.update(sealed=0, reference=0)

    def back_to_back(send) -> tuple[float, list[float]]:
        latencies = []
        started = time.perf_counter()
        for number in range(args.messages):
            latencies.append(send(number))
        return args.messages / (time.perf_counter() - started), latencies

    def offered(send, rate: float = 50.0) -> tuple[float, list[float]]:
        """A fixed offered rate: message n is due at start + n/rate; its latency counts from
        when it was due (a message held up behind a slow one counts its wait)."""
        steady, interval, count = [], 1 / rate, int(args.seconds * rate)
        start = time.perf_counter()
        for number in range(count):
            due = start + number * interval
            wait = due - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            send(number)
            steady.append(time.perf_counter() - due)
        return count / (time.perf_counter() - start), steady

    # 1. Over HTTP, one after another, sealed; and the reference, the same way.
    http_rate, latencies = back_to_back(one)
    plain_rate, plain_latencies = back_to_back(reference)
    back_to_back_errors = dict(errors)

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

    # 4. A fixed offered rate of 50 messages per second, sealed and reference.
    errors.update(sealed=0, reference=0)
    achieved, steady = offered(one)
    plain_achieved, plain_steady = offered(reference)
    steady_errors = dict(errors)
    count = len(steady)
    interval = 1 / 50

    # 5. A steady 50 messages per second the way a node runs: queued, posted by a deliverer.
    from django.conf import settings
    from django.db import connection

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
        f"  back to back, sealed (seal, queue, post, open, verify, record, receipt):"
        f" {http_rate:7.1f} messages/s, median {statistics.median(latencies) * ms:.1f} ms,"
        f" p95 {percentile(latencies, 0.95) * ms:.1f} ms"
    )
    print(
        f"  back to back, reference (same claims as plain JSON, same work, no crypto):"
        f" {plain_rate:7.1f} messages/s, median {statistics.median(plain_latencies) * ms:.1f} ms,"
        f" p95 {percentile(plain_latencies, 0.95) * ms:.1f} ms"
    )
    print(
        f"  ratio sealed/reference {http_rate / plain_rate:.2f} (aim >= 0.5); not acknowledged"
        f" sealed {back_to_back_errors['sealed']}/{args.messages},"
        f" reference {back_to_back_errors['reference']}/{args.messages}"
    )
    print(
        f"  bare crypto (seal+open in memory)     : {crypto_rate:7.1f} messages/s"
        f"   ratio HTTP/crypto {http_rate / crypto_rate:.3f}"
    )
    print(
        f"  offered 50 messages/s for {args.seconds:.0f} s: sealed achieved {achieved:.1f}/s,"
        f" p95 {percentile(steady, 0.95) * ms:.1f} ms from when due (aim < 100 ms);"
        f" reference achieved {plain_achieved:.1f}/s,"
        f" p95 {percentile(plain_steady, 0.95) * ms:.1f} ms; not acknowledged"
        f" sealed {steady_errors['sealed']}/{count}, reference {steady_errors['reference']}/{count}"
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
