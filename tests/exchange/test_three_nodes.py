"""Three nodes — federal, Ontario, Quebec — run as `make demo-federation` runs them (the same
settings, trust list and worker: joinedup.demo.federation), each with its own database, on
loopback ports. A newborn bundle submitted on each provincial node starts its provincial
legs there and sends its federal legs to the federal node — down at first, so they wait and
are delivered once it is up, nothing lost or doubled — which makes their applications and
reports their statuses back to the right home node, where the person's status page shows
them, with the federal agencies' reads in their ledger. The federal node is stopped and
started again as soon as the first leg has reached it: each message still arrives once.
Each node's worker runs the periodic jobs too (ledger checkpoints), and every node's ledger
verifies against its witness at the end.

Kept light: one database is migrated once (the test database, copied) and prepared once
(copied to the three nodes); each node runs two processes (web server, worker)."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.db import connection

from joinedup.demo import federation

from ..bundles.conftest import NEWBORN_LEGS, newborn_answers, newborn_screening

pytestmark = pytest.mark.slow

#: The legs each province's node sends to the federal node (Quebec's own agency, Retraite
#: Québec, pays its child benefit: that leg stays there).
FEDERAL_LEGS = {
    "ontario": {
        "social-insurance-number",
        "child-benefit",
        "provincial-child-benefit",
        "education-savings",
    },
    "quebec": {"social-insurance-number", "child-benefit", "education-savings"},
}
DEADLINE = 90


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclasses.dataclass
class Node:
    spec: federation.NodeSpec
    root: Path
    env: dict[str, str]
    processes: list[subprocess.Popen] = dataclasses.field(default_factory=list)

    @property
    def database(self) -> Path:
        return self.root / "joinedup.sqlite3"

    def start(self) -> None:
        """Its web server and its worker, as the demo runs them."""
        log = (self.root / "processes.log").open("ab")
        for args in (
            ["joinedup.cli", "serve", "--bind", f"127.0.0.1:{self.spec.port}", "--workers", "1"],
            ["joinedup.demo.federation", "work"],
        ):
            self.processes.append(
                subprocess.Popen(
                    [sys.executable, "-m", *args], env=self.env, stdout=log, stderr=log
                )
            )

    def wait_until_up(self) -> None:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                urllib.request.urlopen(self.spec.url + "/ping", timeout=2).read()  # noqa: S310
                return
            except OSError:
                assert all(p.poll() is None for p in self.processes), self.log()
                time.sleep(0.2)
        raise AssertionError(f"the {self.spec.name} node did not start: {self.log()}")

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            process.wait(timeout=30)
        self.processes = []

    def command(self, *args: str) -> subprocess.CompletedProcess:
        """A `joinedup` command run with the node's settings."""
        return subprocess.run(
            [sys.executable, "-m", "joinedup.cli", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def log(self) -> str:
        return (self.root / "processes.log").read_text()[-3000:]

    def query(self, sql: str) -> list[tuple]:
        with sqlite3.connect(self.database, timeout=10) as db:
            return db.execute(sql).fetchall()

    def api(self, path: str, token: str, body: dict | None = None) -> dict:
        request = urllib.request.Request(  # noqa: S310 (loopback)
            self.spec.url + path,
            data=json.dumps(body).encode() if body is not None else None,
            headers={
                "Authorization": f"Bearer {token}",
                "Content-Type": "application/json",
                "Idempotency-Key": f"{self.spec.name}-newborn",
            },
        )
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
            return json.loads(answer.read())


@pytest.fixture
def migrated(migrated_templates, tmp_path) -> Path:
    """A migrated, empty SQLite database, copied from the test worker's template (migrating
    once more would take most of the test's time)."""
    if connection.vendor != "sqlite":
        pytest.skip("the nodes run on SQLite files: this test runs once, in the SQLite run")
    path = tmp_path / "migrated.sqlite3"
    migrated_templates.copy("sqlite", path)
    return path


@pytest.fixture
def nodes(migrated, tmp_path):
    authority = federation.governance_key(tmp_path)
    anchors = federation.anchors(authority)
    specs = [dataclasses.replace(spec, port=free_port()) for spec in federation.NODES]
    keys = {spec.name: federation.node_keys(tmp_path / spec.name) for spec in specs}
    trust_list = tmp_path / "trust-list.json"
    trust_list.write_text(
        json.dumps(
            federation.signed_trust_list(
                [federation.trust_entry(spec, keys[spec.name]) for spec in specs], authority
            )
        )
    )

    def environment(name: str, root: Path, node: federation.NodeSpec) -> dict[str, str]:
        return {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(sys.path),
            **federation.node_environment(
                node,
                root,
                database=f"sqlite:///{root / 'joinedup.sqlite3'}",
                keys=keys[name],
                trust_anchors=anchors,
            ),
        }

    # The base, prepared once: the catalogue, the trust list, the grants, the family.
    base = tmp_path / "base"
    base.mkdir()
    shutil.copy(migrated, base / "joinedup.sqlite3")
    prepared = subprocess.run(
        [sys.executable, "-m", "tests.exchange.three_nodes_prepare", str(trust_list)],
        env=environment("federal", base, specs[0]),
        capture_output=True,
        text=True,
        timeout=300,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert prepared.returncode == 0, prepared.stderr[-3000:]
    tokens = json.loads(prepared.stdout.strip().splitlines()[-1])
    made = {}
    for spec in specs:
        root = tmp_path / spec.name
        shutil.copy(base / "joinedup.sqlite3", root / "joinedup.sqlite3")
        made[spec.name] = Node(spec, root, environment(spec.name, root, spec))
    yield made, tokens
    for node in made.values():
        node.stop()


def legs_of(node: Node, token: str, submission: str) -> dict[str, dict]:
    answer = node.api(f"/api/v1/submissions/{submission}", token)
    return {leg["leg"]: leg for leg in answer["legs"]}


def submit(node: Node, token: str, province: str) -> str:
    body = {
        "screening": newborn_screening(birth_province=province),
        "answers": newborn_answers(),
        "consents": NEWBORN_LEGS,
        "dropped_legs": [],
    }
    return node.api("/api/v1/bundles/newborn/submissions", token, body)["id"]


def test_bundles_from_two_provinces_cross_to_the_federal_node_and_back(nodes):
    made, tokens = nodes
    federal, ontario, quebec = made["federal"], made["ontario"], made["quebec"]
    for node in (ontario, quebec):
        node.start()
    for node in (ontario, quebec):
        node.wait_until_up()
    submissions = {
        "ontario": submit(ontario, tokens["ontario"], "CA-ON"),
        "quebec": submit(quebec, tokens["quebec"], "CA-QC"),
    }

    # The federal node is down: the legs are sent, wait and are tried again.
    deadline = time.time() + DEADLINE
    sql = "select count(*) from exchange_outgoingmessage where kind = 'bundle-leg'"
    tried = sql + " and attempts >= 1 and status = 'pending'"
    expected = len(FEDERAL_LEGS["ontario"])
    while ontario.query(tried)[0][0] < expected and time.time() < deadline:
        time.sleep(0.3)
    assert ontario.query(tried)[0][0] == expected, ontario.log()
    federal.start()
    federal.wait_until_up()

    # Stopped as soon as the first leg has arrived, with the rest on their way, and started
    # again: what was sent before, during and after arrives once.
    received = "select count(*) from bundles_foreignleg"
    while federal.query(received)[0][0] < 1 and time.time() < deadline:
        time.sleep(0.1)
    federal.stop()
    assert federal.query(received)[0][0] >= 1, federal.log()
    federal.start()
    federal.wait_until_up()

    # Statuses come back to each home node: its status page (the API) shows them.
    for name, node in (("ontario", ontario), ("quebec", quebec)):
        while time.time() < deadline:
            legs = legs_of(node, tokens[name], submissions[name])
            if all(legs[key]["reference"] for key in FEDERAL_LEGS[name]):
                break
            time.sleep(0.5)
        assert all(legs[key]["reference"] for key in FEDERAL_LEGS[name]), (legs, federal.log())
        assert {key for key, leg in legs.items() if leg["elsewhere"]} == FEDERAL_LEGS[name]
        for key in FEDERAL_LEGS[name]:
            assert legs[key]["elsewhere"] is True
            assert legs[key]["elsewhere_name"] == "Government of Canada"
            assert legs[key]["status"] not in ("elsewhere", "held_up")
            assert legs[key]["application"] is None
        assert legs["birth-registration"]["elsewhere"] is False
        assert legs["birth-registration"]["application"] is not None

    # On the federal node: one application per leg, from the node it came from, none twice.
    assert federal.query(
        "select n.node_id, count(*) from bundles_foreignleg f "
        "join exchange_peernode n on n.id = f.from_node_id group by n.node_id order by 1"
    ) == [("CA/GOV/ON/joinedup", 4), ("CA/GOV/QC/joinedup", 3)]
    assert federal.query(
        "select count(*) from delivery_application where idempotency_scope = 'exchange-leg'"
    ) == [(7,)]
    references = {
        row[0]
        for row in federal.query(
            "select a.reference from bundles_foreignleg f "
            "join delivery_application a on a.id = f.application_id"
        )
    }
    for name, node in (("ontario", ontario), ("quebec", quebec)):
        shown = legs_of(node, tokens[name], submissions[name])
        assert {shown[key]["reference"] for key in FEDERAL_LEGS[name]} <= references
    # Ontario's legs waited while the federal node was down, then went once each.
    sent = ontario.query(
        "select status, attempts from exchange_outgoingmessage where kind = 'bundle-leg'"
    )
    assert {status for status, _attempts in sent} == {"delivered"}
    assert all(attempts >= 2 for _status, attempts in sent)
    # The federal agencies' reads came back in the signed receipts, into Amara's ledger.
    remote = ontario.query("select actor_agency from sharing_accessevent where channel = 'remote'")
    assert {agency for (agency,) in remote} >= {"esdc", "cra"}

    # Each message once: what the federal node sent home is what the homes recorded.
    statuses = "select message_id from exchange_outgoingmessage where kind = 'bundle-leg-status'"
    while time.time() < deadline and federal.query(statuses + " and status != 'delivered'"):
        time.sleep(0.3)
    delivered = {row[0] for row in federal.query(statuses + " and status = 'delivered'")}
    arrived = [
        row[0]
        for node in (ontario, quebec)
        for row in node.query(
            "select message_id from exchange_incomingmessage where kind = 'bundle-leg-status'"
        )
    ]
    sent = {row[0] for row in federal.query(statuses)}
    assert len(delivered) >= 7 and delivered <= set(arrived) <= sent
    assert len(arrived) == len(set(arrived))
    assert federal.query("select count(*) from exchange_incomingmessage") == [(7,)]

    # The workers ran the periodic jobs: the ledgers are checkpointed and verify, each
    # against its node's witness.
    for node in (federal, ontario, quebec):
        assert node.query("select count(*) from sharing_periodicrun")[0][0] >= 1, node.log()
        verified = node.command("ledger", "verify")
        assert verified.returncode == 0, (node.spec.name, verified.stderr, node.log())
        assert "The ledger is intact" in verified.stdout
