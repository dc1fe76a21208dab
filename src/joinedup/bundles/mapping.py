"""The field mapping: from the one unified form a person fills in to each leg's own form.

A bundle's leg says, for each field of its service's form, where the value comes from:

    mapping:
      child_given_names: child_given_names              # a dotted path in the answers
      mailing_address: {path: mailing_address}
      birth_province: {path: screening.birth_province}  # a screening answer
      primary_document: {const: birth_certificate}      # a constant
      family_name: {path: family_name, transform: upper}
      children: {list: [{object: {given_names: child_given_names, birth_date: birth_date}}]}
      certificate_copies: {const: 1, if: screening.wants_certificate}  # only when that is true

Paths read the unified answers, `screening.<question>`, `place.province`, `place.municipality`
and `today`. Transforms come from a short whitelist (`TRANSFORMS`); nothing is evaluated. A
value that is missing leaves the leg's field out, so the leg's own form says what is needed.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Mapping
from typing import Any

from joinedup.delivery.formdefs import lookup

#: Names a unified form may not use for its fields: they name the other sources of values.
RESERVED = frozenset({"screening", "place", "today"})


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


def _text(function: Callable[[str], Any]) -> Callable[[Any], Any]:
    return lambda value: function(value) if isinstance(value, str) else value


def _integer(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
        return int(value)
    return value  # left as it is: the leg's form says what is wrong with it


def _boolean(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in {"true", "yes", "1"}:
        return True
    if isinstance(value, str) and value.strip().lower() in {"false", "no", "0"}:
        return False
    return value


def _postal_code(value: Any) -> Any:
    """`m5j2x2` → `M5J 2X2`: the form Canada Post prints."""
    if not isinstance(value, str):
        return value
    compact = re.sub(r"\s+", "", value).upper()
    return f"{compact[:3]} {compact[3:]}" if len(compact) == 6 else value.strip()


def _province(value: Any) -> Any:
    """`CA-ON-TOR` → `CA-ON`: the province of a place code."""
    if not isinstance(value, str) or value.count("-") < 1:
        return value
    return "-".join(value.split("-")[:2])


def _year(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return datetime.date.fromisoformat(value).year
        except ValueError:
            return value
    return value


TRANSFORMS: dict[str, Callable[[Any], Any]] = {
    "upper": _text(str.upper),
    "lower": _text(str.lower),
    "title": _text(str.title),
    "strip": _text(str.strip),
    "integer": _integer,
    "string": lambda value: value if isinstance(value, str) else str(value),
    "boolean": _boolean,
    "postal_code": _postal_code,
    "province": _province,
    "year": _year,
}


def source(
    answers: Mapping[str, Any],
    screening: Mapping[str, Any] | None = None,
    place: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """What mapping paths read: the answers, and the screening answers and place beside them."""
    data = dict(answers)
    data["screening"] = dict(screening or {})
    data["place"] = dict(place or {})
    data["today"] = datetime.date.today().isoformat()
    return data


def _empty(value: Any) -> bool:
    return value is MISSING or value is None or value == "" or value == {} or value == []


def resolve(spec: Any, data: Mapping[str, Any]) -> Any:
    """The value a spec gives over the source data, or MISSING."""
    if isinstance(spec, str):
        value = lookup(data, spec)
        return MISSING if _empty(value) else value
    if "if" in spec and lookup(data, spec["if"]) is not True:
        # A value given only when a yes/no answer is yes (a field the leg asks only then).
        return MISSING
    if "const" in spec:
        return spec["const"]
    if "path" in spec:
        value = lookup(data, spec["path"])
        if _empty(value):
            return spec.get("default", MISSING)
        if spec.get("transform"):
            value = TRANSFORMS[spec["transform"]](value)
        return value
    if "object" in spec:
        built = {}
        for name, part in spec["object"].items():
            value = resolve(part, data)
            if not _empty(value):
                built[name] = value
        return built or MISSING
    if "list" in spec:
        items = [resolve(part, data) for part in spec["list"]]
        items = [item for item in items if not _empty(item)]
        return items or MISSING
    raise ValueError(f"not a mapping spec: {spec!r}")


def apply(mapping: Mapping[str, Any], data: Mapping[str, Any]) -> dict[str, Any]:
    """A leg's answers built from the source data; fields with no value are left out."""
    built = {}
    for name, spec in mapping.items():
        value = resolve(spec, data)
        if not _empty(value):
            built[name] = value
    return built


def paths(spec: Any) -> list[str]:
    """Every source path a spec reads."""
    if isinstance(spec, str):
        return [spec]
    condition = [spec["if"]] if "if" in spec else []
    if "const" in spec:
        return condition
    if "path" in spec:
        return [spec["path"], *condition]
    if "object" in spec:
        return [p for part in spec["object"].values() for p in paths(part)]
    if "list" in spec:
        return [p for part in spec["list"] for p in paths(part)]
    return []


def fields_read(mapping: Mapping[str, Any]) -> dict[str, list[str]]:
    """Unified form field → the leg fields whose values it gives (screening, place and
    today are not unified fields, so they are not listed)."""
    used: dict[str, list[str]] = {}
    for name, spec in mapping.items():
        for path in paths(spec):
            head = path.split(".")[0]
            if head not in RESERVED:
                used.setdefault(head, [])
                if name not in used[head]:
                    used[head].append(name)
    return used


def sources_of(mapping: Mapping[str, Any], leg_field: str) -> list[str]:
    """The unified fields a leg's field is made from (to name them in error messages)."""
    spec = mapping.get(leg_field)
    if spec is None:
        return []
    return [p.split(".")[0] for p in paths(spec) if p.split(".")[0] not in RESERVED]
