"""The payment providers known to this installation, by key (a registry of plugins).

Providers register themselves (`@register`) when their module is imported; the delivery
app's `ready()` imports the built-in ones (`payments/contrib/`). The registry imports no
provider and none of the flows that use them: a provider imports `base` and this module.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from .base import PaymentProvider

_PROVIDERS: dict[str, type[PaymentProvider]] = {}
_INSTANCES: dict[str, PaymentProvider] = {}

WebhookReceiver = Callable[[str, bytes, Mapping[str, str]], str]
_RECEIVERS: list[WebhookReceiver] = []


def register(provider: type[PaymentProvider]) -> type[PaymentProvider]:
    if not provider.key:
        raise ValueError("a payment provider needs a key")
    _PROVIDERS[provider.key] = provider
    _INSTANCES.pop(provider.key, None)
    return provider


def get(key: str) -> PaymentProvider:
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
    return sorted(_PROVIDERS)


def receive_webhooks_with(receiver: WebhookReceiver) -> None:
    """Name the function that applies a provider's webhook (`flows.handle_webhook` names
    itself when loaded), for providers that deliver their own webhooks in this process."""
    _RECEIVERS[:] = [receiver]


def receive_webhook(provider_key: str, body: bytes, headers: Mapping[str, str]) -> str:
    """Apply a webhook as if it had arrived at the provider's endpoint (raises
    WebhookRejected like the endpoint's handler)."""
    if not _RECEIVERS:
        raise ImproperlyConfigured("no webhook receiver is loaded (the delivery app is not ready)")
    return _RECEIVERS[0](provider_key, body, headers)
