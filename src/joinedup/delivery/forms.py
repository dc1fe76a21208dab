"""Form definitions: a JSON Schema for the answers plus presentation hints, one renderer.

A definition (docs/delivery.md has the full format) is

    {"schema": {JSON Schema 2020-12, "type": "object", ...},
     "ui": {"pages": [{"key": "child", "title": {"en": …, "fr": …}, "fields": ["…"]}],
            "fields": {"name": {"label": {…}, "help": {…}, "widget": "…",
                                "show_if": {"field": "…", "equals": …}, "required": true}}}}

The schema is the contract (the API publishes it and validates with it); the hints say how a
person sees it: labels and help in English and French, conditional questions, repeating
groups, addresses, dates, choices and file uploads. `validate` answers with messages in the
reader's language that name the question as the person saw it; `build_pages` turns a
definition into page models that one template renders in the design system, with the error
summary at the top.
"""

from __future__ import annotations

import copy
import datetime
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _
from jsonschema import Draft202012Validator, FormatChecker
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


# --- Validation --------------------------------------------------------------------------


def _effective_schema(definition: Mapping, data: Mapping) -> dict:
    """The schema with conditional questions made required when they are shown."""
    schema = copy.deepcopy(schema_of(definition))
    required = list(schema.get("required") or [])
    for name, hint in (ui_of(definition).get("fields") or {}).items():
        if "." in name or not hint.get("show_if"):
            continue
        if hint.get("required") and condition_holds(hint["show_if"], data):
            if name not in required:
                required.append(name)
        elif name in required and not condition_holds(hint["show_if"], data):
            required.remove(name)
    schema["required"] = required
    return schema


def clean(definition: Mapping, data: Mapping) -> dict:
    """Drop answers to questions that are not shown, and empty strings (unanswered)."""
    properties = schema_of(definition).get("properties") or {}
    cleaned: dict[str, Any] = {}
    for name, value in data.items():
        hint = hints(definition, name)
        if name in properties and not condition_holds(hint.get("show_if"), data):
            continue
        if value == "" or value is None:
            continue
        if isinstance(value, dict):
            value = {k: v for k, v in value.items() if v not in ("", None)}
            if not value:
                continue
        cleaned[name] = value
    return cleaned


def _path(parts) -> str:
    return ".".join(str(p) for p in parts)


def _message(definition: Mapping, error, path: str) -> tuple[str, str]:
    label = label_of(definition, _label_path(path))
    validator = error.validator
    value = error.validator_value
    hint = hints(definition, _label_path(path))
    widget = hint.get("widget") or ""
    if validator == "required":
        if widget in {"radio", "select", "choice", "yesno"}:
            return "required", _("Select an answer for “%(label)s”.") % {"label": label}
        if widget == "file":
            return "required", _("Upload a file for “%(label)s”.") % {"label": label}
        return "required", _("Enter “%(label)s”.") % {"label": label}
    if validator in {"minLength", "maxLength"}:
        if validator == "minLength" and value == 1:
            return "required", _("Enter “%(label)s”.") % {"label": label}
        text = (
            _("“%(label)s” must be at least %(n)s characters.")
            if validator == "minLength"
            else _("“%(label)s” must be %(n)s characters or fewer.")
        )
        return validator, text % {"label": label, "n": value}
    if validator == "pattern":
        custom = hint.get("pattern_message")
        if custom:
            return "pattern", pick(custom) if isinstance(custom, dict) else str(custom)
        return "pattern", _("“%(label)s” is not in the expected format.") % {"label": label}
    if validator in {"enum", "const"}:
        return "choice", _("Select one of the options for “%(label)s”.") % {"label": label}
    if validator == "format":
        if value == "date":
            return "date", _("“%(label)s” must be a real date.") % {"label": label}
        if value == "email":
            return "email", _(
                "Enter an email address in the correct format, like name@example.com."
            )
        return "format", _("“%(label)s” is not in the expected format.") % {"label": label}
    if validator in {"minimum", "exclusiveMinimum"}:
        return "minimum", _("“%(label)s” must be %(n)s or more.") % {"label": label, "n": value}
    if validator in {"maximum", "exclusiveMaximum"}:
        return "maximum", _("“%(label)s” must be %(n)s or less.") % {"label": label, "n": value}
    if validator == "minItems":
        return "min_items", _("Add at least %(n)s for “%(label)s”.") % {"label": label, "n": value}
    if validator == "maxItems":
        return "max_items", _("Add at most %(n)s for “%(label)s”.") % {"label": label, "n": value}
    if validator == "type":
        if value in {"integer", "number"}:
            return "number", _("“%(label)s” must be a number.") % {"label": label}
        if value == "boolean":
            return "choice", _("Select an answer for “%(label)s”.") % {"label": label}
        return "type", _("“%(label)s” is not in the expected form.") % {"label": label}
    if validator == "additionalProperties":
        return "unknown", _("This form has no question “%(name)s”.") % {
            "name": ", ".join(sorted(set(error.instance) - set(error.schema.get("properties", {}))))
        }
    return validator, _("“%(label)s” is not valid.") % {"label": label}


