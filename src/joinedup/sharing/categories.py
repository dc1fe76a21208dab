"""Data categories and the field catalogue: which field of a person belongs to which category.

The gate discloses fields, never whole records: every field it can read is registered here
with its category and a reader that fetches it. The client registry's fields are registered
below; apps further down (delivery, care) register theirs with `register_field` from their
own `ready()`. A field that is not in the catalogue cannot be disclosed at all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from joinedup.identity import identifiers
from joinedup.identity.models import Person

from .models import DataCategory, Sensitivity

#: The categories every installation has (loaded by a data migration; editable in the admin).
#: key: (English name, French name, sensitivity, retention days or None, retention action)
DEFAULT_CATEGORIES: dict[str, tuple[str, str, int, int | None, str]] = {
    "identity": ("Identity", "Identité", Sensitivity.LOW, None, "anonymise"),
    "contact": ("Contact details", "Coordonnées", Sensitivity.MODERATE, None, "delete"),
    "address": ("Address", "Adresse", Sensitivity.MODERATE, 2555, "delete"),
    "birth": ("Birth", "Naissance", Sensitivity.MODERATE, None, "anonymise"),
    "identifiers": (
        "Government identifiers",
        "Identifiants gouvernementaux",
        Sensitivity.HIGH,
        None,
        "delete",
    ),
    "family": ("Family", "Famille", Sensitivity.HIGH, None, "delete"),
    "income": ("Income", "Revenu", Sensitivity.HIGH, 2555, "delete"),
    "employment": ("Employment", "Emploi", Sensitivity.MODERATE, 2555, "delete"),
    "education": ("Education", "Études", Sensitivity.MODERATE, None, "delete"),
    "housing": ("Housing", "Logement", Sensitivity.MODERATE, 2555, "delete"),
    "health": ("Health", "Santé", Sensitivity.SPECIAL, 3650, "delete"),
    "justice": ("Justice", "Justice", Sensitivity.SPECIAL, 3650, "delete"),
    "events": (
        "Event messages",
        "Messages d'événements",
        Sensitivity.MODERATE,
        90,
        "anonymise",
    ),
}


@dataclass(frozen=True)
class FieldSpec:
    """One field the gate can disclose: its key, its category and how to read it."""

    key: str
    category: str
    label: str | Promise
    read: Callable[[Person], Any]


_FIELDS: dict[str, FieldSpec] = {}


def register_field(
    key: str, category: str, label: str | Promise, read: Callable[[Person], Any]
) -> FieldSpec:
    """Add a field to the catalogue. Registering a key twice is a programming error."""
    if key in _FIELDS:
        raise ValueError(f"the field {key} is already registered")
    spec = FieldSpec(key, category, label, read)
    _FIELDS[key] = spec
    return spec


def field(key: str) -> FieldSpec | None:
    return _FIELDS.get(key)


def all_fields() -> list[FieldSpec]:
    return sorted(_FIELDS.values(), key=lambda f: (f.category, f.key))


def fields_of(categories: Iterable[str]) -> list[str]:
    """Every registered field key of these categories."""
    wanted = set(categories)
    return [spec.key for spec in all_fields() if spec.category in wanted]


def category_of(field_key: str) -> str | None:
    spec = _FIELDS.get(field_key)
    return spec.category if spec else None


def known_categories() -> set[str]:
    """The category keys in the database (or the defaults before the first migration)."""
    keys = set(DataCategory.objects.values_list("key", flat=True))
    return keys or set(DEFAULT_CATEGORIES)


def sensitivity(category: str) -> int:
    """A category's sensitivity; an unknown category counts as special (the safe side)."""
    level = DataCategory.objects.filter(key=category).values_list("sensitivity", flat=True).first()
    if level is None:
        default = DEFAULT_CATEGORIES.get(category)
        return default[2] if default else Sensitivity.SPECIAL
    return level


def expand(requested: Iterable[str]) -> list[str]:
    """Field keys for a request that mixes category keys and field keys; unknown keys stay
    (the gate refuses them by name)."""
    keys: list[str] = []
    categories: set[str] | None = None  # read only when an item is not a field's key
    for item in requested:
        if item in _FIELDS:
            keys.append(item)
            continue
        if categories is None:
            categories = known_categories() | set(DEFAULT_CATEGORIES)
        if item in categories:
            keys.extend(fields_of([item]))
        else:
            keys.append(item)
    return list(dict.fromkeys(keys))


# --- The client registry's fields ---------------------------------------------------------


def _address(person: Person) -> dict | None:
    address = person.current_address()
    if address is None:
        return None
    return {
        "street_address": address.street_address,
        "locality": address.locality,
        "region": address.region,
        "postal_code": address.postal_code,
        "country": address.country,
        "jurisdiction": address.jurisdiction.code if address.jurisdiction_id else None,
        "valid_from": address.valid_from.isoformat(),
    }


def _contact(kind: str) -> Callable[[Person], str | None]:
    def read(person: Person) -> str | None:
        point = person.contact_points.filter(kind=kind).order_by("-preferred", "pk").first()
        return point.value if point else None

    return read


def _identifier(kind: str) -> Callable[[Person], str | None]:
    def read(person: Person) -> str | None:
        record = person.identifiers.filter(kind=kind).first()
        return record.value if record else None

    return read


def _relationships(person: Person) -> list[dict]:
    return [
        {"kind": r.kind, "person_id": r.related_person_id, "name": r.related_person.full_name}
        for r in person.relationships.select_related("related_person").order_by("kind", "pk")
    ]


register_field("given_names", "identity", _("given names"), lambda p: p.given_names)
register_field("family_name", "identity", _("family name"), lambda p: p.family_name)
register_field("preferred_name", "identity", _("preferred name"), lambda p: p.preferred_name)
register_field(
    "preferred_language", "identity", _("preferred language"), lambda p: p.preferred_language
)
register_field(
    "birth_date",
    "birth",
    _("birth date"),
    lambda p: p.birth_date.isoformat() if p.birth_date else None,
)
register_field(
    "masked_identifiers",
    "identity",
    _("identifiers, last digits only"),
    lambda p: {i.kind: i.masked for i in p.identifiers.all()},
)
register_field("address", "address", _("current address"), _address)
register_field("email", "contact", _("email address"), _contact("email"))
register_field("phone", "contact", _("phone number"), _contact("phone"))
register_field("mobile", "contact", _("mobile phone number"), _contact("mobile"))
register_field("relationships", "family", _("family relationships"), _relationships)
for _kind in identifiers.all_types():
    register_field(f"identifier.{_kind.key}", "identifiers", _kind.label, _identifier(_kind.key))
