"""The BC Family Benefit: a top-up for low- and moderate-income families with children.

The full amount (by the child's rank in the family) is reduced by 4% of the income above a
first threshold, but not below a guaranteed amount until a second threshold, above which it
is reduced again (Income Tax Act (British Columbia), s. 13.07 and following)."""

import numpy as np
from openfisca_core.periods import MONTH
from openfisca_core.variables import Variable

from joinedup.rules.packages.ca.entities import Family


def by_rank(amounts, children):
    """The yearly sum for a family: the first child, the second, and each one after."""
    return (
        amounts.first_child * (children >= 1)
        + amounts.second_child * (children >= 2)
        + amounts.each_additional_child * np.maximum(children - 2, 0)
    )


class ca_bc_family_benefit(Variable):
    value_type = float
    entity = Family
    definition_period = MONTH
    label = "BC Family Benefit for the month"
    reference = "https://www.bclaws.gov.bc.ca/civix/document/id/complete/statreg/00_96215_01"

    def formula(family, period, parameters):
        p = parameters(period).ca_bc.family_benefit
        children = family("ca_child_benefit_children", period)
        income = family("ca_child_benefit_base_income", period)
        full = by_rank(p.maximum, children)
        guaranteed = by_rank(p.minimum, children)
        first = np.maximum(full - p.phase_out_rate * np.maximum(income - p.first_threshold, 0), 0)
        kept = np.maximum(first, np.minimum(guaranteed, full))
        yearly = kept - p.phase_out_rate * np.maximum(income - p.second_threshold, 0)
        return np.maximum(yearly, 0) / 12
