"""The Ontario Child Benefit: a yearly maximum per child, reduced by a share of the family
income above a threshold, paid monthly with the Canada Child Benefit to the families
eligible for it (Taxation Act, 2007 (Ontario), s. 104)."""

import numpy as np
from openfisca_core.periods import MONTH
from openfisca_core.variables import Variable

from joinedup.rules.packages.ca.entities import Family


class ca_on_child_benefit(Variable):
    value_type = float
    entity = Family
    definition_period = MONTH
    label = "Ontario Child Benefit for the month"
    reference = "https://www.ontario.ca/laws/statute/07t11#BK155"

    def formula(family, period, parameters):
        p = parameters(period).ca_on.child_benefit
        children = family("ca_child_benefit_children", period)
        income = family("ca_child_benefit_base_income", period)
        yearly = children * p.maximum_per_child - p.phase_out_rate * np.maximum(
            income - p.threshold, 0
        )
        return family("ca_child_benefit_eligible", period) * np.maximum(yearly, 0) / 12
