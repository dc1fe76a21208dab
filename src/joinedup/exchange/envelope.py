"""The envelope: a message signed by its sender (JWS, Ed25519), then encrypted to its
receiver (JWE, ECDH-ES+A256KW with X25519, A256GCM) — standard JOSE, nothing home-made.

    token = seal("evidence", peer, body, purpose="benefit-eligibility").token
    opened = open_envelope(token)      # or Refused(code, status, message)

The signed claims: `iss` (sender's member code), `aud` (receiver's), `jti` (message id, a
UUID), `iat` and `exp`, `kind`, `cid` (conversation), `purpose`, `sub` (the person, as the
sender asserts them: identifiers and level of assurance) and `body`. Opening checks, in this
order: it opens with one of this node's keys; the sender is a node of the trust list, in
force; the signing key is one the list gives that sender, not revoked; the signature; the
audience is this node; the dates. The digest kept in both logs is SHA-256 of the signed JWS,
which re-encryption does not change.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import functools
import hashlib
import json
import uuid
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from joserfc import jwe, jws
from joserfc.errors import JoseError
from joserfc.jwk import OKPKey

from . import keys
from .models import KeyUse, PeerKey, PeerNode

SIGNATURE_ALG = "Ed25519"
KEY_WRAP_ALG = "ECDH-ES+A256KW"
CONTENT_ALG = "A256GCM"
JWE_ALGORITHMS = [KEY_WRAP_ALG, CONTENT_ALG]
MESSAGE_TYPE = "joinedup-exchange+jwt"
REQUIRED_CLAIMS = ("iss", "aud", "jti", "iat", "exp", "kind", "cid", "purpose")


class Refused(Exception):
    """A message this node does not accept. `code` is for machines and the log, `status` the
    HTTP answer, the message (translated) for people."""

    def __init__(
        self,
        code: str,
        status: int,
        message: str,
        *,
        sender: str = "",
        jti: str = "",
        opened: Opened | None = None,
    ):
        super().__init__(message)
        self.code, self.status, self.message = code, status, message
        self.sender, self.jti = sender, jti
        #: Set when the message was opened and its signature verified before it was refused:
        #: the refusal is then signed for its sender (`sign_receipt(..., "refused")`).
        self.opened = opened


@dataclass(frozen=True)
class Sealed:
    token: str
    message_id: uuid.UUID
    digest: str
    expires_at: datetime.datetime


@dataclass(frozen=True)
class Opened:
    claims: dict[str, Any]
    sender: PeerNode
    digest: str

    @property
    def message_id(self) -> uuid.UUID:
        return uuid.UUID(self.claims["jti"])

    @property
    def sent_at(self) -> datetime.datetime:
        return datetime.datetime.fromtimestamp(self.claims["iat"], tz=datetime.UTC)


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _segment(token: str, index: int, parts: int) -> dict:
    pieces = token.split(".")
    if len(pieces) != parts:
        raise ValueError("not a compact serialization")
    value = json.loads(_b64decode(pieces[index]))
    if not isinstance(value, dict):
        raise ValueError("not a JSON object")
    return value


def digest_of(signed: str | bytes) -> str:
    return hashlib.sha256(signed.encode() if isinstance(signed, str) else signed).hexdigest()


@functools.lru_cache(maxsize=256)
def _imported(kty: str, crv: str, x: str) -> OKPKey:
    """A peer's public key, imported once per process (the profile of the sealed path found
    the import, with its validation, repeated for every message and every receipt)."""
    return OKPKey.import_key({"kty": kty, "crv": crv, "x": x})


def public_key(jwk: dict) -> OKPKey:
    """The public OKP key a trust list gives, as joserfc takes it (cached by its value)."""
    return _imported(str(jwk.get("kty")), str(jwk.get("crv")), str(jwk.get("x")))


def _valid_keys(node: PeerNode, use: str, moment: datetime.datetime) -> list[PeerKey]:
    candidates = [key for key in node.keys.all() if key.use == use and key.valid_at(moment)]
    return sorted(candidates, key=lambda key: (key.valid_from or moment, key.pk), reverse=True)


def sign(claims: dict, *, signer: tuple[str, OKPKey] | None = None) -> str:
    """The claims as a compact JWS signed by this node (or by `signer`: (kid, key))."""
    kid, key = signer or keys.signing_key()
    payload = json.dumps(claims, separators=(",", ":"), ensure_ascii=False).encode()
    header = {"alg": SIGNATURE_ALG, "kid": kid, "typ": MESSAGE_TYPE}
    return jws.serialize_compact(header, payload, key, algorithms=[SIGNATURE_ALG])


def encrypt(signed: str, receiver: PeerNode, *, now: datetime.datetime | None = None) -> str:
    """The signed message encrypted to the receiver's newest valid encryption key."""
    valid = _valid_keys(receiver, KeyUse.ENCRYPTION, now or timezone.now())
    if not valid:
        raise ValueError(f"the trust list gives {receiver.node_id} no valid encryption key")
    target = valid[0]
    header = {"alg": KEY_WRAP_ALG, "enc": CONTENT_ALG, "kid": target.kid, "cty": "JWT"}
    public = public_key(target.jwk)
    return jwe.encrypt_compact(header, signed.encode(), public, algorithms=JWE_ALGORITHMS)