def _label_path(path: str) -> str:
    """`children.0.name` → `children.name`: hints are written once for every item."""
    return ".".join(part for part in path.split(".") if not part.isdigit())


def _date_checks(definition: Mapping, data: Mapping) -> list[FieldError]:
    """The hints `past` / `future` for dates (JSON Schema has no such keyword)."""
    errors = []
    today = datetime.date.today()
    for name, hint in (ui_of(definition).get("fields") or {}).items():
        if hint.get("widget") != "date" or "." in name:
            continue
        raw = data.get(name)
        if not isinstance(raw, str):
            continue
        try:
            day = datetime.date.fromisoformat(raw)
        except ValueError:
            continue
        label = label_of(definition, name)
        if hint.get("past") and day > today:
            errors.append(
                FieldError(name, _("“%(label)s” must be today or in the past.") % {"label": label})
            )
        if hint.get("future") and day < today:
            errors.append(
                FieldError(name, _("“%(label)s” must be today or later.") % {"label": label})
            )
    return errors


def _file_checks(definition: Mapping, data: Mapping) -> list[FieldError]:
    from .models import Upload

    errors = []
    for name, hint in (ui_of(definition).get("fields") or {}).items():
        if hint.get("widget") != "file" or "." in name or name not in data:
            continue
        value = data[name]
        known = isinstance(value, str) and UUID.match(value)
        if not known or not Upload.objects.filter(pk=value, field=name).exists():
            errors.append(FieldError(name, _("Upload the file again."), "file"))
    return errors


def validate(definition: Mapping, data: Mapping) -> tuple[dict, list[FieldError]]:
    """Clean and check answers against the definition. Returns (cleaned answers, errors).

    Errors come in the order of the questions and in the active language.
    """
    if not isinstance(data, Mapping):
        return {}, [FieldError("", _("The answers must be a JSON object."), "type")]
    cleaned = clean(definition, data)
    schema = _effective_schema(definition, cleaned)
    validator = Draft202012Validator(schema, format_checker=FormatChecker())
    errors: list[FieldError] = []
    seen: set[str] = set()
    for error in validator.iter_errors(cleaned):
        if error.validator == "required":
            missing = [p for p in error.validator_value if p not in (error.instance or {})]
            paths = [_path([*error.absolute_path, name]) for name in missing]
        else:
            paths = [_path(error.absolute_path)]
        for path in paths:
            if path in seen:
                continue
            seen.add(path)
            code, message = _message(definition, error, path)
            errors.append(FieldError(path, message, code))
    # The checks JSON Schema cannot express, for questions that passed the schema's (so a
    # page checked on its own gets them even while other pages are still unanswered).
    for extra in (*_date_checks(definition, cleaned), *_file_checks(definition, cleaned)):
        if extra.path not in seen:
            seen.add(extra.path)
            errors.append(extra)
    order = {name: i for i, name in enumerate(_field_order(definition))}
    errors.sort(key=lambda e: order.get(e.path.split(".")[0], len(order)))
    return cleaned, errors


def _field_order(definition: Mapping) -> list[str]:
    return [name for page in pages_of(definition) for name in page.get("fields", [])]


def validate_page(
    definition: Mapping, page_key: str, data: Mapping
) -> tuple[dict, list[FieldError]]:
    """Check only the questions of one page (a multi-page form checks page by page)."""
    page = next((p for p in pages_of(definition) if p["key"] == page_key), None)
    if page is None:
        return dict(data), []
    names = set(page.get("fields", []))
    cleaned, errors = validate(definition, data)
    return cleaned, [e for e in errors if e.path.split(".")[0] in names]


@dataclass
class Field:
    """One question as the template renders it."""

    name: str
    label: str
    widget: str
    help: str = ""
    required: bool = False
    value: Any = None
    error: str = ""
    choices: list[tuple[str, str]] = field(default_factory=list)
    attrs: dict[str, Any] = field(default_factory=dict)
    parts: list[Field] = field(default_factory=list)  # address parts, group item fields
    items: list[list[Field]] = field(default_factory=list)  # repeating group rows
    condition: dict | None = None
    shown: bool = True

    @property
    def id(self) -> str:
        return field_id(self.name)

    @property
    def is_fieldset(self) -> bool:
        return self.widget in {"radio", "yesno", "address", "date", "group", "checkboxes"}


