"""Catalogue facts as people in Canada read them, in English and in French."""

from decimal import Decimal

import pytest
from django.utils import translation

from joinedup.pagination import page_numbers
from joinedup.web.presentation import (
    channel_label,
    format_money,
    format_percent,
    format_standard,
    opening_hours,
)

NBSP = "\u00a0"


@pytest.mark.parametrize(
    ("amount", "currency", "english", "french"),
    [
        (Decimal("18.5"), "CAD", "$18.50", f"18,50{NBSP}$"),
        (Decimal("1234.5"), "CAD", "$1,234.50", f"1{NBSP}234,50{NBSP}$"),
        (Decimal("12"), "EUR", "€12.00", f"12,00{NBSP}€"),
        (Decimal("12"), "USD", "US$12.00", f"12,00{NBSP}${NBSP}US"),
        (Decimal("12"), "XYZ", f"XYZ{NBSP}12.00", f"12,00{NBSP}XYZ"),
        (Decimal("0"), "CAD", "Free", "Gratuit"),
    ],
)
def test_money(amount, currency, english, french):
    with translation.override("en"):
        assert format_money(amount, currency) == english
    with translation.override("fr"):
        assert format_money(amount, currency) == french


def test_percent_and_standard():
    with translation.override("en"):
        assert format_percent(Decimal("0.900")) == "90%"
        assert format_percent(Decimal("0.925")) == "92.5%"
        assert format_standard(15, "business", Decimal("0.9")) == "15 business days, target 90%"
        assert format_standard(1, "calendar") == "1 calendar day"
        assert format_standard(None, "business") == "No service standard is set"
    with translation.override("fr"):
        assert format_percent(Decimal("0.925")) == f"92,5{NBSP}%"
        assert (
            format_standard(15, "business", Decimal("0.9"))
            == f"15 jours ouvrables, cible de 90{NBSP}%"
        )
        assert format_standard(1, "calendar") == "1 jour civil"


def test_channels_and_hours():
    with translation.override("fr"):
        assert channel_label("counter") == "En personne"
        assert channel_label("carrier-pigeon") == "carrier-pigeon"
        assert opening_hours({"tue": [["08:30", "12:00"], ["13:00", "16:00"]]}) == [
            ("mardi", "08:30–12:00, 13:00–16:00")
        ]


@pytest.mark.parametrize(
    ("current", "last", "shown"),
    [
        (1, 1, [1]),
        (1, 3, [1, 2, 3]),
        (1, 10, [1, 2, None, 10]),
        (5, 10, [1, None, 4, 5, 6, None, 10]),
        (10, 10, [1, None, 9, 10]),
        (3, 10, [1, 2, 3, 4, None, 10]),
    ],
)
def test_page_numbers(current, last, shown):
    assert page_numbers(current, last) == shown
