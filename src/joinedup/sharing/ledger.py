"""The access ledger: hash chains of access events, with signed checkpoints.

Each row's hash is SHA-256 over the previous row's hash and the canonical JSON of the row
(sorted keys, no spaces, UTF-8), so changing, removing or slipping in a row breaks the chain
where it happened, and `verify` names that row. Anyone able to write to the database could
rebuild a whole chain after tampering with it; signed checkpoints stop that: every so often
the head of each chain (position and hash) is signed with an Ed25519 key the database does
not hold, so a rebuilt or truncated chain no longer matches a signature. Each checkpoint is a
signed tree head in the shape of RFC 9162 and is published, as it is signed, to witnesses
outside the database (`witness.py`): deleting checkpoints, or the rows they cover, no longer
goes unseen. What stays open is the interval between checkpoints (a few seconds): rows newer
than the last checkpoint can be rewritten; `verify` reports rows older than that interval that
no checkpoint covers.

An append is chained when it is written, in the caller's transaction: it locks the head of
one chain until that transaction commits. So that concurrent writers do not queue behind one
lock, the ledger is `JOINEDUP_LEDGER_CHAINS` parallel chains on PostgreSQL: an append takes
the first head no other transaction holds (`SELECT … FOR UPDATE SKIP LOCKED`), and waits
only when every chain is busy. Each chain is verified and checkpointed on its own; a row's
place is (chain, position). SQLite serialises writers anyway (IMMEDIATE transactions), so
there it is one chain.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import logging
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction
from django.utils import timezone

from joinedup.keyfiles import read_or_create

from . import witness
from .models import AccessEvent, LedgerCheckpoint, LedgerHead

logger = logging.getLogger(__name__)

GENESIS = "0" * 64
#: The channel of an access made on another deployment (node) and reported back to the
#: person's home node by that node's signed read receipt (docs/exchange.md).
REMOTE_CHANNEL = "remote"
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


def chain_count() -> int:
    """How many chains appends spread over: the setting on PostgreSQL, one elsewhere."""
    if not connection.features.has_select_for_update_skip_locked:
        return 1
    return max(1, settings.LEDGER_CHAINS)


def _create_heads(chains: int) -> None:
    """Create the missing heads of chains 1…`chains`, each from its last row (or genesis)."""
    existing = set(LedgerHead.objects.filter(pk__lte=chains).values_list("pk", flat=True))
    heads = []
    for n in range(1, chains + 1):
        if n in existing:
            continue
        last = AccessEvent.objects.filter(chain=n).order_by("-seq").only("seq", "hash").first()
        heads.append(
            LedgerHead(pk=n, seq=last.seq if last else 0, hash=last.hash if last else GENESIS)
        )
    LedgerHead.objects.bulk_create(heads, ignore_conflicts=True)


def _lock_a_head() -> tuple[int, int, str]:
    """(chain, position, hash) of a chain's head, locked until the transaction ends: the
    first one that no other transaction holds (one this transaction already holds counts
    as free), else any one."""
    chains = chain_count()
    heads = LedgerHead.objects.filter(pk__lte=chains).order_by("pk")
    if chains > 1:
        with connection.cursor() as cursor:
            cursor.execute(_sql()["lock"], [chains])
            found = cursor.fetchone()
        if found is None and heads.count() < chains:
            _create_heads(chains)
            return _lock_a_head()
        if found is not None:
            return found
        # Every chain is held by another transaction: wait for one of them.
        head = heads.select_for_update().filter(pk=random.randint(1, chains)).first()
        if head is not None:
            return head.pk, head.seq, head.hash
    head = heads.select_for_update().filter(pk=1).first()
    if head is None:
        _create_heads(1)
        head = heads.select_for_update().get(pk=1)
    return head.pk, head.seq, head.hash


@cache
def _sql() -> dict[str, str]:
    """The statements of an append on PostgreSQL, from the models' own names. An append
    is the hottest write of the platform: two statements instead of three, without the
    query compiler, make it about twice as cheap."""
    qn = connection.ops.quote_name
    head, rows = qn(LedgerHead._meta.db_table), qn(AccessEvent._meta.db_table)
    columns = ", ".join(qn(f.column) for f in _columns())
    values = ", ".join(["%s"] * len(_columns()))
    return {
        "lock": f"SELECT id, seq, hash FROM {head} WHERE id <= %s "  # noqa: S608 (our names)
        "ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED",
        "append": f"WITH moved AS (UPDATE {head} SET seq = %s, hash = %s, updated_at = %s "  # noqa: S608
        f"WHERE id = %s) INSERT INTO {rows} ({columns}) VALUES ({values}) RETURNING id",
    }


@cache
def _columns() -> list:
    return [f for f in AccessEvent._meta.concrete_fields if not f.primary_key]


def _write(event: AccessEvent) -> None:
    """Insert the row and move its chain's head to it."""
    if connection.vendor != "postgresql":
        event.save(force_insert=True)
        LedgerHead.objects.filter(pk=event.chain).update(
            seq=event.seq, hash=event.hash, updated_at=event.occurred_at
        )
        return
    _write_many([event])


