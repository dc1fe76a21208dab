"""Decision support: what the rules compute from an application's answers, shown to the
caseworker working it, with the explanation (each parameter read, its value and since when)
and the law's sources.

Only for a service some rule package grants (`ca.child-benefit`), for the month the
application was submitted (the law then), at the application's place. The answers are read
as `rules.eligibility` reads them (income last year, the children's birth dates, the marital
status). Computing stores nothing; the caseworker's decision stays theirs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from joinedup.rules.eligibility import Eligibility
from joinedup.rules.manifests import discover
from joinedup.rules.screener import ScreenedBenefit


@dataclass
class Support:
    """The rules' view of an application: known (the answers allowed a computation), the
    benefits of the service with their amounts and explanations, and the currency."""

    known: bool
    period: str
    benefits: list[ScreenedBenefit] = field(default_factory=list)
    currency: str = ""

    @property
    def per_month(self) -> float:
        return round(sum(b.per_month for b in self.benefits), 2)


def granted_by_rules(service_key: str) -> bool:
    return any(
        benefit.service == service_key
        for package in discover().values()
        for benefit in package.benefits
    )


def versions_of(service_key: str) -> str:
    """The rule packages granting a service, each with its version ("ca 2026.7.0"), as the
    law's code stands now; kept with a decision compared with what they computed."""
    return ", ".join(
        sorted(
            f"{package.id} {package.version}"
            for package in discover().values()
            if any(benefit.service == service_key for benefit in package.benefits)
        )
    )


def support_for(
    service_key: str, place: str, data: dict[str, Any], period: str, language: str = "en"
) -> Support | None:
    """The entitlement the rules compute for an application, or None when no rule grants
    its service."""
    if not granted_by_rules(service_key) or not place:
        return None
    eligibility = Eligibility(data, place, period, language)
    screening = eligibility.screening
    if screening is None:
        return Support(known=False, period=period)
    return Support(
        known=True,
        period=period,
        benefits=[b for b in screening.benefits if b.service_key == service_key],
        currency=screening.currency,
    )
