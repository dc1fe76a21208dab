"""The signed-REST back-end: cases go to the agency's own system over HTTPS, signed.

Each case is POSTed as JSON to the agency's URL with

    Joinedup-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>" with the shared secret>
    Joinedup-Delivery: <forwarding id>      (the same on every retry: deduplicate on it)

and the agency's system answers 2xx with a delivery receipt, signed the same way in the
`Joinedup-Receipt-Signature` header:

    {"receipt": "<its own id>", "delivery": "<forwarding id>", "received_at": "<ISO time>"}

A case without a valid receipt is retried with growing delays, then marked failed (and the
application held for staff). The agency's system reports its decisions back through the API
(`POST /api/v1/work-items/{id}/complete`) with its API client.

Settings per agency (AgencyBackend.config): {"url": "https://…", "secret": "…"}.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import requests
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_tasks import task

from ... import timeline
from ...models import Application, Forwarding, WorkItem
from ..base import BackendPlugin
from ..registry import backend_for, register

logger = logging.getLogger(__name__)
SIGNATURE = "Joinedup-Signature"
RECEIPT_SIGNATURE = "Joinedup-Receipt-Signature"
DELIVERY = "Joinedup-Delivery"
TIMEOUT_SECONDS = 10


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def check_signature(secret: str, body: bytes, header: str, tolerance: int = 300) -> bool:
    parts = dict(p.split("=", 1) for p in (header or "").split(",") if "=" in p)
    if not parts.get("t", "").isdigit() or "v1" not in parts:
        return False
    if abs(time.time() - int(parts["t"])) > tolerance:
        return False
    expected = sign(secret, body, int(parts["t"])).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts["v1"])


@register
class SignedRestBackend(BackendPlugin):
    key = "signed_rest"
    name = "The agency's own system (signed REST)"

    def check_config(self, config: Mapping[str, Any]) -> list[str]:
        problems = []
        url = str(config.get("url") or "")
        if not url.startswith(("https://", "http://")):
            problems.append("url: give the address of the agency's receiving endpoint")
        elif settings.SECURE and not url.startswith("https://"):
            problems.append("url: must use https:// in production")
        if len(str(config.get("secret") or "")) < 32:
            problems.append("secret: a shared secret of at least 32 characters is needed")
        return problems

    def open_item(self, item: WorkItem, config: Mapping[str, Any]) -> None:
        item.status = WorkItem.Status.FORWARDED
        item.save(update_fields=["status"])
        self.forward(item.application, config, item)

    def forward(
        self, application: Application, config: Mapping[str, Any], item: WorkItem | None = None
    ) -> Forwarding:
        forwarding = Forwarding.objects.create(
            application=application,
            work_item=item,
            agency_id=application.agency_id,
            plugin=self.key,
        )
        transaction.on_commit(lambda: send_forwarding.enqueue(str(forwarding.pk)))
        return forwarding


def payload(forwarding: Forwarding) -> dict[str, Any]:
    application = forwarding.application
    item = forwarding.work_item
    base = settings.PUBLIC_URL.rstrip("/")
    return {
        "delivery": str(forwarding.pk),
        "application": {
            "id": str(application.pk),
            "reference": application.reference,
            "service": application.service.key,
            "version": application.version.number,
            "channel": application.channel,
            "submitted_at": application.submitted_at.isoformat(),
            "due_date": str(application.due_date) if application.due_date else None,
            "place": application.place.code,
            "answers": application.data,
        },
        "work_item": None
        if item is None
        else {
            "id": item.pk,
            "task": item.task_name,
            "title": item.title,
            "role": item.role,
            "decisions": item.decisions,
            "complete_url": f"{base}/api/v1/work-items/{item.pk}/complete",
        },
    }


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(3600, 5 * 2 ** max(0, attempts - 1)))


def deliver(forwarding_id: str) -> str:
    """One attempt to deliver a forwarding; returns its status afterwards."""
    with transaction.atomic():
        forwarding = (
            Forwarding.objects.select_for_update(of=("self",))
            .select_related("application__service", "application__version", "application__place")
            .get(pk=forwarding_id)
        )
        if forwarding.status != Forwarding.Status.PENDING:
            return forwarding.status
        _plugin, config = backend_for(forwarding.agency_id)
        secret = str(config.get("secret") or "")
        body = json.dumps(payload(forwarding), separators=(",", ":"), default=str).encode()
        headers = {
            "Content-Type": "application/json",
            SIGNATURE: sign(secret, body),
            DELIVERY: str(forwarding.pk),
        }
        forwarding.attempts += 1
        error = ""
        try:
            response = requests.post(
                str(config.get("url")), data=body, headers=headers, timeout=TIMEOUT_SECONDS
            )
            if response.status_code // 100 != 2:
                error = f"HTTP {response.status_code}"
            elif not check_signature(
                secret, response.content, response.headers.get(RECEIPT_SIGNATURE, "")
            ):
                error = "the receipt's signature is missing or wrong"
            else:
                receipt = response.json()
                if receipt.get("delivery") != str(forwarding.pk) or not receipt.get("receipt"):
                    error = "the receipt is for another delivery"
        except (requests.RequestException, ValueError) as failure:
            error = f"{type(failure).__name__}: {failure}"[:500]
        if not error:
            forwarding.status = Forwarding.Status.DELIVERED
            forwarding.receipt = receipt
            forwarding.receipt_id = str(receipt["receipt"])[:200]
            forwarding.delivered_at = timezone.now()
            forwarding.last_error = ""
            timeline.announce(
                forwarding.application, "forwarded", {"receipt": forwarding.receipt_id}
            )
        elif forwarding.attempts >= settings.DELIVERY_FORWARD_MAX_ATTEMPTS:
            forwarding.status = Forwarding.Status.FAILED
            forwarding.last_error = error
            timeline.announce(forwarding.application, "forwarding_failed", {"error": error})
        else:
            forwarding.last_error = error
            forwarding.next_attempt_at = timezone.now() + backoff(forwarding.attempts)
        forwarding.save()
        return forwarding.status


def deliver_due(limit: int = 100) -> int:
    """Retry the forwardings whose next attempt is due; returns how many were tried."""
    due = Forwarding.objects.filter(
        status=Forwarding.Status.PENDING, next_attempt_at__lte=timezone.now()
    ).values_list("pk", flat=True)[:limit]
    count = 0
    for pk in list(due):
        deliver(str(pk))
        count += 1
    return count


@task()
def send_forwarding(forwarding_id: str) -> str:
    return deliver(forwarding_id)
