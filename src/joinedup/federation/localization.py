"""Text kept in several languages, chosen for the reader.

Names and descriptions in the registry are stored as `{"en": "...", "fr": "..."}`: a
jurisdiction has its own official languages (Quebec: French; Germany: German), which need
not be the languages of the interface. The reader gets their own language when the text
exists in it, otherwise English, otherwise the first language the author gave.
"""

from collections.abc import Mapping

from django.utils.translation import get_language

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
