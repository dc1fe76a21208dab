"""Accounts for the public and for staff: sign-up with a verified e-mail address, sign-in,
password reset and the second factor staff must give.

Passwords are hashed with Argon2 (settings.PASSWORD_HASHERS); repeated failed sign-ins lock
the account out for a while (django-axes, settings AXES_*). Staff accounts confirm every
sign-in with a time-based one-time password (TOTP) from an authenticator app.
"""

from __future__ import annotations

import base64
import datetime
from collections.abc import Callable

import segno
from axes.utils import reset as reset_lockouts
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.encoding import force_bytes, force_str
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode
from django.utils.translation import gettext as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from . import assurance
from .models import AssuranceLevel, ContactPoint, IdentityProofing, Person, User


class EmailVerificationTokenGenerator(PasswordResetTokenGenerator):
    """Links that prove a person reads the address they gave; void once the account is
    active or the address changes."""

    key_salt = "joinedup.identity.accounts.EmailVerificationTokenGenerator"

    def _make_hash_value(self, user: User, timestamp: int) -> str:
        return f"{user.pk}{user.email}{user.is_active}{timestamp}"


email_verification = EmailVerificationTokenGenerator()


def normalise_email(raw: str) -> str:
    return (raw or "").strip().lower()


def email_taken(email: str) -> bool:
    return User.objects.filter(email=normalise_email(email)).exists()


def sign_up(
    *,
    email: str,
    password: str,
    given_names: str,
    family_name: str,
    birth_date: datetime.date | None = None,
    preferred_language: str = "en",
) -> User:
    """Create an inactive account and the person it belongs to (self-asserted, level 1).

    Nothing is written unless everything is valid; the account becomes active when its owner
    follows the link sent to the address.
    """
    email = normalise_email(email)
    user = User(username=email, email=email, is_active=False, preferred_language=preferred_language)
    errors: dict[str, list[str]] = {}
    if email_taken(email):
        errors["email"] = [
            _("An account with this email address already exists. Sign in, or reset your password.")
        ]
    try:
        validate_password(password, user)
    except ValidationError as error:
        errors["password"] = error.messages
    person = Person(
        given_names=(given_names or "").strip(),
        family_name=(family_name or "").strip(),
        birth_date=birth_date,
        preferred_language=preferred_language,
    )
    try:
        person.full_clean()
    except ValidationError as error:
        for field, messages in error.message_dict.items():
            errors.setdefault(field, []).extend(messages)
    if errors:
        raise ValidationError(errors)
    user.set_password(password)
    try:
        with transaction.atomic():
            person.save()
            user.person = person
            user.save()
            ContactPoint.objects.create(
                person=person, kind=ContactPoint.Kind.EMAIL, value=email, preferred=True
            )
            assurance.record_proofing(
                person,
                level=AssuranceLevel.SELF_ASSERTED,
                method=IdentityProofing.Method.SELF_ASSERTED,
                evidence=["sign-up form"],
            )
    except IntegrityError:  # the same address, signed up a moment earlier
        raise ValidationError(
            {"email": [_("An account with this email address already exists.")]}
        ) from None
    return user


def _send(user: User, template: str, context: dict) -> None:
    with translation.override(user.preferred_language):
        subject = render_to_string(f"identity/email/{template}_subject.txt", context).strip()
        body = render_to_string(f"identity/email/{template}_body.txt", context)
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [user.email])


def send_verification_email(user: User, absolute: Callable[[str], str]) -> None:
    """Mail the link that activates the account; `absolute` turns a path into a full URL."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = email_verification.make_token(user)
    link = absolute(reverse("identity:verify-email", args=[uid, token]))
    _send(user, "verify", {"user": user, "link": link})


def user_from_uid(uidb64: str) -> User | None:
    try:
        pk = int(force_str(urlsafe_base64_decode(uidb64)))
    except (TypeError, ValueError, OverflowError):
        return None
    return User.objects.filter(pk=pk).first()


def verify_email(uidb64: str, token: str) -> User:
    """Activate the account the link was sent for; a clear error for a bad or old link."""
    user = user_from_uid(uidb64)
    if user is None or not email_verification.check_token(user, token):
        raise ValidationError(
            _("This link is not valid or has expired. Sign in to have a new one sent."),
            code="invalid_link",
        )
    with transaction.atomic():
        user.is_active = True
        user.save(update_fields=["is_active"])
        if user.person_id:
            ContactPoint.objects.filter(
                person_id=user.person_id, kind=ContactPoint.Kind.EMAIL, value=user.email
            ).update(verified_at=timezone.now())
    return user


def username_for(typed: str) -> str:
    """The username to authenticate: people type their e-mail address, some staff a name."""
    typed = normalise_email(typed)
    if "@" in typed and not User.objects.filter(username=typed).exists():
        owner = User.objects.filter(email=typed).values_list("username", flat=True).first()
        if owner:
            return owner
    return typed


def pending_verification(email: str, password: str) -> User | None:
    """The inactive account these credentials open, so sign-in can say what to do."""
    user = User.objects.filter(email=normalise_email(email), is_active=False).first()
    if user and user.has_usable_password() and user.check_password(password):
        return user
    return None


# --- Second factor ------------------------------------------------------------------------


def confirmed_device(user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def start_totp_enrolment(user: User) -> TOTPDevice:
    """The authenticator the account is setting up (kept until confirmed with a code)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=_("Authenticator app"), confirmed=False)
    return device


def totp_qr_svg(device: TOTPDevice) -> str:
    """The device's provisioning URI as an inline SVG QR code for an authenticator app."""
    return segno.make(device.config_url, error="m").svg_inline(scale=4, title=_("QR code"))


def totp_secret(device: TOTPDevice) -> str:
    """The secret in base32, for typing into an authenticator app by hand."""
    return base64.b32encode(device.bin_key).decode().rstrip("=")


def confirm_totp(device: TOTPDevice, code: str) -> bool:
    """Confirm a new authenticator with a first code; older devices are then removed."""
    if not device.verify_token((code or "").strip().replace(" ", "")):
        return False
    with transaction.atomic():
        TOTPDevice.objects.filter(user=device.user).exclude(pk=device.pk).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
    return True


def check_totp(user: User, code: str) -> TOTPDevice | None:
    """The confirmed device this code is valid for (throttled by django-otp)."""
    device = confirmed_device(user)
    if device is None:
        return None
    allowed, _details = device.verify_is_allowed()
    if not allowed:
        return None
    return device if device.verify_token((code or "").strip().replace(" ", "")) else None


def set_new_password(form) -> User:
    """Save a new password from a reset link and lift any sign-in lockout on the account."""
    user = form.save()
    reset_lockouts(username=user.username)
    return user


def axes_username(request, credentials: dict | None) -> str:
    """The name django-axes counts failures against: the address as typed, lower-cased."""
    if credentials and credentials.get("username"):
        return normalise_email(credentials["username"])
    return normalise_email(request.POST.get("username", "")) if request is not None else ""
