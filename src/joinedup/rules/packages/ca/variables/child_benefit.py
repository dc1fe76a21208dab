"""The Canada Child Benefit: a monthly amount per child, reduced as family income rises.

The benefit year runs from July to June and is computed from the family's adjusted net
income of the calendar year that ended before it began (Income Tax Act, s. 122.61): July 2026
to June 2027 uses the income of 2025. The amounts and thresholds change every July, so the
parameters are dated on the 1st of July.
"""

import numpy as np
from openfisca_core.periods import MONTH
from openfisca_core.periods import period as make_period
from openfisca_core.variables import Variable

from joinedup.rules.packages.ca.entities import Family, Person

LAW = "https://laws-lois.justice.gc.ca/eng/acts/I-3.3/section-122.61.html"


def by_children(rates, children):
    """The rate for the family's number of children (the law has one for 1, 2, 3, 4 or
    more; none without a child)."""
    return np.select(
        [children == 1, children == 2, children == 3, children >= 4],
        [rates.one_child, rates.two_children, rates.three_children, rates.four_or_more_children],
        0,
    )


def base_year(month):
    """The tax year whose income sets a month's benefit: the year before the July that
    opened the benefit year."""
    start = month.start
    return make_period(str(start.year - (1 if start.month >= 7 else 2)))


class ca_child_benefit_eligible_child(Variable):
    value_type = bool
    entity = Person
    definition_period = MONTH
    label = "A child of the family under 18, for whom the benefit is paid"
    reference = LAW

    def formula(person, period, parameters):
        is_child = person.has_role(Family.CHILD)
        return is_child * (person("age", period) < 18)


class ca_child_benefit_base_income(Variable):
    value_type = float
    entity = Family
    definition_period = MONTH
    label = "The adjusted family net income that sets this month's child benefits"
    reference = LAW

    def formula(family, period, parameters):
        return family("adjusted_family_net_income", base_year(period))


class ca_child_benefit_children(Variable):
    value_type = int
    entity = Family
    definition_period = MONTH
    label = "Number of children the Canada Child Benefit is paid for"
    reference = LAW

    def formula(family, period, parameters):
        return family.sum(family.members("ca_child_benefit_eligible_child", period))


class ca_child_benefit_eligible(Variable):
    value_type = bool
    entity = Family
    definition_period = MONTH
    label = "The family is eligible for the Canada Child Benefit (at least one child)"
    reference = LAW

    def formula(family, period, parameters):
        return family("ca_child_benefit_children", period) > 0


class ca_child_benefit_maximum(Variable):
    value_type = float
    entity = Family
    definition_period = MONTH
    label = "Yearly maximum before the income reduction: the sum of each child's maximum"
    reference = LAW

    def formula(family, period, parameters):
        maximum = parameters(period).ca.child_benefit.maximum
        eligible = family.members("ca_child_benefit_eligible_child", period)
        young = family.members("age", period) < 6
        per_child = eligible * np.where(young, maximum.under_6, maximum.age_6_to_17)
        return family.sum(per_child)


class ca_child_benefit_reduction(Variable):
    value_type = float
    entity = Family
    definition_period = MONTH
    label = "Yearly reduction: two phase-out rates by income band and number of children"
    reference = LAW

    def formula(family, period, parameters):
        p = parameters(period).ca.child_benefit
        income = family("ca_child_benefit_base_income", period)
        children = family("ca_child_benefit_children", period)
        first_band = np.clip(income - p.first_threshold, 0, p.second_threshold - p.first_threshold)
        second_band = np.maximum(income - p.second_threshold, 0)
        return (
            by_children(p.first_phase_out_rate, children) * first_band
            + by_children(p.second_phase_out_rate, children) * second_band
        )


class ca_child_benefit(Variable):
    value_type = float
    entity = Family
    definition_period = MONTH
    label = "Canada Child Benefit for the month"
    reference = LAW

    def formula(family, period, parameters):
        yearly = family("ca_child_benefit_maximum", period) - family(
            "ca_child_benefit_reduction", period
        )
        return np.maximum(yearly, 0) / 12
