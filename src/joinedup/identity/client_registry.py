"""The client registry: registering people, their identifiers, addresses and contact points.

Each function validates everything before it writes and writes in one transaction, so bad
input leaves nothing half-written. Errors are ValidationErrors with translated messages that
never repeat an identifier's value.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from joinedup.federation.models import Jurisdiction

from . import encryption, identifiers
from .models import Address, ContactPoint, Person, PersonIdentifier


@dataclass(frozen=True)
class AddressInput:
    street_address: str
    locality: str
    region: str = ""
    postal_code: str = ""
    country: str = ""  # blank: the jurisdiction's country, else the setting DEFAULT_COUNTRY
    jurisdiction_code: str = ""
    kind: str = Address.Kind.RESIDENTIAL


def _identifier(person: Person, kind: str, raw: str) -> PersonIdentifier:
    record = PersonIdentifier(person=person, kind=identifiers.get(kind).key)
    record.set_value(raw)
    taken = PersonIdentifier.objects.filter(kind=record.kind, blind_index=record.blind_index)
    if person.pk:
        taken = taken.exclude(person=person)
    if taken.exists():
        raise ValidationError(
            {
                "identifiers": _(
                    "This %(label)s is already registered to someone else. If it is yours, "
                    "contact the agency that issued it."
                )
                % {"label": identifiers.get(kind).label}
            },
            code="duplicate",
        )
    return record


def country_of(jurisdiction) -> str:
    """The country a jurisdiction lies in: the code of its tree's root (`CA` for
    `CA-ON-TOR`), when that is a two-letter country code; blank otherwise."""
    if jurisdiction is None:
        return ""
    root = (jurisdiction.path or jurisdiction.code).split("/")[0]
    return root if len(root) == 2 and root.isalpha() else ""


def build_address(person: Person, data: AddressInput, valid_from: datetime.date) -> Address:
    """An unsaved address for the person from `valid_from`; an unknown place is refused."""
    jurisdiction = None
    if data.jurisdiction_code:
        jurisdiction = Jurisdiction.objects.filter(code=data.jurisdiction_code).first()
        if jurisdiction is None:
            raise ValidationError(
                {
                    "jurisdiction": _("%(code)s is not a known jurisdiction.")
                    % {"code": data.jurisdiction_code}
                }
            )
    return Address(
        person=person,
        kind=data.kind,
        street_address=data.street_address,
        locality=data.locality,
        region=data.region,
        postal_code=data.postal_code,
        country=data.country or country_of(jurisdiction) or settings.DEFAULT_COUNTRY,
        jurisdiction=jurisdiction,
        valid_from=valid_from,
    )


def register_person(
    *,
    given_names: str,
    family_name: str,
    birth_date: datetime.date | None = None,
    preferred_language: str = Person.Language.ENGLISH,
    preferred_name: str = "",
    identifier_values: Mapping[str, str] | None = None,
    address: AddressInput | None = None,
    contacts: Iterable[tuple[str, str]] = (),
) -> Person:
    """Register one person with what is known of them; all or nothing."""
    person = Person(
        given_names=(given_names or "").strip(),
        family_name=(family_name or "").strip(),
        preferred_name=(preferred_name or "").strip(),
        birth_date=birth_date,
        preferred_language=preferred_language,
    )
    person.full_clean()
    records = [_identifier(person, k, v) for k, v in (identifier_values or {}).items()]
    address_record = build_address(person, address, timezone.localdate()) if address else None
    contact_records = []
    for kind, value in contacts:
        contact = ContactPoint(person=person, kind=kind, value=(value or "").strip())
        contact.full_clean(exclude=["person"])
        contact_records.append(contact)
    if address_record:
        address_record.full_clean(exclude=["person"])
    try:
        with transaction.atomic():
            person.save()
            for record in records:
                record.person = person
                record.save()
            if address_record:
                address_record.person = person
                address_record.save()
            for contact in contact_records:
                contact.person = person
                contact.save()
    except IntegrityError:
        # Someone registered the same identifier between our check and our write.
        raise ValidationError(
            {"identifiers": _("One of these identifiers is already registered to someone else.")},
            code="duplicate",
        ) from None
    return person


def add_identifier(person: Person, kind: str, raw: str) -> PersonIdentifier:
    """Record (or replace) the person's identifier of this kind."""
    record = _identifier(person, kind, raw)
    try:
        with transaction.atomic():
            PersonIdentifier.objects.filter(person=person, kind=record.kind).delete()
            record.save()
    except IntegrityError:
        raise ValidationError(
            {"identifiers": _("This identifier is already registered to someone else.")},
            code="duplicate",
        ) from None
    return record


def find_by_identifier(kind: str, raw: str) -> Person | None:
    """The person holding this identifier, found through the blind index (no decryption)."""
    identifier_type = identifiers.get(kind)
    value = identifier_type.clean(raw)
    index = encryption.blind_index(identifier_type.key, value)
    record = (
        PersonIdentifier.objects.filter(kind=identifier_type.key, blind_index=index)
        .select_related("person")
        .first()
    )
    return record.person if record else None


def move(person: Person, address: AddressInput, moved_on: datetime.date) -> Address:
    """A new address from `moved_on`; the previous one of the same kind ends the day before."""
    record = build_address(person, address, moved_on)
    record.full_clean()
    with transaction.atomic():
        previous = Address.objects.filter(
            person=person, kind=record.kind, valid_to__isnull=True, valid_from__lt=moved_on
        )
        previous.update(valid_to=moved_on - datetime.timedelta(days=1))
        if Address.objects.filter(
            person=person, kind=record.kind, valid_to__isnull=True, valid_from__gte=moved_on
        ).exists():
            raise ValidationError(
                {"valid_from": _("A later address is already recorded; correct that one first.")}
            )
        record.save()
    return record


def rotate_identifier_keys(
    progress: Callable[[Iterable[PersonIdentifier], int], Iterable[PersonIdentifier]] | None = None,
    batch_size: int = 500,
) -> tuple[int, int]:
    """Re-encrypt every identifier under the current key and recompute its blind index.

    Returns (examined, rewritten). Runs in batches, each in its own transaction, so it can be
    stopped and run again: values already under the current key are left as they are.
    """
    total = PersonIdentifier.objects.count()
    rows = PersonIdentifier.objects.order_by("pk").iterator(chunk_size=batch_size)
    iterable = progress(rows, total) if progress else rows
    examined = rewritten = 0
    pending: list[PersonIdentifier] = []

    def flush() -> None:
        nonlocal rewritten
        with transaction.atomic():
            PersonIdentifier.objects.bulk_update(pending, ["ciphertext", "blind_index"])
        rewritten += len(pending)
        pending.clear()

    for record in iterable:
        examined += 1
        value = encryption.decrypt(record.ciphertext)
        index = encryption.blind_index(record.kind, value)
        if encryption.is_current(record.ciphertext) and index == record.blind_index:
            continue
        record.ciphertext = encryption.rotate(record.ciphertext)
        record.blind_index = index
        pending.append(record)
        if len(pending) >= batch_size:
            flush()
    if pending:
        flush()
    return examined, rewritten
