"""Bearer credentials for the API: personal tokens and agency API clients.

A credential reads `jdp_<key id>_<secret>` (personal) or `jdc_<key id>_<secret>` (agency
client). Only a SHA-256 hash of the secret is stored: the secret is long and random, so a
slow hash adds nothing, and the plain value is shown once, when it is made. Every credential
has scopes ("read", "write"), an expiry and can be revoked.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import secrets
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from joinedup import prepared
from joinedup.federation.models import Agency

from . import assurance
from .models import ApiClient, PersonalToken, StaffMembership, User

SCOPES = ("read", "write")
PERSONAL_PREFIX = "jdp"
CLIENT_PREFIX = "jdc"
DEFAULT_DAYS = 90
MAX_DAYS = 366


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _check(scopes: Iterable[str], days: int) -> list[str]:
    scopes = list(dict.fromkeys(scopes))
    if not scopes or set(scopes) - set(SCOPES):
        raise ValidationError(
            _("Scopes are chosen among: %(known)s.") % {"known": ", ".join(SCOPES)}
        )
    if not 1 <= days <= MAX_DAYS:
        raise ValidationError(_("A token lasts from 1 to %(max)s days.") % {"max": MAX_DAYS})
    return scopes


def _new_secret() -> tuple[str, str]:
    return secrets.token_hex(6), secrets.token_urlsafe(32)


def create_personal_token(
    user: User, *, name: str = "", scopes: Iterable[str] = ("read",), days: int = DEFAULT_DAYS
) -> tuple[PersonalToken, str]:
    """A new token for the account; returns the record and the one-time plain value."""
    scopes = _check(scopes, days)
    if not user.is_active:
        raise ValidationError(_("This account is not active."))
    key_id, secret = _new_secret()
    token = PersonalToken.objects.create(
        user=user,
        name=name or _("Personal token"),
        key_id=key_id,
        secret_hash=_hash(secret),
        scopes=scopes,
        expires_at=timezone.now() + datetime.timedelta(days=days),
    )
    return token, f"{PERSONAL_PREFIX}_{key_id}_{secret}"


def create_api_client(
    agency: Agency,
    *,
    name: str,
    role: str,
    scopes: Iterable[str] = ("read",),
    days: int = DEFAULT_DAYS,
) -> tuple[ApiClient, str]:
    """A new partner-system credential for an agency, acting with one staff role."""
    scopes = _check(scopes, days)
    if role not in StaffMembership.Role.values:
        raise ValidationError(_("Choose a staff role for the client."))
    key_id, secret = _new_secret()
    client = ApiClient.objects.create(
        agency=agency,
        name=name,
        role=role,
        key_id=key_id,
        secret_hash=_hash(secret),
        scopes=scopes,
        expires_at=timezone.now() + datetime.timedelta(days=days),
    )
    return client, f"{CLIENT_PREFIX}_{key_id}_{secret}"


#: The credential's statements, compiled once per database (`joinedup.prepared`): every API
#: request reads its token, and building that query cost more than running it. A personal
#: token's statement also reads what the acting context needs of the account (one round
#: trip, not three): the person's level of assurance on the day and whether the account
#: holds any staff membership (`for_user` reads the memberships only then). Read at every
#: request, so a revoked proof or a removed membership counts at the next one.
_PERSONAL = prepared.Instances(
    "identity.personal_token",
    lambda a: (
        PersonalToken.objects.select_related("user__person")
        .annotate(
            person_level=assurance.level_column("user__person", a.day("day")),
            holds_membership=Exists(StaffMembership.objects.filter(user=OuterRef("user"))),
        )
        .filter(key_id=a.text("key_id"))[:1]
    ),
)
_CLIENT = prepared.Instances(
    "identity.api_client",
    lambda a: ApiClient.objects.select_related("agency__jurisdiction").filter(
        key_id=a.text("key_id")
    )[:1],
)


def authenticate(raw: str) -> PersonalToken | ApiClient | None:
    """The usable credential this bearer value stands for, or None (unknown, expired,
    revoked, or its account disabled)."""
    try:
        prefix, key_id, secret = raw.strip().split("_", 2)
    except ValueError:
        return None
    model = {PERSONAL_PREFIX: PersonalToken, CLIENT_PREFIX: ApiClient}.get(prefix)
    if model is None:
        return None
    if model is PersonalToken:
        found = _PERSONAL.all(key_id=key_id, day=timezone.localdate())
    else:
        found = _CLIENT.all(key_id=key_id)
    credential = found[0] if found else None
    if credential is None or not hmac.compare_digest(credential.secret_hash, _hash(secret)):
        return None
    if not credential.is_usable():
        return None
    if isinstance(credential, PersonalToken) and not credential.user.is_active:
        return None
    now = timezone.now()
    if credential.last_used_at is None or now - credential.last_used_at > datetime.timedelta(
        minutes=1
    ):
        model.objects.filter(pk=credential.pk).update(last_used_at=now)
    return credential


#: Where a request keeps the credential its bearer value stood for (the value, the answer).
_ON_REQUEST = "_joinedup_credential"


def authenticate_request(request: Any, raw: str) -> PersonalToken | ApiClient | None:
    """`authenticate(raw)`, asked once per request: the rate limiter and the API's
    authentication both need the credential, and the second asks the first's answer instead
    of reading the token again. Kept on the request with the value it was asked for."""
    kept = getattr(request, _ON_REQUEST, None)
    if kept is not None and kept[0] == raw:
        return kept[1]
    credential = authenticate(raw)
    setattr(request, _ON_REQUEST, (raw, credential))
    return credential


def revoke(credential: PersonalToken | ApiClient) -> None:
    if credential.revoked_at is None:
        credential.revoked_at = timezone.now()
        credential.save(update_fields=["revoked_at"])
