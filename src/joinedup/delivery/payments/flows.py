"""Fees: asking for a payment, taking the provider's webhooks, refunding.

The provider tells us a payment succeeded by a signed webhook; the same event delivered
twice is applied once. A successful payment completes the applicant's "pay the fee" task, so
the process (and the clock, which stood still meanwhile) goes on.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from decimal import Decimal

import requests
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django_tasks import task

from joinedup.sharing import outbox

from ..models import Application, Payment, PaymentWebhook
from . import registry
from .base import WebhookRejected

logger = logging.getLogger(__name__)
EVENT_PREFIX = "org.joinedup.payment."


def announce(payment: Payment, verb: str, extra: dict | None = None) -> None:
    data = {
        "payment": str(payment.pk),
        "application": str(payment.application_id),
        "amount": str(payment.amount),
        "currency": payment.currency,
        "provider": payment.provider,
        "status": payment.status,
    }
    data.update(extra or {})
    outbox.emit(
        EVENT_PREFIX + verb, source="/joinedup/delivery", subject=str(payment.pk), data=data
    )


def request(application: Application, amount=None) -> Payment:
    """Create a payment for the application's fee (or `amount`) with the active provider."""
    provider = registry.active()
    value = Decimal(str(amount)) if amount not in (None, "") else application.fee_amount
    payment = Payment(
        application=application,
        provider=provider.key,
        amount=value,
        currency=application.fee_currency or "CAD",
    )
    intent = provider.create_intent(
        value,
        payment.currency,
        f"{application.service.key} {application.reference}",
        {"payment": str(payment.pk), "application": str(application.pk)},
    )
    payment.intent_id = intent.id
    payment.checkout_url = intent.checkout_url
    payment.save(force_insert=True)
    announce(payment, "requested")
    return payment


class WebhookOutcome:
    APPLIED = "applied"
    DUPLICATE = "duplicate"
    IGNORED = "ignored"


def handle_webhook(provider_key: str, body: bytes, headers: Mapping[str, str]) -> str:
    """Verify and apply a provider's webhook. Raises WebhookRejected when it is not genuine."""
    provider = registry.get(provider_key)
    event = provider.parse_webhook(body, headers)
    with transaction.atomic():
        try:
            with transaction.atomic():
                PaymentWebhook.objects.create(
                    provider=provider_key, event_id=event.id, type=event.type, payload=event.data
                )
        except IntegrityError:
            return WebhookOutcome.DUPLICATE
        payment = (
            Payment.objects.select_for_update()
            .filter(provider=provider_key, intent_id=event.intent_id)
            .first()
        )
        if payment is None:
            return WebhookOutcome.IGNORED
        if event.type == "payment.succeeded" and payment.status in {
            Payment.Status.PENDING,
            Payment.Status.FAILED,
        }:
            _succeeded(payment)
        elif event.type == "payment.failed" and payment.status == Payment.Status.PENDING:
            payment.status = Payment.Status.FAILED
            payment.failure_reason = str(event.data.get("error") or "declined")[:300]
            payment.save(update_fields=["status", "failure_reason"])
            announce(payment, "failed", {"reason": payment.failure_reason})
        elif event.type == "refund.succeeded" and payment.status != Payment.Status.REFUNDED:
            payment.status = Payment.Status.REFUNDED
            payment.refund_id = str(event.data.get("refund") or "")[:100]
            payment.refunded_at = timezone.now()
            payment.save(update_fields=["status", "refund_id", "refunded_at"])
            announce(payment, "refunded")
        else:
            return WebhookOutcome.IGNORED
    return WebhookOutcome.APPLIED


def _succeeded(payment: Payment) -> None:
    from .. import queues

    payment.status = Payment.Status.SUCCEEDED
    payment.failure_reason = ""
    payment.paid_at = timezone.now()
    payment.save(update_fields=["status", "failure_reason", "paid_at"])
    announce(payment, "succeeded")
    application = payment.application
    if queues.applicant_task(application, "payment") is not None:
        queues.respond(None, application, "", kind="payment", extra={"paid": True})


def refund(payment: Payment, reason: str) -> Payment:
    """Refund a paid fee in full (idempotent: a refunded payment stays as it is)."""
    provider = registry.get(payment.provider)
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        if payment.status != Payment.Status.SUCCEEDED:
            return payment
        payment.refund_id = provider.refund(payment.intent_id, None, reason)
        payment.status = Payment.Status.REFUNDED
        payment.refund_reason = reason[:300]
        payment.refunded_at = timezone.now()
        payment.save(update_fields=["status", "refund_id", "refund_reason", "refunded_at"])
        announce(payment, "refunded", {"reason": reason})
    return payment


@task()
def deliver_sandbox_webhook(body: str, signature: str) -> str:
    """The sandbox processor's webhook delivery: over HTTP when a URL is configured (as a
    real processor would call us), else straight to the handler in this process."""
    from .contrib.sandbox import SIGNATURE_HEADER

    url = settings.PAYMENT_SANDBOX_WEBHOOK_URL
    headers = {SIGNATURE_HEADER: signature, "Content-Type": "application/json"}
    if url:
        response = requests.post(url, data=body.encode(), headers=headers, timeout=10)
        response.raise_for_status()
        return str(response.status_code)
    try:
        return handle_webhook("sandbox", body.encode(), headers)
    except WebhookRejected as error:
        logger.warning("sandbox webhook rejected: %s", error)
        return "rejected"