@lru_cache(maxsize=32)
def _append_many_sql(rows: int) -> str:
    """`_sql()["append"]` for several rows: one INSERT of them all with the head's move."""
    one = "(" + ", ".join(["%s"] * len(_columns())) + ")"
    return _sql()["append"].replace(f"VALUES {one}", "VALUES " + ", ".join([one] * rows))


def _write_many(events: list[AccessEvent]) -> None:
    """PostgreSQL: insert the rows (one chain, in order) and move the chain's head to the last,
    in one statement without the query compiler (`_sql`)."""
    last = events[-1]
    params = [last.seq, last.hash, last.occurred_at, last.chain]
    for event in events:
        params += [f.get_db_prep_save(getattr(event, f.attname), connection) for f in _columns()]
    sql = _sql()["append"] if len(events) == 1 else _append_many_sql(len(events))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        ids = [row[0] for row in cursor.fetchall()]
    for event, pk in zip(events, ids, strict=True):  # RETURNING answers in the VALUES' order
        event.pk = pk
        event._state.adding = False
        event._state.db = connection.alias


#: Called after a transaction that appended commits, at most once per checkpoint interval in
#: each process: the scheduler asks for a checkpoint here (`schedule.py`), so that signing
#: follows appends wherever they are made, with or without the periodic-tasks loop.
after_append: list[Callable[[], None]] = []
_next_call = 0.0
_next_call_lock = threading.Lock()


def _call_after_append() -> None:
    for callback in after_append:
        callback()


def _after_append_due() -> bool:
    global _next_call
    now = time.monotonic()
    with _next_call_lock:
        if now < _next_call:
            return False
        _next_call = now + max(1, settings.LEDGER_CHECKPOINT_SECONDS)
    return True


def append(**values: object) -> AccessEvent:
    """Write one access event at the end of a chain and return it.

    Joins the caller's transaction when there is one: the event commits (or not) with the
    change it records, and the chain's head stays locked until then.
    """
    with transaction.atomic():
        chain, seq, prev_hash = _lock_a_head()
        event = AccessEvent(
            chain=chain, seq=seq + 1, prev_hash=prev_hash, occurred_at=timezone.now(), **values
        )
        event.categories = sorted(set(event.categories or []))
        event.fields = sorted(set(event.fields or []))
        event.hash = row_hash(event.prev_hash, event)
        _write(event)
        if after_append and _after_append_due():
            transaction.on_commit(_call_after_append)
    return event


#: Up to this many rows, `append_many` on PostgreSQL writes them and moves the head in one
#: statement (a page's batch: a case page is one row, a list page of people one per person);
#: a larger batch goes through `bulk_create`, which splits it as the database requires.
_MANY_IN_ONE_STATEMENT = 100


