"""Signing in with an external identity provider over OpenID Connect.

Providers (a province's sign-in service, a national one) are configured in
settings.OIDC_PROVIDERS (from JOINEDUP_OIDC_PROVIDERS). The protocol work — discovery, the
authorisation-code flow, checking the ID token's signature against the provider's keys, the
issuer, audience, expiry and nonce — is done by Authlib. This module maps a verified identity
onto our accounts and people, and records the proof the provider vouches for, so that every
agency reuses it.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass
from typing import Any

from authlib.integrations.django_client import OAuth
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from . import assurance
from .models import (
    AssuranceLevel,
    ContactPoint,
    ExternalAccount,
    IdentityProofing,
    Person,
    User,
)
from .providers import provider_config

_CLIENTS: dict[str, tuple[str, Any]] = {}


def client(key: str):
    """The Authlib client of a provider, rebuilt when its settings change."""
    config = provider_config(key)
    fingerprint = json.dumps(config, sort_keys=True, default=str)
    cached = _CLIENTS.get(key)
    if cached and cached[0] == fingerprint:
        return cached[1]
    registry = OAuth()
    issuer = config["issuer"].rstrip("/")
    app = registry.register(
        name=key,
        client_id=config["client_id"],
        client_secret=config.get("client_secret", ""),
        server_metadata_url=config.get(
            "discovery_url", f"{issuer}/.well-known/openid-configuration"
        ),
        client_kwargs={"scope": config.get("scope", "openid email profile"), "timeout": 10},
    )
    _CLIENTS[key] = (fingerprint, app)
    return app


@dataclass(frozen=True)
class SignInResult:
    user: User
    created: bool
    level: int


def _level(config: dict[str, Any], claims: dict[str, Any]) -> int:
    """The level the provider vouches for: from its `acr` claim when mapped, else configured."""
    acr_levels = config.get("acr_levels") or {}
    if claims.get("acr") in acr_levels:
        level = int(acr_levels[claims["acr"]])
    else:
        level = int(config.get("assurance", AssuranceLevel.SELF_ASSERTED))
    # A remote sign-in can never prove more than level 2 (level 3 is seen in person).
    return max(AssuranceLevel.SELF_ASSERTED, min(level, AssuranceLevel.REMOTE))


def _birth_date(raw: Any) -> datetime.date | None:
    try:
        return datetime.date.fromisoformat(str(raw)) if raw else None
    except ValueError:
        return None


def sign_in_with(key: str, claims: dict[str, Any]) -> SignInResult:
    """Find or create the account for verified ID-token claims and record the proof.

    An existing account is linked by e-mail only when the provider says it verified the
    address; otherwise a new account is made.
    """
    config = provider_config(key)
    subject = str(claims.get("sub") or "")
    if not subject:
        raise ValidationError(_("The identity provider did not say who signed in."))
    email = (claims.get("email") or "").strip().lower()
    level = _level(config, claims)
    created = False
    with transaction.atomic():
        link = ExternalAccount.objects.select_related("user").filter(provider=key, subject=subject)
        external = link.first()
        if external is not None:
            user = external.user
        else:
            user = None
            if email and claims.get("email_verified") is True:
                user = User.objects.filter(email=email).first()
            if user is None:
                user = _new_account(key, subject, email, claims)
                created = True
            external = ExternalAccount.objects.create(user=user, provider=key, subject=subject)
        if not user.is_active:
            if created:
                user.is_active = True
                user.save(update_fields=["is_active"])
            elif claims.get("email_verified") is True and user.email == email:
                user.is_active = True  # the provider verified the address for us
                user.save(update_fields=["is_active"])
        external.last_sign_in = timezone.now()
        external.save(update_fields=["last_sign_in"])
        if user.person is None:
            user.person = _person_from(claims)
            user.save(update_fields=["person"])
        if assurance.level_of(user.person) < level:
            assurance.record_proofing(
                user.person,
                level=level,
                method=IdentityProofing.Method.TRUSTED_CREDENTIAL
                if level >= AssuranceLevel.REMOTE
                else IdentityProofing.Method.SELF_ASSERTED,
                evidence=[f"oidc:{key}"],
                provider=key,
            )
    return SignInResult(user=user, created=created, level=assurance.level_of(user.person))


def _person_from(claims: dict[str, Any]) -> Person:
    person = Person(
        given_names=(claims.get("given_name") or claims.get("name") or "").strip()[:200] or "?",
        family_name=(claims.get("family_name") or "").strip()[:200],
        birth_date=_birth_date(claims.get("birthdate")),
        preferred_language="fr" if str(claims.get("locale", "")).startswith("fr") else "en",
    )
    try:
        person.full_clean()
    except ValidationError:
        person.birth_date = None  # an implausible date from a provider is dropped, not trusted
    person.save()
    if claims.get("email"):
        ContactPoint.objects.get_or_create(
            person=person,
            kind=ContactPoint.Kind.EMAIL,
            value=claims["email"].strip().lower(),
            defaults={
                "preferred": True,
                "verified_at": timezone.now() if claims.get("email_verified") else None,
            },
        )
    return person


def _new_account(key: str, subject: str, email: str, claims: dict[str, Any]) -> User:
    username = f"{key}:{subject}"[:150]
    if not email or User.objects.filter(email=email).exists():
        # No address, or one we cannot link safely: a placeholder the person can change.
        email = f"{key}.{subject}@users.invalid"[:254].lower()
    user = User(
        username=username,
        email=email,
        first_name=(claims.get("given_name") or "")[:150],
        last_name=(claims.get("family_name") or "")[:150],
        is_active=True,
    )
    user.set_unusable_password()
    user.save()
    return user