def seal(
    kind: str,
    receiver: PeerNode,
    body: dict,
    *,
    purpose: str,
    conversation: str | None = None,
    subject: dict | None = None,
    message_id: uuid.UUID | None = None,
    now: datetime.datetime | None = None,
    ttl_seconds: int | None = None,
    sender_id: str | None = None,
    signer: tuple[str, OKPKey] | None = None,
) -> Sealed:
    """Sign `body` with its metadata as this node, then encrypt it to `receiver`."""
    now = now or timezone.now()
    message_id = message_id or uuid.uuid4()
    ttl = settings.EXCHANGE_MESSAGE_TTL_SECONDS if ttl_seconds is None else ttl_seconds
    expires_at = now + datetime.timedelta(seconds=ttl)
    claims = {
        "iss": sender_id or settings.EXCHANGE_NODE_ID,
        "aud": receiver.node_id,
        "jti": str(message_id),
        "iat": int(now.timestamp()),
        "exp": int(expires_at.timestamp()),
        "kind": kind,
        "cid": conversation or str(message_id),
        "purpose": purpose,
        "body": body,
    }
    if subject:
        claims["sub"] = subject
    signed = sign(claims, signer=signer)
    return Sealed(encrypt(signed, receiver, now=now), message_id, digest_of(signed), expires_at)


def _decrypt(token: str) -> str:
    try:
        header = _segment(token, 0, 5)
    except (ValueError, TypeError, binascii.Error):
        raise Refused("malformed", 400, _("The message is not a JOSE encrypted message.")) from None
    key = keys.decryption_key(str(header.get("kid", "")))
    if key is None:
        raise Refused(
            "not_for_this_key", 400, _("The message is not encrypted to a key of this node.")
        )
    try:
        return jwe.decrypt_compact(token, key, algorithms=JWE_ALGORITHMS).plaintext.decode()
    except (JoseError, ValueError, UnicodeDecodeError):
        raise Refused(
            "undecryptable", 400, _("The message cannot be opened: it was altered or damaged.")
        ) from None


