"""Session lengths: staff sessions end after a short idle time, everyone else's after a day.

A staff session is more valuable to an attacker (it opens many people's records), so it is
renewed on each request but ends after settings.STAFF_SESSION_IDLE_SECONDS without one.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from .acting import needs_second_factor

SESSION_IS_STAFF = "identity.staff_session"


class SessionLengthMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            staff = request.session.get(SESSION_IS_STAFF)
            if staff is None:
                staff = needs_second_factor(user)
                request.session[SESSION_IS_STAFF] = staff
            if staff:
                request.session.set_expiry(settings.STAFF_SESSION_IDLE_SECONDS)
        return self.get_response(request)
