"""Accounts: sign-up to sign-in, bad input, lockout, password reset, the staff second factor."""

import re

import pytest
from django.core import mail
from django.urls import reverse

from joinedup.identity.models import Person, User

from .conftest import PASSWORD, page_text, sign_in, totp_code

pytestmark = pytest.mark.django_db

SIGN_UP = {
    "email": "Lina.Haddad@Example.org",
    "given_names": "Lina",
    "family_name": "Haddad",
    "birth_date": "1990-05-17",
    "preferred_language": "en",
    "password": PASSWORD,
    "password_again": PASSWORD,
}


def link_in(message) -> str:
    return re.search(r"https?://testserver(/\S+)", message.body).group(1)


def test_sign_up_verify_email_then_sign_in(client):
    response = client.post(reverse("identity:sign-up"), SIGN_UP)
    assert response.status_code == 302
    user = User.objects.get(email="lina.haddad@example.org")
    assert not user.is_active
    assert user.password.startswith("argon2")
    assert user.person.given_names == "Lina"
    assert user.person.proofings.get().level == 1

    # Signing in before confirming the address says what to do, and sends a new link.
    response = client.post(
        reverse("identity:sign-in"), {"username": user.email, "password": PASSWORD}
    )
    assert response.status_code == 400
    assert "Confirm your email address first" in page_text(response)
    assert len(mail.outbox) == 2

    response = client.get(link_in(mail.outbox[0]))
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.is_active
    assert user.person.contact_points.get().verified_at is not None
    # The link works once.
    assert client.get(link_in(mail.outbox[1])).status_code == 400

    response = client.post(
        reverse("identity:sign-in"),
        {"username": "LINA.haddad@example.org", "password": PASSWORD},
    )
    assert response.status_code == 302
    page = client.get(reverse("identity:account"))
    assert page.status_code == 200
    assert "Lina Haddad" in page_text(page)
    assert "Level 1" in page_text(page)


def test_a_duplicate_account_is_refused_and_nothing_is_written(client, make_account):
    make_account(email="lina.haddad@example.org")
    people = Person.objects.count()
    response = client.post(reverse("identity:sign-up"), SIGN_UP)
    assert response.status_code == 400
    assert "An account with this email address already exists" in page_text(response)
    assert User.objects.count() == 1
    assert Person.objects.count() == people
    assert not mail.outbox


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"birth_date": "1990-02-30"}, "Enter a real date"),
        ({"birth_date": "2999-01-01"}, "A birth date cannot be in the future."),
        ({"email": "not-an-address"}, "Enter an email address such as"),
        ({"password": "short", "password_again": "short"}, "too short"),
        ({"password_again": "something else entirely"}, "The two passwords are not the same."),
    ],
)
def test_bad_sign_up_input_gets_a_clear_message(client, changes, message):
    response = client.post(reverse("identity:sign-up"), {**SIGN_UP, **changes})
    assert response.status_code == 400
    assert message in page_text(response)
    assert not User.objects.exists() and not Person.objects.exists()


def test_bad_input_is_answered_in_french(client):
    response = client.post(
        reverse("identity:sign-up").replace("/en/", "/fr/"), {**SIGN_UP, "birth_date": "2999-01-01"}
    )
    assert response.status_code == 400
    assert "ne peut pas être dans le futur" in page_text(response)


