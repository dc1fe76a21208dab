"""Webhooks: events sent to external systems over HTTP, signed, logged and retried.

Each request carries the event as CloudEvents JSON (structured mode,
`Content-Type: application/cloudevents+json`) and the header

    Joinedup-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>." + body>

keyed with the endpoint's secret. A receiver recomputes the HMAC over the raw body, compares
in constant time, refuses timestamps older than a few minutes (replays), and drops an event
id it has already processed: delivery is at least once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

import requests

from joinedup import __version__

from .models import Delivery, WebhookAttempt, WebhookEndpoint

SIGNATURE_HEADER = "Joinedup-Signature"
CONTENT_TYPE = "application/cloudevents+json; charset=utf-8"
TIMEOUT = (3.05, 10)
EXCERPT = 500


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    message = str(timestamp).encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def signature_header(secret: str, body: bytes, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    return f"t={timestamp},v1={sign(secret, timestamp, body)}"


def verify_signature(
    secret: str, header: str, body: bytes, *, tolerance: int = 300, now: int | None = None
) -> bool:
    """What a receiver does (shown here so that tests and the documentation share it)."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
        given = parts["v1"]
    except (KeyError, ValueError):
        return False
    now = int(time.time()) if now is None else now
    if abs(now - timestamp) > tolerance:
        return False
    return hmac.compare_digest(given, sign(secret, timestamp, body))


def post(delivery: Delivery, body: bytes, event_id: str) -> tuple[bool, str]:
    """Send one event to one endpoint; log the attempt; (succeeded, error)."""
    endpoint = delivery.webhook
    headers = {
        "Content-Type": CONTENT_TYPE,
        SIGNATURE_HEADER: signature_header(endpoint.secret, body),
        "Webhook-Id": event_id,
        "User-Agent": f"Joinedup/{__version__} webhooks",
    }
    started = time.monotonic()
    status_code = None
    excerpt = error = ""
    try:
        response = requests.post(
            endpoint.url, data=body, headers=headers, timeout=TIMEOUT, allow_redirects=False
        )
        status_code = response.status_code
        excerpt = response.text[:EXCERPT]
        if not 200 <= status_code < 300:
            error = f"HTTP {status_code}"
    except requests.RequestException as exc:
        error = f"{type(exc).__name__}: {exc}"[:EXCERPT]
    WebhookAttempt.objects.create(
        delivery=delivery,
        status_code=status_code,
        duration_ms=int((time.monotonic() - started) * 1000),
        error=error,
        response_excerpt=excerpt,
    )
    return not error, error


def create_endpoint(name: str, url: str, event_types: list[str], agency=None) -> WebhookEndpoint:
    endpoint = WebhookEndpoint(
        name=name, url=url, event_types=event_types, agency=agency, secret=new_secret()
    )
    endpoint.full_clean()
    endpoint.save()
    return endpoint
