"""The Australian federation's entities: people, and the families the payments go to.

Every Australian rule package (Commonwealth, state, local) computes on these entities, so
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
