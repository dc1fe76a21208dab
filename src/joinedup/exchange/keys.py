"""This node's keys: Ed25519 to sign what it sends, X25519 to open what is sent to it.

Keys come from the settings (`JOINEDUP_EXCHANGE_SIGNING_KEY`, `..._ENCRYPTION_KEY`, private
JWKs) or, in the embedded set-up, are made on first use and kept in the database with their
private half encrypted under a key derived from the secret key. A private key is never
printed or logged: `public_jwks()` is what the governance authority puts in the trust list.

Rotation: `rotate(use)` makes a new key that becomes the active one; the older keys stay able
to open messages (encryption) until `retire` is called, so messages sealed for the previous
key while the new trust list spread are still read.
"""

from __future__ import annotations

import json
from functools import cache

from cryptography.fernet import Fernet
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from joserfc.jwk import OKPKey

from joinedup.identity.encryption import derive_development_key

from .models import KeyUse, NodeKey

CURVES = {KeyUse.SIGNING: "Ed25519", KeyUse.ENCRYPTION: "X25519"}


def _fernet() -> Fernet:
    return Fernet(derive_development_key(settings.SECRET_KEY, "exchange-node-keys"))


def _from_settings(use: str) -> OKPKey | None:
    raw = (
        settings.EXCHANGE_SIGNING_KEY if use == KeyUse.SIGNING else settings.EXCHANGE_ENCRYPTION_KEY
    )
    if not raw:
        return None
    key = OKPKey.import_key(json.loads(raw))
    if key.curve_name != CURVES[use] or not key.is_private:
        raise ValueError(
            f"the exchange {use} key in the settings must be a private {CURVES[use]} JWK"
        )
    return key


def _kid(key: OKPKey) -> str:
    return key.thumbprint()


def _unseal(row: NodeKey) -> OKPKey:
    return OKPKey.import_key(json.loads(_fernet().decrypt(row.private_sealed.encode())))


def create(use: str) -> NodeKey:
    """Make a new key pair for `use`, kept encrypted, and make it the active one."""
    key = OKPKey.generate_key(CURVES[use])
    private = json.dumps(key.as_dict(private=True)).encode()
    with transaction.atomic():
        NodeKey.objects.filter(use=use, active=True).update(active=False)
        row = NodeKey.objects.create(
            use=use,
            kid=_kid(key),
            public_jwk=key.as_dict(private=False),
            private_sealed=_fernet().encrypt(private).decode(),
        )
    clear_cache()
    return row


def rotate(use: str) -> NodeKey:
    """A new active key; the previous ones still open messages until retired."""
    return create(use)


def retire(kid: str) -> None:
    """Stop using an old key altogether (after the trust list no longer names it)."""
    NodeKey.objects.filter(kid=kid, active=False).update(retired_at=timezone.now())
    clear_cache()


@cache
def _active(use: str) -> OKPKey:
    configured = _from_settings(use)
    if configured is not None:
        return configured
    row = NodeKey.objects.filter(use=use, active=True, retired_at=None).first()
    if row is None:
        row = create(use)
    return _unseal(row)


def signing_key() -> tuple[str, OKPKey]:
    """(kid, private key) this node signs with."""
    key = _active(KeyUse.SIGNING)
    return _kid(key), key


def encryption_key() -> tuple[str, OKPKey]:
    """(kid, private key) peers encrypt to, the newest one."""
    key = _active(KeyUse.ENCRYPTION)
    return _kid(key), key


@cache
def decryption_key(kid: str) -> OKPKey | None:
    """The private encryption key named `kid` (current or not yet retired), or None."""
    configured = _from_settings(KeyUse.ENCRYPTION)
    if configured is not None and _kid(configured) == kid:
        return configured
    row = NodeKey.objects.filter(use=KeyUse.ENCRYPTION, kid=kid, retired_at=None).first()
    return _unseal(row) if row else None


def public_jwks() -> dict:
    """This node's public keys as a JWK set (`use` and `kid` set): for the trust list."""
    keys = []
    for use in (KeyUse.SIGNING, KeyUse.ENCRYPTION):
        kid, key = signing_key() if use == KeyUse.SIGNING else encryption_key()
        keys.append({**key.as_dict(private=False), "kid": kid, "use": str(use)})
    for row in NodeKey.objects.filter(retired_at=None, active=False):
        keys.append({**row.public_jwk, "kid": row.kid, "use": row.use})
    return {"keys": keys}


def clear_cache() -> None:
    """Forget the keys read (after a rotation, or between tests)."""
    _active.cache_clear()
    decryption_key.cache_clear()
