"""Reading a form definition: a JSON Schema for the answers plus presentation hints.

A definition (docs/delivery.md has the full format) is

    {"schema": {JSON Schema 2020-12, "type": "object", ...},
     "ui": {"pages": [{"key": "child", "title": {"en": …, "fr": …}, "fields": ["…"]}],
            "fields": {"name": {"label": {…}, "help": {…}, "widget": "…",
                                "show_if": {"field": "…", "equals": …}, "required": true}}}}

This module knows the format (its parts, its pages, the label of a question, whether a
conditional question is shown, the problem type `FieldError`); `validation` and `pages`
build on it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from joinedup.federation.localization import pick

ADDRESS_PARTS = ("street_address", "locality", "region", "postal_code")
MAX_GROUP_ITEMS = 20
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


@dataclass(frozen=True)
class FieldError:
    """One problem with one answer: where (dotted path), what (in the reader's language)."""

    path: str
    message: str
    code: str = "invalid"

    def as_dict(self) -> dict[str, str]:
        return {"field": self.path, "message": self.message, "code": self.code}

    @property
    def anchor(self) -> str:
        """The id of the question on the page (the error summary links to it)."""
        return field_id(self.path)


def field_id(path: str) -> str:
    """The HTML id of a question: `f-mailing-address-postal-code` for a postal code part."""
    return "f-" + path.replace(".", "-").replace("_", "-")


class DefinitionError(ValueError):
    """A form definition that cannot be used (bad schema, unknown field in a page)."""


# --- Definitions -------------------------------------------------------------------------


def schema_of(definition: Mapping) -> dict:
    return dict(definition.get("schema") or {"type": "object", "properties": {}})


def ui_of(definition: Mapping) -> dict:
    return dict(definition.get("ui") or {})


def hints(definition: Mapping, path: str) -> dict:
    return dict((ui_of(definition).get("fields") or {}).get(path) or {})


def check_definition(definition: Mapping) -> None:
    """Refuse a definition the renderer or the validator could not use."""
    schema = schema_of(definition)
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as error:
        raise DefinitionError(f"the schema is not valid JSON Schema: {error.message}") from None
    if schema.get("type") != "object":
        raise DefinitionError('the schema must describe an object ("type": "object")')
    properties = schema.get("properties") or {}
    for page in pages_of(definition):
        for name in page.get("fields", []):
            if name not in properties:
                raise DefinitionError(f"page {page.get('key')!r} names unknown field {name!r}")
    for name, hint in (ui_of(definition).get("fields") or {}).items():
        condition = hint.get("show_if")
        if condition and condition.get("field") not in properties:
            raise DefinitionError(f"{name}: show_if refers to unknown field {condition!r}")
        after = hint.get("after")
        if after is not None and after not in properties:
            raise DefinitionError(f"{name}: after refers to unknown field {after!r}")
        within = hint.get("within_days")
        if within is not None and (not isinstance(within, int) or within < 0):
            raise DefinitionError(f"{name}: within_days must be a whole number of days")


def pages_of(definition: Mapping) -> list[dict]:
    """The pages, in order; a definition without pages is one page of every field."""
    pages = ui_of(definition).get("pages")
    if pages:
        return [dict(p) for p in pages]
    properties = list((schema_of(definition).get("properties") or {}).keys())
    return [{"key": "answers", "title": {}, "fields": properties}]


def label_of(definition: Mapping, path: str) -> str:
    """The question as the person saw it, in their language (the field name as a fallback)."""
    hint = hints(definition, path)
    if hint.get("label"):
        return pick(hint["label"]) if isinstance(hint["label"], dict) else str(hint["label"])
    last = path.split(".")[-1]
    if last in ADDRESS_PARTS:
        return str(address_part_label(last))
    return last.replace("_", " ").capitalize()


def address_part_label(part: str) -> str:
    return {
        "street_address": _("Street address"),
        "locality": _("City or town"),
        "region": _("Province or territory"),
        "postal_code": _("Postal code"),
    }.get(part, part)


def lookup(data: Any, path: str) -> Any:
    """The value at a dotted path (`children.0.name`), or None."""
    current = data
    for part in path.split("."):
        if isinstance(current, dict):
            current = current.get(part)
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return None
    return current


def condition_holds(condition: Mapping | None, data: Mapping) -> bool:
    """Whether a conditional question is shown: {"field", "equals"} or {"field", "in"}."""
    if not condition:
        return True
    value = lookup(data, condition["field"])
    if "equals" in condition:
        return value == condition["equals"]
    if "in" in condition:
        return value in condition["in"]
    if "not_empty" in condition:
        return bool(value)
    return True


def label_path(path: str) -> str:
    """`children.0.name` → `children.name`: hints are written once for every item."""
    return ".".join(part for part in path.split(".") if not part.isdigit())