def widget_for(schema: Mapping, hint: Mapping) -> str:
    if hint.get("widget"):
        return str(hint["widget"])
    kind = schema.get("type")
    if kind == "string" and schema.get("format") == "date":
        return "date"
    if kind == "string" and "enum" in schema:
        return "radio" if len(schema["enum"]) <= 5 else "select"
    if kind == "boolean":
        return "yesno"
    if kind in {"integer", "number"}:
        return "number"
    if kind == "object":
        return "address"
    if kind == "array":
        return "group"
    if kind == "string" and (schema.get("maxLength") or 0) > 200:
        return "textarea"
    return "text"


def _choices(schema: Mapping, hint: Mapping) -> list[tuple[str, str]]:
    labels = hint.get("choices") or {}
    values = schema.get("enum") or []
    return [
        (str(v), pick(labels.get(str(v))) if isinstance(labels.get(str(v)), dict) else str(v))
        for v in values
    ]


def _date_parts(value: Any) -> dict[str, str]:
    if isinstance(value, dict):
        return {k: str(value.get(k, "")) for k in ("day", "month", "year")}
    if isinstance(value, str):
        try:
            day = datetime.date.fromisoformat(value)
        except ValueError:
            # Not a real date: give back what was typed (year-month-day), to be corrected.
            parts = value.split("-")
            if len(parts) != 3:
                return {"day": "", "month": "", "year": ""}
            return {"day": parts[2], "month": parts[1], "year": parts[0]}
        return {"day": str(day.day), "month": str(day.month), "year": str(day.year)}
    return {"day": "", "month": "", "year": ""}


def build_field(
    definition: Mapping,
    name: str,
    schema: Mapping,
    value: Any,
    errors: Mapping[str, str],
    required: bool,
    data: Mapping,
) -> Field:
    hint = hints(definition, _label_path(name))
    widget = widget_for(schema, hint)
    item = Field(
        name=name,
        label=label_of(definition, _label_path(name)),
        widget=widget,
        help=pick(hint["help"]) if isinstance(hint.get("help"), dict) else hint.get("help", ""),
        required=required,
        value=value,
        error=errors.get(name, ""),
        condition=hint.get("show_if"),
        shown=condition_holds(hint.get("show_if"), data) if "." not in name else True,
    )
    if widget in {"radio", "select"}:
        item.choices = _choices(schema, hint)
    if widget == "yesno":
        item.choices = [("true", _("Yes")), ("false", _("No"))]
        item.value = {True: "true", False: "false"}.get(value, "")
    if widget == "date":
        item.attrs = _date_parts(value)
    if widget == "file":
        item.attrs = {
            "accept": ",".join(hint.get("accept") or []),
            "max_size_mb": round((hint.get("max_size") or 5_000_000) / 1_000_000, 1),
        }
    if hint.get("autocomplete"):
        item.attrs["autocomplete"] = hint["autocomplete"]
    if widget == "address":
        props = schema.get("properties") or {}
        needed = set(schema.get("required") or [])
        value = value if isinstance(value, dict) else {}
        item.parts = [
            build_field(
                definition,
                f"{name}.{part}",
                props[part],
                value.get(part, ""),
                errors,
                part in needed,
                data,
            )
            for part in props
        ]
    if widget == "group":
        row_schema = schema.get("items") or {}
        props = row_schema.get("properties") or {}
        needed = set(row_schema.get("required") or [])
        rows = value if isinstance(value, list) else []
        if not rows:
            rows = [{}] * max(1, int(schema.get("minItems") or 0))
        item.attrs["max_items"] = min(int(schema.get("maxItems") or MAX_GROUP_ITEMS), 50)
        for index, row in enumerate(rows):
            row = row if isinstance(row, dict) else {}
            item.items.append(
                [
                    build_field(
                        definition,
                        f"{name}.{index}.{part}",
                        props[part],
                        row.get(part, ""),
                        errors,
                        part in needed,
                        data,
                    )
                    for part in props
                ]
            )
    return item


@dataclass
class Page:
    key: str
    title: str
    fields: list[Field]
    number: int
    count: int

    @property
    def is_last(self) -> bool:
        return self.number == self.count


def build_page(
    definition: Mapping, page_key: str, data: Mapping, errors: list[FieldError] = ()
) -> Page:
    """The page model the template renders: every question with its value and error."""
    pages = pages_of(definition)
    index = next((i for i, p in enumerate(pages) if p["key"] == page_key), 0)
    page = pages[index]
    schema = schema_of(definition)
    properties = schema.get("properties") or {}
    required = set(_effective_schema(definition, data).get("required") or [])
    by_path = {e.path: e.message for e in errors}
    fields = [
        build_field(
            definition, name, properties[name], data.get(name), by_path, name in required, data
        )
        for name in page.get("fields", [])
    ]
    title = pick(page.get("title")) if isinstance(page.get("title"), dict) else ""
    return Page(page["key"], title, fields, index + 1, len(pages))


