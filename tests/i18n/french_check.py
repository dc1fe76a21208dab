"""The check that a French page left no English behind: a French text node identical to a
text node of the same page in English is English left untranslated, unless what it says is
the same in both languages — and that is a short, strict list:

- numbers, times, amounts and punctuation (no letter at all);
- codes people use: jurisdiction codes (CA-ON-TOR), references and postal codes (letters
  with at least one digit: BR-2026-000123, M5J 2X2), e-mail addresses;
- names identical in both languages, given by the caller (from the data: a person's name,
  an agency, office or place whose English and French names are the same) plus a few
  place names;
- a few words spelled the same in both languages (Page, Service, Total…), whole words only.

A node is allowed only when nothing but these is left in it: one English word besides them
("Work queue", "ESDC", "Supervisor") fails it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

#: Place and product names the same in both languages (others come from the data).
PROPER_NAMES = frozenset({"Joinedup", "Canada", "Ontario", "Toronto", "Ottawa", "Vancouver"})
#: Words spelled the same in French and English, as whole words.
SHARED_WORDS = frozenset(
    {
        "Page",
        "Service",
        "Services",
        "Total",
        "Note",
        "Notes",
        "Date",
        "Description",
        "Document",
        "Documents",
        "Action",
        "Actions",
        "Transaction",
        "Transactions",
        "Option",
        "Options",
        "Minutes",
        "Information",
        "Navigation",
        "Question",
        "Questions",
        "Message",
        "Messages",
        "Type",
        "Format",
        "Source",
        "Sources",
        "Population",
        "Inspection",
    }
)
#: Codes: a jurisdiction code, or capitals and digits with at least one digit.
CODES = re.compile(
    r"(?<![\w-])(?:[A-Z]{2}(?:-[A-Z0-9]{2,4}){1,2}|(?=[A-Z0-9-]*\d)[A-Z0-9]+(?:[- ][A-Z0-9]+)*)"
    r"(?![\w-])"
)
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
LETTER = re.compile(r"[^\W\d_]")


class FrenchCheck:
    """Finds English left in a French page, given the names the same in both languages."""

    def __init__(self, names: Iterable[str] = ()) -> None:
        phrases = {name.strip() for name in (*PROPER_NAMES, *names) if name and name.strip()}
        phrases |= SHARED_WORDS
        # Longest first, so that "Service Canada Toronto" goes before "Service".
        ordered = sorted(phrases, key=len, reverse=True)
        self._phrases = re.compile(
            r"(?<!\w)(?:" + "|".join(re.escape(p) for p in ordered) + r")(?!\w)"
        )

    def same_in_both(self, text: str) -> bool:
        """Whether the text says nothing but what is written the same in both languages."""
        rest = EMAIL.sub(" ", text)
        rest = self._phrases.sub(" ", rest)
        rest = CODES.sub(" ", rest)
        return not LETTER.search(rest)

    def untranslated(self, english: Iterable[str], french: Iterable[str]) -> list[str]:
        """The French page's text nodes that repeat the English page's, not allowed."""
        left = set(english)
        return sorted(
            {
                text
                for text in french
                if text in left and len(text) > 3 and not self.same_in_both(text)
            }
        )
