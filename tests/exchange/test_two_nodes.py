"""Two nodes, two processes each, two databases: a message sealed on one is delivered over
HTTP to the other's web server (gunicorn, DEBUG off), after that server was down, and the
receipt comes back; then the other answers. Everything through the commands an operator
runs: exchange-keys, load-trust-list, exchange-send, exchange-deliver, serve (each database
starts as `joinedup migrate` leaves it, copied from a template migrated once)."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from .conftest import Governance

pytestmark = pytest.mark.slow

ONTARIO = "CA/GOV/ON/joinedup"
FEDERAL = "CA/GOV/CA/joinedup"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Node:
    def __init__(self, root: Path, node_id: str, anchors: str):
        self.root, self.node_id, self.port = root, node_id, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.database = root / "node.sqlite3"
        root.mkdir()
        self.env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(sys.path),
            "DJANGO_SETTINGS_MODULE": "joinedup.settings",
            "DATABASE_URL": f"sqlite:///{self.database}",
            "JOINEDUP_DATA_DIR": str(root),
            "JOINEDUP_DEBUG": "false",
            "JOINEDUP_EXCHANGE_NODE_ID": node_id,
            "JOINEDUP_EXCHANGE_TRUST_ANCHORS": anchors,
            "JOINEDUP_EXCHANGE_RETRY_BASE_SECONDS": "1",
        }
        self.server: subprocess.Popen | None = None

    def run(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "joinedup.cli", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        return result.stdout

    def start(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-m", "joinedup.cli", *args],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=(self.root / "server.log").open("wb"),
        )

    def serve(self) -> None:
        self.server = self.start("serve", "--bind", f"127.0.0.1:{self.port}", "--workers", "1")
        deadline = time.time() + 180  # a busy machine starts gunicorn slowly
        while time.time() < deadline:
            try:
                urllib.request.urlopen(self.url + "/ping", timeout=2).read()  # noqa: S310 (loopback)
                return
            except OSError:
                assert self.server.poll() is None, (self.root / "server.log").read_text()
                time.sleep(0.3)
        raise AssertionError("the server did not start")

    def stop(self) -> None:
        if self.server is not None:
            self.server.terminate()
            self.server.wait(timeout=30)

    def entry(self, jurisdictions: list[str]) -> dict:
        return {
            "id": self.node_id,
            "names": {"en": self.node_id, "fr": self.node_id},
            "base_url": self.url,
            "jurisdictions": jurisdictions,
            "keys": json.loads(self.run("exchange-keys", "show"))["keys"],
        }

    def query(self, sql: str) -> list[tuple]:
        with sqlite3.connect(self.database) as connection:
            return connection.execute(sql).fetchall()


@pytest.fixture
def nodes(tmp_path, migrated_templates):
    governance = Governance()
    ontario = Node(tmp_path / "ontario", ONTARIO, governance.jwks())
    federal = Node(tmp_path / "federal", FEDERAL, governance.jwks())
    for node in (ontario, federal):  # what `joinedup migrate` leaves, copied
        migrated_templates.copy("sqlite", node.database)
    listed = governance.signed([ontario.entry(["CA-ON"]), federal.entry(["CA"])])
    trust_list = tmp_path / "trust-list.json"
    trust_list.write_text(json.dumps(listed))
    for node in (ontario, federal):
        assert "2 nodes, 4 keys" in node.run("load-trust-list", str(trust_list))
    yield ontario, federal
    for node in (ontario, federal):
        node.stop()


def test_two_nodes_exchange_a_message_end_to_end(nodes, tmp_path):
    ontario, federal = nodes
    body = tmp_path / "evidence.json"
    body.write_text(json.dumps({"body": {"note": "birth registered", "event": "newborn"}}))
    message_id = ontario.run(
        "exchange-send", FEDERAL, "evidence", str(body), "--purpose", "newborn-bundle"
    ).strip()

    # the federal node is down: the message waits, nothing is lost
    assert "0 delivered, 1 to retry" in ontario.run("exchange-deliver")
    federal.serve()
    time.sleep(1.2)  # the first backoff (JOINEDUP_EXCHANGE_RETRY_BASE_SECONDS=1)
    assert "1 delivered" in ontario.run("exchange-deliver")

    sent = ontario.query("select status, attempts, digest, receipt from exchange_outgoingmessage")
    assert [(status, attempts) for status, attempts, *_ in sent] == [("delivered", 2)]
    received = federal.query("select message_id, digest, kind from exchange_incomingmessage")
    assert len(received) == 1
    assert received[0][0].replace("-", "") == message_id.replace("-", "")
    assert received[0][1] == sent[0][2] and received[0][2] == "evidence"
    # the log keeps digests and metadata: the body is nowhere in clear on either side
    for node in (ontario, federal):
        for stored in node.root.glob("node.sqlite3*"):  # the database and its journal
            assert b"birth registered" not in stored.read_bytes()

    # and back: the federal node answers on the same conversation
    ontario.serve()
    answer = tmp_path / "answer.json"
    answer.write_text(json.dumps({"body": {"note": "SIN issued"}}))
    federal.run(
        "exchange-send",
        ONTARIO,
        "evidence",
        str(answer),
        "--purpose",
        "newborn-bundle",
        "--conversation",
        message_id,
    )
    assert "1 delivered" in federal.run("exchange-deliver")
    assert ontario.query("select kind, conversation from exchange_incomingmessage") == [
        ("evidence", message_id)
    ]


def test_evidence_crosses_only_after_the_person_agreed_on_their_home_node(nodes):
    """OOTS-style: the federal node asks Ontario (the person's home) for evidence; it waits
    there for the person; once they agree it crosses, and both ledgers show it and verify."""
    ontario, federal = nodes
    root = Path(__file__).resolve().parents[2]

    def step(node: Node, name: str) -> dict:
        result = subprocess.run(
            [sys.executable, "-m", "tests.exchange.evidence_steps", name],
            env=node.env,
            capture_output=True,
            text=True,
            timeout=300,
            cwd=root,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        return json.loads(result.stdout.strip().splitlines()[-1])

    person = step(ontario, "person")["person"]
    request_id = step(federal, "request")["request"]
    ontario.serve()
    federal.serve()
    assert "1 delivered" in federal.run("exchange-deliver")
    # waiting on the home node; nothing of the person has crossed, nothing in a ledger
    assert ontario.query("select status, subject_id from exchange_evidencerequest") == [
        ("waiting", person)
    ]
    assert ontario.query("select count(*) from sharing_accessevent") == [(0,)]
    assert federal.query("select status from exchange_evidencerequest") == [("waiting",)]

    shown = step(ontario, "agree")["shown"]
    assert shown == {"given_names": "Amélie", "birth_date": "1990-04-02"}
    assert "1 delivered" in ontario.run("exchange-deliver")
    (status, evidence), *_ = federal.query("select status, evidence from exchange_evidencerequest")
    assert status == "released" and json.loads(evidence) == shown
    assert federal.query("select kind from exchange_incomingmessage") == [("evidence",)]
    assert federal.query("select message_id from exchange_outgoingmessage")[0][0].replace(
        "-", ""
    ) == request_id.replace("-", "")
    # the federal agency's read, in the person's ledger there
    assert federal.query(
        "select channel, outcome, legal_basis, actor_agency, holder_agency from sharing_accessevent"
    ) == [("exchange", "disclosed", "consent", "esdc", "serviceontario")]
    # the home node's ledger: its agency's disclosure on the person's agreement, and the
    # federal agency's read reported back in the signed receipt
    assert sorted(
        ontario.query("select channel, outcome, legal_basis, actor_agency from sharing_accessevent")
    ) == [("exchange", "disclosed", "consent", "esdc"), ("remote", "disclosed", "consent", "esdc")]
    for node in (ontario, federal):
        verified = subprocess.run(
            [sys.executable, "-m", "joinedup.cli", "ledger", "verify", "--no-witness"],
            env=node.env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert verified.returncode == 0 and "The ledger is intact" in verified.stdout, (
            verified.stdout + verified.stderr
        )