def page_keys(definition: Mapping) -> list[str]:
    return [p["key"] for p in pages_of(definition)]


# --- Reading a posted page ---------------------------------------------------------------


def _coerce(schema: Mapping, raw: str) -> Any:
    raw = raw.strip()
    if raw == "":
        return ""
    kind = schema.get("type")
    if kind == "integer":
        try:
            return int(raw)
        except ValueError:
            return raw
    if kind == "number":
        try:
            return float(raw.replace(",", "."))
        except ValueError:
            return raw
    if kind == "boolean":
        return {"true": True, "false": False}.get(raw, raw)
    return raw


def _read_date(post: Mapping, name: str) -> str:
    parts = [post.get(f"{name}__{p}", "").strip() for p in ("year", "month", "day")]
    if not any(parts):
        return ""
    year, month, day = parts
    if year.isdigit() and month.isdigit() and day.isdigit():
        try:
            return datetime.date(int(year), int(month), int(day)).isoformat()
        except ValueError:
            pass
    return "-".join(parts)  # left for the validator to call it not a real date


def read_page(definition: Mapping, page_key: str, post: Mapping, previous: Mapping) -> dict:
    """The answers after a page was posted: the page's questions read from the form fields
    (`name`, `name.part`, `name.0.part`, `name__day`…), the others kept from before."""
    data = dict(previous)
    properties = schema_of(definition).get("properties") or {}
    page = next((p for p in pages_of(definition) if p["key"] == page_key), None)
    for name in (page or {}).get("fields", []):
        schema = properties[name]
        widget = widget_for(schema, hints(definition, name))
        if widget == "date":
            data[name] = _read_date(post, name)
        elif widget == "address":
            data[name] = {
                part: post.get(f"{name}.{part}", "").strip()
                for part in (schema.get("properties") or {})
            }
        elif widget == "group":
            data[name] = _read_group(schema, name, post)
        elif widget == "file":
            pass  # set from the uploaded file only (never from text posted under its name)
        elif widget == "checkbox":
            data[name] = bool(post.get(name))
        else:
            data[name] = _coerce(schema, post.get(name, ""))
    return data


def _read_group(schema: Mapping, name: str, post: Mapping) -> list[dict]:
    props = (schema.get("items") or {}).get("properties") or {}
    rows: list[dict] = []
    limit = min(int(schema.get("maxItems") or MAX_GROUP_ITEMS), 50)
    for index in range(limit):
        if not any(f"{name}.{index}.{part}" in post for part in props):
            break
        row = {part: _coerce(props[part], post.get(f"{name}.{index}.{part}", "")) for part in props}
        row = {k: v for k, v in row.items() if v != ""}
        rows.append(row)
    remove = post.get("remove")
    if remove and remove.startswith(f"{name}."):
        tail = remove[len(name) + 1 :]
        if tail.isdigit() and int(tail) < len(rows):
            rows.pop(int(tail))
    if post.get("add") == name and len(rows) < limit:
        rows.append({})
    return [r for r in rows if r] + ([{}] if post.get("add") == name else [])


def summary(definition: Mapping, data: Mapping) -> list[tuple[str, str, str]]:
    """(page key, question, answer as text) for the check-your-answers page."""
    rows = []
    properties = schema_of(definition).get("properties") or {}
    for page in pages_of(definition):
        for name in page.get("fields", []):
            if name not in data:
                continue
            rows.append(
                (
                    page["key"],
                    label_of(definition, name),
                    _as_text(definition, name, properties[name], data[name]),
                )
            )
    return rows


def _as_text(definition: Mapping, name: str, schema: Mapping, value: Any) -> str:
    hint = hints(definition, name)
    if isinstance(value, bool):
        return str(_("Yes") if value else _("No"))
    if isinstance(value, dict):
        # In the schema's order (PostgreSQL's jsonb keeps keys in an order of its own).
        order = list(schema.get("properties") or {})
        keys = [k for k in order if k in value] + [k for k in value if k not in order]
        return ", ".join(str(value[k]) for k in keys if value[k])
    if isinstance(value, list):
        return "; ".join(_as_text(definition, name, schema.get("items") or {}, v) for v in value)
    if "enum" in schema:
        labels = dict(_choices(schema, hint))
        return labels.get(str(value), str(value))
    if hint.get("widget") == "file":
        from .models import Upload

        upload = Upload.objects.filter(pk=value).first() if UUID.match(str(value)) else None
        return upload.name if upload else str(value)
    return str(value)
