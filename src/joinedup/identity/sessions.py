"""Session lengths: staff sessions end after a short idle time, everyone else's after a day.

A staff session is more valuable to an attacker (it opens many people's records), so it ends
after settings.STAFF_SESSION_IDLE_SECONDS without a request. Its idle clock is renewed by a
request at most once a minute (`RENEW_SECONDS`), not on every request: renewing writes the
session row (its expiry moves), and a console that asks for a page, a fragment and a few
htmx updates each second would otherwise write the session table on each of them. The
session therefore ends between `STAFF_SESSION_IDLE_SECONDS - RENEW_SECONDS` and
`STAFF_SESSION_IDLE_SECONDS` after the last request: never later than the limit.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from .acting import needs_second_factor

SESSION_IS_STAFF = "identity.staff_session"
#: When the idle clock was last renewed (seconds since the epoch, as an integer).
SESSION_RENEWED_AT = "identity.idle_renewed_at"
#: The idle clock is renewed at most this often.
RENEW_SECONDS = 60


def _renew_due(session, now: int) -> bool:
    renewed = session.get(SESSION_RENEWED_AT)
    if not isinstance(renewed, int) or renewed > now:
        return True  # never renewed (a new session), or a clock that went back
    if session.get("_session_expiry") != settings.STAFF_SESSION_IDLE_SECONDS:
        return True  # the idle limit changed (settings), or was never set on this session
    return now - renewed >= RENEW_SECONDS


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
            now = int(time.time())
            if staff and _renew_due(request.session, now):
                # Changing the session saves it: its expiry is now + the idle limit.
                request.session[SESSION_RENEWED_AT] = now
                request.session.set_expiry(settings.STAFF_SESSION_IDLE_SECONDS)
        return self.get_response(request)
