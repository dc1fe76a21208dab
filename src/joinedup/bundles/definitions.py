"""Reading loaded bundles: the screening questions, and the unified form cut to the legs a
person keeps (only the questions those legs need are asked)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from joinedup import kept
from joinedup.delivery import formdefs as forms

from . import mapping
from .models import Bundle

#: Active bundles by key, kept per process (`joinedup.kept`): every acceptance, preview and
#: page asks; loading bundles saves them through the ORM, which forgets them at once.
BUNDLES = kept.Kept("bundles.active", (Bundle,))


def get_bundle(key: str) -> Bundle | None:
    """An active bundle by key, or None. Shared by the process's threads: read it only."""
    return BUNDLES.get(key, lambda: Bundle.objects.filter(key=key, active=True).first())


def active_bundles():
    return Bundle.objects.filter(active=True).order_by("position", "key")


def screening_form(bundle: Bundle) -> dict[str, Any]:
    return bundle.definition["screening"]


def needed_fields(bundle: Bundle, leg_keys: Iterable[str]) -> list[str]:
    """The unified form fields the legs read, with the fields their conditions look at, in
    the form's order."""
    keys = set(leg_keys)
    needed: set[str] = set()
    for leg in bundle.legs:
        if leg["key"] in keys:
            needed.update(mapping.fields_read(leg["mapping"]))
    definition = bundle.definition["form"]
    hints = forms.ui_of(definition).get("fields") or {}
    changed = True
    while changed:  # a shown-if question needs the question it depends on
        changed = False
        for name in list(needed):
            condition = (hints.get(name) or {}).get("show_if") or {}
            depends = condition.get("field")
            if depends and depends not in needed:
                needed.add(depends)
                changed = True
    order = list((forms.schema_of(definition).get("properties") or {}).keys())
    return [name for name in order if name in needed]


def unified_form(bundle: Bundle, leg_keys: Iterable[str]) -> dict[str, Any]:
    """The unified form with only the questions the legs need, and pages left empty dropped.

    Its schema, hints and pages are new containers; the questions' own specs are the bundle
    definition's, shared, not copied (a submission asks for the form at each request, and
    copying the whole definition cost more than checking the answers): read them only."""
    definition = bundle.definition["form"]
    fields = needed_fields(bundle, leg_keys)
    keep = set(fields)
    schema = forms.schema_of(definition)
    schema["properties"] = {
        name: spec for name, spec in (schema.get("properties") or {}).items() if name in keep
    }
    schema["required"] = [name for name in schema.get("required") or [] if name in keep]
    ui = forms.ui_of(definition)
    ui["fields"] = {
        name: hint for name, hint in (ui.get("fields") or {}).items() if name.split(".")[0] in keep
    }
    pages = []
    for page in ui.get("pages") or []:
        kept = [name for name in page.get("fields", []) if name in keep]
        if kept:
            pages.append({**page, "fields": kept})
    listed = {name for page in pages for name in page["fields"]}
    loose = [name for name in fields if name not in listed]
    if loose and pages:
        pages[-1]["fields"].extend(loose)
    if pages:
        ui["pages"] = pages
    else:
        ui.pop("pages", None)
    return {"schema": schema, "ui": ui}
