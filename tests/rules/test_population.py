"""A whole population at once, as arrays: the same amounts as one household at a time, and
what a change of the law costs."""

import numpy as np
import pytest

from joinedup.rules.calculate import calculate
from joinedup.rules.errors import SituationError
from joinedup.rules.population import Population, compute, what_if

TORONTO = ["CA", "CA-ON", "CA-ON-TOR"]
INCOMES = [30000.0, 45000.0, 200000.0]


def three_families() -> Population:
    """Families A, B, C: each a parent of 35 and children of 3 and 8; incomes of 2025 differ."""
    return Population(
        person_ids=np.array(["a1", "a2", "a3", "b1", "b2", "b3", "c1", "c2", "c3"]),
        family_ids=np.array(["A", "B", "C"]),
        family_of=np.repeat(["A", "B", "C"], 3),
        roles=np.array(["parent", "child", "child"] * 3),
        inputs={
            "age": {"2026-07": np.array([35, 3, 8] * 3)},
            "adjusted_family_net_income": {"2025": np.array(INCOMES)},
        },
    )


def one_family(income: float) -> dict:
    return {
        "persons": {
            "parent": {"age": {"2026-07": 35}},
            "younger": {"age": {"2026-07": 3}},
            "older": {"age": {"2026-07": 8}},
        },
        "families": {
            "family": {
                "parents": ["parent"],
                "children": ["younger", "older"],
                "adjusted_family_net_income": {"2025": income},
            }
        },
    }


def test_the_population_gets_what_each_household_gets_on_its_own():
    result = compute(three_families(), jurisdictions=TORONTO, period="2026-07")
    for index, income in enumerate(INCOMES):
        alone = calculate(one_family(income), jurisdictions=TORONTO, period="2026-07")
        for benefit in alone.benefits:
            totals = result.benefits[benefit.variable]
            position = (
                index
                if totals.entity == "families"
                else index * 3 + (["parent", "younger", "older"].index(benefit.id))
            )
            assert totals.amounts[position] == pytest.approx(benefit.per_month, abs=0.005)
    assert result.benefits["ca_child_benefit"].recipients == 3
    assert result.benefits["ca_on_child_benefit"].recipients == 2  # not at 200,000
    assert result.benefits["ca_on_tor_transit_discount"].recipients == 2  # parents A and B


def test_what_if_a_threshold_is_raised():
    # First threshold 38,237 → 40,237 from July 2026: families above it (B at 45,000 and C
    # at 200,000, two children) lose 13.5% × 2,000 = 270 a year less: +22.50 a month each.
    # A (30,000) is below both thresholds: unchanged. Ontario's benefit does not read it.
    differences = {
        d.variable: d
        for d in what_if(
            three_families(),
            jurisdictions=["CA", "CA-ON"],
            period="2026-07",
            changes={"ca.child_benefit.first_threshold": 40237},
        )
    }
    federal = differences["ca_child_benefit"]
    assert (federal.affected, federal.gaining, federal.losing) == (2, 2, 0)
    assert federal.cost_per_month == 45.0
    assert federal.cost_per_year == 540.0
    assert differences["ca_on_child_benefit"].affected == 0
    # The law itself is untouched: the next run computes with the current threshold.
    again = compute(three_families(), jurisdictions=["CA"], period="2026-07")
    assert again.benefits["ca_child_benefit"].per_month == federal.current_per_month


def test_a_change_to_a_parameter_that_does_not_exist_is_refused():
    with pytest.raises(SituationError, match=r"ca\.child_benefit\.no_such"):
        what_if(
            three_families(),
            jurisdictions=["CA"],
            period="2026-07",
            changes={"ca.child_benefit.no_such": 1},
        )
