"""The payment providers known to this installation, by key (a registry of plugins)."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from .base import PaymentProvider

_PROVIDERS: dict[str, type[PaymentProvider]] = {}
_INSTANCES: dict[str, PaymentProvider] = {}


def register(provider: type[PaymentProvider]) -> type[PaymentProvider]:
    if not provider.key:
        raise ValueError("a payment provider needs a key")
    _PROVIDERS[provider.key] = provider
    _INSTANCES.pop(provider.key, None)
    return provider


def load_builtin() -> None:
    from .contrib import sandbox  # noqa: F401 (registers itself)


def get(key: str) -> PaymentProvider:
    if key not in _PROVIDERS:
        load_builtin()
    if key not in _PROVIDERS:
        raise ImproperlyConfigured(
            f"unknown payment provider {key!r}; known: {', '.join(sorted(_PROVIDERS))}"
        )
    if key not in _INSTANCES:
        _INSTANCES[key] = _PROVIDERS[key]()
    return _INSTANCES[key]


def active() -> PaymentProvider:
    """The provider new payments use (JOINEDUP_PAYMENT_PROVIDER)."""
    return get(settings.PAYMENT_PROVIDER)


def known() -> list[str]:
    load_builtin()
    return sorted(_PROVIDERS)
