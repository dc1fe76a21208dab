"""Decision support: the entitlement the rules compute from an application's answers (in
the child benefit's own form shape), with the explanation, for the month it came in."""

import datetime

import pytest

from joinedup.delivery.decision_support import support_for

pytestmark = pytest.mark.django_db

ANSWERS = {
    "children": [{"given_names": "Ann", "birth_date": "2024-01-10"}],
    "marital_status": "single",
    "income_last_year": 30000,
}


def test_an_application_gets_the_amount_and_its_trace(small_federation):
    # July 2026, one child of 2, 30,000: 8,157 / 12 = 679.75.
    support = support_for("ca.child-benefit", "CA-QC", ANSWERS, "2026-07")
    assert support.known and support.per_month == 679.75
    (benefit,) = support.benefits
    assert any(
        line.value == 8157 and line.unit == "money" and line.since == datetime.date(2026, 7, 1)
        for line in benefit.why
    )
    assert benefit.sources


def test_the_law_of_the_month_it_came_in(small_federation):
    # July 2025: 7,997 / 12 = 666.42.
    assert support_for("ca.child-benefit", "CA-QC", ANSWERS, "2025-07").per_month == 666.42


def test_no_income_no_computation_and_no_rule_no_section(small_federation):
    answers = {k: v for k, v in ANSWERS.items() if k != "income_last_year"}
    assert support_for("ca.child-benefit", "CA-QC", answers, "2026-07").known is False
    assert support_for("ca.birth-registration", "CA-QC", ANSWERS, "2026-07") is None


def test_the_trace_is_in_the_readers_language(small_federation):
    # Each parameter file gives its description in English and, in its metadata, in French.
    english = support_for("ca.child-benefit", "CA-QC", ANSWERS, "2026-07", "en").benefits[0]
    french = support_for("ca.child-benefit", "CA-QC", ANSWERS, "2026-07", "fr").benefits[0]
    (maximum,) = [line for line in english.why if line.label == "Yearly maximum per child under 6"]
    assert maximum.value == 8157 and maximum.unit == "money"
    assert "Maximum annuel par enfant de moins de 6 ans" in [line.label for line in french.why]
    assert not any("Yearly maximum" in line.label for line in french.why)
