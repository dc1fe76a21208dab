"""What care shows of a person, as fields of the data gate's catalogue.

A case's needs, notes and alerts are grouped by life domain; each domain belongs to one of the
gate's data categories (a health note is `health`, special category; a housing note is
`housing`, moderate). Care registers one field per category, `care.<category>`, so that the
gate decides per category — by the actor's agency, role, the sharing rules and the person's
consent — and the ledger names exactly what was read. The field's reader answers the domains
it covers: care then reads only the records of the domains that passed the gate.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from joinedup.sharing.categories import register_field

from .models import Domain

#: The gate's data category of each life domain.
DOMAIN_CATEGORY: dict[str, str] = {
    Domain.HOUSING: "housing",
    Domain.INCOME: "income",
    Domain.FOOD: "income",
    Domain.HEALTH: "health",
    Domain.SAFETY: "family",
    Domain.EMPLOYMENT: "employment",
    Domain.EDUCATION: "education",
    Domain.LEGAL: "justice",
    Domain.SOCIAL: "family",
}
#: The categories a case's content falls in.
CARE_CATEGORIES: tuple[str, ...] = tuple(sorted(set(DOMAIN_CATEGORY.values())))
#: The categories shared only with the roles a rule names (the gate's special categories).
SPECIAL = ("health", "justice")

LABELS = {
    "housing": _("care plan: housing"),
    "income": _("care plan: income and food"),
    "health": _("care plan: health"),
    "family": _("care plan: safety, family and social life"),
    "employment": _("care plan: employment"),
    "education": _("care plan: education"),
    "justice": _("care plan: legal matters"),
}


def field_key(category: str) -> str:
    return f"care.{category}"


def domains_of(category: str) -> list[str]:
    return [domain for domain, cat in DOMAIN_CATEGORY.items() if cat == category]


def _reader(category: str):
    def read(person) -> list[str]:
        return domains_of(category)

    return read


for _category in CARE_CATEGORIES:
    register_field(field_key(_category), _category, LABELS[_category], _reader(_category))