def append_many(rows: list[dict[str, object]]) -> list[AccessEvent]:
    """Write several access events, in order, at the end of one chain, in one bulk insert
    (and one move of the chain's head); the same rows and hashes as appending them one by
    one on that chain. Joins the caller's transaction like `append`."""
    if not rows:
        return []
    # No savepoint of its own: the rows are written all together or not at all, with the
    # caller's transaction (the decisions they record).
    with transaction.atomic(savepoint=False):
        chain, seq, prev_hash = _lock_a_head()
        now = timezone.now()
        events = []
        for values in rows:
            seq += 1
            event = AccessEvent(
                chain=chain, seq=seq, prev_hash=prev_hash, occurred_at=now, **values
            )
            event.categories = sorted(set(event.categories or []))
            event.fields = sorted(set(event.fields or []))
            event.hash = row_hash(event.prev_hash, event)
            prev_hash = event.hash
            events.append(event)
        if connection.vendor == "postgresql" and len(events) <= _MANY_IN_ONE_STATEMENT:
            _write_many(events)
        else:
            AccessEvent.objects.bulk_create(events)
            LedgerHead.objects.filter(pk=chain).update(seq=seq, hash=prev_hash, updated_at=now)
        if after_append and _after_append_due():
            transaction.on_commit(_call_after_append)
    return events


# --- Verification -------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One finding of `verify`: what kind of tampering, where in which chain, and the row."""

    #: altered | deleted | inserted | checkpoint (signature not valid); with witnesses also
    #: checkpoint-missing | truncated | unsigned | witness (a witness's copy is unreadable)
    kind: str
    seq: int
    row_id: int | None
    detail: str
    chain: int = 1

    def __str__(self) -> str:
        if self.chain == 0:
            return f"{self.kind}: {self.detail}"
        row = f" (row id {self.row_id})" if self.row_id is not None else ""
        return f"{self.kind} at position {self.seq} of chain {self.chain}{row}: {self.detail}"


@dataclass
class Verification:
    checked: int = 0
    checkpoints: int = 0
    chains: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first(self) -> Problem | None:
        return self.problems[0] if self.problems else None


