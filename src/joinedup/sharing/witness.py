"""Witnesses of the access ledger: places outside the database that keep every signed
checkpoint, so that whoever owns the database cannot remove or rewrite one unseen.

A checkpoint is published as a signed tree head in the shape of RFC 9162 (Certificate
Transparency 2.0), section 4.10: `TreeHeadDataV2` — timestamp (milliseconds since the epoch),
tree size (the chain's position), root hash (the chain's head hash: each row's hash covers
every row before it), and extensions — signed with Ed25519 over its TLS encoding. One
extension, of a type from the range RFC 9162 leaves for private use, names the chain, so a
tree head cannot be moved from one chain to another.

A witness is a plugin: a subclass of `Witness` registered under a kind (`@register("file")`)
and configured by `JOINEDUP_LEDGER_WITNESSES` as `kind:location` (or a dotted path to the
class instead of a kind). This module holds the file-system witness: one file per signed tree
head, written once and never rewritten. An object store with a retention lock (S3 Object
Lock in compliance mode, or the like) is the witness to add at scale: its `publish` puts one
object per tree head under the same name, with a retention period; its `read` lists them.
"""

from __future__ import annotations

import base64
import json
import os
import struct
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

#: The extension naming the chain (RFC 9162's log artifact extensions, private-use range).
CHAIN_EXTENSION = 0xF000


class WitnessError(Exception):
    """A witness could not keep a tree head, or what it holds cannot be read."""


@dataclass(frozen=True)
class TreeHead:
    """One signed tree head: what a checkpoint states, in RFC 9162's shape."""

    chain: int
    tree_size: int
    root_hash: str  # hex
    timestamp: int  # milliseconds since the epoch
    key_id: str = ""
    signature: str = ""  # base64

    def tbs(self) -> bytes:
        """The TLS encoding of `TreeHeadDataV2`: what the signature covers."""
        chain = struct.pack(">H", self.chain)
        extension = struct.pack(">HH", CHAIN_EXTENSION, len(chain)) + chain
        root = bytes.fromhex(self.root_hash)
        return (
            struct.pack(">QQ", self.timestamp, self.tree_size)
            + struct.pack(">B", len(root))
            + root
            + struct.pack(">H", len(extension))
            + extension
        )

    def name(self) -> str:
        """Where a witness keeps it: one name per chain, position and time."""
        return f"chain-{self.chain:05d}/{self.tree_size:012d}-{self.timestamp}.sth.json"

    def to_json(self) -> bytes:
        return json.dumps(
            {
                "chain": self.chain,
                "tree_size": self.tree_size,
                "root_hash": self.root_hash,
                "timestamp": self.timestamp,
                "key_id": self.key_id,
                "signature": self.signature,
                "tree_head": base64.b64encode(self.tbs()).decode("ascii"),
            },
            sort_keys=True,
            indent=1,
        ).encode("utf-8")

    @classmethod
    def from_json(cls, raw: bytes) -> TreeHead:
        try:
            data = json.loads(raw)
            head = cls(
                chain=int(data["chain"]),
                tree_size=int(data["tree_size"]),
                root_hash=str(data["root_hash"]),
                timestamp=int(data["timestamp"]),
                key_id=str(data["key_id"]),
                signature=str(data["signature"]),
            )
            head.tbs()
        except (ValueError, KeyError, TypeError, struct.error) as error:
            raise WitnessError(f"not a signed tree head ({error})") from None
        return head


class Witness:
    """A place outside the database that keeps every signed tree head it is given."""

    kind = ""

    def __init__(self, location: str) -> None:
        self.location = location

    def __str__(self) -> str:
        return f"{self.kind}:{self.location}"

    def publish(self, head: TreeHead) -> None:
        """Keep `head` for good; raise `WitnessError` when it could not be kept."""
        raise NotImplementedError

    def read(self) -> Iterator[TreeHead | WitnessError]:
        """Every tree head kept, or an error in place of one that cannot be read."""
        raise NotImplementedError


