"""Internal subscribers: functions that react to outbox events, registered per event type.

    @subscriber("org.joinedup.application.submitted")
    def open_case(event: Event) -> None: ...

A handler runs inside a transaction together with the record that it succeeded, so a handler
whose writes are all in the database runs exactly once per event in effect; anything it does
outside the database (a message, a call) must be idempotent by `event.id`, because a crash
between that call and the commit runs it again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.utils.dateparse import parse_datetime


@dataclass(frozen=True)
class Event:
    """What a handler receives: the CloudEvents attributes and the data."""

    id: str
    type: str
    source: str
    subject: str
    time: Any
    data: dict

    @classmethod
    def from_envelope(cls, envelope: dict) -> Event:
        return cls(
            id=envelope["id"],
            type=envelope["type"],
            source=envelope["source"],
            subject=envelope.get("subject", ""),
            time=parse_datetime(envelope["time"].replace("Z", "+00:00")),
            data=envelope.get("data") or {},
        )


Handler = Callable[[Event], None]


@dataclass(frozen=True)
class Subscription:
    name: str
    pattern: str
    handler: Handler

    def wants(self, event_type: str) -> bool:
        if self.pattern == "*" or self.pattern == event_type:
            return True
        return self.pattern.endswith(".*") and event_type.startswith(self.pattern[:-1])


_REGISTRY: dict[str, Subscription] = {}


def subscriber(pattern: str, *, name: str | None = None) -> Callable[[Handler], Handler]:
    """Register a handler for an event type (or a prefix ending in `.*`).

    The name (default: module.function) identifies the subscriber in delivery records: keep
    it stable, or the handler will receive past undelivered events under a new name.
    """

    def register(handler: Handler) -> Handler:
        key = name or f"{handler.__module__}.{handler.__qualname__}"
        _REGISTRY[key] = Subscription(key, pattern, handler)
        return handler

    return register


def unregister(name: str) -> None:
    _REGISTRY.pop(name, None)


def for_type(event_type: str) -> list[Subscription]:
    return sorted((s for s in _REGISTRY.values() if s.wants(event_type)), key=lambda s: s.name)


def get(name: str) -> Subscription | None:
    return _REGISTRY.get(name)
