"""The access ledger: a hash chain of access events, with signed checkpoints.

Each row's hash is SHA-256 over the previous row's hash and the canonical JSON of the row
(sorted keys, no spaces, UTF-8), so changing, removing or slipping in a row breaks the chain
where it happened, and `verify` names that row. Anyone able to write to the database could
rebuild the whole chain after tampering with it; signed checkpoints stop that: every so often
the head of the chain (position and hash) is signed with an Ed25519 key the database does not
hold, so a rebuilt or truncated chain no longer matches a signature.

Appends are serialised on one head row: on PostgreSQL with `SELECT … FOR UPDATE`; on SQLite
every write transaction already takes the database's write lock up front (IMMEDIATE mode).
The lock is held until the caller's transaction commits, so keep those transactions short.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.utils import timezone

from .models import AccessEvent, LedgerCheckpoint, LedgerHead

GENESIS = "0" * 64
KEY_FILE = "ledger-signing-key"

#: The columns the hash covers, in no particular order (the JSON keys are sorted).
HASHED_FIELDS = (
    "occurred_at",
    "subject_id",
    "actor_user_id",
    "actor_person_id",
    "api_client_id",
    "actor_agency",
    "actor_role",
    "holder_agency",
    "action",
    "categories",
    "fields",
    "purpose",
    "legal_basis",
    "agreement_key",
    "consent_id",
    "break_glass_id",
    "outcome",
    "reason",
    "channel",
)


def canonical(value: object) -> bytes:
    """Canonical JSON: sorted keys, no whitespace, UTF-8. The same on every machine."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


def _timestamp(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).isoformat(timespec="microseconds")


def payload(event: AccessEvent) -> dict:
    """The part of a row its hash covers."""
    values = {name: getattr(event, name) for name in HASHED_FIELDS}
    values["occurred_at"] = _timestamp(event.occurred_at)
    return values


def row_hash(prev_hash: str, event: AccessEvent) -> str:
    return hashlib.sha256(prev_hash.encode("ascii") + canonical(payload(event))).hexdigest()


def _head_for_update() -> LedgerHead:
    """The head row, locked. Created on first use from the last row (or the genesis hash)."""
    head = LedgerHead.objects.select_for_update().filter(pk=1).first()
    if head is not None:
        return head
    last = AccessEvent.objects.order_by("-seq").only("seq", "hash").first()
    LedgerHead.objects.get_or_create(
        pk=1, defaults={"seq": last.seq if last else 0, "hash": last.hash if last else GENESIS}
    )
    return LedgerHead.objects.select_for_update().get(pk=1)


def append(**values: object) -> AccessEvent:
    """Write one access event at the end of the chain and return it.

    Joins the caller's transaction when there is one: the event commits (or not) with the
    change it records.
    """
    with transaction.atomic():
        head = _head_for_update()
        event = AccessEvent(
            seq=head.seq + 1, prev_hash=head.hash, occurred_at=timezone.now(), **values
        )
        event.categories = sorted(set(event.categories or []))
        event.fields = sorted(set(event.fields or []))
        event.hash = row_hash(event.prev_hash, event)
        event.save(force_insert=True)
        LedgerHead.objects.filter(pk=head.pk).update(
            seq=event.seq, hash=event.hash, updated_at=event.occurred_at
        )
    return event


# --- Verification -------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One finding of `verify`: what kind of tampering, at which position, and the row."""

    kind: str  # altered | deleted | inserted | checkpoint
    seq: int
    row_id: int | None
    detail: str

    def __str__(self) -> str:
        row = f" (row id {self.row_id})" if self.row_id is not None else ""
        return f"{self.kind} at position {self.seq}{row}: {self.detail}"


@dataclass
class Verification:
    checked: int = 0
    checkpoints: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first(self) -> Problem | None:
        return self.problems[0] if self.problems else None


