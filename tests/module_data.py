"""Data loaded once for all the tests of a module (or a class), when loading it takes most
of their time.

`loaded_once(django_db_blocker)` opens a transaction around the tests and rolls it back
after the last of them: a module- (or class-) scoped fixture loads its data inside, and each
test (`django_db`, not transactional) runs in a savepoint of its own, rolled back after it
as usual, so no test sees another's writes. Only where every test of the module (or class)
uses that fixture: the transaction stays open until the last of them, so a test that did
not ask for the data would still see it; and none may be transactional (the live server,
the browser walks), which empties the tables itself. The data is loaded with the settings
as they are before any test's own (function-scoped) changes: a fixture that needs some of
those sets them around its load.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import transaction


@contextmanager
def loaded_once(django_db_blocker) -> Iterator[None]:
    """The transaction around the tests, the database unblocked for the fixture's load."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield
        transaction.set_rollback(True)
