"""Toronto's Fair Pass: adults of working age in a family whose income is below a limit
(scaled by the square root of the family's size, as Statistics Canada's Low Income Measure
is) pay less for a monthly transit pass. The amount is the saving per month."""

import numpy as np
from openfisca_core.periods import MONTH
from openfisca_core.variables import Variable

from joinedup.rules.packages.ca.entities import Person

SOURCE = (
    "https://www.toronto.ca/community-people/employment-social-support/"
    "support-for-people-in-financial-need/assistance-through-ontario-works/fair-pass-transit-discount/"
)


class ca_on_tor_transit_discount_eligible(Variable):
    value_type = bool
    entity = Person
    definition_period = MONTH
    label = "Eligible for the Fair Pass transit discount"
    reference = SOURCE

    def formula(person, period, parameters):
        p = parameters(period).ca_on_tor.transit_discount
        age = person("age", period)
        income = person.family("adjusted_family_net_income", period.last_year)
        size = person.family.nb_persons()  # projected onto each member
        limit = p.income_limit_single * np.sqrt(size)
        return (age >= p.minimum_age) * (age <= p.maximum_age) * (income <= limit)


class ca_on_tor_transit_discount(Variable):
    value_type = float
    entity = Person
    definition_period = MONTH
    label = "Fair Pass saving on a monthly transit pass"
    reference = SOURCE

    def formula(person, period, parameters):
        p = parameters(period).ca_on_tor.transit_discount
        eligible = person("ca_on_tor_transit_discount_eligible", period)
        return eligible * p.adult_monthly_pass * p.discount_rate