def verify(batch_size: int = 5000) -> Verification:
    """Walk the whole chain and the checkpoints; report every break, first one first."""
    result = Verification()
    checkpoints = list(LedgerCheckpoint.objects.order_by("seq", "pk"))
    wanted = {cp.seq for cp in checkpoints}
    hashes_at: dict[int, tuple[str, int]] = {}
    prev_seq, prev_hash, prev_id = 0, GENESIS, None
    before_prev_hash: str | None = None
    rows = AccessEvent.objects.order_by("seq", "pk").iterator(chunk_size=batch_size)
    for row in rows:
        result.checked += 1
        if row.seq in wanted:
            hashes_at[row.seq] = (row.hash, row.pk)
        if row_hash(row.prev_hash, row) != row.hash:
            result.problems.append(
                Problem("altered", row.seq, row.pk, "the row does not match its hash")
            )
        elif row.prev_hash != prev_hash:
            if before_prev_hash is not None and row.prev_hash == before_prev_hash:
                result.problems.append(
                    Problem(
                        "inserted",
                        prev_seq,
                        prev_id,
                        "the row is not in the chain: the next row links past it",
                    )
                )
            elif row.seq > prev_seq + 1 or prev_id is None:
                result.problems.append(
                    Problem(
                        "deleted",
                        prev_seq + 1,
                        None,
                        f"rows between position {prev_seq} and {row.seq} are missing",
                    )
                )
            else:
                result.problems.append(
                    Problem(
                        "altered",
                        prev_seq,
                        prev_id,
                        "the row was changed and its hash recomputed: the next row "
                        "no longer links to it",
                    )
                )
        elif row.seq != prev_seq + 1:
            result.problems.append(
                Problem("altered", row.seq, row.pk, f"the position was changed from {prev_seq + 1}")
            )
        before_prev_hash, prev_hash, prev_seq, prev_id = prev_hash, row.hash, row.seq, row.pk

    head = LedgerHead.objects.filter(pk=1).first()
    if head is not None and (head.seq, head.hash) != (prev_seq, prev_hash):
        if head.seq > prev_seq:
            result.problems.append(
                Problem(
                    "deleted",
                    prev_seq + 1,
                    None,
                    f"the chain ends at {prev_seq} but its head says {head.seq}",
                )
            )
        elif head.seq < prev_seq:
            result.problems.append(
                Problem(
                    "inserted",
                    head.seq + 1,
                    None,
                    f"rows after position {head.seq} were added outside the ledger",
                )
            )
        else:
            result.problems.append(
                Problem("altered", prev_seq, prev_id, "the last row differs from the head")
            )

    keys = trusted_public_keys()
    for cp in checkpoints:
        result.checkpoints += 1
        if not _signature_valid(cp, keys):
            result.problems.append(
                Problem("checkpoint", cp.seq, None, "the checkpoint's signature is not valid")
            )
            continue
        found = hashes_at.get(cp.seq)
        if found is None:
            result.problems.append(
                Problem(
                    "deleted",
                    cp.seq,
                    None,
                    f"a signed checkpoint covers position {cp.seq}, which is gone "
                    "(the chain was truncated)",
                )
            )
        elif found[0] != cp.hash:
            result.problems.append(
                Problem(
                    "altered",
                    cp.seq,
                    found[1],
                    "the chain up to here differs from the signed checkpoint",
                )
            )
    return result


# --- Signed checkpoints -------------------------------------------------------------------


def _decode_key(raw: str) -> bytes:
    raw = raw.strip()
    try:
        data = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
    except ValueError:
        data = b""
    if len(data) != 32:
        raise ImproperlyConfigured(
            "JOINEDUP_LEDGER_SIGNING_KEY must be 32 bytes in base64 "
            "(`joinedup ledger new-key` makes one)"
        )
    return data


def new_key() -> str:
    """A fresh Ed25519 private key, as the base64 text the settings expect."""
    private = Ed25519PrivateKey.generate()
    raw = private.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    return base64.urlsafe_b64encode(raw).decode("ascii")


def _development_key() -> str:
    """The embedded set-up's key: made once into the data directory, readable by us only."""
    path = Path(settings.DATA_DIR) / KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(new_key() + "\n")
    return path.read_text().strip()


def signing_key() -> Ed25519PrivateKey:
    raw = settings.LEDGER_SIGNING_KEY or _development_key()
    return Ed25519PrivateKey.from_private_bytes(_decode_key(raw))


def public_key_text(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.urlsafe_b64encode(raw).decode("ascii")


def key_id(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def trusted_public_keys() -> dict[str, Ed25519PublicKey]:
    """The current key's public half and any older ones kept for verification."""
    keys = [signing_key().public_key()]
    for raw in settings.LEDGER_VERIFY_KEYS:
        keys.append(Ed25519PublicKey.from_public_bytes(_decode_key(raw)))
    return {key_id(k): k for k in keys}


def _signed_message(seq: int, hash_: str, signed_at: datetime.datetime) -> bytes:
    return canonical({"seq": seq, "hash": hash_, "signed_at": _timestamp(signed_at)})


def _signature_valid(cp: LedgerCheckpoint, keys: dict[str, Ed25519PublicKey]) -> bool:
    key = keys.get(cp.key_id)
    if key is None:
        return False
    try:
        key.verify(base64.b64decode(cp.signature), _signed_message(cp.seq, cp.hash, cp.signed_at))
    except (InvalidSignature, ValueError):
        return False
    return True


def checkpoint() -> LedgerCheckpoint | None:
    """Sign the current head of the chain; None when the chain is empty or already signed."""
    private = signing_key()
    with transaction.atomic():
        head = _head_for_update()
        if head.seq == 0:
            return None
        last = LedgerCheckpoint.objects.order_by("-seq").first()
        if last is not None and last.seq == head.seq:
            return None
        signed_at = timezone.now()
        signature = private.sign(_signed_message(head.seq, head.hash, signed_at))
        return LedgerCheckpoint.objects.create(
            seq=head.seq,
            hash=head.hash,
            signed_at=signed_at,
            key_id=key_id(private.public_key()),
            signature=base64.b64encode(signature).decode("ascii"),
        )


def events_for(subject_id: int) -> Iterable[AccessEvent]:
    """A person's own ledger, newest first."""
    return AccessEvent.objects.filter(subject_id=subject_id).order_by("-seq")
