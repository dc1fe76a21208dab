"""Running the web server: gunicorn with defaults that suit a small machine.

`joinedup serve` and `joinedup demo` both start gunicorn through `gunicorn_command`, so the
demo runs exactly what production runs. The defaults are tuned for two cores (see
docs/performance.md for the measurements behind them): two worker processes, one per core,
each with four threads, so that a request waiting on the database does not hold up the
others, and at most four connections per thread (`CONNECTIONS_PER_THREAD`). Anything else
gunicorn knows can be set with its own GUNICORN_CMD_ARGS variable.
"""

import sys
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

DEFAULT_BIND = "127.0.0.1:8000"
DEFAULT_WORKERS = 2
DEFAULT_THREADS = 4
#: Connections a worker process holds at once, per thread. A gthread worker accepts every
#: connection it can, and a kept-alive connection stays with the worker that accepted it: with
#: gunicorn's default (1,000) one worker took most of 32 clients' connections and queued them
#: behind its four threads on one core while the other worker was half idle (1.06 of 2 cores
#: busy in `bench/bundles.py`; docs/performance.md). With the cap, a full worker stops
#: accepting and the connection goes to another; beyond every worker's cap it waits in the
#: listening socket's backlog, as it would in the full worker's queue.
CONNECTIONS_PER_THREAD = 4


@dataclass(frozen=True)
class ServerOptions:
    """How gunicorn is started; the defaults are the ones `joinedup serve` uses."""

    bind: str = DEFAULT_BIND
    workers: int = DEFAULT_WORKERS
    threads: int = DEFAULT_THREADS
    access_log: bool = False
    timeout: int = 30


def gunicorn_command(options: ServerOptions) -> list[str]:
    """The command line that runs gunicorn on our WSGI application with `options`.

    It runs gunicorn with the same Python as this process, so the virtualenv in use is the
    one served, whatever PATH says.
    """
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "joinedup.wsgi:application",
        "--bind",
        options.bind,
        "--workers",
        str(options.workers),
        "--worker-class",
        "gthread",
        "--threads",
        str(options.threads),
        "--worker-connections",
        str(options.threads * CONNECTIONS_PER_THREAD),
        "--timeout",
        str(options.timeout),
        "--graceful-timeout",
        "10",
        # Loading the application once, before forking, halves start-up time and memory.
        "--preload",
        # The control socket lives at one path per user: two servers on one machine (a demo
        # beside a benchmark, parallel tests) would fight over it, and nothing uses it.
        "--no-control-socket",
        # URLs longer than gunicorn's 4 KiB default reach the application, which refuses those
        # over JOINEDUP_MAX_URL_LENGTH itself (JSON under /api/); gunicorn still stops at 1 MiB.
        # Believe no X-Forwarded-* header here: the application decides whom to believe
        # (JOINEDUP_PROXY_COUNT, joinedup.web.proxies), not gunicorn's own list of addresses.
        "--forwarded-allow-ips",
        "",
        "--limit-request-line",
        "0",
        "--error-logfile",
        "-",
    ]
    if options.access_log:
        command += ["--access-logfile", "-"]
    return command


def static_files_missing() -> bool:
    """True when `collectstatic` has not been run, so pages would lack their styles.

    With DEBUG off, static files are served from STATIC_ROOT with hashed names listed in
    a manifest; without the manifest every page that links a style sheet fails.
    """
    if settings.DEBUG:
        return False
    return not (Path(settings.STATIC_ROOT) / "staticfiles.json").exists()
