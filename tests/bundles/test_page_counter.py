"""The unified form's page counter counts only the pages the person is shown (a page whose
every answer is already known is skipped, and not counted), and the line "What we already
know … is filled in for you" appears only on a page where something was filled in."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from joinedup.bundles.models import BundleDraft

from .conftest import newborn_answers
from .test_pages import date_fields

pytestmark = pytest.mark.django_db

FILLED_IN = "What we already know from your verified identity is filled in for you."
FILLED_IN_FR = "Ce que nous savons déjà grâce à votre identité vérifiée est rempli pour vous."


def begin(user, language: str = "en") -> tuple[Client, str]:
    client = Client()
    client.force_login(user)
    started = client.post(f"/{language}/life-events/newborn/begin/")
    answered = client.post(
        started["Location"],
        {"birth_province": "CA-ON", "lives_with_child": "true", "wants_certificate": "true"},
    )
    services = client.get(answered["Location"]).content.decode()
    first = re.search(rf'href="(/{language}/life-events/journeys/[^"]+/form/[^"]+/)"', services)
    return client, first.group(1)


def counter_of(html: str) -> tuple[int, int]:
    found = re.search(r"page (\d+) (?:of|sur) (\d+)", html)
    assert found, "the page shows no page counter"
    return int(found.group(1)), int(found.group(2))


def test_the_counter_skips_no_number_and_says_prefilled_only_where_true(world):
    client, url = begin(world.amara)
    answers = newborn_answers()
    posted = {
        "child": {
            **{
                k: answers[k]
                for k in ("child_given_names", "child_family_name", "sex", "birth_place")
            },
            "birth_town": answers["birth_town"],
            **date_fields("birth_date", answers["birth_date"]),
        },
        "parents": {
            "parent_given_names": "Amara",
            "parent_family_name": "Okafor",
            **date_fields("parent_birth_date", "1988-03-14"),
            "other_parent_given_names": "David",
            "other_parent_family_name": "Okafor",
        },
        "certificate": {"certificate_reason": "passport"},
        "family": {"marital_status": "married", "spouse_name": "David", "income_last_year": "1"},
    }
    seen = []
    for _step in range(6):
        if url.endswith("/check/"):
            break
        page = url.rstrip("/").rsplit("/", 1)[1]
        html = client.get(url).content.decode()
        seen.append((page, counter_of(html), FILLED_IN in html))
        response = client.post(url, posted[page])
        assert response.status_code == 302, page
        url = response["Location"]
    # The contact page (address and e-mail, both known) is not asked, and not counted: the
    # counter goes 1, 2, 3, 4 of 4 with no gap.
    assert seen == [
        ("child", (1, 4), False),
        ("parents", (2, 4), True),  # the parent's names and date of birth are filled in
        ("certificate", (3, 4), False),
        ("family", (4, 4), False),
    ]
    # Opened again from the check page, the skipped page is shown and counted where it
    # stands, and says what was filled in (the address and the e-mail are).
    draft = BundleDraft.objects.get()
    contact = client.get(f"/en/life-events/journeys/{draft.pk}/form/contact/?check=1")
    html = contact.content.decode()
    assert counter_of(html) == (3, 5) and FILLED_IN in html


def test_in_french_the_counter_counts_the_pages_shown_too(world):
    client, url = begin(world.amara, "fr")
    html = client.get(url).content.decode()
    assert "page 1 sur 4" in html
    assert FILLED_IN_FR not in html
    parents = url.replace("/form/child/", "/form/parents/")
    html = client.get(parents).content.decode()
    assert "page 2 sur 4" in html and FILLED_IN_FR in html
