"""Presenting a form definition to a person: the page models one template renders (questions,
widgets, choices, dates, repeating groups), reading a posted page back into answers, and the
check-your-answers summary."""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.utils.translation import gettext as _

from joinedup.federation.localization import pick

from ..models import Upload
from .definitions import (
    MAX_GROUP_ITEMS,
    UUID,
    FieldError,
    condition_holds,
    field_id,
    hints,
    label_of,
    label_path,
    pages_of,
    schema_of,
)
from .validation import effective_schema


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
    hint = hints(definition, label_path(name))
    widget = widget_for(schema, hint)
    item = Field(
        name=name,
        label=label_of(definition, label_path(name)),
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
    required = set(effective_schema(definition, data).get("required") or [])
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
        upload = Upload.objects.filter(pk=value).first() if UUID.match(str(value)) else None
        return upload.name if upload else str(value)
    return str(value)


# --- Files posted on a page --------------------------------------------------------------

#: What a file is, by its first bytes (a file's name and declared type are not trusted).
SNIFF = {
    b"%PDF": "application/pdf",
    b"\x89PNG": "image/png",
    b"\xff\xd8\xff": "image/jpeg",
}


def read_uploads(
    definition: Mapping, page_key: str, files: Mapping, user_id: int, data: dict
) -> list[FieldError]:
    """Check and keep the files posted on this page (size and type, sniffed), recording
    each kept file's id in `data` under its question. `files`: the request's FILES; the
    files belong to `user_id` (whoever answers, for themselves or for a business)."""
    errors = []
    page = next((p for p in pages_of(definition) if p["key"] == page_key), {})
    for name in page.get("fields", []):
        hint = hints(definition, name)
        upload = files.get(name)
        if hint.get("widget") != "file" or upload is None:
            continue
        limit = min(int(hint.get("max_size") or 5_000_000), settings.DELIVERY_UPLOAD_MAX_BYTES)
        label = label_of(definition, name)
        if upload.size > limit:
            errors.append(
                FieldError(
                    name,
                    _("“%(label)s” must be smaller than %(mb)s MB.")
                    % {"label": label, "mb": round(limit / 1_000_000, 1)},
                    "file_size",
                )
            )
            continue
        content = upload.read()
        kind = next((t for magic, t in SNIFF.items() if content.startswith(magic)), "")
        accepted = hint.get("accept") or list(SNIFF.values())
        if kind not in accepted:
            errors.append(
                FieldError(
                    name,
                    _("“%(label)s” must be a file of an accepted type.") % {"label": label},
                    "file_type",
                )
            )
            continue
        record = Upload(
            user_id=user_id,
            field=name,
            name=(upload.name or "file")[:200],
            content_type=kind,
            size=len(content),
            sha256=hashlib.sha256(content).hexdigest(),
        )
        record.file.save(f"{record.pk}", ContentFile(content), save=False)
        record.save()
        data[name] = str(record.pk)
    return errors
