"""Crash test: a real worker is killed (SIGKILL) in the middle of dispatching; after a restart
every event has been delivered, none lost, and the duplicate call absorbed.

It runs the real `joinedup db_worker` and `joinedup periodic-tasks` processes against a
database of their own (a SQLite file, and a fresh PostgreSQL database on the PostgreSQL run),
not the test database, which other processes cannot see.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.processes import query as _query

ROOT = Path(__file__).resolve().parents[2]
EVENTS = 30


def _environment(database: str, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update(
        DJANGO_SETTINGS_MODULE="tests.sharing.crash_settings",
        PYTHONPATH=str(ROOT),
        DATABASE_URL=database,
        JOINEDUP_DATA_DIR=str(tmp_path / "data"),
        JOINEDUP_TASK_BACKEND="database",
        JOINEDUP_OUTBOX_LEASE_SECONDS="2",
        JOINEDUP_OUTBOX_POLL_SECONDS="1",
        CRASH_CALLS=str(tmp_path / "calls.txt"),
        CRASH_SLEEP="0.1",
    )
    return env


def _joinedup(*args: str) -> list[str]:
    return [sys.executable, "-m", "joinedup.cli", *args]


WORKER = (
    "db_worker",
    "--queue-name",
    "*",
    "--no-reload",
    "--interval",
    "0.2",
    "--no-startup-delay",
)


@pytest.mark.slow
def test_no_event_is_lost_when_the_worker_is_killed(process_database, tmp_path):
    database = process_database
    env = _environment(database, tmp_path)
    run = {"env": env, "cwd": ROOT, "check": True, "capture_output": True, "timeout": 180}
    # The database is migrated already; this adds the test subscriber's table.
    subprocess.run(_joinedup("migrate", "--run-syncdb", "--verbosity", "0"), **run)
    subprocess.run(_joinedup("crash_emit", str(EVENTS)), **run)
    calls = tmp_path / "calls.txt"
    event_ids = {
        str(row[0]).replace("-", "")
        for row in _query(database, "SELECT id FROM sharing_outboxevent")
    }
    assert len(event_ids) == EVENTS

    def calls_made() -> list[str]:
        return calls.read_text().split() if calls.exists() else []

    worker = subprocess.Popen(
        _joinedup(*WORKER), env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 60
        while len(calls_made()) < EVENTS // 3 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait()
    received = _query(database, "SELECT COUNT(*) FROM crashapp_received")[0][0]
    assert 0 < received < EVENTS, "the worker must be killed in the middle of the work"

    # Restart: the worker and the scheduler that re-enqueues the dispatcher for the events
    # whose lease the dead worker held.
    processes = [
        subprocess.Popen(
            _joinedup(*command),
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for command in (WORKER, ("periodic-tasks", "--loop", "--interval", "0.5"))
    ]
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            pending = _query(
                database, "SELECT COUNT(*) FROM sharing_outboxevent WHERE status <> 'delivered'"
            )[0][0]
            if pending == 0:
                break
            time.sleep(0.2)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    assert pending == 0, "every event is delivered after the restart"
    recorded = [
        str(row[0]).replace("-", "")
        for row in _query(database, "SELECT event_id FROM crashapp_received")
    ]
    assert sorted(recorded) == sorted(event_ids), "each event reached the subscriber exactly once"
    deliveries = _query(database, "SELECT status, COUNT(*) FROM sharing_delivery GROUP BY status")
    assert deliveries == [("delivered", EVENTS)]
    made = [c.replace("-", "") for c in calls_made()]
    assert set(made) == event_ids, "no event was lost"
    # The call cut short by the kill was made again; its first effect was rolled back.
    assert len(made) >= EVENTS
