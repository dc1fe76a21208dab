"""The trust list: which nodes exist, where they answer, their keys, whom they serve.

The federation's governance authority publishes it as a JWS in the flattened JSON
serialization (RFC 7515 §7.2.2), signed with Ed25519 by one of the trust anchors this node
is configured with (`JOINEDUP_EXCHANGE_TRUST_ANCHORS`). Loading refuses, with a message that
says why, a list that is unsigned, signed by a key that is not an anchor, altered, expired,
or older than the one already loaded (so an old list cannot bring back a revoked key).
The payload is described in docs/exchange.md.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import OKPKey

from joinedup.identity.models import AssuranceLevel

from .models import KeyUse, PeerKey, PeerNode, TrustList

ALGORITHM = "Ed25519"


class TrustListRefused(Exception):
    """The trust list cannot be loaded; the message (translated) says why."""


@dataclass(frozen=True)
class Loaded:
    trust_list: TrustList
    nodes: int
    keys: int
    removed: int


def anchors() -> dict[str, OKPKey]:
    """The governance authority's public keys, by kid, from the settings."""
    raw = settings.EXCHANGE_TRUST_ANCHORS
    if not raw:
        return {}
    text = raw if raw.lstrip().startswith("{") else Path(raw).read_text()
    return {jwk["kid"]: OKPKey.import_key(jwk) for jwk in json.loads(text).get("keys", [])}


def sign(document: dict, key: OKPKey, kid: str) -> dict:
    """The trust list `document` signed by the governance authority's key (flattened JWS)."""
    payload = json.dumps(document, sort_keys=True, ensure_ascii=False).encode()
    protected = {"alg": ALGORITHM, "kid": kid, "typ": "joinedup-trust-list+jws"}
    return jws.serialize_json({"protected": protected}, payload, key, algorithms=[ALGORITHM])


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _moment(value: object, field: str) -> datetime.datetime | None:
    if value in (None, ""):
        return None
    moment = parse_datetime(str(value))
    if moment is None or timezone.is_naive(moment):
        raise TrustListRefused(
            _("The trust list is malformed: %(field)s is not a date and time with its offset.")
            % {"field": field}
        )
    return moment


def verify(signed: object) -> tuple[dict, str]:
    """The trust list's content and the anchor that signed it, or TrustListRefused."""
    if not isinstance(signed, dict) or not signed.get("signature") or "protected" not in signed:
        raise TrustListRefused(_("The trust list is not signed."))
    trusted = anchors()
    if not trusted:
        raise TrustListRefused(
            _("No trust anchor is configured on this node: set JOINEDUP_EXCHANGE_TRUST_ANCHORS.")
        )
    try:
        header = json.loads(_b64decode(signed["protected"]))
        if not isinstance(header, dict):
            raise ValueError("header")
    except (ValueError, TypeError, binascii.Error):
        raise TrustListRefused(_("The trust list is not signed.")) from None
    kid = header.get("kid", "")
    if kid not in trusted:
        raise TrustListRefused(
            _("The trust list is signed by a key this node does not trust (%(kid)s).")
            % {"kid": kid or "?"}
        )
    try:
        verified = jws.deserialize_json(signed, trusted[kid], algorithms=[ALGORITHM])
        document = json.loads(verified.payload)
    except (JoseError, ValueError, TypeError):
        raise TrustListRefused(
            _("The trust list's signature does not match its content.")
        ) from None
    if not isinstance(document, dict):
        raise TrustListRefused(_("The trust list is malformed: it holds no list of nodes."))
    return document, kid


