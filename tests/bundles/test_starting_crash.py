"""Crash test: the task worker that starts bundles' legs is killed (SIGKILL) in the middle of
the work; after a restart every leg has exactly one application — none lost, none twice.

It runs the real `joinedup worker` and `joinedup periodic-tasks` processes against a database
of their own (a SQLite file, and a fresh PostgreSQL database on the PostgreSQL run), as
tests/sharing/test_outbox_crash.py does for the dispatcher.
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
BUNDLES = 20
LEGS = BUNDLES * 6


def _environment(url: str, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update(
        DJANGO_SETTINGS_MODULE="joinedup.settings",
        PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "src")]),
        DATABASE_URL=url,
        JOINEDUP_DATA_DIR=str(tmp_path / "data"),
        JOINEDUP_TASK_BACKEND="database",
        JOINEDUP_OUTBOX_LEASE_SECONDS="2",
        JOINEDUP_OUTBOX_POLL_SECONDS="1",
        JOINEDUP_EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
    )
    return env


def _joinedup(*args: str) -> list[str]:
    return [sys.executable, "-m", "joinedup.cli", *args]


def _started(url: str) -> int:
    return _query(url, "SELECT COUNT(*) FROM bundles_bundleleg WHERE application_id IS NOT NULL")[
        0
    ][0]


@pytest.mark.slow
def test_every_leg_starts_once_when_the_worker_is_killed(process_database, tmp_path):
    database = process_database
    env = _environment(database, tmp_path)
    run = {"env": env, "cwd": ROOT, "check": True, "capture_output": True, "timeout": 600}
    made = subprocess.run([sys.executable, "-m", "tests.bundles.crash_accept", str(BUNDLES)], **run)
    assert made.returncode == 0
    assert _query(database, "SELECT COUNT(*) FROM bundles_bundleleg")[0][0] == LEGS
    assert _started(database) == 0, "accepted, not started: no worker has run"
    assert _query(database, "SELECT COUNT(*) FROM delivery_application")[0][0] == 0

    worker = subprocess.Popen(
        _joinedup("worker"), env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 120
        while _started(database) < LEGS // 6 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait()
    started = _started(database)
    assert 0 < started < LEGS, "the worker must be killed in the middle of the work"

    processes = [
        subprocess.Popen(
            _joinedup(*command),
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for command in (("worker",), ("periodic-tasks", "--loop", "--interval", "0.5"))
    ]
    try:
        deadline = time.monotonic() + 240
        while _started(database) < LEGS and time.monotonic() < deadline:
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

    assert _started(database) == LEGS, "every leg is started after the restart"
    # Exactly once: one application per leg, each the leg's own, and no other.
    applications = _query(
        database, "SELECT idempotency_scope, idempotency_key FROM delivery_application"
    )
    assert len(applications) == LEGS
    legs = {str(row[0]) for row in _query(database, "SELECT id FROM bundles_bundleleg")}
    assert sorted(key for _scope, key in applications) == sorted(legs)
    assert {scope for scope, _key in applications} == {"bundle-leg"}
    states = _query(database, "SELECT state, COUNT(*) FROM bundles_bundleleg GROUP BY state")
    assert states == [("started", LEGS)]