@contextmanager
def _one_snapshot() -> Iterator[None]:
    """Read rows, heads and checkpoints as of one moment, so that appends committed while
    `verify` runs are not mistaken for tampering (PostgreSQL: a repeatable-read transaction;
    SQLite serialises writers, and a read transaction there would take the write lock)."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        yield
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        yield


class _ChainWalk:
    """Follows one chain row by row and reports where the links break."""

    def __init__(self, chain: int, result: Verification, wanted: set[int]) -> None:
        self.chain, self.result, self.wanted = chain, result, wanted
        self.prev_seq, self.prev_hash, self.prev_id = 0, GENESIS, None
        self.before_prev_hash: str | None = None
        self.hashes_at: dict[int, tuple[str, int]] = {}

    def problem(self, kind: str, seq: int, row_id: int | None, detail: str) -> None:
        self.result.problems.append(Problem(kind, seq, row_id, detail, self.chain))

    def step(self, row: AccessEvent) -> None:
        self.result.checked += 1
        if row.seq in self.wanted:
            self.hashes_at[row.seq] = (row.hash, row.pk)
        prev_seq, prev_id = self.prev_seq, self.prev_id
        if row_hash(row.prev_hash, row) != row.hash:
            self.problem("altered", row.seq, row.pk, "the row does not match its hash")
        elif row.prev_hash != self.prev_hash:
            if self.before_prev_hash is not None and row.prev_hash == self.before_prev_hash:
                self.problem(
                    "inserted",
                    prev_seq,
                    prev_id,
                    "the row is not in the chain: the next row links past it",
                )
            elif row.seq > prev_seq + 1 or prev_id is None:
                self.problem(
                    "deleted",
                    prev_seq + 1,
                    None,
                    f"rows between position {prev_seq} and {row.seq} are missing",
                )
            else:
                self.problem(
                    "altered",
                    prev_seq,
                    prev_id,
                    "the row was changed and its hash recomputed: the next row "
                    "no longer links to it",
                )
        elif row.seq != prev_seq + 1:
            self.problem(
                "altered", row.seq, row.pk, f"the position was changed from {prev_seq + 1}"
            )
        self.before_prev_hash, self.prev_hash = self.prev_hash, row.hash
        self.prev_seq, self.prev_id = row.seq, row.pk

    def end(self, head: LedgerHead | None) -> None:
        """Compare the end of the chain with its head row."""
        if head is None or (head.seq, head.hash) == (self.prev_seq, self.prev_hash):
            return
        if head.seq > self.prev_seq:
            self.problem(
                "deleted",
                self.prev_seq + 1,
                None,
                f"the chain ends at {self.prev_seq} but its head says {head.seq}",
            )
        elif head.seq < self.prev_seq:
            self.problem(
                "inserted",
                head.seq + 1,
                None,
                f"rows after position {head.seq} were added outside the ledger",
            )
        else:
            self.problem(
                "altered", self.prev_seq, self.prev_id, "the last row differs from the head"
            )


def verify(
    batch_size: int = 5000,
    witnesses: list[witness.Witness] | None = None,
    now: datetime.datetime | None = None,
) -> Verification:
    """Walk every chain and the checkpoints; report every break, first chain first.

    With `witnesses`, also compare the database with the signed tree heads they keep: a
    witnessed checkpoint missing from the database, a chain shorter than a witnessed
    checkpoint covers or differing from it, and rows older than the checkpoint interval
    (plus its slack) that no checkpoint covers.
    """
    result = Verification()
    # A checkpoint is published before its transaction commits: one signed just before the
    # witnesses are read may not be in the snapshot yet, and is not missing.
    slack = datetime.timedelta(seconds=settings.LEDGER_CHECKPOINT_SLACK_SECONDS)
    committing_since = timezone.now() - slack
    witnessed, witness_problems = _witnessed(witnesses or [])
    result.problems.extend(witness_problems)
    now = now or timezone.now()
    with _one_snapshot():
        checkpoints = list(LedgerCheckpoint.objects.order_by("chain", "seq", "pk"))
        heads = {head.pk: head for head in LedgerHead.objects.all()}
        wanted: dict[int, set[int]] = {}
        last_signed: dict[int, int] = {}
        for chain, seq in [(cp.chain, cp.seq) for cp in checkpoints] + [
            (head.chain, head.tree_size) for head, _ in witnessed
        ]:
            wanted.setdefault(chain, set()).add(seq)
            last_signed[chain] = max(last_signed.get(chain, 0), seq)
        walks: dict[int, _ChainWalk] = {}
        walk: _ChainWalk | None = None
        unsigned: dict[int, AccessEvent] = {}  # the oldest row after a chain's last checkpoint
        rows = AccessEvent.objects.order_by("chain", "seq", "pk").iterator(chunk_size=batch_size)
        for row in rows:
            if walk is None or walk.chain != row.chain:
                if walk is not None:
                    walk.end(heads.get(walk.chain))
                walk = walks[row.chain] = _ChainWalk(
                    row.chain, result, wanted.get(row.chain, set())
                )
            walk.step(row)
            if row.seq > last_signed.get(row.chain, 0):
                oldest = unsigned.get(row.chain)
                if oldest is None or row.occurred_at < oldest.occurred_at:
                    unsigned[row.chain] = row
        if walk is not None:
            walk.end(heads.get(walk.chain))
    for chain, head in sorted(heads.items()):
        if chain not in walks and head.seq > 0:
            _ChainWalk(chain, result, set()).end(head)
    result.chains = len(walks)

    keys = trusted_public_keys()
    for cp in checkpoints:
        result.checkpoints += 1
        if not _signature_valid(cp, keys):
            result.problems.append(
                Problem(
                    "checkpoint", cp.seq, None, "the checkpoint's signature is not valid", cp.chain
                )
            )
            continue
        found = walks[cp.chain].hashes_at.get(cp.seq) if cp.chain in walks else None
        if found is None:
            result.problems.append(
                Problem(
                    "deleted",
                    cp.seq,
                    None,
                    f"a signed checkpoint covers position {cp.seq}, which is gone "
                    "(the chain was truncated)",
                    cp.chain,
                )
            )
        elif found[0] != cp.hash:
            result.problems.append(
                Problem(
                    "altered",
                    cp.seq,
                    found[1],
                    "the chain up to here differs from the signed checkpoint",
                    cp.chain,
                )
            )
    if witnesses is not None:
        _compare_with_witnesses(result, witnessed, checkpoints, walks, keys, committing_since)
        _report_unsigned(result, unsigned, now)
    return result


def _witnessed(
    found_in: list[witness.Witness],
) -> tuple[list[tuple[witness.TreeHead, witness.Witness]], list[Problem]]:
    """Every tree head the witnesses keep, and a problem for each one that cannot be read."""
    heads, problems = [], []
    for place in found_in:
        for item in place.read():
            if isinstance(item, witness.WitnessError):
                problems.append(Problem("witness", 0, None, str(item), 0))
            else:
                heads.append((item, place))
    return heads, problems


def _compare_with_witnesses(
    result: Verification,
    witnessed: list[tuple[witness.TreeHead, witness.Witness]],
    checkpoints: list[LedgerCheckpoint],
    walks: dict[int, _ChainWalk],
    keys: dict[str, Ed25519PublicKey],
    committing_since: datetime.datetime,
) -> None:
    in_database = {_tree_head(cp) for cp in checkpoints}
    for head, place in witnessed:
        chain, seq = head.chain, head.tree_size
        if not _tree_head_valid(head, keys):
            result.problems.append(
                Problem(
                    "witness",
                    seq,
                    None,
                    f"the witness {place} holds a tree head whose signature does not verify",
                    chain,
                )
            )
            continue
        signed_at = _from_milliseconds(head.timestamp)
        if head not in in_database and signed_at < committing_since:
            result.problems.append(
                Problem(
                    "checkpoint-missing",
                    seq,
                    None,
                    f"the witness {place} holds a checkpoint signed at {_timestamp(signed_at)} "
                    "that the database does not",
                    chain,
                )
            )
        walk = walks.get(chain)
        found = walk.hashes_at.get(seq) if walk else None
        if found is None:
            length = walk.prev_seq if walk else 0
            if length < seq:
                result.problems.append(
                    Problem(
                        "truncated",
                        seq,
                        None,
                        f"the chain holds {length} rows, fewer than the {seq} that a checkpoint "
                        f"kept by the witness {place} covers",
                        chain,
                    )
                )
            else:
                result.problems.append(
                    Problem(
                        "deleted",
                        seq,
                        None,
                        f"a checkpoint kept by the witness {place} covers position {seq}, "
                        "which is gone",
                        chain,
                    )
                )
        elif found[0] != head.root_hash:
            result.problems.append(
                Problem(
                    "altered",
                    seq,
                    found[1],
                    f"the chain up to here differs from the checkpoint the witness {place} keeps",
                    chain,
                )
            )


def _report_unsigned(
    result: Verification, unsigned: dict[int, AccessEvent], now: datetime.datetime
) -> None:
    """Rows no checkpoint covers, older than the interval in which one should have been
    signed: the signer stopped, or the rows (or the checkpoints after them) were forged."""
    window = datetime.timedelta(
        seconds=settings.LEDGER_CHECKPOINT_SECONDS + settings.LEDGER_CHECKPOINT_SLACK_SECONDS
    )
    for chain, row in sorted(unsigned.items()):
        if now - row.occurred_at > window:
            result.problems.append(
                Problem(
                    "unsigned",
                    row.seq,
                    row.pk,
                    f"no signed checkpoint covers this row, dated {_timestamp(row.occurred_at)}: "
                    f"one is signed every {settings.LEDGER_CHECKPOINT_SECONDS} s",
                    chain,
                )
            )


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
    return read_or_create(Path(settings.DATA_DIR) / KEY_FILE, new_key)


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


def _signed_message(chain: int, seq: int, hash_: str, signed_at: datetime.datetime) -> bytes:
    """What checkpoints signed before they were tree heads (still verified). Chain 1 leaves
    the chain out: checkpoints signed before the ledger had several chains stay valid."""
    message = {"seq": seq, "hash": hash_, "signed_at": _timestamp(signed_at)}
    if chain != 1:
        message["chain"] = chain
    return canonical(message)


_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)


def _milliseconds(moment: datetime.datetime) -> int:
    """Milliseconds since the epoch, exactly (no float); -1 for a time finer than that (a
    checkpoint signed before tree heads, which never matches one)."""
    if moment.microsecond % 1000:
        return -1
    return (moment - _EPOCH) // datetime.timedelta(milliseconds=1)


def _from_milliseconds(value: int) -> datetime.datetime:
    return _EPOCH + datetime.timedelta(milliseconds=value)


def _tree_head(cp: LedgerCheckpoint) -> witness.TreeHead:
    """The checkpoint as the RFC 9162 tree head it signs: the chain's position is the tree
    size, its head hash the root hash, the signing time (milliseconds) the timestamp."""
    return witness.TreeHead(
        chain=cp.chain,
        tree_size=cp.seq,
        root_hash=cp.hash,
        timestamp=_milliseconds(cp.signed_at),
        key_id=cp.key_id,
        signature=cp.signature,
    )


def _tree_head_valid(head: witness.TreeHead, keys: dict[str, Ed25519PublicKey]) -> bool:
    key = keys.get(head.key_id)
    if key is None or head.timestamp < 0:
        return False
    try:
        key.verify(base64.b64decode(head.signature), head.tbs())
    except (InvalidSignature, ValueError):
        return False
    return True


def _signature_valid(cp: LedgerCheckpoint, keys: dict[str, Ed25519PublicKey]) -> bool:
    if _tree_head_valid(_tree_head(cp), keys):
        return True
    key = keys.get(cp.key_id)
    if key is None:
        return False
    try:
        message = _signed_message(cp.chain, cp.seq, cp.hash, cp.signed_at)
        key.verify(base64.b64decode(cp.signature), message)
    except (InvalidSignature, ValueError):
        return False
    return True


def _last_signed(chain: int) -> int:
    last = (
        LedgerCheckpoint.objects.filter(chain=chain).order_by("-seq").values_list("seq", flat=True)
    ).first()
    return last or 0


def needs_checkpoint() -> bool:
    """Whether a chain's head moved since its last checkpoint (a few index lookups)."""
    return any(
        _last_signed(chain) < seq
        for chain, seq in LedgerHead.objects.filter(seq__gt=0).values_list("pk", "seq")
    )


