"""Loading an agency's client list into the index: by file (CSV or Parquet) or by API batch.

Every row is checked first; errors name the line and the field, never an identifier's value.
Unless the agency asked for a partial load, one bad row refuses the whole load and nothing is
written. Loads are idempotent per agency record id: a record sent again unchanged changes
nothing; sent changed, it is updated. Identifiers are encrypted with identity's keys and kept
beside identity's keyed blind index; the clear value is dropped once both are computed.
"""

from __future__ import annotations

import csv
import datetime
import hashlib
import io
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from joinedup.federation.models import Agency
from joinedup.identity import encryption, identifiers

from .models import Load, SourceRecord

FIELDS = (
    "record_id",
    "given_names",
    "family_name",
    "birth_date",
    "sex",
    "street_address",
    "locality",
    "postal_code",
    "phone",
    "email",
    "identifier_kind",
    "identifier",
)
MAX_LENGTHS = {
    "record_id": 64,
    "given_names": 200,
    "family_name": 200,
    "street_address": 200,
    "locality": 100,
    "postal_code": 20,
    "phone": 40,
    "email": 254,
}
SEXES = {"", "F", "M", "X"}
BATCH = 2000


@dataclass(frozen=True)
class RowError:
    line: int
    field: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "field": self.field, "message": self.message}


class LoadRefused(Exception):
    """Nothing was written: the rows' errors, by line and field."""

    def __init__(self, errors: list[RowError]):
        super().__init__(_("The load was refused: %(count)s errors.") % {"count": len(errors)})
        self.errors = errors


@dataclass
class Clean:
    line: int
    values: dict[str, Any]
    digest: str


@dataclass
class Outcome:
    load: Load
    errors: list[RowError] = field(default_factory=list)
    #: The records added or changed (the ones an incremental link looks at).
    touched: list[int] = field(default_factory=list)


def _text(row: Mapping[str, Any], name: str) -> str:
    value = row.get(name)
    if value is None:
        return ""
    return str(value).strip()


def check_row(line: int, row: Mapping[str, Any]) -> tuple[Clean | None, list[RowError]]:
    """A row's comparable values, or its errors (never repeating an identifier's value)."""
    errors: list[RowError] = []
    values: dict[str, Any] = {name: _text(row, name) for name in FIELDS}
    if not values["record_id"]:
        errors.append(RowError(line, "record_id", _("Give the agency's id of this record.")))
    if not values["family_name"]:
        errors.append(RowError(line, "family_name", _("Give the family name.")))
    for name, limit in MAX_LENGTHS.items():
        if len(values[name]) > limit:
            errors.append(
                RowError(line, name, _("At most %(limit)s characters.") % {"limit": limit})
            )
    birth = None
    if values["birth_date"]:
        try:
            birth = datetime.date.fromisoformat(values["birth_date"][:10])
        except ValueError:
            errors.append(RowError(line, "birth_date", _("Write the birth date as YYYY-MM-DD.")))
        else:
            if birth > timezone.localdate():
                errors.append(
                    RowError(line, "birth_date", _("A birth date cannot be in the future."))
                )
    values["birth_date"] = birth
    values["sex"] = values["sex"].upper()[:1]
    if values["sex"] not in SEXES:
        errors.append(RowError(line, "sex", _("Sex is F, M, X or left blank.")))
    if values["email"]:
        try:
            EmailValidator()(values["email"])
        except ValidationError:
            errors.append(RowError(line, "email", _("This is not an email address.")))
    values["identifier_ciphertext"] = values["identifier_index"] = ""
    raw_identifier = values.pop("identifier")
    kind_key = values["identifier_kind"]
    if raw_identifier or kind_key:
        try:
            kind = identifiers.get(kind_key)
            clean = kind.clean(raw_identifier)
        except ValidationError as error:
            errors.append(RowError(line, "identifier", " ".join(error.messages)))
        else:
            values["identifier_kind"] = kind.key
            values["identifier_index"] = encryption.blind_index(kind.key, clean)
            values["identifier_ciphertext"] = encryption.encrypt(clean)
    if errors:
        return None, errors
    digest_source = {k: v for k, v in values.items() if k != "identifier_ciphertext"}
    digest_source["birth_date"] = birth.isoformat() if birth else ""
    digest = hashlib.sha256(
        json.dumps(digest_source, sort_keys=True, ensure_ascii=False).encode()
    ).hexdigest()
    return Clean(line, values, digest), []


