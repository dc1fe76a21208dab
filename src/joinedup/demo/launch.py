"""The demo: one command that sets up a working platform and runs it on this machine.

`prepare_demo` brings the database up to date, collects the static files, loads the demo
federations and makes sure the demo accounts exist; it can run again and again. Then
`run_processes` starts the web server and the background-task worker as child processes and
watches them: Ctrl-C or SIGTERM stops both cleanly, and if either dies the other is stopped
too, so a half-working demo never lingers.

The demo app sits at the top of the import order, so it may gather demo accounts from every
other app: add a function to `DEMO_ACCOUNTS` that creates its accounts (idempotently) and
returns how to sign in with them.
"""

import ctypes
import hashlib
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.staticfiles.finders import get_finders
from django.core.management import call_command
from django.utils.crypto import get_random_string
from django.utils.translation import gettext as _

from joinedup.web.server import ServerOptions, gunicorn_command

from .identities import asks_second_factor, create_demo_identities, give_demo_authenticator
from .loading import (
    demo_federation_folders,
    generate_demo_history,
    load_demo_backoffice,
    load_demo_bundles,
    load_demo_directory,
    load_demo_engagement,
    load_demo_federation,
    load_demo_funding,
    load_demo_places,
    load_demo_service_versions,
    open_demo_appointments,
)

Output = Callable[[str], None]

ADMIN_USERNAME = "admin"
ADMIN_PASSWORD_FILE = "demo-admin-password"  # noqa: S105 (a file name)
STOP_TIMEOUT = 15.0
READY_TIMEOUT = 60.0
#: A child marked `restart` that is started this often within this many seconds stops the demo.
RESTART_LIMIT = 5
RESTART_WINDOW = 60.0


@dataclass(frozen=True)
class SignIn:
    """An account a visitor of the demo can sign in with, and where to use it."""

    role: str
    username: str
    password: str
    path: str
    second_factor: bool = False
    found_by: str = ""


def demo_admin() -> list[SignIn]:
    """The superuser `admin`, with a password made once and kept in the data directory.

    The password file is the reference: when the account's password differs (a new data
    directory over an old database, or someone changed it), it is set back to the file's.
    """
    password_file = Path(settings.DATA_DIR) / ADMIN_PASSWORD_FILE
    if password_file.exists():
        password = password_file.read_text(encoding="utf-8").strip()
    else:
        password = get_random_string(16)
        password_file.parent.mkdir(parents=True, exist_ok=True)
        password_file.write_text(password + "\n", encoding="utf-8")
        password_file.chmod(0o600)
    user_model = get_user_model()
    user = user_model.objects.filter(**{user_model.USERNAME_FIELD: ADMIN_USERNAME}).first()
    if user is None:
        user = user_model(**{user_model.USERNAME_FIELD: ADMIN_USERNAME})
        user.email = "admin@example.org"
    if not (user.is_active and user.is_staff and user.is_superuser) or not user.check_password(
        password
    ):
        user.is_active = user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save()
    # The administration asks a second factor of staff: the demo authenticator answers it.
    give_demo_authenticator(user)
    return [
        SignIn(
            _("Administrator"),
            ADMIN_USERNAME,
            password,
            "/admin/",
            second_factor=asks_second_factor(user),
        )
    ]


def demo_identities() -> list[SignIn]:
    """The demo people and staff (a family, staff in every role...)."""
    return [
        SignIn(s.role, s.username, s.password, s.path, s.second_factor, s.found_by)
        for s in create_demo_identities()
    ]


# Each function creates its demo accounts if they are missing and returns how to sign in.
DEMO_ACCOUNTS: list[Callable[[], list[SignIn]]] = [demo_admin, demo_identities]


def static_fingerprint() -> str:
    """A digest of every static source file (name, size, time) and of where they go.

    Collecting compresses every file, which takes minutes; the demo does it only when this
    digest differs from the one kept after the last collection.
    """
    entries = []
    for finder in get_finders():
        for path, storage in finder.list(["CVS", ".*", "*~"]):
            stat = os.stat(storage.path(path))
            entries.append(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}")
    digest = hashlib.sha256()
    digest.update(str(settings.STATIC_ROOT).encode())
    digest.update(settings.STORAGES["staticfiles"]["BACKEND"].encode())
    for entry in sorted(entries):
        digest.update(entry.encode() + b"\n")
    return digest.hexdigest()


