"""How a person's facts read on a page: addresses as addresses, languages and dates by name.

The data gate hands out a person's facts as data (an address is a dict of parts, a language
a code, a date an ISO string, identifiers a dict of kinds): fine for the API, wrong on a
page. Every page and printout that shows such facts says them through these functions, so
nobody reads `{'street_address': ...}` or `preferred language: en`. They live in identity,
the app that owns people's facts, so every app above can use them.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import formats
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from . import identifiers

#: An address's parts in the order they are written on an envelope (Canada, Australia...).
ADDRESS_ORDER = ("street_address", "unit", "locality", "region", "postal_code")


def format_address(address: Any) -> str:
    """One line a person reads: "40 Bay St, Toronto ON M5J 2X2" — from a dict of parts (the
    gate's or a form's answer), an Address record, or a plain string; "" for nothing."""
    if not address:
        return ""
    if isinstance(address, str):
        return address
    if not isinstance(address, Mapping):
        address = {part: getattr(address, part, "") for part in ADDRESS_ORDER}
    street = ", ".join(str(address[p]) for p in ("unit", "street_address") if address.get(p))
    place = " ".join(str(address[p]) for p in ("region", "postal_code") if address.get(p))
    locality = str(address.get("locality") or "")
    tail = f"{locality} {place}".strip() if locality else place
    return ", ".join(part for part in (street, tail) if part)


def language_name(code: str | None) -> str:
    """ "English", "French" in the reader's language, for a language code."""
    if not code:
        return ""
    names = dict(settings.LANGUAGES)
    return str(names.get(code.split("-")[0], code))


def format_date(value: Any) -> str:
    """A date in the reader's format, from a date or an ISO string (the gate's form)."""
    if not value:
        return ""
    if isinstance(value, str):
        try:
            value = datetime.date.fromisoformat(value[:10])
        except ValueError:
            return value
    return formats.date_format(value, "DATE_FORMAT")


def format_identifiers(masked: Mapping[str, str]) -> str:
    """ "Social insurance number ••••••286" for each identifier kind, by its name."""
    rows = []
    for kind, value in masked.items():
        try:
            label = capfirst(str(identifiers.get(kind).label))
        except ValidationError:  # a kind since retired: its number still reads
            label = _("Identifier")
        rows.append(f"{label} {value}")
    return "; ".join(rows)


def format_relationships(relationships: list[Mapping[str, Any]]) -> str:
    return "; ".join(str(r.get("name", "")) for r in relationships if r.get("name"))


#: How each of the registry's fields reads; a field not named here is shown as text.
_FORMATTERS = {
    "address": format_address,
    "preferred_language": language_name,
    "birth_date": format_date,
    "masked_identifiers": format_identifiers,
    "relationships": format_relationships,
}


def format_fact(key: str, value: Any) -> str:
    """A fact of a person's record as a person reads it ("" for nothing)."""
    if value is None or value == "" or value == {} or value == []:
        return ""
    formatter = _FORMATTERS.get(key)
    if formatter is not None:
        return formatter(value)
    if isinstance(value, Mapping):
        if set(value) & set(ADDRESS_ORDER):
            return format_address(value)
        return ", ".join(str(v) for v in value.values() if v)
    if isinstance(value, list | tuple):
        return "; ".join(str(v) for v in value if v)
    return str(value)


def fact_label(label: Any) -> str:
    """A field's label as a heading: "Family name", not "family name"."""
    return capfirst(str(label)) or _("Detail")
