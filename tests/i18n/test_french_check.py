"""The browser walk's French check is strict: only numbers, codes, e-mail addresses, names
the same in both languages and a few shared words pass; any English word fails."""

from __future__ import annotations

import pytest

from tests.i18n.french_check import FrenchCheck

CHECK = FrenchCheck(["Amara Okafor", "ServiceOntario", "Service Canada Toronto"])


@pytest.mark.parametrize(
    "text",
    [
        "12:30 – 16:30",
        "25,00 $",
        "CA-ON-TOR",
        "BR-2026-000123",
        "M5J 2X2",
        "esdc.front-line@example.org",
        "Amara Okafor",
        "ServiceOntario",
        "Service Canada Toronto",
        "Toronto (CA-ON-TOR)",
        "Canada",
        "Page 2",
        "Total",
        "Amara Okafor — amara@example.org",
    ],
)
def test_what_is_the_same_in_both_languages_passes(text):
    assert CHECK.same_in_both(text), text


@pytest.mark.parametrize(
    "text",
    [
        "Work queue",
        "Supervisor",
        "Claim",
        "ESDC",  # an English short name: EDSC in French
        "Reassign",
        "Amara Okafor (applicant)",
        "Service Canada Toronto office",
        "Page not found",
        "Services near you",
        "Toronto General Hospital",
        "Canadian",
        "Okafor",  # half a name is not the name
        "None",
        "Statistics Canada",
    ],
)
def test_any_english_word_fails(text):
    assert not CHECK.same_in_both(text), text


def test_only_nodes_repeated_from_the_english_page_are_reported():
    english = ["Work queue", "Amara Okafor", "12:30", "Claim"]
    french = ["File de travail", "Amara Okafor", "12:30", "Claim", "Oui"]
    assert CHECK.untranslated(english, french) == ["Claim"]
