"""The inputs every Canadian rule reads: ages and the family's adjusted net income."""

from datetime import date

from openfisca_core.periods import ETERNITY, MONTH, YEAR
from openfisca_core.variables import Variable

from joinedup.rules.packages.ca.entities import Family, Person


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


class adjusted_family_net_income(Variable):
    value_type = float
    entity = Family
    definition_period = YEAR
    label = "Adjusted family net income for a tax year (both parents' net incomes)"
    reference = "https://laws-lois.justice.gc.ca/eng/acts/I-3.3/section-122.6.html"
