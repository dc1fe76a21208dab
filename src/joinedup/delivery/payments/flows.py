"""Fees: asking for a payment, taking the provider's webhooks, refunding.

The provider tells us a payment succeeded by a signed webhook; the same event delivered
twice is applied once. A successful payment completes the applicant's "pay the fee" task, so
the process (and the clock, which stood still meanwhile) goes on: the work queues, a floor
above, register that reaction with `when_paid`, and it runs in the webhook's transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from joinedup.sharing import outbox

from ..models import Application, Payment, PaymentWebhook
from . import registry

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


#: What must happen, in the webhook's transaction, once a fee is paid. The modules above the
#: payments fill it (the work queues complete the applicant's "pay the fee" task), so that
#: this module calls them without importing them.
_ON_PAID: dict[str, Callable[[Payment], object]] = {}


def when_paid(function: Callable[[Payment], object]) -> Callable[[Payment], object]:
    """Register `fn(payment)` to run when a payment succeeds (inside the webhook's
    transaction: what it writes stands or falls with the payment's new status)."""
    _ON_PAID[f"{function.__module__}.{function.__qualname__}"] = function
    return function


def _succeeded(payment: Payment) -> None:
    payment.status = Payment.Status.SUCCEEDED
    payment.failure_reason = ""
    payment.paid_at = timezone.now()
    payment.save(update_fields=["status", "failure_reason", "paid_at"])
    announce(payment, "succeeded")
    for reaction in list(_ON_PAID.values()):
        reaction(payment)


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


registry.receive_webhooks_with(handle_webhook)