def test_repeated_failures_lock_the_account_out(client, make_account, settings):
    user = make_account()
    for _attempt in range(settings.AXES_FAILURE_LIMIT - 1):
        response = client.post(
            reverse("identity:sign-in"), {"username": user.email, "password": "wrong password"}
        )
        assert response.status_code == 400
        assert "The email address or the password is not right." in page_text(response)
    response = client.post(
        reverse("identity:sign-in"), {"username": user.email, "password": "wrong password"}
    )
    assert response.status_code == 429
    # Even the right password is refused while locked out.
    response = client.post(
        reverse("identity:sign-in"), {"username": user.email, "password": PASSWORD}
    )
    assert response.status_code == 429
    assert "Too many attempts" in page_text(response)
    assert "_auth_user_id" not in client.session

    # Choosing a new password through the e-mailed link lifts the lockout.
    client.post(reverse("identity:password-reset"), {"email": user.email})
    link = link_in(mail.outbox[-1])
    new = "a brand new passphrase 42"
    response = client.post(link, {"new_password1": new, "new_password2": new})
    assert response.status_code == 302
    response = client.post(reverse("identity:sign-in"), {"username": user.email, "password": new})
    assert response.status_code == 302


def test_password_reset_does_not_disclose_accounts(client):
    response = client.post(reverse("identity:password-reset"), {"email": "nobody@example.org"})
    assert response.status_code == 302
    assert not mail.outbox
    bad = reverse("identity:password-reset-confirm", args=["MQ", "bad-token"])
    assert client.get(bad).status_code == 400


def test_staff_must_set_up_then_give_a_second_factor(client, small_federation, settings):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from joinedup.federation.models import Agency
    from joinedup.identity.models import StaffMembership

    user = User.objects.create_user(
        username="sam@example.org", email="sam@example.org", password=PASSWORD
    )
    StaffMembership.objects.create(
        user=user, agency=Agency.objects.get(key="esdc"), role="caseworker"
    )
    response = client.post(
        reverse("identity:sign-in"), {"username": user.email, "password": PASSWORD}
    )
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("identity:two-factor-setup"))

    # Without the second factor, staff pages send the person to give it.
    response = client.get(reverse("identity-staff:home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("identity:two-factor"))

    page = client.get(reverse("identity:two-factor-setup"))
    assert page.status_code == 200
    assert "<svg" in page_text(page)
    device = TOTPDevice.objects.get(user=user)
    assert not device.confirmed
    settings.OTP_TOTP_THROTTLE_FACTOR = 0  # no pause after a wrong code, to keep the test fast
    assert client.post(reverse("identity:two-factor-setup"), {"code": "000000"}).status_code == 400
    response = client.post(reverse("identity:two-factor-setup"), {"code": totp_code(device)})
    assert response.status_code == 302
    assert client.get(reverse("identity-staff:home")).status_code == 200

    # Next time: password, then a code; a wrong code is refused.
    client.logout()
    client.post(reverse("identity:sign-in"), {"username": user.email, "password": PASSWORD})
    response = client.post(reverse("identity:two-factor"), {"code": "123456"})
    assert response.status_code == 400
    assert "This code is not right" in page_text(response)
    assert client.get(reverse("identity-staff:home")).status_code == 302


def test_a_signed_in_staff_member_reaches_the_console(client, small_federation, make_staff):
    user = make_staff(agency="esdc", role="front_line")
    sign_in(client, user)
    page = client.get(reverse("identity-staff:home"))
    assert page.status_code == 200
    assert "Find a person" in page_text(page)


def test_replacing_an_authenticator_needs_the_current_one(client, small_federation, make_staff):
    user = make_staff()
    sign_in(client, user, second_factor=False)
    response = client.get(reverse("identity:two-factor-setup"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("identity:two-factor"))


def test_staff_sessions_are_short(client, small_federation, make_staff, make_account, settings):
    sign_in(client, make_staff())
    assert client.session.get_expiry_age() == settings.STAFF_SESSION_IDLE_SECONDS
    public = client.__class__()
    sign_in(public, make_account())
    assert public.session.get_expiry_age() == settings.SESSION_COOKIE_AGE


def test_sign_out_needs_a_post(client, make_account):
    sign_in(client, make_account())
    assert client.get(reverse("identity:sign-out")).status_code == 405
    assert client.post(reverse("identity:sign-out")).status_code == 302
    assert client.get(reverse("identity:account")).status_code == 302
