"""Computing one situation: stacking across levels, the law of the period, the trace, and
clear refusals of situations the rules cannot compute."""

from pathlib import Path

import pytest

from joinedup.rules.calculate import calculate
from joinedup.rules.errors import SituationError
from joinedup.rules.systems import Registry

TORONTO = ["CA", "CA-ON", "CA-ON-TOR"]
TEST_PACKAGES = Path(__file__).parent / "files" / "packages"


def household(income_year: str, income: float) -> dict:
    """A parent born in 1991 and two children born in 2023 and 2018."""
    return {
        "persons": {
            "parent": {"birth_date": {"ETERNITY": "1991-05-01"}},
            "younger": {"birth_date": {"ETERNITY": "2023-01-15"}},
            "older": {"birth_date": {"ETERNITY": "2018-03-01"}},
        },
        "families": {
            "family": {
                "parents": ["parent"],
                "children": ["younger", "older"],
                "adjusted_family_net_income": {income_year: income},
            }
        },
    }


def amounts(result) -> dict[tuple[str, str], float]:
    return {(b.variable, b.id): b.per_month for b in result.benefits}


def test_benefits_stack_across_federal_provincial_and_municipal_levels():
    # July 2026, income of 2025 = 45,000; children 3 and 8, parent 35; family of 3.
    # Federal: (8,157 + 6,883 − 13.5% × (45,000 − 38,237)) / 12 = 14,126.995 / 12 = 1,177.25
    # Ontario: (2 × 1,762 − 8% × (45,000 − 26,891)) / 12 = 2,075.28 / 12 = 172.94
    # Toronto: 45,000 ≤ 30,900 × √3 = 53,520.37 and 20 ≤ 35 ≤ 64: 160 × 21% = 33.60
    result = calculate(household("2025", 45000), jurisdictions=TORONTO, period="2026-07")
    assert [p.jurisdiction for p in result.packages] == TORONTO
    assert amounts(result) == {
        ("ca_child_benefit", "family"): 1177.25,
        ("ca_on_child_benefit", "family"): 172.94,
        ("ca_on_tor_transit_discount", "parent"): 33.6,
        ("ca_on_tor_transit_discount", "younger"): 0.0,
        ("ca_on_tor_transit_discount", "older"): 0.0,
    }
    assert result.total_per_month == 1383.79
    federal = next(b for b in result.benefits if b.variable == "ca_child_benefit")
    assert federal.service == "ca.child-benefit"
    assert federal.per_year == 14127.0  # 14,126.995 to the cent


def test_only_the_levels_of_the_place_apply():
    ottawa = calculate(
        household("2025", 45000), jurisdictions=["CA", "CA-ON", "CA-ON-OTT"], period="2026-07"
    )
    assert {b.variable for b in ottawa.benefits} == {"ca_child_benefit", "ca_on_child_benefit"}
    quebec = calculate(household("2025", 45000), jurisdictions=["CA", "CA-QC"], period="2026-07")
    assert {b.variable for b in quebec.benefits} == {"ca_child_benefit"}
    assert amounts(quebec)[("ca_child_benefit", "family")] == 1177.25


def test_a_past_period_uses_the_law_and_income_of_that_period():
    # September 2024: law of July 2024, income of 2023; children 1 and 6.
    # (7,787 + 6,570 − 13.5% × (45,000 − 36,502)) / 12 = 13,209.77 / 12 = 1,100.81
    result = calculate(household("2023", 45000), jurisdictions=["CA"], period="2024-09")
    assert amounts(result)[("ca_child_benefit", "family")] == 1100.81
    maximum = result.trace["ca_child_benefit_maximum<2024-09>"]
    read = {p["name"]: p for p in maximum["parameters"]}
    assert read["ca.child_benefit.maximum.under_6"]["value"] == 7787
    assert read["ca.child_benefit.maximum.under_6"]["in_force_since"] == "2024-07-01"
    now = calculate(household("2025", 45000), jurisdictions=["CA"], period="2026-07")
    read_now = {p["name"]: p for p in now.trace["ca_child_benefit_maximum<2026-07>"]["parameters"]}
    assert read_now["ca.child_benefit.maximum.under_6"]["value"] == 8157


