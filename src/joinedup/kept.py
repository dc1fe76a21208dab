"""Rows of the catalogue kept per process for a short while, as the working calendars are.

A bundle's acceptance reads the same catalogue rows on every request (the bundle, its
services and their current versions, what is offered where, the provinces legs name, the
data categories, the routing of its legs): each read costs a statement and the ORM's
building, while the rows change a few times a year. A `Kept` holds such answers by key for
`seconds`; a save or delete of one of its models in this process forgets them all at once,
and other processes see the change within the lifetime (one minute by default).

Writes that bypass the ORM's signals (`QuerySet.update`, `bulk_create`, raw SQL) are seen
when the lifetime ends, or at once after `forget_all()`.

What is kept is shared by the threads of the process: callers treat it as read-only.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from django.db import models
from django.db.models.signals import post_delete, post_save

#: How long an answer is kept, in seconds.
SECONDS = 60

_ALL: list[Kept] = []


class Kept:
    """Answers by key, each kept `seconds`; forgotten when a row of `watched` changes."""

    def __init__(
        self, name: str, watched: Iterable[type[models.Model]], seconds: float = SECONDS
    ) -> None:
        self.name = name
        self.seconds = seconds
        self._found: dict[Any, tuple[float, Any]] = {}
        self._lock = threading.Lock()
        for model in watched:
            post_save.connect(self._changed, sender=model, dispatch_uid=f"kept:{name}:{model}")
            post_delete.connect(
                self._changed, sender=model, dispatch_uid=f"kept:{name}:{model}:deleted"
            )
        _ALL.append(self)

    def _changed(self, **_kwargs) -> None:
        self.forget()

    def forget(self) -> None:
        with self._lock:
            self._found.clear()

    def get(self, key: Any, read: Callable[[], Any]) -> Any:
        """The answer kept for `key`, else `read()`'s (kept for next time)."""
        now = time.monotonic()
        found = self._found.get(key)
        if found is not None and found[0] > now:
            return found[1]
        value = read()
        with self._lock:
            self._found[key] = (now + self.seconds, value)
        return value


def forget_all() -> None:
    """Forget every kept answer (a test's rows rolled back send no signal)."""
    for kept in _ALL:
        kept.forget()