def open_envelope(token: str, *, now: datetime.datetime | None = None) -> Opened:
    """Decrypt, then verify the sender's signature and the claims; Refused if anything fails."""
    now = now or timezone.now()
    signed = _decrypt(token)
    try:
        header = _segment(signed, 0, 3)
        unverified = _segment(signed, 1, 3)
    except (ValueError, TypeError, binascii.Error):
        raise Refused(
            "malformed", 400, _("The message inside the envelope is not signed.")
        ) from None
    sender_id, jti = str(unverified.get("iss", "")), str(unverified.get("jti", ""))

    def refuse(code: str, status: int, message: str) -> Refused:
        return Refused(code, status, message, sender=sender_id[:200], jti=jti[:80])

    kid = str(header.get("kid", ""))
    # The sender and the key it names in one read (the usual case): the node alone is read
    # again only to say why a message is refused.
    key = (
        PeerKey.objects.select_related("node")
        .filter(node__node_id=sender_id, kid=kid, use=KeyUse.SIGNING)
        .first()
    )
    sender = key.node if key is not None else PeerNode.objects.filter(node_id=sender_id).first()
    if sender is None:
        raise refuse("unknown_node", 403, _("The sending node is not in this node's trust list."))
    if not sender.trusted_at(now):
        raise refuse(
            "node_not_trusted",
            403,
            _("The trust list has revoked the sending node, or it is not in force."),
        )
    if key is None:
        raise refuse(
            "unknown_key",
            401,
            _("The message is signed with a key the trust list does not give its sender."),
        )
    if not key.valid_at(now):
        raise refuse(
            "revoked_key",
            401,
            _("The key that signed the message is revoked or out of its validity."),
        )
    try:
        verified = jws.deserialize_compact(signed, public_key(key.jwk), algorithms=[SIGNATURE_ALG])
        claims = json.loads(verified.payload)
    except (JoseError, ValueError):
        raise refuse(
            "bad_signature", 401, _("The message's signature does not match its content.")
        ) from None
    if (
        header.get("typ") != MESSAGE_TYPE
        or not isinstance(claims, dict)
        or any(name not in claims for name in REQUIRED_CLAIMS)
    ):
        raise refuse(
            "malformed", 400, _("The message lacks some of the information it must carry.")
        )
    if claims["aud"] != settings.EXCHANGE_NODE_ID:
        raise refuse("wrong_audience", 403, _("The message is addressed to another node."))
    try:
        uuid.UUID(str(claims["jti"]))
        expires, issued = float(claims["exp"]), float(claims["iat"])
    except (ValueError, TypeError):
        raise refuse(
            "malformed", 400, _("The message lacks some of the information it must carry.")
        ) from None
    skew = settings.EXCHANGE_CLOCK_SKEW_SECONDS
    if expires + skew < now.timestamp():
        raise refuse("expired", 400, _("The message has expired."))
    if issued - skew > now.timestamp():
        raise refuse("not_yet_valid", 400, _("The message is dated in the future."))
    return Opened(claims, sender, digest_of(signed))


def sign_receipt(
    opened: Opened,
    status: str,
    *,
    reads: list[dict] | None = None,
    code: str = "",
    now: datetime.datetime | None = None,
) -> str:
    """This node's signed acknowledgement of a message: id, digest, when, the outcome
    ("accepted", "duplicate", or "refused" with the refusal's `code`), and the reads of the
    person's data it caused here (readreceipts.py)."""
    now = now or timezone.now()
    claims = {
        "iss": settings.EXCHANGE_NODE_ID,
        "aud": opened.sender.node_id,
        "jti": opened.claims["jti"],
        "digest": opened.digest,
        "iat": int(now.timestamp()),
        "status": status,
    }
    if reads:
        claims["reads"] = reads
    if code:
        claims["code"] = code
    return sign(claims)


def verify_receipt(receipt: str, sender: PeerNode, message_id: uuid.UUID, digest: str) -> dict:
    """The receipt's claims if `sender` signed it for this message; ValueError otherwise."""
    header = _segment(receipt, 0, 3)
    now = timezone.now()
    for key in _valid_keys(sender, KeyUse.SIGNING, now):
        if key.kid != header.get("kid"):
            continue
        try:
            verified = jws.deserialize_compact(
                receipt, public_key(key.jwk), algorithms=[SIGNATURE_ALG]
            )
        except JoseError:
            break
        claims = json.loads(verified.payload)
        if (
            claims.get("iss") == sender.node_id
            and claims.get("jti") == str(message_id)
            and claims.get("digest") == digest
        ):
            return claims
        break
    raise ValueError("the receipt is not signed by the receiver for this message")