def _static_fingerprint_file() -> Path:
    return Path(settings.DATA_DIR) / "static-fingerprint"


def static_files_current() -> bool:
    """True when the static files were collected from the very sources there are now."""
    fingerprint_file = _static_fingerprint_file()
    return (
        fingerprint_file.exists()
        and Path(settings.STATIC_ROOT).is_dir()
        and fingerprint_file.read_text() == static_fingerprint()
    )


def prepare_demo(out: Output, static: bool = True, history: bool = True) -> list[SignIn]:
    """Everything the demo needs before its processes start; safe to run again.

    `history=False` writes no synthetic history (the cluster demo, which measures delivery).
    `static=False` leaves the static files alone: only for a test that uses the API and no
    page (with DEBUG off, pages need the collected files, which take minutes to compress).
    """
    out(_("Bringing the database up to date…"))
    call_command("migrate", interactive=False, verbosity=0)
    if static and static_files_current():
        out(_("Static files are up to date."))
    elif static:
        out(_("Collecting static files (the first time takes a minute or two)…"))
        call_command("collectstatic", interactive=False, verbosity=0)
        _static_fingerprint_file().write_text(static_fingerprint())
    folders, note = demo_federation_folders()
    if note:
        out(note)
    for folder in folders:
        out(load_demo_federation(folder))
    out(load_demo_service_versions())
    out(load_demo_bundles())
    out(load_demo_funding())
    out(load_demo_places())
    out(load_demo_engagement())
    out(load_demo_directory())
    out(load_demo_backoffice())
    out(open_demo_appointments())
    if history:
        out(_("Writing the synthetic history (the first time, about half a minute)…"))
        out(generate_demo_history())
    sign_ins: list[SignIn] = []
    for accounts in DEMO_ACCOUNTS:
        sign_ins.extend(accounts())
    return sign_ins


def demo_urls(port: int) -> list[tuple[str, str]]:
    """What to open in a browser, with what it is."""
    base = f"http://127.0.0.1:{port}"
    return [
        (_("Catalogue"), f"{base}/en/"),
        (_("Catalogue in French"), f"{base}/fr/"),
        (_("API documentation"), f"{base}/api/v1/docs"),
        (_("OpenAPI description"), f"{base}/api/v1/openapi.json"),
        (_("Administration"), f"{base}/admin/"),
    ]


def describe(urls: list[tuple[str, str]], sign_ins: list[SignIn], port: int) -> str:
    """The text printed once the demo runs: where to go and how to sign in."""
    width = max(len(label) for label, _url in urls)
    lines = [f"  {label.ljust(width)}  {url}" for label, url in urls]
    if sign_ins:
        lines.append("")
        lines.append(_("Sign in as:"))
        for sign_in in sign_ins:
            lines.append(
                f"  {sign_in.role}: {sign_in.username} / {sign_in.password}"
                f"  (http://127.0.0.1:{port}{sign_in.path})"
            )
            if sign_in.second_factor:
                lines.append(
                    "    "
                    + _("then the authenticator code that `joinedup totp-code %(user)s` prints")
                    % {"user": sign_in.username}
                )
            if sign_in.found_by:
                lines.append(
                    "    " + _("an agent finds them by %(how)s") % {"how": sign_in.found_by}
                )
    return "\n".join(lines)


def _die_with_parent() -> None:
    """In a child: be sent SIGTERM if the demo process itself dies (Linux only).

    Without it, killing the demo with SIGKILL would leave the server holding its port.
    """
    if sys.platform.startswith("linux"):
        pr_set_pdeathsig = 1
        ctypes.CDLL(None).prctl(pr_set_pdeathsig, signal.SIGTERM)


def _start(command: list[str]) -> subprocess.Popen:
    return subprocess.Popen(command, preexec_fn=_die_with_parent)  # noqa: S603


@dataclass
class Child:
    """A process the demo runs and watches: what it is called, its command, and whether it is
    started again when it dies (task workers, which may die at any time by design) or its
    death stops the whole demo (everything else)."""

    label: str
    command: list[str]
    restart: bool = False
    #: A service the others use (the cluster's Redis): stopped only after them.
    service: bool = False
    process: subprocess.Popen | None = None
    started: list[float] = field(default_factory=list)

    def start(self) -> None:
        self.process = _start(self.command)
        self.started.append(time.monotonic())

    def failing(self) -> bool:
        """Started RESTART_LIMIT times within RESTART_WINDOW seconds: it cannot run, so
        starting it again would only spin."""
        recent = [t for t in self.started if t > time.monotonic() - RESTART_WINDOW]
        return len(recent) >= RESTART_LIMIT


