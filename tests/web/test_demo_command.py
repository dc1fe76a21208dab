"""`joinedup demo`: what someone trying the platform on a fresh machine depends on."""

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from joinedup.demo.launch import ADMIN_PASSWORD_FILE
from joinedup.demo.loading import demo_federation_folders
from joinedup.federation.models import FederationLoad, Jurisdiction
from joinedup.performance.models import Transaction
from tests.runs import POSTGRESQL_RUN


@pytest.fixture
def demo_dirs(settings, tmp_path):
    """A data directory of its own, so the test writes nothing into the developer's."""
    settings.DATA_DIR = tmp_path
    settings.STATIC_ROOT = tmp_path / "static"
    settings.DEMO_HISTORY_TRANSACTIONS = 400  # the real demo writes 20,000
    return tmp_path


@pytest.mark.django_db
def test_demo_without_serving_loads_the_federations_and_creates_the_admin(demo_dirs, capsys):
    call_command("demo", "--no-serve")

    folders, _note = demo_federation_folders()
    assert folders, "the repository ships at least one demo federation"
    # One load per demo federation, and one for the back office's shared-services provider,
    # which is a federation folder of its own.
    loads = len(folders) + 1
    assert FederationLoad.objects.count() == loads
    assert Jurisdiction.objects.exists()
    assert (demo_dirs / "static" / "admin").is_dir(), "static files were collected"

    password = (demo_dirs / ADMIN_PASSWORD_FILE).read_text().strip()
    admin = get_user_model().objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff and admin.check_password(password)
    printed = capsys.readouterr().out
    assert "Loaded " in printed
    assert f"admin / {password}" in printed
    # Synthetic history, said to be made up, so the performance pages have figures.
    assert "Synthetic history: 400 illustrative transactions" in printed
    assert Transaction.objects.count() == 400
    assert Transaction.objects.filter(channel_cost__gt=0).exists()  # costs are not all 0.00

    # A second run changes nothing a visitor relies on: same password, one admin, and the
    # federations, whose files have not changed, are not loaded again.
    call_command("demo", "--no-serve")
    assert (demo_dirs / ADMIN_PASSWORD_FILE).read_text().strip() == password
    assert get_user_model().objects.filter(username="admin").count() == 1
    assert FederationLoad.objects.count() == loads
    assert Transaction.objects.count() == 400  # written once
    again = capsys.readouterr().out
    assert f"admin / {password}" in again
    assert "loaded already" in again


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _descendants(pid: int) -> set[int]:
    """Every process below `pid`, read from /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name is in parentheses and may hold spaces: split after it.
        parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier}
        found |= frontier
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (loopback)
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@pytest.fixture(scope="module")
def demo_data_dir(tmp_path_factory, migrated_templates) -> Path:
    """One data directory for the module: a second start finds everything set up.

    Its database is a copy of the migrated template (tests/processes.py): migrating a new
    SQLite file takes half a minute and is what pytest-django has just done for the test
    database, with the same migrations. The demo still runs `migrate` on it, which finds
    nothing to apply, then loads everything else as on a fresh machine. The synthetic
    history is kept small (the --no-serve test checks how it is written); the demo's own
    count is the same code with a larger number.
    """
    if POSTGRESQL_RUN:
        pytest.skip("the demo runs on its own SQLite file: started once, in the SQLite run")
    folder = tmp_path_factory.mktemp("demo-data")
    migrated_templates.copy("sqlite", folder / "joinedup.sqlite3")
    return folder


class _Output:
    """Everything a process prints, read as it comes (a pipe left unread would block it)."""

    def __init__(self, stream):
        self._lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream) -> None:
        for line in stream:
            self._lines.append(line)

    def text(self) -> str:
        return "".join(self._lines)

    def finished(self) -> str:
        self._thread.join(timeout=10)
        return self.text()


@pytest.fixture
def demo_process(demo_data_dir):
    """`joinedup demo` running for real in its own data directory, on SQLite.

    Ready when it says so, with the addresses to open, and its server answers. The process
    runs on its own SQLite file whichever run of the suite starts it, so it is started in
    the SQLite run only (`demo_data_dir` skips it in the PostgreSQL run): there it would do
    the same work again.
    """
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["JOINEDUP_DATA_DIR"] = str(demo_data_dir)
    env["JOINEDUP_DEMO_HISTORY_TRANSACTIONS"] = "400"  # the real demo writes 20,000
    # Compressing the design system's thousands of static files for production takes
    # minutes; with DEBUG on they are only copied, and serving is the same gunicorn.
    env["JOINEDUP_DEBUG"] = "true"
    process = subprocess.Popen(
        [sys.executable, "-m", "joinedup.cli", "demo", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output = _Output(process.stdout)
    # Loading every app's demo (back office history included) takes about a minute on an idle
    # two-core machine and over four beside other test workers; the bound only catches a demo
    # that hangs.
    deadline = time.monotonic() + 480
    while "Sign in as" not in output.text():
        if process.poll() is not None:
            pytest.fail(f"the demo stopped early:\n{output.finished()}")
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"the demo did not start in time:\n{output.finished()}")
        time.sleep(0.2)
    assert _get(f"http://127.0.0.1:{port}/healthz")[0] == 200
    yield process, port, output
    if process.poll() is None:
        process.kill()
        process.wait()


@pytest.mark.slow
def test_demo_serves_the_api_and_stops_both_processes_on_sigterm(demo_process):
    process, port, output = demo_process
    status, body = _get(f"http://127.0.0.1:{port}/api/v1/services")
    assert status == 200
    assert "items" in json.loads(body)
    children = _descendants(process.pid)
    # The gunicorn master, its workers and the task worker.
    assert len(children) >= 3

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0
    printed = output.finished()
    assert "admin / " in printed
    assert f"http://127.0.0.1:{port}/api/v1/docs" in printed
    assert not [pid for pid in children if _alive(pid)], "a child outlived the demo"


@pytest.mark.slow
def test_demo_stops_the_server_and_fails_when_the_task_worker_dies(demo_process):
    process, _port, output = demo_process
    children = _descendants(process.pid)
    workers = [pid for pid in children if b"db_worker" in Path(f"/proc/{pid}/cmdline").read_bytes()]
    assert len(workers) == 1

    os.kill(workers[0], signal.SIGKILL)
    assert process.wait(timeout=30) == 1
    assert "task worker stopped" in output.finished()
    assert not [pid for pid in children if _alive(pid)], "the web server outlived the demo"
