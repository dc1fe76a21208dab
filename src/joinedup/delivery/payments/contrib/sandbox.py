"""The sandbox payment provider: behaves like a real processor, moves no money.

It keeps its own books (`SandboxIntent`, as a processor would on its side), answers with
payment intents, takes a test card on its checkout page (4242 4242 4242 4242 succeeds;
4000 0000 0000 0002 is declined), refunds, and tells us what happened through webhooks signed
with HMAC-SHA256 over `<timestamp>.<body>`, like the processors it imitates:

    Sandbox-Signature: t=1767225600,v1=5257a869…

A webhook older than five minutes, or with a wrong signature, is rejected.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import time
from collections.abc import Mapping
from decimal import Decimal

import requests
from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django_tasks import task

from ...models import SandboxIntent
from ..base import Intent, PaymentProvider, WebhookEvent, WebhookRejected
from ..registry import receive_webhook, register

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "Sandbox-Signature"
TOLERANCE_SECONDS = 300
SUCCEEDING_CARD = "4242424242424242"
DECLINED_CARD = "4000000000000002"


def _cents(amount: Decimal) -> int:
    return int((Decimal(amount) * 100).quantize(Decimal(1)))


def sign(body: bytes, timestamp: int | None = None, secret: str | None = None) -> str:
    """The signature header value for a webhook body."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    key = (secret or settings.PAYMENT_SANDBOX_SECRET).encode()
    digest = hmac.new(key, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


@register
class SandboxProvider(PaymentProvider):
    key = "sandbox"
    name = "Sandbox (test payments, no money moves)"

    def check_config(self) -> list[str]:
        problems = []
        if len(settings.PAYMENT_SANDBOX_SECRET or "") < 16:
            problems.append("JOINEDUP_PAYMENT_SANDBOX_SECRET must have at least 16 characters")
        if settings.SECURE:
            problems.append("the sandbox provider moves no money: do not use it in production")
        return problems

    def create_intent(
        self, amount: Decimal, currency: str, description: str, metadata: Mapping[str, str]
    ) -> Intent:
        payment = str(metadata.get("payment", ""))
        existing = (
            SandboxIntent.objects.filter(metadata__payment=payment).first() if payment else None
        )
        intent = existing or SandboxIntent.objects.create(
            id="pi_" + secrets.token_hex(12),
            amount=_cents(amount),
            currency=currency.upper(),
            description=description[:200],
            metadata=dict(metadata),
        )
        return self._intent(intent)

    def _intent(self, intent: SandboxIntent) -> Intent:
        return Intent(
            id=intent.id,
            status=intent.status,
            amount=Decimal(intent.amount) / 100,
            currency=intent.currency,
            checkout_url=reverse("delivery:sandbox-checkout", args=[intent.id]),
        )

    def refund(self, intent_id: str, amount: Decimal | None = None, reason: str = "") -> str:
        with transaction.atomic():
            intent = SandboxIntent.objects.select_for_update().get(pk=intent_id)
            if intent.status != "succeeded":
                raise ValueError("only a paid intent can be refunded")
            cents = intent.amount if amount is None else _cents(amount)
            if intent.refunded + cents > intent.amount:
                raise ValueError("the refund would exceed what was paid")
            intent.refunded += cents
            intent.save(update_fields=["refunded"])
            refund_id = "re_" + secrets.token_hex(10)
            self.send_webhook(intent, "refund.succeeded", {"refund": refund_id, "reason": reason})
        return refund_id

    # The processor's side: what happens when a person pays on the checkout page.
    def pay(self, intent_id: str, card_number: str) -> SandboxIntent:
        """Charge a test card: the succeeding card pays, any other is declined."""
        digits = "".join(ch for ch in card_number if ch.isdigit())
        with transaction.atomic():
            intent = SandboxIntent.objects.select_for_update().get(pk=intent_id)
            if intent.status == "succeeded":
                return intent
            if digits == SUCCEEDING_CARD:
                intent.status = "succeeded"
                intent.last_error = ""
                event = "payment.succeeded"
            else:
                intent.status = "requires_payment_method"
                intent.last_error = "card_declined"
                event = "payment.failed"
            intent.save(update_fields=["status", "last_error"])
            self.send_webhook(intent, event, {"error": intent.last_error})
        return intent

    def webhook(self, intent: SandboxIntent, event_type: str, extra: dict | None = None):
        """The webhook the processor sends: (body, headers)."""
        payload = {
            "id": "evt_" + secrets.token_hex(12),
            "type": event_type,
            "created": int(timezone.now().timestamp()),
            "data": {
                "intent": intent.id,
                "amount": intent.amount,
                "currency": intent.currency,
                "status": intent.status,
                "metadata": intent.metadata,
                **(extra or {}),
            },
        }
        body = json.dumps(payload, separators=(",", ":")).encode()
        return body, {SIGNATURE_HEADER: sign(body), "Content-Type": "application/json"}

    def send_webhook(self, intent: SandboxIntent, event_type: str, extra: dict | None = None):
        """Deliver the webhook after the commit, as the processor would, by a background
        task (to JOINEDUP_PAYMENT_SANDBOX_WEBHOOK_URL, or in-process when none is set)."""
        body, headers = self.webhook(intent, event_type, extra)
        transaction.on_commit(
            lambda: deliver_sandbox_webhook.enqueue(body.decode(), headers[SIGNATURE_HEADER])
        )
        return body, headers

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> WebhookEvent:
        header = headers.get(SIGNATURE_HEADER) or headers.get(SIGNATURE_HEADER.lower()) or ""
        parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
        if "t" not in parts or "v1" not in parts or not parts["t"].isdigit():
            raise WebhookRejected("missing or malformed signature header")
        timestamp = int(parts["t"])
        if abs(time.time() - timestamp) > TOLERANCE_SECONDS:
            raise WebhookRejected("the webhook is too old (or from the future)")
        expected = sign(body, timestamp).split("v1=", 1)[1]
        if not hmac.compare_digest(expected, parts["v1"]):
            raise WebhookRejected("the signature does not match")
        try:
            payload = json.loads(body)
            return WebhookEvent(
                id=str(payload["id"]),
                type=str(payload["type"]),
                intent_id=str(payload["data"]["intent"]),
                data=payload["data"],
            )
        except (ValueError, KeyError, TypeError):
            raise WebhookRejected("the body is not a webhook event") from None


@task()
def deliver_sandbox_webhook(body: str, signature: str) -> str:
    """The sandbox processor's webhook delivery: over HTTP when a URL is configured (as a
    real processor would call us), else straight to the handler in this process (through the
    registry, which knows it: a provider never imports the flows that use it)."""
    url = settings.PAYMENT_SANDBOX_WEBHOOK_URL
    headers = {SIGNATURE_HEADER: signature, "Content-Type": "application/json"}
    if url:
        response = requests.post(url, data=body.encode(), headers=headers, timeout=10)
        response.raise_for_status()
        return str(response.status_code)
    try:
        return receive_webhook(SandboxProvider.key, body.encode(), headers)
    except WebhookRejected as error:
        logger.warning("sandbox webhook rejected: %s", error)
        return "rejected"