def checkpoint(publish_to: list[witness.Witness] | None = None) -> list[LedgerCheckpoint]:
    """Sign the head of every chain that moved since its last checkpoint, as an RFC 9162 tree
    head, and publish each to the witnesses (the configured ones by default); returns the new
    checkpoints (none when nothing was appended since).

    A checkpoint is kept in the database only once at least one witness has kept it (a
    witness that failed is logged; a head no witness kept stays unsigned and is signed again
    at the next interval; if none was kept, the signing fails). The checkpoints are then
    written in one transaction. A head is read as committed, without a lock: its position
    and hash are those of rows that are committed too, and appends carry on meanwhile.
    """
    places = witness.configured() if publish_to is None else publish_to
    private = signing_key()
    signer = key_id(private.public_key())
    kept, failures = [], []
    for head in LedgerHead.objects.filter(seq__gt=0).order_by("pk"):
        if _last_signed(head.pk) >= head.seq:
            continue
        now = timezone.now()
        signed_at = now.replace(microsecond=now.microsecond // 1000 * 1000)
        cp = LedgerCheckpoint(
            chain=head.pk, seq=head.seq, hash=head.hash, signed_at=signed_at, key_id=signer
        )
        cp.signature = base64.b64encode(private.sign(_tree_head(cp).tbs())).decode("ascii")
        try:
            _publish(_tree_head(cp), places)
        except witness.WitnessError as error:
            failures.append(error)
            continue
        kept.append(cp)
    if kept:
        with transaction.atomic():
            LedgerCheckpoint.objects.bulk_create(kept)
    elif failures:
        raise failures[0]
    return kept


def _publish(tree_head: witness.TreeHead, places: list[witness.Witness]) -> None:
    """Give the tree head to every witness; raise when none kept it."""
    failures = []
    for place in places:
        try:
            place.publish(tree_head)
        except witness.WitnessError as error:
            failures.append(error)
            logger.error("%s", error)
    if places and len(failures) == len(places):
        raise failures[0]


def events_for(subject_id: int) -> Iterable[AccessEvent]:
    """A person's own ledger, newest first."""
    return AccessEvent.objects.filter(subject_id=subject_id).order_by("-occurred_at", "-pk")
