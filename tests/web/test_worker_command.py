"""`joinedup worker` runs the worker of the configured backend, with Redis as at scale.

The Redis run is real: the task is enqueued by one process into Redis and run by
`joinedup worker --burst` in another, as RQ workers run on other machines.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import redis

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/14")


def _redis_or_skip() -> redis.Redis:
    connection = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        connection.ping()
    except redis.exceptions.ConnectionError as error:
        if os.environ.get("CI") == "true":
            raise AssertionError(f"CI=true and Redis does not answer at {REDIS_URL}") from error
        pytest.skip(f"Redis does not answer at {REDIS_URL}: the RQ worker is not tested")
    return connection


def _run(code_or_args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *code_or_args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _environment(tmp_path: Path, backend: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "JOINEDUP_TASK_BACKEND"}
    }
    env |= {
        "JOINEDUP_TASK_BACKEND": backend,
        "REDIS_URL": REDIS_URL,
        # The task touches no database; the settings still need one named.
        "DATABASE_URL": f"sqlite:///{tmp_path / 'unused.sqlite3'}",
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
    }
    return env


ENQUEUE = """
import sys, django
django.setup()
from tests.web.worker_tasks import leave_a_mark
result = leave_a_mark.enqueue(sys.argv[1], "delivered by an RQ worker")
print(result.id)
"""


@pytest.mark.slow
def test_a_task_enqueued_in_redis_is_run_by_joinedup_worker(tmp_path):
    connection = _redis_or_skip()
    connection.flushdb()
    env = _environment(tmp_path, "redis")
    mark = tmp_path / "mark.txt"

    enqueued = _run(["-c", ENQUEUE, str(mark)], env)
    assert enqueued.returncode == 0, enqueued.stderr
    assert not mark.exists(), "the task ran where it was enqueued, not in a worker"
    assert connection.llen("rq:queue:default") == 1

    worker = _run(["-m", "joinedup.cli", "worker", "--burst"], env)
    assert worker.returncode == 0, worker.stdout + worker.stderr
    assert mark.read_text() == "delivered by an RQ worker"
    assert connection.llen("rq:queue:default") == 0
    connection.flushdb()


@pytest.mark.slow
def test_every_command_starts_with_the_redis_backend(tmp_path):
    """The backend's packages are dependencies: configuring Redis does not break the CLI."""
    checked = _run(["-m", "joinedup.cli", "check"], _environment(tmp_path, "redis"))
    assert checked.returncode == 0, checked.stderr


def test_the_immediate_backend_has_no_worker_to_start(settings):
    from django.core.management import call_command
    from django.core.management.base import CommandError

    settings.TASK_BACKEND = "immediate"
    with pytest.raises(CommandError, match="no worker"):
        call_command("worker", "--burst")


@pytest.mark.django_db(transaction=True)
def test_the_database_worker_runs_what_waits_and_exits_in_burst_mode(settings, tmp_path):
    from django.core.management import call_command

    from tests.web.worker_tasks import leave_a_mark

    assert settings.TASK_BACKEND == "database"
    mark = tmp_path / "mark.txt"
    leave_a_mark.enqueue(str(mark), "delivered by the database worker")
    assert not mark.exists()

    call_command("worker", "--burst", verbosity=0)
    assert mark.read_text() == "delivered by the database worker"
