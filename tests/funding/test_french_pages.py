"""Funding's pages in French leave no English behind: each page is read in English and in
French on the Canadian demo's funding, and a French text node that repeats the English page's
is English left untranslated, unless it is a number, a code, a name the same in both
languages or a word spelled the same (tests/i18n/french_check.py)."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django.test import Client

from joinedup.demo.loading import federation_folder, load_demo_funding
from joinedup.federation.loader import load_federation
from joinedup.federation.models import Agency, Jurisdiction, Program, Service
from joinedup.funding.models import Allocation, Indicator, Result
from tests.i18n.french_check import FrenchCheck

from .conftest import staff_client

pytestmark = pytest.mark.django_db

#: Words of funding's pages that French spells as English does (an instrument, a condition).
SAME_IN_FRENCH = ["Condition", "Contribution", "Instrument"]
#: The scenario the analyst names: what a person typed is shown as typed, in both languages.
SCENARIO = "Shift"


class _MainText(HTMLParser):
    """The text nodes inside <main>, whitespace collapsed (scripts and styles left out)."""

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0
        self.skip = 0
        self.nodes: list[str] = []

    def handle_starttag(self, tag, attrs) -> None:
        if tag == "main" or self.depth:
            self.depth += tag not in ("br", "img", "input", "meta", "link", "hr", "source")
        if tag in ("script", "style", "template"):
            self.skip += 1

    def handle_endtag(self, tag) -> None:
        if self.depth and tag not in ("br", "img", "input", "meta", "link", "hr", "source"):
            self.depth -= 1
        if tag in ("script", "style", "template"):
            self.skip -= 1

    def handle_data(self, data) -> None:
        text = " ".join(data.split())
        if self.depth and not self.skip and text:
            self.nodes.append(text)


def text_nodes(html: str) -> list[str]:
    parser = _MainText()
    parser.feed(html)
    assert parser.nodes, "the page has no <main> text"
    return parser.nodes


def names_in_both_languages() -> list[str]:
    """Names the data writes the same in English and French (the check's allow-list)."""
    names: list[str] = []
    for model in (Agency, Jurisdiction, Program, Service, Result, Indicator):
        for row in model.objects.values_list("names", flat=True):
            if row and row.get("en") and row.get("en") == row.get("fr", row.get("en")):
                names.append(row["en"])
    for row in Agency.objects.values_list("short_names", flat=True):
        if row and row.get("en") and row.get("en") == row.get("fr", row.get("en")):
            names.append(row["en"])
    return names


def test_every_funding_page_is_french_in_french():
    load_federation([federation_folder("canada")], base=federation_folder("canada").parent)
    assert "refused" not in load_demo_funding()
    public = Client()
    funder = Allocation.objects.get(key="ircc-tnwc-2025").funder
    supervisor, _u = staff_client(funder, "supervisor")
    analyst, _u = staff_client(funder, "analyst")
    made = analyst.post("/en/funding/scenarios/", {"name": SCENARIO, "year": "2025"})
    assert made.status_code == 302
    scenario = made["Location"].split("/funding/", 1)[1]
    pages = [
        (public, "funding/?year=2025"),
        (public, "funding/?year=2025&program=settlement-program"),
        (public, "funding/programs/settlement-program/?year=2025"),
        (public, "funding/programs/labour-market-development/?year=2025"),
        (analyst, "funding/scenarios/"),
        (analyst, f"funding/{scenario}"),
        (supervisor, "funding/payments/"),
        (supervisor, "funding/oversight/"),
    ]
    check = FrenchCheck([*names_in_both_languages(), *SAME_IN_FRENCH, SCENARIO])
    left = []
    for client, path in pages:
        english = client.get(f"/en/{path}")
        french = client.get(f"/fr/{path}")
        assert english.status_code == french.status_code == 200, path
        same = check.untranslated(
            text_nodes(english.content.decode()), text_nodes(french.content.decode())
        )
        if same:
            left.append(f"/fr/{path}: {same}")
    assert not left, "English left on French pages:\n" + "\n".join(left)