_KINDS: dict[str, type[Witness]] = {}


def register(kind: str) -> Callable[[type[Witness]], type[Witness]]:
    def add(cls: type[Witness]) -> type[Witness]:
        cls.kind = kind
        _KINDS[kind] = cls
        return cls

    return add


@register("file")
class FileWitness(Witness):
    """A directory (on another volume than the database, ideally another machine's mount):
    one file per tree head, created exclusively (a hard link from a finished temporary file,
    so a reader never sees half a file), read-only, flushed to disk with its directory."""

    def __init__(self, location: str, must_exist: bool = True) -> None:
        super().__init__(location)
        #: Whether a missing directory is a problem (it is, except for the embedded
        #: set-up's default before its first checkpoint).
        self.must_exist = must_exist

    @property
    def root(self) -> Path:
        return Path(self.location)

    def publish(self, head: TreeHead) -> None:
        target = self.root / head.name()
        content = head.to_json()
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            temporary = target.parent / f".{uuid.uuid4().hex}.tmp"
            fd = os.open(temporary, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o444)
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(content)
                    handle.flush()
                    os.fsync(handle.fileno())
                try:
                    os.link(temporary, target)
                except FileExistsError:
                    if target.read_bytes() != content:
                        raise WitnessError(
                            f"{target} already holds another tree head; it is never rewritten"
                        ) from None
            finally:
                temporary.unlink(missing_ok=True)
            directory = os.open(target.parent, os.O_RDONLY)
            try:
                os.fsync(directory)
            finally:
                os.close(directory)
        except OSError as error:
            raise WitnessError(f"the witness {self} could not keep a tree head: {error}") from None

    def read(self) -> Iterator[TreeHead | WitnessError]:
        if not self.root.is_dir():
            if self.must_exist or self.root.exists():
                yield WitnessError(f"the witness {self} is not a directory that can be read")
            return
        for path in sorted(self.root.glob("chain-*/*.sth.json")):
            try:
                yield TreeHead.from_json(path.read_bytes())
            except (OSError, WitnessError) as error:
                yield WitnessError(f"{path}: {error}")


def witness(entry: str) -> Witness:
    """The witness an entry of `JOINEDUP_LEDGER_WITNESSES` names: `kind:location`, a dotted
    path to a `Witness` class and its location, or a bare directory (a file witness)."""
    kind, sep, location = entry.partition(":")
    if not sep or kind.startswith((".", "/", "~")) or (len(kind) == 1 and kind.isalpha()):
        return FileWitness(str(Path(entry).expanduser()))
    if kind in _KINDS:
        return _KINDS[kind](location)
    if "." in kind:
        try:
            cls = import_string(kind)
        except ImportError as error:
            raise ImproperlyConfigured(f"JOINEDUP_LEDGER_WITNESSES: {error}") from None
        if isinstance(cls, type) and issubclass(cls, Witness):
            return cls(location)
    raise ImproperlyConfigured(
        f"JOINEDUP_LEDGER_WITNESSES: unknown witness kind {kind!r} "
        f"(known: {', '.join(sorted(_KINDS))}, or a dotted path to a Witness class)"
    )


def configured() -> list[Witness]:
    """The witnesses every checkpoint is published to. The embedded set-up, when none is
    configured, keeps a file witness in the data directory (better than none, but on the same
    volume as the database); production (`JOINEDUP_SECURE=true`) must name at least one."""
    if settings.LEDGER_WITNESSES:
        return [witness(entry) for entry in settings.LEDGER_WITNESSES]
    if settings.SECURE:
        raise ImproperlyConfigured(
            "JOINEDUP_LEDGER_WITNESSES must name at least one witness when JOINEDUP_SECURE=true"
        )
    return [FileWitness(str(Path(settings.DATA_DIR) / "ledger-witness"), must_exist=False)]
