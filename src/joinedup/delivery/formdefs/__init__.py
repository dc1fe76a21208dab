"""The form-definition engine (not a Django forms module): one JSON definition per service
version says what to ask, how to check it and how to show it.

The schema is the contract (the API publishes it and validates with it); the hints say how a
person sees it: labels and help in English and French, conditional questions, repeating
groups, addresses, dates, choices and file uploads. `validate` answers with messages in the
reader's language that name the question as the person saw it; `build_page` turns a
definition into page models that one template renders in the design system, with the error
summary at the top.

Floors: `definitions` (the format) ← `validation` (checking answers) ← `pages` (showing and
reading pages, the summary). This package's namespace is the engine's public face:
`formdefs.validate(...)`, `formdefs.build_page(...)`.
"""

from .definitions import (
    ADDRESS_PARTS,
    MAX_GROUP_ITEMS,
    UUID,
    DefinitionError,
    FieldError,
    address_part_label,
    check_definition,
    condition_holds,
    field_id,
    hints,
    label_of,
    label_path,
    lookup,
    pages_of,
    schema_of,
    ui_of,
)
from .pages import (
    Field,
    Page,
    _as_text,  # the bundles' check page prints answers as the summary does
    build_field,
    build_page,
    page_keys,
    read_page,
    read_uploads,
    summary,
    widget_for,
)
from .validation import clean, effective_schema, validate, validate_page

__all__ = [
    "ADDRESS_PARTS",
    "MAX_GROUP_ITEMS",
    "UUID",
    "DefinitionError",
    "Field",
    "FieldError",
    "Page",
    "_as_text",
    "address_part_label",
    "build_field",
    "build_page",
    "check_definition",
    "clean",
    "condition_holds",
    "effective_schema",
    "field_id",
    "hints",
    "label_of",
    "label_path",
    "lookup",
    "page_keys",
    "pages_of",
    "read_page",
    "read_uploads",
    "schema_of",
    "summary",
    "ui_of",
    "validate",
    "validate_page",
    "widget_for",
]
