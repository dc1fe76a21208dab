"""Checking answers against a form definition: cleaning them by the JSON Schema, then the
checks a schema cannot say (dates in the past, files uploaded to this question), with
messages in the reader's language that name the question as the person saw it."""

from __future__ import annotations

import copy
import datetime
import json
from collections.abc import Mapping
from typing import Any

from django.utils import formats
from django.utils.translation import gettext as _
from jsonschema import Draft202012Validator, FormatChecker

from joinedup.federation.localization import pick

from ..models import Upload
from .definitions import (
    UUID,
    FieldError,
    condition_holds,
    hints,
    label_of,
    label_path,
    pages_of,
    schema_of,
    ui_of,
)

# --- Validation --------------------------------------------------------------------------


def effective_schema(definition: Mapping, data: Mapping) -> dict:
    """The schema with conditional questions made required when they are shown."""
    schema = copy.deepcopy(schema_of(definition))
    schema["required"] = _effective_required(definition, data)
    return schema


#: Validators compiled once per schema (and set of required questions) and kept per
#: process: a bundle validates six legs' answers and its unified form on every submission,
#: and building a validator (and the references it resolves) cost more than validating.
_VALIDATORS: dict[str, Draft202012Validator] = {}
_MOST_VALIDATORS = 512


def _validator_for(definition: Mapping, data: Mapping) -> Draft202012Validator:
    schema = schema_of(definition)
    required = _effective_required(definition, data)
    key = json.dumps([schema, required], sort_keys=True, separators=(",", ":"), default=str)
    validator = _VALIDATORS.get(key)
    if validator is None:
        # A copy of its own, so that no caller's later change reaches the kept validator.
        compiled = {**copy.deepcopy(schema), "required": required}
        validator = Draft202012Validator(compiled, format_checker=FormatChecker())
        if len(_VALIDATORS) >= _MOST_VALIDATORS:
            _VALIDATORS.clear()
        _VALIDATORS[key] = validator
    return validator


def _effective_required(definition: Mapping, data: Mapping) -> list[str]:
    required = list(schema_of(definition).get("required") or [])
    for name, hint in (ui_of(definition).get("fields") or {}).items():
        if "." in name or not hint.get("show_if"):
            continue
        if hint.get("required") and condition_holds(hint["show_if"], data):
            if name not in required:
                required.append(name)
        elif name in required and not condition_holds(hint["show_if"], data):
            required.remove(name)
    return required


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
    label = label_of(definition, label_path(path))
    validator = error.validator
    value = error.validator_value
    hint = hints(definition, label_path(path))
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


#: No date a person gives is older than this: a birth date before it is a mistyped year.
OLDEST_YEARS = 130


def _years_before(day: datetime.date, years: int) -> datetime.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a year that has none
        return day.replace(year=day.year - years, day=28)


def _day_of(data: Mapping, name: str) -> datetime.date | None:
    raw = data.get(name)
    if not isinstance(raw, str):
        return None
    try:
        return datetime.date.fromisoformat(raw)
    except ValueError:
        return None


def _date_checks(definition: Mapping, data: Mapping) -> list[FieldError]:
    """What a date can plausibly be, which JSON Schema cannot say. Every date question:
    not more than 130 years ago. The hints: `past` / `future` (today or before / after);
    `within_days: N` (not more than N days ago: a birth within its registration period);
    `after: other_field` (on or after another date of the same form: a baby not born before
    the parent, a death not before the birth)."""
    errors = []
    today = datetime.date.today()
    oldest = _years_before(today, OLDEST_YEARS)
    for name, hint in (ui_of(definition).get("fields") or {}).items():
        if hint.get("widget") != "date" or "." in name:
            continue
        day = _day_of(data, name)
        if day is None:
            continue
        label = label_of(definition, name)
        if day < oldest:
            errors.append(
                FieldError(
                    name,
                    _("“%(label)s” is more than %(years)s years ago: check the year.")
                    % {"label": label, "years": OLDEST_YEARS},
                    "implausible",
                )
            )
            continue
        if hint.get("past") and day > today:
            errors.append(
                FieldError(name, _("“%(label)s” must be today or in the past.") % {"label": label})
            )
        if hint.get("future") and day < today:
            errors.append(
                FieldError(name, _("“%(label)s” must be today or later.") % {"label": label})
            )
        other = hint.get("after")
        earlier = _day_of(data, other) if isinstance(other, str) else None
        if earlier is not None and day < earlier:
            errors.append(
                FieldError(
                    name,
                    _("“%(label)s” cannot be before “%(other)s” (%(date)s).")
                    % {
                        "label": label,
                        "other": label_of(definition, other),
                        "date": formats.date_format(earlier, "DATE_FORMAT"),
                    },
                    "before_other",
                )
            )
        within = hint.get("within_days")
        if isinstance(within, int) and day < today - datetime.timedelta(days=within):
            errors.append(
                FieldError(
                    name,
                    _(
                        "“%(label)s” must be within the last %(days)s days. For an older "
                        "date, contact the agency."
                    )
                    % {"label": label, "days": within},
                    "too_old",
                )
            )
    return errors


def _file_checks(definition: Mapping, data: Mapping) -> list[FieldError]:
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
    validator = _validator_for(definition, cleaned)
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
