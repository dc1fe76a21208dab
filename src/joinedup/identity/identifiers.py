"""Typed personal identifiers: what each looks like, how its check digit works, how to mask it.

Each identifier type is registered once here; the rest of the platform (forms, the API, the
encryption, the log redaction) asks the registry instead of knowing about particular numbers.
Validation messages never repeat the value: a message can end up in a log or a screenshot.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class IdentifierType:
    """One kind of identifier, e.g. Canada's social insurance number."""

    key: str
    label: str | Promise
    #: Normalises what a person typed (spaces, dashes, case) to the stored form.
    normalise: Callable[[str], str]
    #: Raises ValidationError when the normalised value is not a valid identifier.
    check: Callable[[str], None]
    #: What anything shaped like this identifier looks like inside free text (for the logs).
    redaction_pattern: str | None = None
    #: How many trailing characters may be shown to help a person recognise their number.
    visible_suffix: int = 3
    #: The country whose people hold it; blank for one held in several (a health card).
    country: str = ""
    aliases: tuple[str, ...] = field(default_factory=tuple)
    #: How the number is written, shown beside the field where staff type it.
    format: str | Promise = ""

    def clean(self, raw: str) -> str:
        """The normalised value, or a ValidationError that does not repeat what was typed."""
        value = self.normalise(raw or "")
        if not value:
            raise ValidationError(
                _("Enter the %(label)s."), code="required", params={"label": self.label}
            )
        self.check(value)
        return value

    def mask(self, value: str) -> str:
        """What may be shown on a screen: all but the last few characters hidden."""
        if len(value) <= self.visible_suffix:
            return "•" * len(value)
        return "•" * (len(value) - self.visible_suffix) + value[-self.visible_suffix :]

    def hint(self, value: str) -> str:
        return value[-self.visible_suffix :] if self.visible_suffix else ""


_REGISTRY: dict[str, IdentifierType] = {}


def register(identifier_type: IdentifierType) -> IdentifierType:
    if identifier_type.key in _REGISTRY:
        raise ValueError(f"identifier type {identifier_type.key} is registered twice")
    _REGISTRY[identifier_type.key] = identifier_type
    return identifier_type


def get(key: str) -> IdentifierType:
    """The identifier type with this key; a ValidationError for an unknown one."""
    try:
        return _REGISTRY[key]
    except KeyError:
        raise ValidationError(
            _("%(key)s is not a known kind of identifier. Known kinds: %(known)s."),
            code="unknown_type",
            params={"key": key, "known": ", ".join(sorted(_REGISTRY))},
        ) from None


def all_types() -> list[IdentifierType]:
    return list(_REGISTRY.values())


def choices() -> list[tuple[str, str | Promise]]:
    return [(t.key, t.label) for t in _REGISTRY.values()]


def for_country(country: str | None) -> list[IdentifierType]:
    """The kinds people of this country hold (its own, and those of no one country); every
    kind when the country is not known (a platform administrator's console)."""
    if not country:
        return all_types()
    return [t for t in _REGISTRY.values() if t.country in ("", country.upper())]


def digits_only(raw: str) -> str:
    return re.sub(r"[\s\-.]", "", raw or "")


def _require_digits(value: str, lengths: tuple[int, ...], label: str | Promise) -> None:
    if not value.isdigit() or len(value) not in lengths:
        raise ValidationError(
            _("A %(label)s has %(lengths)s digits."),
            code="format",
            params={"label": label, "lengths": _(" or ").join(str(n) for n in lengths)},
        )


def luhn_valid(number: str) -> bool:
    """The Luhn (mod 10) check used by the social insurance number and payment cards."""
    total = 0
    for position, char in enumerate(reversed(number)):
        digit = int(char)
        if position % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


SIN_LABEL = _("social insurance number")


def check_sin(value: str) -> None:
    _require_digits(value, (9,), SIN_LABEL)
    if not luhn_valid(value) or value == "0" * 9:
        raise ValidationError(
            _("This social insurance number is not valid: check the digits and try again."),
            code="check_digit",
        )


TFN_LABEL = _("tax file number")
_TFN_WEIGHTS = {9: (1, 4, 3, 7, 5, 8, 6, 9, 10), 8: (10, 7, 8, 4, 6, 3, 5, 1)}


def check_tfn(value: str) -> None:
    """Australia's tax file number: a weighted sum divisible by 11."""
    _require_digits(value, (8, 9), TFN_LABEL)
    total = sum(int(d) * w for d, w in zip(value, _TFN_WEIGHTS[len(value)], strict=True))
    if total % 11:
        raise ValidationError(
            _("This tax file number is not valid: check the digits and try again."),
            code="check_digit",
        )


HEALTH_CARD_LABEL = _("health card number")


def normalise_health_card(raw: str) -> str:
    return digits_only(raw).upper()


def check_health_card(value: str) -> None:
    """A provincial health card: 10 digits, optionally followed by a two-letter version code."""
    if not re.fullmatch(r"\d{10}([A-Z]{2})?", value):
        raise ValidationError(
            _("A health card number has 10 digits, sometimes followed by two letters."),
            code="format",
        )


SIN = register(
    IdentifierType(
        key="ca-sin",
        label=SIN_LABEL,
        normalise=digits_only,
        check=check_sin,
        redaction_pattern=r"(?<![\w])\d{3}[ \-.]?\d{3}[ \-.]?\d{3}(?![\w])",
        country="CA",
        format=_("9 digits, written 000 000 000"),
    )
)
TFN = register(
    IdentifierType(
        key="au-tfn",
        label=TFN_LABEL,
        normalise=digits_only,
        check=check_tfn,
        redaction_pattern=r"(?<![\w])\d{3}[ \-.]?\d{3}[ \-.]?\d{2,3}(?![\w])",
        country="AU",
        format=_("8 or 9 digits, written 000 000 000"),
    )
)
HEALTH_CARD = register(
    IdentifierType(
        key="health-card",
        label=HEALTH_CARD_LABEL,
        normalise=normalise_health_card,
        check=check_health_card,
        format=_("10 digits, sometimes followed by two letters: 0000 000 000 AB"),
        redaction_pattern=r"(?<![\w])\d{4}[ \-.]?\d{3}[ \-.]?\d{3}(?:[ \-.]?[A-Za-z]{2})?(?![\w])",
    )
)
