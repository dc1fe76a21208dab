"""Notification templates: per service version and event, in English and French.

A service version may carry its own wording (`notifications` in its JSON file):

    {"submitted": {"en": {"subject": "…", "body": "…"}, "fr": {"subject": "…", "body": "…"}}}

An event set to `false` is not sent at all (the owning app tells the person itself; see
`reactions.told_by_owner`).

Otherwise the default templates are used (`templates/delivery/notifications/<event>.<lang>.txt`,
whose first line is `Subject: …`). Both are Django templates over the same variables:
name, reference, service, agency, status, reasons, message, due_date, submitted_on,
status_url, document, amount, currency, reason.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.template import Context, Engine, Template, TemplateDoesNotExist
from django.template.loader import get_template

LANGUAGES = ("en", "fr")
EVENTS = ("submitted", "paused", "decided", "document_ready", "payment_requested", "refunded")
_ENGINE = Engine(autoescape=False)


@dataclass(frozen=True)
class Message:
    subject: str
    body: str


def _from_version(version, event: str, language: str) -> tuple[str, str] | None:
    texts = ((version.notifications or {}).get(event) or {}) if version is not None else {}
    chosen = texts.get(language) or texts.get("en")
    if not chosen or not chosen.get("body"):
        return None
    return chosen.get("subject", ""), chosen["body"]


def _default(event: str, language: str) -> tuple[str, str]:
    try:
        source = get_template(f"delivery/notifications/{event}.{language}.txt").template.source
    except TemplateDoesNotExist:
        source = get_template(f"delivery/notifications/{event}.en.txt").template.source
    first, _sep, rest = source.partition("\n")
    subject = first.removeprefix("Subject:").strip()
    return subject, rest.lstrip("\n")


def render(version, event: str, language: str, variables: dict[str, Any]) -> Message:
    """The subject and body of a notification, in `language` (English when missing)."""
    language = language if language in LANGUAGES else "en"
    subject, body = _from_version(version, event, language) or _default(event, language)
    return _message(subject, body, variables)


def render_many(version, event: str, items: Iterable[tuple[str, dict[str, Any]]]) -> list[Message]:
    """The messages of many notifications of one event, each (language, variables), in one
    pass: each language's wording is looked up once, and a plain template is rendered by
    Django once per pattern of empty and non-empty values (see `_fill`), not once per
    notification. The same messages as `render` one by one, in the order given."""
    wording: dict[str, tuple[str, str]] = {}
    messages = []
    for language, variables in items:
        language = language if language in LANGUAGES else "en"
        if language not in wording:
            wording[language] = _from_version(version, event, language) or _default(event, language)
        messages.append(_message(*wording[language], variables))
    return messages


def plain_skeleton(
    version, event: str, language: str, variables: dict[str, Any]
) -> tuple[str, str] | None:
    """The subject and body (neither normalised nor stripped) rendered over text values,
    when the wording in `language` is a plain template (`{{ name }}` and `if`s only), else
    None. A bulk writer may give markers as some values and put each notification's values
    in their places elsewhere (in SQL): Django writes a text value as it is."""
    language = language if language in LANGUAGES else "en"
    subject, body = _from_version(version, event, language) or _default(event, language)
    if not (_plain(subject) and _plain(body)):
        return None
    return _fill(subject, variables), _fill(body, variables)


def _message(subject: str, body: str, variables: dict[str, Any]) -> Message:
    return Message(
        subject=" ".join(_fill(subject, variables).split())[:300],
        body=_fill(body, variables).strip(),
    )


#: What a plain template holds: `{{ name }}`, `{% if name %}`, `{% else %}`, `{% endif %}`.
_PLAIN_TAG = re.compile(r"\{\{\s*\w+\s*\}\}|\{%\s*(?:if\s+\w+|else|endif)\s*%\}")
_MARK = "\x00"


@lru_cache(maxsize=256)
def _plain(text: str) -> bool:
    rest = _PLAIN_TAG.sub("", text)
    return not any(opening in rest for opening in ("{{", "{%", "{#"))


def _fill(text: str, variables: dict[str, Any]) -> str:
    """The template rendered over the variables. A bulk pass renders the same template
    thousands of times: a plain one (names and `if`s only) over text values is rendered by
    Django once per pattern of empty and non-empty values, with markers, and each
    notification's values put in the markers' places — the same text Django gives, since
    it writes a text value as it is (autoescape off) and an `if` only asks whether it is
    empty."""
    if not _plain(text) or not all(
        isinstance(v, str) and _MARK not in v for v in variables.values()
    ):
        return _compiled(text).render(Context(variables, autoescape=False))
    filled = _skeleton(text, tuple(sorted((k, bool(v)) for k, v in variables.items())))
    for name, value in variables.items():
        if value:
            filled = filled.replace(f"{_MARK}{name}{_MARK}", value)
    return filled


@lru_cache(maxsize=1024)
def _skeleton(text: str, pattern: tuple[tuple[str, bool], ...]) -> str:
    context = {name: f"{_MARK}{name}{_MARK}" if full else "" for name, full in pattern}
    return _compiled(text).render(Context(context, autoescape=False))


@lru_cache(maxsize=256)
def _compiled(text: str) -> Template:
    """A template's text compiled once per process (a bulk pass renders it many times)."""
    return Template(text, engine=_ENGINE)
