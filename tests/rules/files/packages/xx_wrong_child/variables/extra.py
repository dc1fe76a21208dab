from openfisca_core.periods import MONTH
from openfisca_core.variables import Variable

from joinedup.rules.packages.ca.entities import Person


class xx_extra(Variable):
    value_type = float
    entity = Person
    definition_period = MONTH
    label = "The bonus again"

    def formula(person, period, parameters):
        return person("xx_bonus", period)
