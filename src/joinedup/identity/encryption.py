"""Encryption at rest for personal identifiers, and the blind index that finds them.

Values are encrypted with Fernet (AES-128-CBC + HMAC-SHA256) under a list of keys: the first
encrypts, every key decrypts, so keys can be rotated without downtime (`joinedup
rotate-identifier-keys` re-encrypts everything under the first). A keyed HMAC of the
normalised value (the blind index) lets the registry find a person by identifier without
decrypting anything and without storing a hash that could be reversed by trying every SIN.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver


class DecryptionError(Exception):
    """No configured key opens this value (a key was removed too early)."""


def _fernet(key: str) -> Fernet:
    try:
        return Fernet(key.encode() if isinstance(key, str) else key)
    except (ValueError, TypeError):
        raise ImproperlyConfigured(
            "Each key in JOINEDUP_IDENTIFIER_KEYS must be 32 url-safe base64-encoded bytes "
            "(make one with `joinedup rotate-identifier-keys --new-key`)."
        ) from None


@lru_cache(maxsize=1)
def _keys() -> tuple[tuple[Fernet, ...], bytes]:
    keys: Iterable[str] = settings.IDENTIFIER_KEYS
    fernets = tuple(_fernet(key) for key in keys)
    if not fernets:
        raise ImproperlyConfigured("JOINEDUP_IDENTIFIER_KEYS is empty.")
    index_key = settings.IDENTIFIER_INDEX_KEY
    if not index_key:
        raise ImproperlyConfigured("JOINEDUP_IDENTIFIER_INDEX_KEY is empty.")
    return fernets, index_key.encode()


@receiver(setting_changed)
def _forget_keys(setting: str, **kwargs) -> None:
    if setting in {"IDENTIFIER_KEYS", "IDENTIFIER_INDEX_KEY"}:
        _keys.cache_clear()


def new_key() -> str:
    """A fresh key for JOINEDUP_IDENTIFIER_KEYS."""
    return Fernet.generate_key().decode()


def encrypt(value: str) -> str:
    fernets, _ = _keys()
    return MultiFernet(list(fernets)).encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    fernets, _ = _keys()
    try:
        return MultiFernet(list(fernets)).decrypt(token.encode()).decode()
    except InvalidToken:
        raise DecryptionError("no configured identifier key decrypts this value") from None


def is_current(token: str) -> bool:
    """Whether the value is already encrypted under the current (first) key."""
    fernets, _ = _keys()
    try:
        fernets[0].decrypt(token.encode())
    except InvalidToken:
        return False
    return True


def rotate(token: str) -> str:
    """The same value, encrypted under the current key."""
    fernets, _ = _keys()
    try:
        return MultiFernet(list(fernets)).rotate(token.encode()).decode()
    except InvalidToken:
        raise DecryptionError("no configured identifier key decrypts this value") from None


def blind_index(type_key: str, value: str) -> str:
    """A keyed HMAC of the identifier type and normalised value: equal values, equal index."""
    _, index_key = _keys()
    message = f"{type_key}\x1f{value}".encode()
    return hmac.new(index_key, message, hashlib.sha256).hexdigest()


def derive_development_key(secret: str, purpose: str) -> str:
    """A key derived from the secret key, for the embedded set-up only (settings refuse it
    when JOINEDUP_SECURE=true): a demo runs with no key to manage, and stays stable."""
    digest = hashlib.sha256(f"joinedup:{purpose}:{secret}".encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()
