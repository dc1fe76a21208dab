"""The Canadian federation's entities and inputs: people, the families the benefits are paid
to, ages and the family's adjusted net income.

Every Canadian rule package (federal, provincial, municipal) computes on these entities, so
their amounts add up for one family.
"""

from joinedup.rules.federations import build

federation = build(
    family_doc="The parents (or the one parent) and the children who live with them.",
    income="adjusted_family_net_income",
    income_label="Adjusted family net income for a tax year (both parents' net incomes)",
    income_reference="https://laws-lois.justice.gc.ca/eng/acts/I-3.3/section-122.6.html",
)
Person = federation.person
Family = federation.family
entities = federation.entities
inputs = federation.inputs
