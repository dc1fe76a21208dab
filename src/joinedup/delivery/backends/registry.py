"""The agency back-end plugins, by key, and the agency → plugin choice (AgencyBackend).

Plugins register themselves (`@register`) when their module is imported; the delivery app's
`ready()` imports the built-in ones (`backends/contrib/`). The registry imports no plugin: a
plugin imports `base` and this module.
"""

from __future__ import annotations

from typing import Any

from joinedup.federation.models import Agency

from ..models import AgencyBackend, Application, Forwarding, WorkItem
from .base import BackendPlugin

DEFAULT = "queues"
_PLUGINS: dict[str, BackendPlugin] = {}


def register(plugin: type[BackendPlugin]) -> type[BackendPlugin]:
    if not plugin.key:
        raise ValueError("a back-end plugin needs a key")
    _PLUGINS[plugin.key] = plugin()
    return plugin


def get(key: str) -> BackendPlugin:
    if key not in _PLUGINS:
        raise KeyError(f"unknown agency back-end {key!r}; known: {', '.join(sorted(_PLUGINS))}")
    return _PLUGINS[key]


def keys() -> list[str]:
    return sorted(_PLUGINS)


def backend_for(agency_id: int) -> tuple[BackendPlugin, dict[str, Any]]:
    """The agency's plugin and its settings (Joinedup's queues when none is set)."""
    row = AgencyBackend.objects.filter(agency_id=agency_id).first()
    if row is None:
        return get(DEFAULT), {}
    return get(row.plugin), dict(row.config or {})


def backend_of(agency: Agency) -> tuple[BackendPlugin, dict[str, Any]]:
    """Like `backend_for`, read through the agency's `backend` relation, which a step of the
    engine loads with its application (no query then; at most one per agency object)."""
    try:
        row = agency.backend
    except AgencyBackend.DoesNotExist:
        return get(DEFAULT), {}
    return get(row.plugin), dict(row.config or {})


def check(row: AgencyBackend) -> list[str]:
    try:
        plugin = get(row.plugin)
    except KeyError as error:
        return [str(error)]
    return plugin.check_config(row.config or {})


def open_item(item: WorkItem) -> None:
    plugin, config = backend_of(item.agency)
    plugin.open_item(item, config)


def forward(application: Application, item: WorkItem | None = None) -> Forwarding | None:
    plugin, config = backend_of(application.agency)
    return plugin.forward(application, config, item)
