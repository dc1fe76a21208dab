"""Panels other apps show on delivery's work-item page.

Delivery knows nothing of what other apps build on the engine (a shared service's request,
its recorded time). An app that has something to show, or to record, beside a task
registers a panel once, when its app is ready:

    panels.register(Panel("backoffice.time", "backoffice/panels/time.html", context=..., post=...))

On each work-item page, delivery asks every panel, in order, for its template context
(`context(request, acting, item)`): None when the panel has nothing for this task or this
person (the panel asks the policy itself). A panel with a form posts it to the work-item
page with `action=panel` and `panel=<key>`; delivery hands it to the panel's `post`, which
returns the message to show once done, or raises `PanelError` (bad input: the page comes
back with the message, 400, and what was entered) or `PolicyDenied`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils.safestring import SafeString

from joinedup.identity.acting import ActingContext

from .models import WorkItem

__all__ = ["Panel", "PanelError", "find", "register", "registered", "render", "unregister"]

Context = Callable[[HttpRequest, ActingContext, WorkItem], dict | None]
Post = Callable[[HttpRequest, ActingContext, WorkItem], str]


class PanelError(Exception):
    """A panel's form refused, with a message for the person."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Panel:
    key: str
    template: str
    context: Context
    post: Post | None = None
    order: int = 100


_PANELS: dict[str, Panel] = {}


def register(panel: Panel) -> Panel:
    """Add (or replace, by its key) a panel of the work-item page."""
    _PANELS[panel.key] = panel
    return panel


def unregister(key: str) -> None:
    _PANELS.pop(key, None)


def registered() -> list[Panel]:
    """The panels, in their order (then by key)."""
    return sorted(_PANELS.values(), key=lambda panel: (panel.order, panel.key))


def find(key: str) -> Panel | None:
    """The panel that takes a form, by its key (None: no such panel, or it takes none)."""
    panel = _PANELS.get(key)
    return panel if panel is not None and panel.post is not None else None


def render(
    request: HttpRequest,
    acting: ActingContext,
    item: WorkItem,
    problem: tuple[str, str] | None = None,
) -> list[SafeString]:
    """The panels that have something for this task and person, rendered in order.
    `problem`: (panel key, message) when that panel's form was just refused."""
    shown = []
    for panel in registered():
        context = panel.context(request, acting, item)
        if context is None:
            continue
        refused = problem is not None and problem[0] == panel.key
        context = {
            **context,
            "item": item,
            "panel_key": panel.key,
            "problem": problem[1] if refused else "",
            "entered": request.POST if refused else {},
        }
        shown.append(SafeString(render_to_string(panel.template, context, request=request)))
    return shown
