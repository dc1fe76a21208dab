"""`eligible("…")` in the screening language: a bundle's condition asks the rules whether
the household's answers give it a benefit, by service key or rule variable."""

import datetime

import pytest

from joinedup.bundles import screening
from joinedup.delivery.workflows import scripting
from joinedup.federation.models import Jurisdiction
from joinedup.rules.eligibility import Eligibility, answers_to_household

pytestmark = pytest.mark.django_db

NEWBORN = (datetime.date.today() - datetime.timedelta(days=40)).isoformat()


def holds(condition: str, answers: dict, place: str = "CA-ON") -> bool:
    values = screening.variables(answers, Jurisdiction.objects.get(code=place))
    return screening.holds(condition, values)


def test_a_low_income_newborn_family_is_eligible_at_every_level(small_federation):
    answers = {"income_last_year": 30000, "birth_date": NEWBORN}
    assert holds('eligible("ca.child-benefit")', answers)
    assert holds('eligible("ca_on_child_benefit")', answers)
    assert holds('eligible("ca.provincial-child-benefit")', answers)


def test_a_high_income_or_an_unknown_income_is_not(small_federation):
    # One child, 500,000: 8,157 − 7% × (82,847 − 38,237) − 3.2% × (500,000 − 82,847) < 0.
    assert not holds(
        'eligible("ca.child-benefit")', {"income_last_year": 500000, "birth_date": NEWBORN}
    )
    assert not holds('eligible("ca.child-benefit")', {"birth_date": NEWBORN})
    assert not Eligibility({"birth_date": NEWBORN}, "CA-ON").known


def test_no_children_no_child_benefit(small_federation):
    assert not holds('eligible("ca.child-benefit")', {"income_last_year": 30000})


def test_the_amount_is_the_screeners(small_federation):
    # July 2026, one child under 6, 30,000: 8,157 / 12 = 679.75 a month.
    eligibility = Eligibility(
        {"income_last_year": 30000, "children_ages": [2]}, "CA-QC", period="2026-07"
    )
    assert eligibility.per_month("ca.child-benefit") == 679.75
    assert eligibility("ca_child_benefit")


def test_two_adults_from_the_marital_status():
    household = answers_to_household(
        {"income_last_year": "41000", "marital_status": "common_law", "children_ages": [1, 4]},
        "CA-ON",
        "2026-07",
    )
    assert household.adults == 2 and household.children == [1, 4]


def test_conditions_may_call_eligible_but_processes_have_no_such_function():
    assert screening.check_expression('eligible("ca.child-benefit") and assurance >= 1') is None
    with pytest.raises(scripting.ScriptError, match="not available"):
        scripting.evaluate('eligible("ca.child-benefit")', {})
