"""What a payment provider plugin implements (payment intents, refunds, signed webhooks)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class Intent:
    """A provider's payment intent: the amount to collect and where the person pays it."""

    id: str
    status: str
    amount: Decimal
    currency: str
    checkout_url: str = ""


@dataclass(frozen=True)
class WebhookEvent:
    """A verified webhook: `type` is payment.succeeded, payment.failed or refund.succeeded."""

    id: str
    type: str
    intent_id: str
    data: dict[str, Any] = field(default_factory=dict)


class WebhookRejected(Exception):
    """The webhook's signature is missing, wrong or too old, or its body is not understood."""


class PaymentProvider(ABC):
    """One payment processor. Register subclasses with `registry.register`."""

    key: str = ""
    name: str = ""

    def check_config(self) -> list[str]:
        """Problems with this provider's settings (empty when it is ready to use)."""
        return []

    @abstractmethod
    def create_intent(
        self, amount: Decimal, currency: str, description: str, metadata: Mapping[str, str]
    ) -> Intent:
        """Ask the processor to collect `amount`; idempotent per metadata["payment"]."""

    @abstractmethod
    def refund(self, intent_id: str, amount: Decimal | None = None, reason: str = "") -> str:
        """Refund a paid intent (all of it by default); returns the refund's id."""

    @abstractmethod
    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> WebhookEvent:
        """Verify and read a webhook; raise WebhookRejected if it cannot be trusted."""
