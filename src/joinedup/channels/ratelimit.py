"""Rate limits per credential: a token bucket for each agency API client and each personal
token.

Agency clients: a bucket kept in the database.

Each client has a bucket of `burst` requests refilled at `per_minute` per minute (the
platform's defaults, JOINEDUP_API_CLIENT_RATE_PER_MINUTE and JOINEDUP_API_CLIENT_BURST, or
the client's own on its `RateBucket`). A request takes one token; with none left the API
answers 429 with `Retry-After` (whole seconds until the next token). The bucket's row is
locked while it is read and written, so concurrent requests of one client never overspend.

Personal tokens (a person's own scripts): a bucket of JOINEDUP_PERSONAL_TOKEN_BURST requests
refilled at JOINEDUP_PERSONAL_TOKEN_RATE_PER_MINUTE, far above what a person's own use
needs, so that only a runaway or stolen token meets it. It is kept in Django's cache, not
the database, so that a person's requests cost no write: with the default cache each web
process counts on its own; with a shared cache (JOINEDUP_CACHE_URL=redis://...) all count
together. Two requests racing in one instant may both pass: a bound, not an exact meter.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from joinedup.identity import tokens
from joinedup.identity.models import ApiClient, PersonalToken

from .models import RateBucket

API_PREFIX = "/api/"


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    remaining: int
    retry_after: int = 0
    limit: int = 0


def _limits(bucket: RateBucket | None) -> tuple[int, int]:
    per_minute = (bucket.per_minute if bucket else None) or settings.API_CLIENT_RATE_PER_MINUTE
    burst = (bucket.burst if bucket else None) or settings.API_CLIENT_BURST
    return per_minute, burst


def take(client: ApiClient) -> Verdict:
    """Take one token from the client's bucket (refilled for the time that passed)."""
    now = timezone.now()
    with transaction.atomic():
        bucket = RateBucket.objects.select_for_update().filter(client=client).first()
        if bucket is None:
            per_minute, burst = _limits(None)
            bucket, _created = RateBucket.objects.get_or_create(
                client=client, defaults={"tokens": float(burst), "updated_at": now}
            )
            bucket = RateBucket.objects.select_for_update().get(pk=bucket.pk)
        per_minute, burst = _limits(bucket)
        rate = per_minute / 60.0
        elapsed = max(0.0, (now - bucket.updated_at).total_seconds())
        tokens_now = min(float(burst), bucket.tokens + elapsed * rate)
        if tokens_now >= 1.0:
            bucket.tokens = tokens_now - 1.0
            bucket.updated_at = now
            bucket.save(update_fields=["tokens", "updated_at"])
            return Verdict(True, int(bucket.tokens), limit=per_minute)
        bucket.tokens = tokens_now
        bucket.updated_at = now
        bucket.save(update_fields=["tokens", "updated_at"])
        wait = math.ceil((1.0 - tokens_now) / rate) if rate > 0 else 60
        return Verdict(False, 0, max(1, wait), per_minute)


def take_personal(token: PersonalToken) -> Verdict:
    """Take one request from the personal token's bucket (the generic cell rate algorithm:
    one number per token, the time at which its bucket will be full again)."""
    per_minute = settings.PERSONAL_TOKEN_RATE_PER_MINUTE
    burst = settings.PERSONAL_TOKEN_BURST
    interval = 60.0 / per_minute
    # The key id, not the row id: a row id can come back after a delete, a key id does not.
    key = f"ratelimit:personal-token:{token.key_id}"
    now = time.time()
    full_at = max(cache.get(key) or now, now)
    # The bucket holds `burst` requests: it is empty once full_at is burst intervals away.
    if full_at - now > interval * (burst - 1):
        wait = full_at - now - interval * (burst - 1)
        return Verdict(False, 0, max(1, math.ceil(wait)), per_minute)
    full_at += interval
    cache.set(key, full_at, timeout=math.ceil(full_at - now) + 1)
    remaining = int((interval * burst - (full_at - now)) / interval)
    return Verdict(True, max(0, remaining), limit=per_minute)


def _credential_of(request: HttpRequest) -> ApiClient | PersonalToken | None:
    header = request.headers.get("Authorization", "")
    scheme, _sep, value = header.partition(" ")
    value = value.strip()
    if scheme.lower() != "bearer" or not value.startswith(
        (tokens.CLIENT_PREFIX + "_", tokens.PERSONAL_PREFIX + "_")
    ):
        return None
    return tokens.authenticate_request(request, value)


class RateLimitMiddleware:
    """Applies each credential's bucket (API client or personal token) to its requests under
    /api/ (others pass; an unknown credential is refused by the API itself)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith(API_PREFIX):
            return self.get_response(request)
        credential = _credential_of(request)
        if credential is None:
            return self.get_response(request)
        verdict = (
            take(credential) if isinstance(credential, ApiClient) else take_personal(credential)
        )
        if not verdict.allowed:
            response = JsonResponse(
                {
                    "detail": _(
                        "Too many requests from this client: try again in %(seconds)s seconds."
                    )
                    % {"seconds": verdict.retry_after}
                },
                status=429,
            )
            response["Retry-After"] = str(verdict.retry_after)
            response["RateLimit-Limit"] = str(verdict.limit)
            response["RateLimit-Remaining"] = "0"
            return response
        response = self.get_response(request)
        response["RateLimit-Limit"] = str(verdict.limit)
        response["RateLimit-Remaining"] = str(verdict.remaining)
        return response
