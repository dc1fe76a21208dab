"""What every federation's root rule package shares: its entities (persons, and families of
parents and children) and the inputs its rules read (birth date, age, the family's yearly
income).

Each root package (`ca`, `au`) calls `build` in its `entities.py` with the name and source
of its income variable, so the two federations compute on the same shape without copying
it. The inputs are added to a system with the entities (`systems.build_system`), before any
package's own variables.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from openfisca_core.entities import build_entity
from openfisca_core.periods import ETERNITY, MONTH, YEAR
from openfisca_core.variables import Variable


@dataclass(frozen=True)
class Federation:
    """A federation's entities and the input variables its rules read."""

    person: object
    family: object
    entities: list
    inputs: list[type[Variable]]


def _age(person, period, parameters):
    """Age in whole years on the first day of the month, from the birth date."""
    born = person("birth_date", period)
    start = period.start
    years = start.year - born.astype("datetime64[Y]").astype(int) - 1970
    months = start.month - (born.astype("datetime64[M]").astype(int) % 12 + 1)
    days = start.day - (born - born.astype("datetime64[M]")).astype(int) - 1
    not_yet = (months < 0) | ((months == 0) & (days < 0))
    return years - not_yet


def build(*, family_doc: str, income: str, income_label: str, income_reference: str) -> Federation:
    """The entities and inputs of one federation; `income` names its family income variable
    (the one the root package's manifest gives as `family_income`)."""
    person = build_entity(
        key="person",
        plural="persons",
        label="A person",
        doc="One person: a parent, a child or another member of the family.",
        is_person=True,
    )
    family = build_entity(
        key="family",
        plural="families",
        label="A family (the benefit unit)",
        doc=family_doc,
        roles=[
            {"key": "parent", "plural": "parents", "label": "Parents", "max": 2},
            {"key": "child", "plural": "children", "label": "Children"},
        ],
    )
    # OpenFisca reads a variable's attributes from its own class body, so each is made whole.
    birth_date = type(
        "birth_date",
        (Variable,),
        {
            "value_type": date,
            "default_value": date(1970, 1, 1),
            "entity": person,
            "definition_period": ETERNITY,
            "label": "Date of birth",
        },
    )
    age = type(
        "age",
        (Variable,),
        {
            "value_type": int,
            "entity": person,
            "definition_period": MONTH,
            "label": "Age in whole years on the first day of the month",
            "formula": _age,
        },
    )
    family_income = type(
        income,
        (Variable,),
        {
            "value_type": float,
            "entity": family,
            "definition_period": YEAR,
            "label": income_label,
            "reference": income_reference,
        },
    )
    return Federation(person, family, [person, family], [birth_date, age, family_income])
