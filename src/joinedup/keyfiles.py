"""Keys the embedded set-up keeps in its data directory, each made exactly once.

Without configured keys (`JOINEDUP_SECRET_KEY`, the document and ledger signing keys), the
embedded set-up makes its own and keeps them beside its database. Several processes start
together (the web server's workers, the task worker), so the first use of a key can happen in
two processes at once: a check for the file followed by a write lets one process read a file
the other has not finished writing (an empty key: a server error), or lets both write, and
each then signs with a key the other does not know. Here the key is written whole to a
private temporary file and then linked into place, which the file system does only if no key
is there yet; every process then reads the one key that won.

This module sits below every app (it imports nothing of Django), so the settings can use it.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def read_or_create(path: Path, make: Callable[[], str]) -> str:
    """The key kept at `path`; made with `make()` (readable by its owner only) if there is none.

    Safe when several threads or processes ask at once: all of them get the same key, and no
    one ever reads a partly written file.
    """
    try:
        return _read(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, draft = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mode 0600
    try:
        with os.fdopen(descriptor, "w") as handle:
            handle.write(make().strip() + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        # Atomic, and refused when another process's key is there: then that one is used.
        with contextlib.suppress(FileExistsError):
            os.link(draft, path)
    finally:
        os.unlink(draft)
    return _read(path)


def _read(path: Path) -> str:
    key = path.read_text().strip()
    if not key:
        raise ValueError(f"the key file {path.name} is empty: remove it to have a new one made")
    return key
