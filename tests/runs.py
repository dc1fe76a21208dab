"""Which of the suite's two runs (SQLite, then PostgreSQL; scripts/run-tests) a check runs in.

Most tests run in both. A few walk the whole surface of the product and do the same work in
either database: the authorisation matrix and the gate's coverage (every endpoint, for every
role) and the browser walks. Running all of them twice doubled the suite's time for little
more found, so each runs whole in one run and is sampled or left out in the other:

- the matrix and the gate's coverage run for every role on PostgreSQL (the production
  database, where a page's SQL is checked against the server that will run it) and for a
  few roles on SQLite, which still request every endpoint;
- the browser walks run on SQLite (the database `make demo` runs on, and the run a
  developer without a PostgreSQL server has); on PostgreSQL every page they visit is
  requested by the matrix above for every role;
- `joinedup demo` started as a process (tests/web/test_demo_command.py) runs on its own
  SQLite file whichever run starts it, so it is started in the SQLite run only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import pytest
from django.db import connection

POSTGRESQL_RUN = connection.vendor == "postgresql"

browser_walks_run = pytest.mark.skipif(
    POSTGRESQL_RUN,
    reason="browser walks run once, in the SQLite run; on PostgreSQL the authorisation "
    "matrix requests every page they visit, for every role",
)


def every_one_on_postgresql(
    values: Iterable[Any], kept_on_sqlite: set[str], name: Callable[[Any], str]
) -> list[Any]:
    """`values` as parameters: all of them on PostgreSQL, only those named in
    `kept_on_sqlite` on SQLite (the others are reported as skipped there, with the reason)."""
    skipped = pytest.mark.skipif(
        not POSTGRESQL_RUN,
        reason="runs for every role on PostgreSQL; on SQLite for a sample of roles",
    )
    chosen = []
    for value in values:
        marks = () if name(value) in kept_on_sqlite else (skipped,)
        chosen.append(pytest.param(value, marks=marks, id=name(value)))
    unknown = kept_on_sqlite - {name(v) for v in values}
    if unknown:
        raise ValueError(f"not among the values: {sorted(unknown)}")
    return chosen
