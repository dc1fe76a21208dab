"""The session's user and their authenticator read in one statement keep every guarantee of
Django's and django-otp's own reads: a staff page needs the second factor the session was
verified with, from a device that is still the account's and confirmed; a changed password
or a deactivated account ends the session."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.sessions.middleware import SessionMiddleware
from django.db import connection
from django.http import HttpResponse
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from joinedup.identity.session_user import AuthenticationMiddleware, OTPMiddleware

from .conftest import PASSWORD, sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(small_federation, make_staff):
    return make_staff()


def _staff_home(client):
    return client.get(reverse("identity-staff:home"))


def _sent_to_second_factor(response) -> bool:
    return response.status_code == 302 and reverse("identity:two-factor") in response["Location"]


def test_a_verified_staff_session_reads_its_user_and_device_in_one_statement(client, staff):
    sign_in(client, staff)
    request = RequestFactory().get("/")
    request.COOKIES[settings.SESSION_COOKIE_NAME] = client.cookies[
        settings.SESSION_COOKIE_NAME
    ].value
    seen = {}

    def view(request):
        seen.update(user=request.user.pk, verified=request.user.is_verified())
        return HttpResponse()

    chain = SessionMiddleware(AuthenticationMiddleware(OTPMiddleware(view)))
    with CaptureQueriesContext(connection) as queries:
        chain(request)
    assert seen == {"user": staff.pk, "verified": True}
    sql = [q["sql"] for q in queries.captured_queries]
    assert len(sql) == 2  # the session, then the device with its user
    assert 'FROM "django_session"' in sql[0]
    assert 'FROM "otp_totp_totpdevice"' in sql[1] and 'JOIN "identity_user"' in sql[1]


def test_without_the_second_factor_staff_are_sent_to_give_it(client, staff):
    sign_in(client, staff, second_factor=False)
    assert _sent_to_second_factor(_staff_home(client))


def test_an_unconfirmed_device_no_longer_verifies_the_session(client, staff):
    sign_in(client, staff)
    TOTPDevice.objects.filter(user=staff).update(confirmed=False)
    assert _sent_to_second_factor(_staff_home(client))
    assert DEVICE_ID_SESSION_KEY not in client.session


def test_a_deleted_device_no_longer_verifies_the_session(client, staff):
    sign_in(client, staff)
    TOTPDevice.objects.filter(user=staff).delete()
    assert _sent_to_second_factor(_staff_home(client))
    assert DEVICE_ID_SESSION_KEY not in client.session


def test_another_accounts_device_does_not_verify_the_session(client, staff, make_staff):
    other = make_staff(username="other.staff@example.org")
    sign_in(client, staff, second_factor=False)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = TOTPDevice.objects.get(user=other).persistent_id
    session.save()
    assert _sent_to_second_factor(_staff_home(client))
    assert DEVICE_ID_SESSION_KEY not in client.session


def test_a_changed_password_ends_the_session(client, staff):
    sign_in(client, staff)
    staff.set_password(PASSWORD + " changed")
    staff.save()
    response = _staff_home(client)
    assert response.status_code == 302
    assert reverse("identity:sign-in") in response["Location"]


def test_a_deactivated_account_is_signed_out(client, staff):
    sign_in(client, staff)
    staff.is_active = False
    staff.save()
    response = _staff_home(client)
    assert response.status_code == 302
    assert reverse("identity:sign-in") in response["Location"]


def test_a_public_session_without_a_device_is_signed_in_as_before(client, make_account):
    person = make_account()
    sign_in(client, person)
    assert client.get(reverse("identity:account")).status_code == 200
