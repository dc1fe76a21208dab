"""Identifier types: formats, check digits, and messages that never repeat the value."""

import pytest
from django.core.exceptions import ValidationError

from joinedup.identity import identifiers

from .conftest import VALID_SIN


def messages(error: ValidationError) -> str:
    return " ".join(str(m) for m in error.messages)


@pytest.mark.parametrize("typed", ["046 454 286", "046-454-286", "046454286", " 046.454.286 "])
def test_a_sin_is_accepted_however_it_is_typed(typed):
    assert identifiers.SIN.clean(typed) == "046454286"


@pytest.mark.parametrize(
    ("typed", "fragment"),
    [
        ("046 454 287", "not valid"),  # wrong check digit
        ("04645428", "9 digits"),
        ("0464542866", "9 digits"),
        ("046 45A 286", "9 digits"),
        ("000 000 000", "not valid"),
        ("", "Enter the social insurance number"),
    ],
)
def test_an_invalid_sin_is_refused_without_repeating_it(typed, fragment):
    with pytest.raises(ValidationError) as caught:
        identifiers.SIN.clean(typed)
    text = messages(caught.value)
    assert fragment in text
    digits = typed.replace(" ", "")
    if digits:
        assert digits not in text.replace(" ", "")


def test_tax_file_numbers_use_their_weighted_check():
    assert identifiers.TFN.clean("123 456 782") == "123456782"
    assert identifiers.TFN.clean("1234 5677") == "12345677"  # an older eight-digit number
    with pytest.raises(ValidationError, match="not valid"):
        identifiers.TFN.clean("123 456 789")


def test_health_card_numbers_may_carry_a_version_code():
    assert identifiers.HEALTH_CARD.clean("1234-567-890-ab") == "1234567890AB"
    with pytest.raises(ValidationError, match="10 digits"):
        identifiers.HEALTH_CARD.clean("12345")


def test_an_unknown_kind_is_a_clear_error():
    with pytest.raises(ValidationError, match="not a known kind of identifier"):
        identifiers.get("passport-xx")


def test_masking_shows_only_the_last_three():
    assert identifiers.SIN.mask(identifiers.SIN.clean(VALID_SIN)) == "••••••286"
