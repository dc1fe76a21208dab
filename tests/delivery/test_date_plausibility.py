"""Dates a form refuses as implausible, with messages in the reader's language naming the
question: more than 130 years ago, in the future where it must be past, older than a
registration period, before another date of the same form (a baby before its parent)."""

from __future__ import annotations

import datetime

import pytest
from django.utils import translation

from joinedup.delivery.formdefs import validation
from joinedup.delivery.formdefs.definitions import DefinitionError, check_definition

TODAY = datetime.date.today()

FORM = {
    "schema": {
        "type": "object",
        "properties": {
            "parent_birth_date": {"type": "string", "format": "date"},
            "birth_date": {"type": "string", "format": "date"},
            "moved_on": {"type": "string", "format": "date"},
        },
    },
    "ui": {
        "fields": {
            "parent_birth_date": {
                "label": {"en": "Your date of birth", "fr": "Votre date de naissance"},
                "widget": "date",
                "past": True,
            },
            "birth_date": {
                "label": {"en": "Date of birth", "fr": "Date de naissance"},
                "widget": "date",
                "past": True,
                "within_days": 30,
                "after": "parent_birth_date",
            },
            "moved_on": {
                "label": {"en": "Date you moved", "fr": "Date du déménagement"},
                "widget": "date",
            },
        }
    },
}


def errors_of(answers: dict, language: str = "en") -> dict[str, str]:
    with translation.override(language):
        _cleaned, errors = validation.validate(FORM, answers)
    return {error.path: error.message for error in errors}


def days_ago(days: int) -> str:
    return (TODAY - datetime.timedelta(days=days)).isoformat()


def test_a_plausible_birth_passes():
    assert errors_of({"parent_birth_date": "1988-03-14", "birth_date": days_ago(3)}) == {}


def test_a_birth_before_the_parents_own_is_refused_in_both_languages():
    said = errors_of({"parent_birth_date": "1988-03-14", "birth_date": "1950-01-01"})
    assert "“Date of birth” cannot be before “Your date of birth”" in said["birth_date"]
    french = errors_of({"parent_birth_date": "1988-03-14", "birth_date": "1950-01-01"}, "fr")
    assert "ne peut pas précéder « Votre date de naissance »" in french["birth_date"]


def test_a_birth_outside_the_registration_period_is_refused():
    said = errors_of({"birth_date": days_ago(45)})
    assert said == {
        "birth_date": "“Date of birth” must be within the last 30 days. For an older date, "
        "contact the agency."
    }
    assert "30 derniers jours" in errors_of({"birth_date": days_ago(45)}, "fr")["birth_date"]


def test_a_future_birth_is_refused():
    # two days on: the future in every time zone, and still when the run crosses midnight
    later = (datetime.date.today() + datetime.timedelta(days=2)).isoformat()
    assert errors_of({"birth_date": later}) == {
        "birth_date": "“Date of birth” must be today or in the past."
    }


@pytest.mark.parametrize("field", ["parent_birth_date", "moved_on"])
def test_any_date_more_than_130_years_ago_is_a_mistyped_year(field):
    said = errors_of({field: "1850-06-01"})
    assert said == {
        field: f"“{validation.label_of(FORM, field)}” is more than 130 years ago: check the year."
    }
    assert "vérifiez l'année" in errors_of({field: "1850-06-01"}, "fr")[field]


def test_a_definition_naming_an_unknown_date_is_refused():
    broken = {**FORM, "ui": {"fields": {"birth_date": {"widget": "date", "after": "nope"}}}}
    with pytest.raises(DefinitionError, match="after refers to unknown field"):
        check_definition(broken)
