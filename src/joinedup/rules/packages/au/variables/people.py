"""The inputs the Australian rules read: ages and the family's adjusted taxable income."""

from datetime import date

from openfisca_core.periods import ETERNITY, MONTH, YEAR
from openfisca_core.variables import Variable

from joinedup.rules.packages.au.entities import Family, Person


class birth_date(Variable):
    value_type = date
    default_value = date(1970, 1, 1)
    entity = Person
    definition_period = ETERNITY
    label = "Date of birth"


class age(Variable):
    value_type = int
    entity = Person
    definition_period = MONTH
    label = "Age in whole years on the first day of the month"

    def formula(person, period, parameters):
        born = person("birth_date", period)
        start = period.start
        years = start.year - born.astype("datetime64[Y]").astype(int) - 1970
        months = start.month - (born.astype("datetime64[M]").astype(int) % 12 + 1)
        days = start.day - (born - born.astype("datetime64[M]")).astype(int) - 1
        not_yet = (months < 0) | ((months == 0) & (days < 0))
        return years - not_yet


class au_family_income(Variable):
    value_type = float
    entity = Family
    definition_period = YEAR
    label = "The family's adjusted taxable income (the estimate for the year)"
    reference = "https://guides.dss.gov.au/family-assistance-guide/1/1/a/30"
