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
- the p95 latency at a steady 50 messages per second for `--seconds` (default 10).

It prints the load average, since other work on the machine moves every figure. With its
defaults it takes about two minutes on a two-core machine (most of it migrating the two
databases).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
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
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="joinedup-bench-exchange-"))
    (scratch / "sender").mkdir()
    (scratch / "receiver").mkdir()
    # Only the governance key's public half is needed by the nodes; made before Django loads.
    from joserfc.jwk import OKPKey

    governance = OKPKey.generate_key("Ed25519")
    anchors = json.dumps({"keys": [{**governance.as_dict(private=False), "kid": "bench"}]})
    os.environ.update(
        DJANGO_SETTINGS_MODULE="joinedup.settings",
        DATABASE_URL=f"sqlite:///{scratch / 'sender' / 'sender.sqlite3'}",
        JOINEDUP_DATA_DIR=str(scratch / "sender"),
        JOINEDUP_DEBUG="false",
        JOINEDUP_EXCHANGE_NODE_ID=SENDER,
        JOINEDUP_EXCHANGE_TRUST_ANCHORS=anchors,
    )
    receiver = Receiver(scratch / "receiver", anchors)
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

    ms = 1000
    load = os.getloadavg()
    print(f"exchange between two nodes on this machine ({args.messages} messages, SQLite)")
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
    print(f"  load average: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} ({os.cpu_count()} cores)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
