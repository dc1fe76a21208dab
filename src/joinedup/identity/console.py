"""The staff console's entries: each app registers the tools it offers staff, and the console
and the staff header show only those the policy allows the person in their current role.

Identity sits low in the import order and may not import the apps whose tools staff use
(delivery's queue, the counter, the performance dashboard): so each app registers its own
entries from its `ready()`, naming the policy rule its page asks. Asking that same rule here
means the console never offers a link that would answer 403.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.urls import reverse

from .acting import ActingContext
from .policy import decide, known


@dataclass(frozen=True)
class ConsoleEntry:
    """One tool on the staff console: its words, the page's URL name and the rule it asks."""

    key: str
    label: Any  # a lazy translation
    description: Any
    url_name: str
    action: str
    #: The resource the page's rule looks at, from the acting context (the agency, say).
    resource: Callable[[ActingContext], Any] | None = None
    #: The URL's arguments, from the acting context (the agency's key, say); None when the
    #: context has nothing to fill them with (the entry is then not offered).
    url_kwargs: Callable[[ActingContext], dict[str, Any] | None] | None = None
    #: Smaller first: the tools of daily work before the figures.
    order: int = 100


@dataclass(frozen=True)
class Tool:
    """An entry as one person sees it: words and where it leads."""

    key: str
    label: str
    description: str
    url: str


_ENTRIES: dict[str, ConsoleEntry] = {}


def register(entry: ConsoleEntry) -> ConsoleEntry:
    """Offer a tool on the console (called once per entry from an app's `ready()`)."""
    if not known(entry.action):
        raise ValueError(f"no policy rule is registered for {entry.action}")
    _ENTRIES[entry.key] = entry
    return entry


def entries() -> list[ConsoleEntry]:
    return sorted(_ENTRIES.values(), key=lambda e: (e.order, e.key))


def tools_for(context: ActingContext, limit: int | None = None) -> list[Tool]:
    """The tools the policy allows this person, in their current role, in console order.

    Nothing for a person who is not staff in this session (a citizen, or staff who have not
    given their second factor yet). `limit`: stop at that many (the header shows the first
    few, and asking the policy and reversing the URL of every other tool on each page cost
    time for nothing)."""
    if not context.is_staff:
        return []
    shown: list[Tool] = []
    for entry in entries():
        if limit is not None and len(shown) >= limit:
            break
        kwargs = entry.url_kwargs(context) if entry.url_kwargs else {}
        if kwargs is None:
            continue
        resource = entry.resource(context) if entry.resource else None
        if not decide(context, entry.action, resource).allowed:
            continue
        shown.append(
            Tool(
                entry.key,
                str(entry.label),
                str(entry.description),
                reverse(entry.url_name, kwargs=kwargs),
            )
        )
    return shown
