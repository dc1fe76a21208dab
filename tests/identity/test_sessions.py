"""A staff session's idle clock: renewed by a request at most once a minute (a write of the
session row), never later than the idle limit; public sessions keep their day."""

from __future__ import annotations

import datetime

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from joinedup.identity.sessions import RENEW_SECONDS, SESSION_RENEWED_AT

from .conftest import sign_in

pytestmark = pytest.mark.django_db


def _session_writes(queries) -> list[str]:
    return [
        q["sql"]
        for q in queries.captured_queries
        if "django_session" in q["sql"]
        and q["sql"].lstrip().upper().startswith(("UPDATE", "INSERT"))
    ]


def _row(client) -> Session:
    return Session.objects.get(session_key=client.session.session_key)


def _age_renewal(client, seconds: int) -> None:
    """As if the idle clock had last been renewed `seconds` earlier."""
    session = client.session
    session[SESSION_RENEWED_AT] -= seconds
    session.save()
    Session.objects.filter(session_key=session.session_key).update(
        expire_date=timezone.now() + datetime.timedelta(seconds=_idle() - seconds)
    )


def _idle() -> int:
    return settings.STAFF_SESSION_IDLE_SECONDS


def test_requests_within_a_minute_do_not_write_the_session(client, small_federation, make_staff):
    sign_in(client, make_staff())
    client.get(reverse("identity:account"))
    before = _row(client).expire_date
    with CaptureQueriesContext(connection) as queries:
        for _ in range(5):
            assert client.get(reverse("identity:account")).status_code == 200
    assert _session_writes(queries) == []
    assert _row(client).expire_date == before


def test_a_request_after_a_minute_renews_the_idle_clock(client, small_federation, make_staff):
    sign_in(client, make_staff())
    client.get(reverse("identity:account"))
    _age_renewal(client, RENEW_SECONDS + 5)
    aged = _row(client).expire_date
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("identity:account")).status_code == 200
    assert len(_session_writes(queries)) == 1
    renewed = _row(client).expire_date
    assert renewed > aged
    expected = timezone.now() + datetime.timedelta(seconds=_idle())
    assert abs((renewed - expected).total_seconds()) < 30
    assert client.session.get_expiry_age() == _idle()


def test_a_staff_session_idle_past_the_limit_is_over(client, small_federation, make_staff):
    sign_in(client, make_staff())
    client.get(reverse("identity:account"))
    # Renewed within the minute, yet idle past the limit: the row's expiry decides.
    Session.objects.filter(session_key=client.session.session_key).update(
        expire_date=timezone.now() - datetime.timedelta(seconds=1)
    )
    answer = client.get(reverse("identity:account"))
    assert answer.status_code == 302 and reverse("identity:sign-in") in answer["Location"]


def test_public_sessions_are_not_renewed_by_requests(client, make_account):
    sign_in(client, make_account())
    client.get(reverse("identity:account"))
    with CaptureQueriesContext(connection) as queries:
        for _ in range(3):
            client.get(reverse("identity:account"))
    assert _session_writes(queries) == []
    assert client.session.get_expiry_age() == settings.SESSION_COOKIE_AGE
