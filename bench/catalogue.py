"""Catalogue API benchmark: requests per second beside the server's own limit, same run.

Run it with the project's Python: `.venv/bin/python bench/catalogue.py` (also `make bench`).

It sets up a throw-away platform (a fresh SQLite file in a temporary data directory, or a
fresh database on the PostgreSQL server of DATABASE_URL when that is set), migrates it and
loads the demo federations through `joinedup demo --no-serve`, starts `joinedup serve` with
the production settings (DEBUG off) on a free loopback port, and loads it with `wrk` (16
connections). Each endpoint is warmed up, then measured for a fixed time:

- /ping: a constant answer through the whole middleware stack, the reference: the most this
  server can answer, measured on the same machine in the same run;
- /healthz: the same, plus a database connection;
- /api/v1/services: the catalogue's first page;
- /api/v1/routing: competent-authority routing, rotating over services and places.

The aim (docs/performance.md) is that each API endpoint answers at least half as many
requests per second as /ping. The run fails (exit 1) when the server fails: it stops, or
answers anything but success.
"""

import argparse
import json
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

PYTHON = sys.executable
DEMO_ROOT = (
    Path(__file__).resolve().parent.parent / "src" / "joinedup" / "demo" / "data" / "federations"
)
TARGET_RATIO = 0.5
ROUTES_WANTED = 24


@dataclass
class Measure:
    name: str
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int
    failures: int
    socket_errors: str
    load_cpu: float  # share of one core used by wrk
    server_cpu: float  # share of one core used by gunicorn, all processes


class BenchmarkFailed(Exception):
    pass


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get_json(url: str) -> tuple[int, object]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 (loopback)
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, None


def demo_federations() -> list[Path]:
    """The demo federations that `joinedup demo` loads: each folder holding data files."""
    folders = sorted(
        folder
        for folder in DEMO_ROOT.iterdir()
        if folder.is_dir()
        and any(p.suffix in {".yaml", ".yml", ".json"} for p in folder.rglob("*"))
    )
    if not folders:
        raise BenchmarkFailed(f"no demo federation in {DEMO_ROOT}")
    return folders


