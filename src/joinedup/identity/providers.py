"""The identity providers a deployment trusts for signing in (OpenID Connect), by key.

They are configured in settings.OIDC_PROVIDERS (from JOINEDUP_OIDC_PROVIDERS): each names
its issuer, its client and the level of assurance its proofs reach. This module only reads
that configuration, so that pages offering a provider (stepping up) and the sign-in protocol
(`oidc`) share it without depending on each other.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils.translation import get_language


class UnknownProvider(LookupError):
    pass


def provider_config(key: str) -> dict[str, Any]:
    config = settings.OIDC_PROVIDERS.get(key)
    if not config:
        raise UnknownProvider(key)
    return config


def provider_name(key: str) -> str:
    name = provider_config(key).get("name", key)
    if isinstance(name, dict):
        return name.get(get_language() or "en") or next(iter(name.values()), key)
    return str(name)