def load(signed: object, *, now: datetime.datetime | None = None) -> Loaded:
    """Check and load a signed trust list: peers and keys it names become what this node
    trusts; peers it no longer names are revoked; all in one transaction."""
    now = now or timezone.now()
    document, kid = verify(signed)
    expires_at = _moment(document.get("expires_at"), "expires_at")
    issued_at = _moment(document.get("issued_at"), "issued_at")
    if expires_at is None or issued_at is None:
        raise TrustListRefused(_("The trust list is malformed: it has no issue or expiry date."))
    if expires_at <= now:
        raise TrustListRefused(
            _("The trust list expired on %(date)s.")
            % {"date": date_format(timezone.localtime(expires_at), "DATETIME_FORMAT")}
        )
    sequence = document.get("sequence")
    if not isinstance(sequence, int) or sequence < 0:
        raise TrustListRefused(_("The trust list is malformed: its number is missing."))
    nodes = document.get("nodes")
    if not isinstance(nodes, list):
        raise TrustListRefused(_("The trust list is malformed: it holds no list of nodes."))
    digest = hashlib.sha256(json.dumps(signed, sort_keys=True).encode()).hexdigest()
    with transaction.atomic():
        current = TrustList.objects.select_for_update().order_by("-sequence").first()
        if current is not None and sequence <= current.sequence:
            raise TrustListRefused(
                _(
                    "This trust list (number %(number)s) is not newer than the one loaded "
                    "(number %(current)s)."
                )
                % {"number": sequence, "current": current.sequence}
            )
        trust_list = TrustList.objects.create(
            issuer=str(document.get("issuer", "")),
            sequence=sequence,
            issued_at=issued_at,
            expires_at=expires_at,
            signer_kid=kid,
            digest=digest,
        )
        seen, key_count = [], 0
        for entry in nodes:
            node, count = _load_node(entry, trust_list)
            seen.append(node.node_id)
            key_count += count
        removed = (
            PeerNode.objects.exclude(node_id__in=seen)
            .filter(revoked_at=None)
            .update(revoked_at=now)
        )
    return Loaded(trust_list, len(seen), key_count, removed)


def _load_node(entry: object, trust_list: TrustList) -> tuple[PeerNode, int]:
    if not isinstance(entry, dict) or not entry.get("id") or not entry.get("base_url"):
        raise TrustListRefused(_("The trust list is malformed: a node has no id or address."))
    assurance = entry.get("assurance", AssuranceLevel.SELF_ASSERTED)
    if assurance not in AssuranceLevel.values or isinstance(assurance, bool):
        raise TrustListRefused(
            _("The trust list is malformed: the level of assurance of %(node)s is not 1, 2 or 3.")
            % {"node": entry["id"]}
        )
    hosted = entry.get("agencies") or []
    if not isinstance(hosted, list) or not all(isinstance(key, str) and key for key in hosted):
        raise TrustListRefused(
            _("The trust list is malformed: the agencies of %(node)s are not a list of keys.")
            % {"node": entry["id"]}
        )
    node, _created = PeerNode.objects.update_or_create(
        node_id=entry["id"],
        defaults={
            "names": entry.get("names") or {},
            "base_url": entry["base_url"].rstrip("/"),
            "jurisdictions": list(entry.get("jurisdictions") or []),
            "hosted_agencies": hosted,
            "valid_from": _moment(entry.get("valid_from"), "valid_from"),
            "valid_to": _moment(entry.get("valid_to"), "valid_to"),
            "revoked_at": _moment(entry.get("revoked_at"), "revoked_at"),
            "max_assurance": assurance,
            "trust_list": trust_list,
        },
    )
    kids = []
    for jwk in entry.get("keys") or []:
        use = jwk.get("use") if isinstance(jwk, dict) else None
        if use not in (KeyUse.SIGNING, KeyUse.ENCRYPTION) or not jwk.get("kid"):
            raise TrustListRefused(
                _("The trust list is malformed: a key of %(node)s has no kid or use.")
                % {"node": node.node_id}
            )
        public = {k: jwk[k] for k in ("kty", "crv", "x") if k in jwk}
        try:
            key = OKPKey.import_key(public)
        except (JoseError, ValueError, TypeError, KeyError):
            raise TrustListRefused(
                _("The trust list is malformed: key %(kid)s is not an OKP public key.")
                % {"kid": jwk["kid"]}
            ) from None
        expected = "Ed25519" if use == KeyUse.SIGNING else "X25519"
        if key.curve_name != expected:
            raise TrustListRefused(
                _("The trust list is malformed: key %(kid)s is not an %(curve)s key.")
                % {"kid": jwk["kid"], "curve": expected}
            )
        PeerKey.objects.update_or_create(
            node=node,
            kid=jwk["kid"],
            defaults={
                "use": use,
                "jwk": public,
                "valid_from": _moment(jwk.get("valid_from"), "valid_from"),
                "valid_to": _moment(jwk.get("valid_to"), "valid_to"),
                "revoked_at": _moment(jwk.get("revoked_at"), "revoked_at"),
            },
        )
        kids.append(jwk["kid"])
    PeerKey.objects.filter(node=node).exclude(kid__in=kids).delete()
    return node, len(kids)


def load_file(path: Path) -> Loaded:
    """Load the signed trust list kept in `path` (JSON)."""
    try:
        signed = json.loads(Path(path).read_text())
    except OSError as error:
        raise TrustListRefused(
            _("The trust list file cannot be read: %(error)s") % {"error": error.strerror}
        ) from None
    except ValueError:
        raise TrustListRefused(_("The trust list file is not JSON.")) from None
    return load(signed)
