"""Prefill: ask nothing twice. The unified form starts from what the platform already holds.

A bundle names, for fields of its unified form, where a value is already known:

    prefill:
      parent_given_names: person.given_names        # the verified identity
      mailing_address: person.address               # the current address (its parts)
      province: person.address.province             # derived from the address's place
      business_name: document.business-registration.business_name   # a document issued

`person.*` is read through the data gate, so someone acting for another person under a
mandate leaves a trace in that person's access ledger (a person reading their own record
does not). `document.<kind>.<fact>` reads the latest valid document of that kind issued to
the person.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from joinedup.delivery import formdefs as forms
from joinedup.delivery.models import Document
from joinedup.identity.acting import ActingContext
from joinedup.identity.models import Person
from joinedup.sharing import gate

from .models import Bundle

PURPOSE = "bundle-prefill"
#: Parts derived from the address's place rather than read as they are.
PLACE_PARTS = {"province", "municipality", "jurisdiction"}


@dataclass
class Prefill:
    """Values known before the person types anything, and where each came from."""

    values: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)


def _person_fields(prefill: Mapping[str, str]) -> list[str]:
    return sorted(
        {source.split(".")[1] for source in prefill.values() if source.startswith("person.")}
    )


def _place_part(address: Mapping[str, Any] | None, part: str) -> Any:
    if not address:
        return None
    code = address.get("jurisdiction") or ""
    segments = code.split("-") if code else []
    if part == "jurisdiction":
        return code or None
    if part == "province":
        return "-".join(segments[:2]) if len(segments) >= 2 else None
    if part == "municipality":
        return code if len(segments) >= 3 else None
    return None


def _fit(value: Any, schema: Mapping[str, Any]) -> Any:
    """Keep only the parts of an object the unified field has (an address without its
    country or its dates, when the form does not ask for them)."""
    if isinstance(value, dict) and schema.get("type") == "object":
        parts = schema.get("properties") or {}
        value = {k: v for k, v in value.items() if k in parts and v not in (None, "")}
        return value or None
    return value


def known(context: ActingContext, subject: Person, bundle: Bundle) -> Prefill:
    """What the platform holds for the bundle's prefilled fields (nothing it cannot read)."""
    prefill: Mapping[str, str] = bundle.definition.get("prefill") or {}
    result = Prefill()
    if not prefill:
        return result
    wanted = _person_fields(prefill)
    person_values: dict[str, Any] = {}
    if wanted:
        try:
            disclosure = gate.disclose(context, subject, wanted, PURPOSE, partial=True)
            person_values = dict(disclosure.fields)
        except gate.DisclosureRefused:
            person_values = {}
    properties = forms.schema_of(bundle.definition["form"]).get("properties") or {}
    for name, source in prefill.items():
        parts = source.split(".")
        value: Any = None
        if parts[0] == "person":
            value = person_values.get(parts[1])
            if len(parts) > 2:
                if parts[1] == "address" and parts[2] in PLACE_PARTS:
                    value = _place_part(value, parts[2])
                else:
                    value = value.get(parts[2]) if isinstance(value, dict) else None
            label = _("From your identity record")
        else:
            value = _document_fact(subject, parts[1], parts[2])
            label = _("From a document you were issued")
        value = _fit(value, properties.get(name) or {})
        if value not in (None, "", [], {}):
            result.values[name] = value
            result.sources[name] = label
    return result


def _document_fact(subject: Person, kind: str, fact: str) -> Any:
    document = (
        Document.objects.filter(person=subject, template=kind, revoked_at__isnull=True)
        .order_by("-issued_at")
        .first()
    )
    return (document.facts or {}).get(fact) if document is not None else None


def merge(known_values: Mapping[str, Any], given: Mapping[str, Any]) -> dict[str, Any]:
    """The person's own answers win over what was prefilled."""
    merged = dict(known_values)
    for name, value in given.items():
        if value not in (None, ""):
            merged[name] = value
    return merged
