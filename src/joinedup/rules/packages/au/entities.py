"""The Australian federation's entities and inputs: people, the families the payments go
to, ages and the family's adjusted taxable income.

Every Australian rule package (Commonwealth, state, local) computes on these entities, so
their amounts add up for one family.
"""

from joinedup.rules.federations import build

federation = build(
    family_doc="The parents (or the one parent) and the children who live with them.",
    income="au_family_income",
    income_label="The family's adjusted taxable income (the estimate for the year)",
    income_reference="https://guides.dss.gov.au/family-assistance-guide/1/1/a/30",
)
Person = federation.person
Family = federation.family
entities = federation.entities
inputs = federation.inputs
