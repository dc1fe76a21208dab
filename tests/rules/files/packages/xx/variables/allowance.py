from openfisca_core.periods import MONTH
from openfisca_core.variables import Variable

from joinedup.rules.packages.ca.entities import Person


class xx_allowance(Variable):
    value_type = float
    entity = Person
    definition_period = MONTH
    label = "A flat allowance per person"

    def formula(person, period, parameters):
        return person.filled_array(parameters(period).xx.allowance)