def task_worker_command() -> list[str] | None:
    """The command that runs the background-task worker, or None when tasks need none.

    With the database task backend (the embedded default) a worker must poll the queue;
    the other backends either run tasks at once or have their own workers.
    """
    if settings.TASKS["default"]["BACKEND"] != "django_tasks_db.DatabaseBackend":
        return None
    return [
        sys.executable,
        "-m",
        "joinedup.cli",
        "db_worker",
        "--queue-name",
        "*",
        "--no-reload",
        "--verbosity",
        "1",
    ]


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (our own URL)
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


class _Stop(Exception):
    """Raised by the signal handler to leave the waiting loop."""


def stop_children(children: list[Child]) -> None:
    """Stop every child (SIGTERM, then SIGKILL after STOP_TIMEOUT), services last."""
    for wave in ([c for c in children if not c.service], [c for c in children if c.service]):
        _stop_all([child.process for child in wave if child.process is not None])


def _stop_all(running: list[subprocess.Popen]) -> None:
    for process in running:
        if process.poll() is None:
            process.terminate()
    deadline = time.monotonic() + STOP_TIMEOUT
    for process in running:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def supervise(
    children: list[Child],
    port: int,
    out: Output,
    sign_ins: list[SignIn],
    on_change: Callable[[list[Child]], None] | None = None,
) -> int:
    """Start the children not started yet and watch them all until told to stop.

    The demo is ready once `/healthz` answers on `port`; then the URLs and sign-ins are
    printed. A child marked `restart` that dies is started again (unless it keeps dying:
    RESTART_LIMIT starts within RESTART_WINDOW seconds); any other stops the demo.
    `on_change` is called once ready and after each restart (the cluster records its
    processes). Returns 0 after Ctrl-C or SIGTERM, 1 when a child process died on its own.
    """

    def stop(signum: int, frame: object) -> None:
        raise _Stop

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        for child in children:
            if child.process is None:
                child.start()
        ready_by = time.monotonic() + READY_TIMEOUT
        ready = False
        while True:
            for child in children:
                code = child.process.poll() if child.process else None
                if code is None:
                    continue
                if child.restart and not child.failing():
                    out(
                        _("The %(name)s stopped (exit code %(code)s); starting it again.")
                        % {"name": child.label, "code": code}
                    )
                    child.start()
                    if ready and on_change:
                        on_change(children)
                    continue
                out(
                    _("The %(name)s stopped (exit code %(code)s); stopping the demo.")
                    % {"name": child.label, "code": code}
                )
                return 1
            if not ready:
                if _answers(f"http://127.0.0.1:{port}/healthz"):
                    ready = True
                    if on_change:
                        on_change(children)
                    out(_("Joinedup is running (Ctrl-C stops it):"))
                    out(describe(demo_urls(port), sign_ins, port))
                elif time.monotonic() > ready_by:
                    out(_("The web server did not answer in time; stopping the demo."))
                    return 1
            time.sleep(0.2)
    except _Stop:
        out(_("Stopping…"))
        return 0
    finally:
        # No more interruptions while the children are being stopped.
        for sig in previous:
            signal.signal(sig, signal.SIG_IGN)
        stop_children(children)
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def periodic_tasks_command() -> list[str]:
    """The worker has no clock: this enqueues the periodic jobs (outbox, ledger, retention)."""
    return [sys.executable, "-m", "joinedup.cli", "periodic-tasks", "--loop"]


def run_processes(port: int, out: Output, sign_ins: list[SignIn]) -> int:
    """Start the web server and the task worker, and watch them until told to stop.

    Returns 0 after Ctrl-C or SIGTERM, 1 when a child process died on its own.
    """
    children = [Child(_("web server"), gunicorn_command(ServerOptions(bind=f"127.0.0.1:{port}")))]
    worker = task_worker_command()
    if worker:
        children.append(Child(_("task worker"), worker))
    else:
        out(_("Tasks run without a worker process with this task backend."))
    children.append(Child(_("periodic tasks"), periodic_tasks_command()))
    return supervise(children, port, out, sign_ins)
