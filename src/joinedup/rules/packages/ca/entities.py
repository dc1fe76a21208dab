"""The Canadian federation's entities: people, and the families the benefits are paid to.

Every Canadian rule package (federal, provincial, municipal) computes on these entities, so
their amounts add up for one family.
"""

from openfisca_core.entities import build_entity

Person = build_entity(
    key="person",
    plural="persons",
    label="A person",
    doc="One person: a parent, a child or another member of the family.",
    is_person=True,
)

Family = build_entity(
    key="family",
    plural="families",
    label="A family (the benefit unit)",
    doc="The parents (or the one parent) and the children who live with them.",
    roles=[
        {"key": "parent", "plural": "parents", "label": "Parents", "max": 2},
        {"key": "child", "plural": "children", "label": "Children"},
    ],
)

entities = [Person, Family]
