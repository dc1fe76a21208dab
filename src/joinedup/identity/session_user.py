"""The session's user and their second factor's device, read in one statement.

Django's `AuthenticationMiddleware` reads the session's user, then django-otp's
`OTPMiddleware` reads the device the session was verified with: two statements on every
signed-in request, each built by the ORM. Staff (every staff page) always have both. Here,
when the session names a user and a TOTP device, the device is read with its user in one
statement compiled once per process, and the two middlewares are given what was read:

- `AuthenticationMiddleware` checks the user exactly as Django's `auth.get_user` does: the
  session's backend must be one of the settings' and a `ModelBackend` (whose `get_user` is a
  read by key and `user_can_authenticate`), the account active, and the session's hash must
  match the account's (a changed password signs every other session out; the secret's
  fallbacks are tried and the session's key cycled as Django does). Any other session (no
  device, another backend, a device that is not the user's) goes through Django's own
  `auth.get_user`, unchanged.
- `OTPMiddleware` takes the device read with the user only when it is the one the session
  names, and then checks it as django-otp does: it must belong to the user and be confirmed,
  else the session is not verified and forgets it. A device deleted or unconfirmed is no
  longer found, so the session is not verified at the next request, as before.
"""

from __future__ import annotations

from functools import partial

from django.conf import settings
from django.contrib import auth
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, load_backend
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.middleware import AuthenticationMiddleware as DjangoAuthentication
from django.contrib.auth.middleware import auser
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.utils.crypto import constant_time_compare
from django.utils.functional import SimpleLazyObject
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.middleware import OTPMiddleware as DjangoOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from joinedup import prepared

#: The persistent id of a TOTP device names its model so (django-otp's `persistent_id`).
_TOTP_LABEL = f"{TOTPDevice._meta.app_label}.{TOTPDevice._meta.model_name}"

#: The device the session names, with its user, if it is that user's.
_DEVICE_WITH_USER = prepared.Instances(
    "identity.device_with_user",
    lambda a: TOTPDevice.objects.filter(
        pk=a.number("device"), user_id=a.number("user")
    ).select_related("user"),
)

#: Where the request keeps the device read with its user, for `OTPMiddleware`.
_DEVICE_READ = "_session_device_read"


def _device_id(persistent_id: object) -> int | None:
    """The TOTP device's key in a persistent id ("otp_totp.totpdevice/42"), else None."""
    if not isinstance(persistent_id, str) or "/" not in persistent_id:
        return None
    label, _slash, key = persistent_id.rpartition("/")
    if label != _TOTP_LABEL or not key.isdigit():
        return None
    return int(key)


def _user_with_device(request):
    """The session's user as `auth.get_user` gives it, with its device when one read serves."""
    session = request.session
    device_id = _device_id(session.get(DEVICE_ID_SESSION_KEY))
    backend_path = session.get(BACKEND_SESSION_KEY)
    try:
        user_id = auth._get_user_session_key(request)
    except (KeyError, ValueError, TypeError, ValidationError):
        return auth.get_user(request)  # as Django answers a session without a valid user
    if device_id is None or backend_path not in settings.AUTHENTICATION_BACKENDS:
        return auth.get_user(request)
    backend = load_backend(backend_path)
    if not isinstance(backend, ModelBackend) or type(backend).get_user is not ModelBackend.get_user:
        return auth.get_user(request)
    found = _DEVICE_WITH_USER.all(device=device_id, user=user_id)
    if not found:
        return auth.get_user(request)  # no such device of this user: Django's way, alone
    device = found[0]
    user = device.user
    if not backend.user_can_authenticate(user):
        return AnonymousUser()  # as ModelBackend.get_user gives None for an inactive account
    setattr(request, _DEVICE_READ, (session.get(DEVICE_ID_SESSION_KEY), device))
    return _verified(request, user)


def _verified(request, user):
    """`auth.get_user`'s check of the session's hash against the account's, as Django does it
    (Django 5.2), for a user already read."""
    session_hash = request.session.get(HASH_SESSION_KEY)
    if not session_hash:
        session_hash_verified = False
    else:
        session_auth_hash = user.get_session_auth_hash()
        session_hash_verified = constant_time_compare(session_hash, session_auth_hash)
    if not session_hash_verified:
        if session_hash and any(
            constant_time_compare(session_hash, fallback_auth_hash)
            for fallback_auth_hash in user.get_session_auth_fallback_hash()
        ):
            request.session.cycle_key()
            request.session[HASH_SESSION_KEY] = session_auth_hash
        else:
            request.session.flush()
            return AnonymousUser()
    return user


def _get_user(request):
    if not hasattr(request, "_cached_user"):
        request._cached_user = _user_with_device(request)
    return request._cached_user


class AuthenticationMiddleware(DjangoAuthentication):
    """Django's, reading the session's user with its TOTP device in one statement."""

    def process_request(self, request):
        super().process_request(request)  # its checks, and `request.auser`
        request.user = SimpleLazyObject(partial(_get_user, request))
        request.auser = partial(auser, request)


class OTPMiddleware(DjangoOTP):
    """django-otp's, taking the device read with the user when it is the session's."""

    def _verify_user_sync(self, request, user):
        self._init_user_fields(user)
        if user.is_authenticated:
            persistent_id = request.session.get(DEVICE_ID_SESSION_KEY)
            read = getattr(request, _DEVICE_READ, None)
            if not persistent_id:
                device = None
            elif read is not None and read[0] == persistent_id:
                device = read[1]
            else:
                device = self._device_from_persistent_id(persistent_id)
            user.otp_device = self._finalize_device(request, user, device)
        return user
