"""A logging filter that removes anything shaped like a personal identifier from log records.

It is attached to every handler in settings.LOGGING, so it sees records from every logger,
including Django's own (a request path with a number in it, an exception message quoting a
form value). It errs on the side of redacting: a nine-digit order number is hidden too.
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache

from . import identifiers

REDACTED = "[redacted identifier]"


@lru_cache(maxsize=1)
def _pattern() -> re.Pattern[str]:
    patterns = [t.redaction_pattern for t in identifiers.all_types() if t.redaction_pattern]
    return re.compile("|".join(f"(?:{p})" for p in patterns))


def redact(text: str) -> str:
    """The text with every identifier-shaped run replaced."""
    return _pattern().sub(REDACTED, text)


class IdentifierRedactionFilter(logging.Filter):
    """Rewrites a record's message (with its arguments merged) and any exception text."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: keep what can be kept, never crash logging
            message = str(record.msg)
        record.msg = redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True
