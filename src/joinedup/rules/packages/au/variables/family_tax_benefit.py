"""Family Tax Benefit Part A: a rate per child by age, reduced by two income tests.

Method 1 reduces the maximum rate by 20 cents for each dollar of family income above the
income-free area, but not below the base rate; the base rate is reduced by 30 cents for each
dollar above the higher income-free area (A New Tax System (Family Assistance) Act 1999,
Schedule 1). Rates are fortnightly in the law; the amount here is per month."""

import numpy as np
from openfisca_core.periods import MONTH
from openfisca_core.variables import Variable

from joinedup.rules.packages.au.entities import Family, Person

LAW = "https://www.legislation.gov.au/C2004A00554/latest"
FORTNIGHTS_PER_YEAR = 26


class au_family_tax_benefit_child(Variable):
    value_type = bool
    entity = Person
    definition_period = MONTH
    label = "A child of the family under 20"
    reference = LAW

    def formula(person, period, parameters):
        return person.has_role(Family.CHILD) * (person("age", period) < 20)


class au_family_tax_benefit_a(Variable):
    value_type = float
    entity = Family
    definition_period = MONTH
    label = "Family Tax Benefit Part A for the month"
    reference = LAW

    def formula(family, period, parameters):
        p = parameters(period).au.family_tax_benefit_a
        child = family.members("au_family_tax_benefit_child", period)
        young = family.members("age", period) < 13
        per_child = child * np.where(young, p.maximum_rate_under_13, p.maximum_rate_13_to_19)
        maximum = family.sum(per_child) * FORTNIGHTS_PER_YEAR
        base = family.sum(child) * p.base_rate * FORTNIGHTS_PER_YEAR
        income = family("au_family_income", period.this_year)
        method_1 = maximum - p.first_taper * np.maximum(income - p.income_free_area, 0)
        method_2 = base - p.second_taper * np.maximum(income - p.higher_income_free_area, 0)
        return np.maximum(np.maximum(method_1, method_2), 0) / 12
