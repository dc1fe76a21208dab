from openfisca_core.periods import MONTH
from openfisca_core.variables import Variable

from joinedup.rules.packages.ca.entities import Person


class xx_looping(Variable):
    value_type = bool
    entity = Person
    definition_period = MONTH
    label = "Whether this person's situation makes the rules loop"


class xx_first(Variable):
    value_type = float
    entity = Person
    definition_period = MONTH
    label = "Reads the second when the situation loops"

    def formula(person, period, parameters):
        if person("xx_looping", period).any():
            return person("xx_second", period)
        return person.filled_array(1.0)


class xx_second(Variable):
    value_type = float
    entity = Person
    definition_period = MONTH
    label = "Reads the first"

    def formula(person, period, parameters):
        return person("xx_first", period)
