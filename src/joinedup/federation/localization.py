"""Text kept in several languages, chosen for the reader.

Names and descriptions in the registry are stored as `{"en": "...", "fr": "..."}`: a
jurisdiction has its own official languages (Quebec: French; Germany: German), which need
not be the languages of the interface. The reader gets their own language when the text
exists in it, otherwise English, otherwise the first language the author gave.
"""

import re
from collections.abc import Iterator, Mapping
from typing import Any

from django.conf import settings
from django.utils.translation import get_language, get_language_info, pgettext
from django.utils.translation import gettext as _

FALLBACK_LANGUAGE = "en"


def pick(texts: Mapping[str, str] | None, language: str | None = None) -> str:
    """The text for `language` (default: the active language), with a sensible fallback."""
    if not texts:
        return ""
    language = (language or get_language() or FALLBACK_LANGUAGE).split("-")[0]
    if texts.get(language):
        return texts[language]
    if texts.get(FALLBACK_LANGUAGE):
        return texts[FALLBACK_LANGUAGE]
    return next((text for text in texts.values() if text), "")


def search_text(*parts: Mapping[str, str] | str | None) -> str:
    """Lower-cased text of every language, for a plain `contains` search on any database."""
    words: list[str] = []
    for part in parts:
        if not part:
            continue
        if isinstance(part, str):
            words.append(part)
        else:
            words.extend(text for text in part.values() if text)
    return " ".join(words).casefold()


# --- Data files carry every language of the interface ------------------------------------

_LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}$")
DataPath = tuple[str | int, ...]


def interface_languages() -> tuple[str, ...]:
    """The languages every text people see must be given in (the interface's languages)."""
    return tuple(code for code, _name in settings.LANGUAGES)


def is_texts(value: Any) -> bool:
    """Whether a value of a data file is a text given per language, such as
    `{"en": "Birth certificate", "fr": "Certificat de naissance"}`."""
    if not isinstance(value, Mapping) or not value:
        return False
    if not all(
        isinstance(key, str) and _LANGUAGE_CODE.fullmatch(key) and isinstance(text, str)
        for key, text in value.items()
    ):
        return False
    return any(key in value for key in interface_languages())


def language_gaps(
    data: Any, text_keys: frozenset[str] = frozenset(), path: DataPath = ()
) -> Iterator[tuple[DataPath, list[str]]]:
    """Every text of a data file that lacks one of the interface's languages, with the
    languages it lacks. A text is a mapping of language codes to strings; under one of
    `text_keys` any mapping is a text, so a text given only in German is found too."""
    if isinstance(data, Mapping):
        under_text_key = bool(path) and path[-1] in text_keys
        if is_texts(data) or (under_text_key and data and all(isinstance(k, str) for k in data)):
            missing = [
                code
                for code in interface_languages()
                if not (isinstance(data.get(code), str) and data[code].strip())
            ]
            if missing:
                yield path, missing
            return
        for key, value in data.items():
            yield from language_gaps(value, text_keys, (*path, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from language_gaps(value, text_keys, (*path, index))


def gap_message(missing: list[str]) -> str:
    """What a loader says about a text that lacks languages, in the reader's language."""
    in_sentence = {
        "en": pgettext("language name in a sentence", "English"),
        "fr": pgettext("language name in a sentence", "French"),
    }
    names = ", ".join(
        in_sentence.get(code) or str(get_language_info(code)["name_translated"]) for code in missing
    )
    return _(
        "has no text in %(languages)s: everything people see must be given in English and French."
    ) % {"languages": names}