class TemporaryPostgres:
    """A database of its own on the server of `url`, dropped at the end."""

    def __init__(self, url: str):
        import psycopg

        self.psycopg = psycopg
        self.admin_url = url.replace("postgres://", "postgresql://", 1)
        self.name = f"joinedup_bench_{os.getpid()}_{int(time.time())}"
        parts = urllib.parse.urlsplit(url)
        self.url = urllib.parse.urlunsplit(parts._replace(path="/" + self.name))

    def __enter__(self) -> "TemporaryPostgres":
        with self.psycopg.connect(self.admin_url, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{self.name}"')
        return self

    def __exit__(self, *exc) -> None:
        with self.psycopg.connect(self.admin_url, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def _process_cpu_seconds(pid: int) -> float:
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


def _milliseconds(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def _parse_wrk(output: str) -> dict:
    def find(pattern: str) -> str:
        found = re.search(pattern, output)
        if not found:
            raise BenchmarkFailed(f"could not read wrk's output:\n{output}")
        return found.group(1)

    failures = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = re.search(r"Socket errors: (.*)", output)
    return {
        "requests_per_second": float(find(r"Requests/sec:\s+([\d.]+)")),
        "p50_ms": _milliseconds(find(r"50%\s+([\d.]+\w+)")),
        "p99_ms": _milliseconds(find(r"99%\s+([\d.]+\w+)")),
        "requests": int(find(r"(\d+) requests in")),
        "failures": int(failures.group(1)) if failures else 0,
        "socket_errors": errors.group(1).strip() if errors else "",
    }


class Bench:
    def __init__(self, args: argparse.Namespace, workdir: Path, database_url: str | None):
        self.args = args
        self.workdir = workdir
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
        self.env.update(
            JOINEDUP_DATA_DIR=str(workdir / "data"),
            JOINEDUP_DEBUG="false",
            JOINEDUP_LOG_LEVEL="WARNING",
            DJANGO_SETTINGS_MODULE="joinedup.settings",
        )
        if database_url:
            self.env["DATABASE_URL"] = database_url
        if args.cache_url is not None:
            self.env["JOINEDUP_CACHE_URL"] = args.cache_url
        self.server: subprocess.Popen | None = None
        self.server_log = workdir / "server.log"

    def joinedup(self, *arguments: str) -> str:
        done = subprocess.run(
            [PYTHON, "-m", "joinedup.cli", *arguments],
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode:
            raise BenchmarkFailed(
                f"joinedup {' '.join(arguments)} failed:\n{done.stdout}{done.stderr}"
            )
        return done.stdout

    def prepare(self) -> None:
        """Migrate and load the demo federations (static files are not needed here)."""
        self.joinedup("migrate", "--verbosity", "0")
        for folder in demo_federations():
            output = self.joinedup("load_federation", "--verbosity", "0", str(folder))
            print(f"   {output.strip()}")

    def start_server(self) -> None:
        command = [
            PYTHON,
            "-m",
            "joinedup.cli",
            "serve",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(self.args.workers),
            "--threads",
            str(self.args.threads),
        ]
        log = self.server_log.open("w")
        self.server = subprocess.Popen(command, env=self.env, stdout=log, stderr=log)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            self.check_server()
            try:
                if _get_json(self.base + "/healthz")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise BenchmarkFailed("the server did not answer within 60 s")

    def check_server(self) -> None:
        if self.server is not None and self.server.poll() is not None:
            raise BenchmarkFailed(
                f"the server stopped (exit code {self.server.returncode}):\n"
                + self.server_log.read_text()[-3000:]
            )

    def stop_server(self) -> None:
        if self.server is None or self.server.poll() is not None:
            return
        self.server.send_signal(signal.SIGTERM)
        try:
            self.server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.server.kill()
            self.server.wait()

    def routing_paths(self) -> list[str]:
        """Pairs of service and place that route, over many services and the deepest places.

        For each service, a place inside one of its offering areas and as deep in the tree
        as there is, so that routing walks up several levels to find the offering.
        """
        status, services = _get_json(self.base + "/api/v1/services?limit=500")
        if status != 200:
            raise BenchmarkFailed(f"/api/v1/services answered {status}")
        status, places = _get_json(self.base + "/api/v1/jurisdictions?limit=500")
        if status != 200:
            raise BenchmarkFailed(f"/api/v1/jurisdictions answered {status}")
        deepest_first = sorted(places["items"], key=lambda p: -p["path"].count("/"))
        paths: list[str] = []
        for service in services["items"]:
            status, detail = _get_json(f"{self.base}/api/v1/services/{service['key']}")
            if status != 200:
                raise BenchmarkFailed(f"/api/v1/services/{service['key']} answered {status}")
            areas = {offering["area"] for offering in detail["offerings"]}
            place = next(
                (
                    p["code"]
                    for p in deepest_first
                    if any(p["path"].split("/").count(area) for area in areas)
                ),
                None,
            )
            if place is None:
                continue
            query = urllib.parse.urlencode({"service": service["key"], "jurisdiction": place})
            path = f"/api/v1/routing?{query}"
            status, _answer = _get_json(self.base + path)
            if status != 200:
                raise BenchmarkFailed(f"{path} answered {status}")
            paths.append(path)
            if len(paths) >= ROUTES_WANTED:
                break
        if not paths:
            raise BenchmarkFailed("no service routes anywhere: are the demo federations loaded?")
        return paths

    def wrk(self, name: str, paths: list[str], seconds: int) -> Measure:
        slug = re.sub(r"\W+", "-", name).strip("-")
        script = self.workdir / f"{slug}.lua"
        lua_paths = ", ".join(json.dumps(path) for path in paths)
        script.write_text(
            f"local paths = {{{lua_paths}}}\n"
            "local i = 0\n"
            "request = function()\n"
            "  i = i % #paths + 1\n"
            '  return wrk.format("GET", paths[i])\n'
            "end\n"
        )
        command = [
            "wrk",
            "--threads",
            "1",
            "--connections",
            str(self.args.connections),
            "--duration",
            f"{seconds}s",
            "--timeout",
            "10s",
            "--latency",
            "--script",
            str(script),
            self.base,
        ]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        server_before = _process_cpu_seconds(self.server.pid)
        started = time.monotonic()
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        elapsed = time.monotonic() - started
        server_cpu = (_process_cpu_seconds(self.server.pid) - server_before) / elapsed
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if done.returncode:
            raise BenchmarkFailed(f"wrk failed:\n{done.stdout}{done.stderr}")
        self.check_server()
        load_cpu = (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) / elapsed
        return Measure(
            name=name, load_cpu=load_cpu, server_cpu=server_cpu, **_parse_wrk(done.stdout)
        )


@dataclass
class Row:
    """One endpoint's figures over the rounds: the round with the median ratio to /ping."""

    name: str
    median: Measure
    reference: Measure
    ratio: float
    ratios: list[float]


def summarise(rounds: list[list[Measure]]) -> list[Row]:
    """Each round measured every endpoint once, /ping first; compare within each round.

    Other work on the machine comes and goes; comparing an endpoint with /ping measured
    seconds before it, then taking the median round, keeps that noise out of the ratio.
    """
    rows = []
    for index in range(len(rounds[0])):
        pairs = sorted(
            (
                (round_[index].requests_per_second / round_[0].requests_per_second, round_)
                for round_ in rounds
            ),
            key=lambda pair: pair[0],
        )
        ratio, median_round = pairs[len(pairs) // 2]
        rows.append(
            Row(
                name=median_round[index].name,
                median=median_round[index],
                reference=median_round[0],
                ratio=ratio,
                ratios=[pair[0] for pair in pairs],
            )
        )
    return rows


def print_table(rows: list[Row]) -> None:
    width = max(15, 5 * len(rows[0].ratios) - 1)
    header = (
        f"{'endpoint':<27} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'/ping req/s':>11} "
        f"{'ratio':>6}  {'ratios by round':<{width}} {'server CPU':>10} {'wrk CPU':>7}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        m = row.median
        ratios = " ".join(f"{r:.2f}" for r in row.ratios)
        print(
            f"{row.name:<27} {m.requests_per_second:>7.0f} {m.p50_ms:>7.2f} {m.p99_ms:>7.2f} "
            f"{row.reference.requests_per_second:>11.0f} {row.ratio:>6.2f}  {ratios:<{width}} "
            f"{m.server_cpu:>10.0%} {m.load_cpu:>7.0%}"
        )


def run(args: argparse.Namespace) -> int:
    if shutil.which("wrk") is None:
        print("wrk is needed: `make bench` installs it (Debian package wrk).", file=sys.stderr)
        return 1
    database_url = os.environ.get("DATABASE_URL")
    workdir = Path(tempfile.mkdtemp(prefix="joinedup-bench-"))
    postgres = TemporaryPostgres(database_url) if database_url else None
    started = time.monotonic()
    try:
        if postgres:
            postgres.__enter__()
        bench = Bench(args, workdir, postgres.url if postgres else None)
        print(
            f"== Catalogue API on {'PostgreSQL' if postgres else 'SQLite'}, "
            f"{os.cpu_count()} cores, gunicorn {args.workers} workers x {args.threads} "
            f"threads, {args.connections} connections, cache "
            f"{args.cache_url if args.cache_url is not None else '(default)'}, "
            f"{args.rounds} rounds of {args.duration} s"
        )
        bench.prepare()
        bench.start_server()
        try:
            routes = bench.routing_paths()
            print(f"   set up in {time.monotonic() - started:.0f} s")
            endpoints = [
                ("/ping", ["/ping"]),
                ("/healthz", ["/healthz"]),
                ("/api/v1/services", ["/api/v1/services"]),
                (f"/api/v1/routing ({len(routes)} pairs)", routes),
            ]
            for name, paths in endpoints:
                bench.wrk(name, paths, args.warmup)
            rounds: list[list[Measure]] = []
            for _round in range(args.rounds):
                measures = []
                for name, paths in endpoints:
                    measure = bench.wrk(name, paths, args.duration)
                    if measure.failures:
                        raise BenchmarkFailed(
                            f"{name}: {measure.failures} of {measure.requests} requests failed"
                        )
                    measures.append(measure)
                rounds.append(measures)
        finally:
            bench.stop_server()
        rows = summarise(rounds)
        print_table(rows)
        for round_ in rounds:
            for measure in round_:
                if measure.socket_errors:
                    print(f"   {measure.name}: socket errors: {measure.socket_errors}")
        worst = min(row.ratio for row in rows if row.name.startswith("/api/"))
        verdict = "met" if worst >= TARGET_RATIO else "NOT met"
        print(f"Aim: each API endpoint at least {TARGET_RATIO:.0%} of /ping: {verdict}.")
        print(f"   finished in {time.monotonic() - started:.0f} s")
        return 0
    except BenchmarkFailed as failure:
        print(f"!! benchmark failed: {failure}", file=sys.stderr)
        return 1
    finally:
        if postgres:
            postgres.__exit__(None, None, None)
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--duration", type=int, default=3, help="seconds measured per endpoint and round (3)"
    )
    parser.add_argument("--rounds", type=int, default=5, help="rounds over all endpoints (5)")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of warm-up (3)")
    parser.add_argument("--connections", type=int, default=16, help="concurrent clients (16)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (2)")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker (4)")
    parser.add_argument(
        "--cache-url",
        default=None,
        help="JOINEDUP_CACHE_URL for the server, e.g. dummy:// to measure without the cache",
    )
    return run(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