def test_each_amount_has_a_trace_to_its_inputs_parameters_and_sources():
    result = calculate(household("2025", 45000), jurisdictions=TORONTO, period="2026-07")
    ontario = next(b for b in result.benefits if b.variable == "ca_on_child_benefit")
    assert ontario.sources[0]["href"].startswith("https://www.ontario.ca/laws/")
    step = result.trace[ontario.trace]
    assert step["values"] == {"family": pytest.approx(172.94, abs=0.005)}
    # Ontario's benefit stacks on the federal variables: its trace reaches them.
    assert "ca_child_benefit_eligible<2026-07>" in step["depends_on"]
    reduction = result.trace["ca_child_benefit_reduction<2026-07>"]
    assert "ca_child_benefit_base_income<2026-07>" in reduction["depends_on"]
    base = result.trace["ca_child_benefit_base_income<2026-07>"]
    assert base["depends_on"] == ["adjusted_family_net_income<2025>"]
    income = result.trace["adjusted_family_net_income<2025>"]
    assert income["kind"] == "input" and income["values"] == {"family": 45000.0}
    threshold = next(p for p in reduction["parameters"] if p["name"].endswith("first_threshold"))
    assert threshold["value"] == 38237 and threshold["illustrative"] is True
    assert "section-122.61" in threshold["sources"][0]["href"]


def test_a_variable_asked_with_null_is_computed_into_the_situation():
    situation = household("2025", 45000)
    situation["families"]["family"]["ca_child_benefit_children"] = {"2026-07": None}
    result = calculate(situation, jurisdictions=["CA"])
    assert result.situation["families"]["family"]["ca_child_benefit_children"] == {"2026-07": 2}
    assert result.benefits == []


def test_the_australian_federation_computes_on_its_own_package():
    situation = {
        "persons": {"parent": {}, "younger": {"age": {"2025-08": 5}}},
        "families": {
            "family": {
                "parents": ["parent"],
                "children": ["younger"],
                "au_family_income": {"2025": 50000},
            }
        },
    }
    result = calculate(situation, jurisdictions=["AU", "AU-NSW", "AU-NSW-SYD"], period="2025-08")
    # One child under 13, income under the income-free area: 227.36 × 26 / 12 = 492.61
    assert amounts(result) == {("au_family_tax_benefit_a", "family"): 492.61}


@pytest.mark.parametrize(
    ("situation", "period", "expected"),
    [
        (
            {"persons": {"parent": {"salary": {"2026": 1}}}},
            "2026-07",
            {"entity": "persons/parent", "variable": "salary", "period": None},
        ),
        (
            {"households": {"home": {}}},
            "2026-07",
            {"entity": "households", "variable": None, "period": None},
        ),
        (
            {"persons": {"parent": {"age": {"2026-13": 30}}}},
            "2026-07",
            {"entity": "persons/parent", "variable": "age", "period": "2026-13"},
        ),
        (
            {"persons": {"parent": {}}},
            "July",
            {"entity": None, "variable": None, "period": "July"},
        ),
        (
            {
                "persons": {"parent": {}},
                "families": {"family": {"parents": ["parent"], "ca_child_benefit": {"2026": None}}},
            },
            None,
            {"entity": "families/family", "variable": "ca_child_benefit", "period": "2026"},
        ),
        (
            {"persons": {"parent": {"no_such_thing": {"2026-07": None}}}},
            None,
            {"entity": "persons/parent", "variable": "no_such_thing", "period": "2026-07"},
        ),
    ],
)
def test_bad_situations_are_refused_naming_entity_variable_and_period(situation, period, expected):
    with pytest.raises(SituationError) as caught:
        calculate(situation, jurisdictions=["CA"], period=period)
    error = caught.value
    assert (error.entity, error.variable, error.period) == tuple(expected.values())
    for value in expected.values():
        if value:
            assert value in str(error)


def test_a_situation_that_makes_the_rules_loop_is_refused_clearly():
    rules = Registry(TEST_PACKAGES)
    situation = {
        "persons": {"someone": {"xx_looping": {"2024-06": True}, "xx_second": {"2024-06": None}}}
    }
    with pytest.raises(SituationError, match="loop") as caught:
        calculate(situation, jurisdictions=["XX", "XX-L"], rules=rules)
    assert (caught.value.entity, caught.value.variable, caught.value.period) == (
        "persons/someone",
        "xx_second",
        "2024-06",
    )
    fine = {"persons": {"someone": {"xx_second": {"2024-06": None}}}}
    result = calculate(fine, jurisdictions=["XX", "XX-L"], rules=rules)
    assert result.situation["persons"]["someone"]["xx_second"] == {"2024-06": 1.0}


def test_a_situation_too_large_for_one_household_is_refused():
    persons = {f"p{i}": {} for i in range(201)}
    with pytest.raises(SituationError, match="at most 200"):
        calculate({"persons": persons}, jurisdictions=["CA"], period="2026-07")
