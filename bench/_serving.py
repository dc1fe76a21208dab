"""What the benchmarks share: the server started as a user runs it, its error output beside a
failure, the CPU a server and its workers used, and a percentile.

Every benchmark that times pages or the API over HTTP starts `joinedup serve` (gunicorn,
DEBUG off, production settings) on a loopback port, keeps the server's error output in a
file, prints it when anything fails and counts its ERROR lines. One copy of that here, so
that a change to how the server is started reaches every benchmark.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path


def start_server(port: int, name: str = "server", **env: str) -> tuple[subprocess.Popen, Path]:
    """`joinedup serve` on 127.0.0.1:`port` as a user runs it (DEBUG off, production settings,
    no redirect to HTTPS on the loopback), `env` added to its environment, its error output
    kept in a file. Returns once it answers `/ping`, or once it has stopped: the caller checks
    `poll()` and prints `server_errors(log)`."""
    log = Path(tempfile.mkstemp(prefix=f"joinedup-bench-{name}-", suffix=".log")[1])
    server = subprocess.Popen(
        [sys.executable, "-m", "joinedup.cli", "serve", "--bind", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
        env={**os.environ, "JOINEDUP_DEBUG": "false", "JOINEDUP_SSL_REDIRECT": "false", **env},
    )
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=2).read()
            break
        except OSError:
            if server.poll() is not None:
                break
            time.sleep(0.3)
    return server, log


def server_errors(log: Path, lines: int = 60) -> str:
    """The end of the server's error output, to print beside a benchmark's failure."""
    text = log.read_text(errors="replace").strip().splitlines()
    return "\n".join(text[-lines:]) if text else "(the server wrote nothing to its error output)"


def process_cpu_seconds(pid: int) -> float:
    """CPU time of `pid` and its live children (gunicorn's workers), from /proc."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(entry.name) == pid or int(fields[1]) == pid:
            total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def percentile(values: list[float], share: float) -> float:
    """The value below which `share` of `values` lie (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]