def read_file(path: Path) -> Iterable[dict[str, Any]]:
    """The rows of a CSV (UTF-8, header row) or Parquet file, as dictionaries."""
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        # pyarrow's Parquet reader is only needed for Parquet files.
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        for batch in table.to_batches(10_000):
            yield from batch.to_pylist()
        return
    if suffix != ".csv":
        raise LoadRefused([RowError(0, "file", _("Send a .csv or .parquet file."))])
    with path.open(encoding="utf-8-sig", newline="") as handle:
        yield from csv.DictReader(handle)


def read_csv_text(text: str) -> list[dict[str, Any]]:
    return list(csv.DictReader(io.StringIO(text)))


def load(
    agency: Agency,
    rows: Iterable[Mapping[str, Any]],
    *,
    channel: str,
    name: str = "",
    partial: bool = False,
    user=None,
    progress: Callable[[int], None] | None = None,
    first_line: int = 2,
) -> Outcome:
    """Check every row, then write (all or nothing unless `partial`). Raises LoadRefused."""
    cleaned: list[Clean] = []
    errors: list[RowError] = []
    seen: dict[str, int] = {}
    received = 0
    for offset, row in enumerate(rows):
        received += 1
        line = first_line + offset
        clean, row_errors = check_row(line, row)
        if clean is not None:
            record_id = clean.values["record_id"]
            if record_id in seen:
                row_errors = [
                    RowError(
                        line,
                        "record_id",
                        _("This record id was already on line %(line)s.")
                        % {"line": seen[record_id]},
                    )
                ]
                clean = None
            else:
                seen[record_id] = line
        errors.extend(row_errors)
        if clean is not None:
            cleaned.append(clean)
        if progress:
            progress(1)
    if received == 0:
        raise LoadRefused([RowError(0, "records", _("There are no records to load."))])
    if errors and not partial:
        raise LoadRefused(errors)
    with transaction.atomic():
        outcome = Outcome(
            Load.objects.create(
                agency=agency,
                channel=channel,
                name=name[:200],
                partial=partial,
                received=received,
                rejected=len({e.line for e in errors}),
                errors=[e.as_dict() for e in errors[:1000]],
                loaded_by=user if getattr(user, "pk", None) else None,
            ),
            errors,
        )
        _write(agency, cleaned, outcome)
        outcome.load.save(update_fields=["created", "updated", "unchanged"])
    return outcome


def _write(agency: Agency, cleaned: list[Clean], outcome: Outcome) -> None:
    load_row = outcome.load
    for start in range(0, len(cleaned), BATCH):
        chunk = cleaned[start : start + BATCH]
        known = {
            r.record_id: r
            for r in SourceRecord.objects.filter(
                agency=agency, record_id__in=[c.values["record_id"] for c in chunk]
            )
        }
        new, changed = [], []
        for clean in chunk:
            existing = known.get(clean.values["record_id"])
            if existing is None:
                new.append(
                    SourceRecord(agency=agency, digest=clean.digest, load=load_row, **clean.values)
                )
            elif existing.digest == clean.digest:
                load_row.unchanged += 1
            else:
                for name, value in clean.values.items():
                    setattr(existing, name, value)
                existing.digest, existing.load = clean.digest, load_row
                existing.loaded_at = timezone.now()
                changed.append(existing)
        SourceRecord.objects.bulk_create(new)
        if changed:
            SourceRecord.objects.bulk_update(
                changed,
                [
                    *FIELDS[:-1],
                    "identifier_ciphertext",
                    "identifier_index",
                    "digest",
                    "load",
                    "loaded_at",
                ],
            )
        load_row.created += len(new)
        load_row.updated += len(changed)
        outcome.touched.extend(r.pk for r in changed)
    fresh = SourceRecord.objects.filter(load=load_row).values_list("pk", flat=True)
    outcome.touched = sorted(set(fresh))
