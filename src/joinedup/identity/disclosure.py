"""Showing a person's record to someone other than the person: only through the data gate.

The data gate (`sharing.gate`) decides which fields may be shown, on which legal basis, and
writes every decision to the person's access ledger ("Who used my data"). It lives in an app
above identity, which identity may not import; so sharing installs it here when it starts
(`install`, from its app's `ready()`), and identity's pages, endpoints and tasks that show a
record ask `disclose` for the fields they show, then show only what came back.

Deny by default: until a gate is installed, nothing is shown to anyone but the person.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from .acting import ActingContext
from .models import Person


class Shown(Protocol):
    """What the gate let through: field key → value, and the keys it withheld."""

    fields: Mapping[str, Any]
    withheld: list[str]


class Refused(PermissionDenied):
    """Nothing may be shown. `code` is for machines, the message for people (translated)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


#: The purpose of every read in the admin site (platform administrators only).
ADMINISTRATION = "platform-administration"

Gate = Callable[..., Shown]
_gate: Gate | None = None


def install(gate: Gate) -> None:
    """Make `gate(context, person, requested, purpose)` the one way records are shown."""
    global _gate
    _gate = gate


def disclose(
    context: ActingContext, person: Person, requested: Iterable[str], purpose: str
) -> Shown:
    """The fields of `requested` (category or field keys) that may be shown to the actor for
    this purpose; the read is written to the person's ledger unless the actor is the person.
    Raises Refused."""
    if _gate is None:
        raise Refused("no_gate", _("This record cannot be shown right now."))
    return _gate(context, person, list(requested), purpose)
