"""`make demo-scale` for real: the cluster (PostgreSQL, Redis, two web processes behind nginx,
two task workers, the periodic tasks) started as a user starts it, bundles submitted through
nginx over HTTP, one task worker killed (SIGKILL, with the job it was running) while the legs
are being started, and every leg delivered exactly once.

Bundles are accepted in the request and their legs started by the task workers from the outbox
(joinedup.bundles.starting): a worker killed mid-way has its transaction undone and its outbox
claim expires, so another worker starts the same legs again; the leg's application carries the
leg as its idempotency key, so none is started twice. The cluster starts a killed worker again.

It runs on the PostgreSQL test run only (the cluster is PostgreSQL's), in a database of its
own; Redis and nginx are the Debian packages `make test` installs.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest

from joinedup.demo import launch
from joinedup.demo.cluster import STATE_FILE, cluster_environment

ROOT = Path(__file__).resolve().parents[2]
BUNDLES = 12
LEGS = [
    "birth-registration",
    "birth-certificate",
    "social-insurance-number",
    "child-benefit",
    "provincial-child-benefit",
    "education-savings",
]
TOKEN_SCOPES = ["--scope", "read", "--scope", "write"]
METRICS_TOKEN = "metrics-" + uuid.uuid4().hex


def _installed(name: str) -> bool:
    return bool(shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin"))


@pytest.fixture
def database_url(migrated_templates):
    """A database of its own on the test run's PostgreSQL server, dropped afterwards: a copy
    of the migrated template (tests/processes.py), so the cluster's `migrate` finds nothing
    to apply instead of taking half a minute to do what pytest-django has just done for the
    test database, with the same migrations."""
    server = os.environ.get("DATABASE_URL", "")
    if not server.startswith("postgres"):
        pytest.skip("the cluster runs on PostgreSQL: this test runs in the PostgreSQL run")
    missing = [name for name in ("nginx", "redis-server") if not _installed(name)]
    if missing:
        message = f"{' and '.join(missing)} not installed (`make test` installs them)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    name = f"scale_{uuid.uuid4().hex[:12]}"
    # The server's maintenance database: the test run's own may not exist yet.
    admin = server.replace("postgres://", "postgresql://").rsplit("/", 1)[0] + "/postgres"
    template = migrated_templates.template("postgres").rsplit("/", 1)[1]
    with psycopg.connect(admin, autocommit=True) as db:
        db.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    yield server.rsplit("/", 1)[0] + "/" + name
    with psycopg.connect(admin, autocommit=True) as db:
        db.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _query(url: str, sql: str) -> list[tuple]:
    with psycopg.connect(url.replace("postgres://", "postgresql://"), autocommit=True) as db:
        return db.execute(sql).fetchall()


def _started(url: str) -> int:
    return _query(url, "SELECT count(*) FROM bundles_bundleleg WHERE application_id IS NOT NULL")[
        0
    ][0]


class _Output:
    """What the cluster prints, read as it comes (a pipe left unread would block it)."""

    def __init__(self, stream) -> None:
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream) -> None:
        for line in stream:
            self.lines.append(line)

    def text(self) -> str:
        return "".join(self.lines)

    def tail(self, count: int = 60) -> str:
        return "".join(self.lines[-count:])


def _base_environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update(
        PYTHONPATH=os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
        # A worker's outbox claim expires quickly, so the killed worker's legs are taken over
        # within seconds; the periodic tasks look for due events every second.
        JOINEDUP_OUTBOX_LEASE_SECONDS="3",
        JOINEDUP_OUTBOX_POLL_SECONDS="1",
        JOINEDUP_METRICS_TOKEN=METRICS_TOKEN,
        JOINEDUP_EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
        JOINEDUP_LOG_LEVEL="WARNING",
    )
    return env


@pytest.fixture
def cluster(database_url, tmp_path):
    """`python -m joinedup.demo.cluster` (what `make demo-scale` runs), ready and answering."""
    data_dir = tmp_path / "scale"
    env = _base_environment()
    command = [sys.executable, "-m", "joinedup.demo.cluster", "--port", "0"]
    command += ["--data-dir", str(data_dir), "--database-url", database_url, "--no-static"]
    process = subprocess.Popen(
        command,
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output = _Output(process.stdout)
    state_file = data_dir / STATE_FILE
    deadline = time.monotonic() + 240
    while not (state_file.exists() and "Sign in as" in output.text()):
        if process.poll() is not None:
            pytest.fail(f"the cluster stopped while starting:\n{output.tail()}")
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"the cluster did not start in time:\n{output.tail()}")
        time.sleep(0.2)
    state = json.loads(state_file.read_text())
    cluster_env = {
        **env,
        **cluster_environment(
            data_dir, database_url, state["redis_url"], state["redis_url"][:-1] + "1"
        ),
    }
    yield process, output, state_file, cluster_env
    if process.poll() is None:
        process.kill()
        process.wait()
        for item in state["processes"]:
            _kill_tree(item["pid"])


def _children(pid: int) -> list[int]:
    try:
        found = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    return [int(child) for child in found]


def _kill_tree(pid: int) -> None:
    """SIGKILL a process and every process under it (an RQ worker and its work horse)."""
    for child in _children(pid):
        _kill_tree(child)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status


def _submission(number: int) -> bytes:
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
                "child_family_name": "Okafor",
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


def _post(url: str, token: str, number: int) -> tuple[int, dict, str]:
    request = urllib.request.Request(  # noqa: S310 (the cluster's own http:// address)
        f"{url}/api/v1/bundles/newborn/submissions",
        data=_submission(number),
        method="POST",
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "Idempotency-Key": f"scale-{number}",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 (ours)
            return response.status, json.loads(response.read()), response.headers["Server"]
    except urllib.error.HTTPError as error:
        return error.code, {"body": error.read()[:2000].decode(errors="replace")}, ""


def _get(url: str, headers: dict | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=headers or {})  # noqa: S310 (ours)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (ours)
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@pytest.mark.slow
def test_every_leg_is_delivered_once_through_nginx_with_a_worker_killed(cluster):
    process, output, state_file, env = cluster
    state = json.loads(state_file.read_text())
    url, database = state["url"], state["database_url"]
    labels = [item["label"] for item in state["processes"]]
    assert sum(label.startswith("web process") for label in labels) == 2
    assert sum(label.startswith("task worker") for label in labels) == 2
    assert "nginx proxy" in labels and "Redis server" in labels and "periodic tasks" in labels
    assert f"{url}/api/v1/docs" in output.text(), "the addresses are printed, as `make demo` does"
    assert "amara@example.org / " in output.text(), "and the demo sign-ins"

    token = subprocess.run(
        [sys.executable, "-m", "joinedup.cli", "token", "amara@example.org", *TOKEN_SCOPES],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout.strip()

    # Accepted at once, through nginx, by whichever web process nginx picks.
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda n: _post(url, token, n), range(BUNDLES)))
    refused = [(status, body) for status, body, _server in answers if status != 201]
    assert not refused, refused
    assert {server.split("/")[0] for _s, _b, server in answers} == {"nginx"}
    legs = BUNDLES * len(LEGS)
    assert sum(len(body["legs"]) for _s, body, _server in answers) == legs

    # Kill one task worker (and the job it runs) once the workers are under way.
    victim = state["task_workers"][0]
    deadline = time.monotonic() + 120
    while _started(database) < len(LEGS) // 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    _kill_tree(victim)
    killed_at = _started(database)
    assert killed_at < legs, "the worker must be killed while legs are still waiting"

    deadline = time.monotonic() + 150
    while _started(database) < legs and time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the cluster stopped:\n{output.tail()}")
        time.sleep(0.25)
    assert _started(database) == legs, f"not every leg started:\n{output.tail()}"

    # Exactly once: one application per leg, each the leg's own, and no other.
    applications = _query(
        database, "SELECT idempotency_scope, idempotency_key FROM delivery_application"
    )
    leg_ids = sorted(str(row[0]) for row in _query(database, "SELECT id FROM bundles_bundleleg"))
    assert len(leg_ids) == legs
    assert sorted(key for _scope, key in applications) == leg_ids
    assert {scope for scope, _key in applications} == {"bundle-leg"}
    assert _query(database, "SELECT state, count(*) FROM bundles_bundleleg GROUP BY state") == [
        ("started", legs)
    ]

    # The cluster started the killed worker again.
    assert "task worker 1 stopped" in output.text()
    replaced = json.loads(state_file.read_text())["task_workers"]
    assert victim not in replaced and len(replaced) == 2
    assert all(_alive(pid) for pid in replaced)

    # What to watch, through nginx, for the monitor holding the token (and nobody else).
    assert _get(f"{url}/metrics")[0] == 401
    status, body = _get(f"{url}/metrics", {"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert status == 200
    figures = json.loads(body)
    assert figures["task_backend"] == "redis"
    assert set(figures["queue_depth"]) == {"default"}
    assert figures["outbox_lag_seconds"] >= 0 and figures["ledger_checkpoint_age_seconds"] >= 0

    # SIGTERM stops the cluster cleanly, every process with it.
    pids = [item["pid"] for item in json.loads(state_file.read_text())["processes"]]
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 0, output.tail()
    assert not [pid for pid in pids if _alive(pid)], "a process outlived the cluster"


@pytest.mark.slow
def test_a_worker_that_keeps_dying_stops_the_cluster_instead_of_spinning():
    printed: list[str] = []
    dying = launch.Child("task worker 1", [sys.executable, "-c", "raise SystemExit(3)"], True)
    # Nothing answers on port 9 (discard): the cluster never becomes ready.
    assert launch.supervise([dying], 9, printed.append, []) == 1
    assert len(dying.started) == launch.RESTART_LIMIT
    assert printed.count("The task worker 1 stopped (exit code 3); starting it again.") == (
        launch.RESTART_LIMIT - 1
    )
    assert printed[-1] == "The task worker 1 stopped (exit code 3); stopping the demo."
