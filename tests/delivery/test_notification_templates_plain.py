"""A bulk pass renders the same notification template thousands of times; a plain template
(names and `if`s) over text values is filled in without Django rendering each one. What it
gives must be exactly what Django gives, whatever the values."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.template import Context, Engine

from joinedup.delivery.notifications import templates

ENGINE = Engine(autoescape=False)
OFFER = templates._default("offer", "en")


def django(text: str, variables: dict) -> str:
    return ENGINE.from_string(text).render(Context(variables, autoescape=False))


@pytest.mark.parametrize(
    "variables",
    [
        {
            "name": "Amara",
            "service": "Canada Child Benefit",
            "reason": "R",
            "message": "",
            "offer_url": "https://x/en/offers/1/",
        },
        {
            "name": "<b>Zoë & co</b>",
            "service": "{{ service }}",
            "reason": "name",
            "message": "Bring your notice.",
            "offer_url": "u",
        },
        {"name": "", "service": "S", "reason": "", "message": "m"},
    ],
)
def test_the_plain_fill_gives_what_django_gives(variables):
    for text in OFFER:
        assert templates._fill(text, variables) == django(text, variables)


def test_values_that_django_formats_and_other_tags_are_left_to_django():
    amount = {"name": "A", "amount": Decimal("1234.50")}
    text = "{{ name }} {{ amount }}"
    assert templates._fill(text, amount) == django(text, amount)
    filtered = "{{ name|upper }}{% for x in name %}.{% endfor %}"
    assert not templates._plain(filtered)
    assert templates._fill(filtered, {"name": "ab"}) == "AB.."


def test_render_many_gives_what_render_gives_one_by_one_in_each_language():
    items = [
        ("en", {"name": "Amara", "service": "S", "reason": "R", "message": "", "offer_url": "u"}),
        ("fr", {"name": "Élodie", "service": "S", "reason": "R", "message": "m", "offer_url": "v"}),
        ("de", {"name": "Jonas", "service": "S", "reason": "", "message": "", "offer_url": "w"}),
        ("en", {"name": "Ben", "service": "T", "reason": "R", "message": "m", "offer_url": "x"}),
    ]
    many = templates.render_many(None, "offer", items)
    assert many == [templates.render(None, "offer", lang, values) for lang, values in items]
    assert many[1].body != many[0].body and "Élodie" in many[1].body
