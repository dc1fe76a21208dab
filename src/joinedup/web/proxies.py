"""Whether a request came over HTTPS, believing X-Forwarded-Proto only from our own proxies.

A proxy in front of the platform terminates TLS and says which scheme the browser used in
`X-Forwarded-Proto`. Anyone can send that header, though: believed from anyone, a plain-HTTP
request claiming `https` would be treated as secure (no redirect to HTTPS, secure cookies
sent back over plain HTTP). So the header counts only when JOINEDUP_PROXY_COUNT says proxies
stand in front (the same number that tells the sign-in lockout which address is the
client's), and then only the value our outermost proxy wrote: with N proxies each adding its
value, the N-th from the right (a client's own value, further left, is ignored). With no
proxy configured the header is ignored and the scheme is the connection's own. gunicorn is
told to believe no forwarded header itself (joinedup.web.server), so this is the one place
that decides.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

SCHEMES = frozenset({"http", "https"})


def forwarded_scheme(header: str, proxy_count: int) -> str | None:
    """The scheme our outermost proxy reported in `header`, or None when none counts."""
    if proxy_count < 1:
        return None
    values = [value.strip().lower() for value in header.split(",") if value.strip()]
    if not values:
        return None
    # Fewer values than proxies: they replaced the header rather than adding to it, so its
    # first value is a proxy's own.
    scheme = values[-proxy_count] if len(values) >= proxy_count else values[0]
    return scheme if scheme in SCHEMES else None


class ForwardedProtoMiddleware:
    """Sets the request's scheme from X-Forwarded-Proto only as `forwarded_scheme` allows;
    first in the chain, so that the HTTPS redirect and secure cookies see the truth."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        scheme = forwarded_scheme(
            request.META.get("HTTP_X_FORWARDED_PROTO", ""), settings.PROXY_COUNT
        )
        if scheme is not None:
            request.META["wsgi.url_scheme"] = scheme
        return self.get_response(request)
