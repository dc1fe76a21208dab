"""Databases of their own for tests that run the project's real processes (workers, servers,
nodes of the exchange): the test database is invisible to other processes.

Migrating a new database from nothing takes half a minute or more (Django renders the models'
states again and again), so no test does it: each test worker snapshots its own test database
as pytest-django has just migrated it, before any test has written to it (`VACUUM INTO` on
SQLite, `CREATE DATABASE … TEMPLATE` on PostgreSQL), and each test gets a copy of that. The
SQLite variant on the PostgreSQL run has no SQLite test database to snapshot: it takes the
one the SQLite run kept when scripts/run-tests names a folder for it (TEST_TEMPLATES_DIR),
and otherwise migrates a template once per worker. The copies hold exactly what
`joinedup migrate` leaves (migrating makes no node keys or other per-node state)."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
#: Where the SQLite run leaves its migrated template for the PostgreSQL run (scripts/run-tests
#: makes the folder for one run of the suite and removes it after).
SHARED_TEMPLATES = os.environ.get("TEST_TEMPLATES_DIR", "")


def query(url: str, sql: str) -> list[tuple]:
    """The rows of one statement on a database given by its URL (SQLite file or PostgreSQL)."""
    if url.startswith("sqlite:///"):
        with sqlite3.connect(url.removeprefix("sqlite:///"), timeout=30) as db:
            return db.execute(sql).fetchall()
    with psycopg.connect(url.replace("postgres://", "postgresql://")) as db:
        return db.execute(sql).fetchall()


def postgres_server() -> str | None:
    """The PostgreSQL server of this test run, or None on the SQLite run."""
    server = os.environ.get("DATABASE_URL", "")
    return server if server.startswith("postgres") else None


def _migrate(url: str, scratch: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update(
        DJANGO_SETTINGS_MODULE="joinedup.settings",
        PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "src")]),
        DATABASE_URL=url,
        JOINEDUP_DATA_DIR=str(scratch),
    )
    result = subprocess.run(
        [sys.executable, "-m", "joinedup.cli", "migrate", "--verbosity", "0"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-3000:]


def _admin(server: str) -> psycopg.Connection:
    return psycopg.connect(server.replace("postgres://", "postgresql://"), autocommit=True)


def _share(template: Path) -> None:
    """Leave a migrated SQLite template for the suite's next run (SHARED_TEMPLATES)."""
    if SHARED_TEMPLATES:
        # Written whole under another name first: a reader never sees half a file.
        partial = Path(SHARED_TEMPLATES) / f"{uuid.uuid4().hex}.partial"
        shutil.copyfile(template, partial)
        os.replace(partial, Path(SHARED_TEMPLATES) / "template.sqlite3")


class Templates:
    """One migrated template per kind, made on first use; dropped by `close()`."""

    def __init__(self, scratch: Path):
        self.scratch = scratch
        self.made: dict[str, str] = {}

    def snapshot(self, connection) -> None:
        """Keep the test database, as migrated and still empty, as the template of its kind
        (unless no test of the session asked for a database, and none was made)."""
        if "django_migrations" not in connection.introspection.table_names():
            return
        if connection.vendor == "sqlite":
            target = self.scratch / "template.sqlite3"
            with connection.cursor() as cursor:
                cursor.execute("VACUUM INTO %s", [str(target)])
            self.made["sqlite"] = f"sqlite:///{target}"
            _share(target)
        elif connection.vendor == "postgresql" and (server := postgres_server()):
            source = connection.settings_dict["NAME"]
            connection.close()  # a template must have no session open on it
            name = f"tmpl_{uuid.uuid4().hex[:12]}"
            with _admin(server) as db:
                db.execute(f'CREATE DATABASE "{name}" TEMPLATE "{source}"')
            self.made["postgres"] = server.rsplit("/", 1)[0] + "/" + name

    def template(self, kind: str) -> str:
        if kind not in self.made:
            if kind == "sqlite":
                url = f"sqlite:///{self.scratch / 'template.sqlite3'}"
                kept = Path(SHARED_TEMPLATES, "template.sqlite3") if SHARED_TEMPLATES else None
                if kept and kept.exists():  # the SQLite run's, as migrated
                    shutil.copyfile(kept, self.scratch / "template.sqlite3")
                    self.made[kind] = url
                    return url
            else:
                server = postgres_server()
                assert server, "a PostgreSQL template is made only on the PostgreSQL run"
                name = f"tmpl_{uuid.uuid4().hex[:12]}"
                with _admin(server) as db:
                    db.execute(f'CREATE DATABASE "{name}"')
                url = server.rsplit("/", 1)[0] + "/" + name
            _migrate(url, self.scratch)
            if kind == "sqlite":
                _share(self.scratch / "template.sqlite3")
            self.made[kind] = url
        return self.made[kind]

    def copy(self, kind: str, where: Path) -> str:
        """A new migrated database of `kind`: a file in the folder `where` (or the file
        `where`, if it ends in .sqlite3), or a new PostgreSQL database."""
        template = self.template(kind)
        if kind == "sqlite":
            target = where if where.suffix == ".sqlite3" else where / f"{uuid.uuid4().hex}.sqlite3"
            shutil.copyfile(template.removeprefix("sqlite:///"), target)
            return f"sqlite:///{target}"
        server = postgres_server()
        name = f"copy_{uuid.uuid4().hex[:12]}"
        with _admin(server) as db:
            db.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template.rsplit("/", 1)[1]}"')
        return server.rsplit("/", 1)[0] + "/" + name

    def drop(self, url: str) -> None:
        server = postgres_server()
        if server and url.startswith("postgres"):
            with _admin(server) as db:
                db.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')

    def close(self) -> None:
        for url in self.made.values():
            self.drop(url)
