"""Overseers' reviews of providers: findings with severity, corrective actions with due
dates and follow-up. Unresolved findings count against the provider in the explorer."""

from __future__ import annotations

import datetime

from django.db.models import Count, Q
from django.utils.translation import gettext as _

from joinedup.federation.models import Agency, PartnerRole

from .flows import FundingRefused
from .models import Finding, Review


def is_overseer(agency: Agency) -> bool:
    """Whether the registry names the agency an overseer of any service."""
    return PartnerRole.objects.filter(agency=agency, role=PartnerRole.Role.OVERSEER).exists()


def record_review(
    overseer: Agency, provider: Agency, *, kind: str, held_on: datetime.date, summary: str = ""
) -> Review:
    if not is_overseer(overseer):
        raise FundingRefused(
            _("%(agency)s is not an overseer in the registry.") % {"agency": overseer.name}
        )
    if overseer == provider:
        raise FundingRefused(_("An overseer does not review itself."))
    return Review.objects.create(
        overseer=overseer, provider=provider, kind=kind, held_on=held_on, summary=summary
    )


def resolve(finding: Finding, *, on: datetime.date, follow_up: str) -> Finding:
    if finding.resolved_on is not None:
        raise FundingRefused(_("This finding is resolved already."))
    if on < finding.review.held_on:
        raise FundingRefused(_("A finding is resolved after the review that found it."))
    finding.resolved_on, finding.follow_up = on, follow_up
    finding.save(update_fields=["resolved_on", "follow_up"])
    return finding


def unresolved_by_provider(today: datetime.date) -> dict[int, dict[str, int]]:
    """Provider pk → open findings and how many of them are overdue (one query)."""
    rows = (
        Finding.objects.filter(resolved_on__isnull=True)
        .values("review__provider")
        .annotate(
            open=Count("pk"),
            overdue=Count("pk", filter=Q(due_on__lt=today)),
        )
    )
    return {r["review__provider"]: {"open": r["open"], "overdue": r["overdue"]} for r in rows}
