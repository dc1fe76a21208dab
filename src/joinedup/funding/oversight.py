"""Overseers' reviews of providers: findings with severity, corrective actions with due
dates and follow-up. Unresolved findings count against the provider in the explorer."""

from __future__ import annotations

import datetime

from django.db.models import Count, Q
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _

from joinedup.federation.models import Agency, PartnerRole

from .flows import FundingRefused
from .models import Allocation, Finding, Review


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
    line = f"{on.isoformat()}: {follow_up.strip()}" if follow_up.strip() else ""
    finding.resolved_on = on
    finding.follow_up = f"{finding.follow_up}\n{line}".strip()
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


def parties(review: Review) -> set[str]:
    """The agencies (keys) that see a review: its overseer, the provider and the provider's
    funders (anyone who allocated money to it)."""
    funders = Allocation.objects.filter(recipient_id=review.provider_id).values_list(
        "funder__key", flat=True
    )
    return {review.overseer.key, review.provider.key, *funders}


def visible_to(agency_key: str):
    """The reviews an agency's staff see (one query when listed)."""
    funded = Allocation.objects.filter(funder__key=agency_key).values("recipient_id")
    return (
        Review.objects.filter(
            Q(overseer__key=agency_key) | Q(provider__key=agency_key) | Q(provider__in=funded)
        )
        .select_related("overseer", "provider", "program")
        .annotate(
            open_findings=Count("findings", filter=Q(findings__resolved_on__isnull=True)),
            all_findings=Count("findings"),
        )
        .order_by("-held_on", "-pk")
    )


def add_finding(
    review: Review,
    *,
    severity: int,
    text: str,
    corrective_action: str,
    due_on: datetime.date | None,
) -> Finding:
    """A finding of the review, with the corrective action asked and its due date."""
    if severity not in Finding.Severity.values:
        raise FundingRefused(_("Choose a severity."))
    if not text.strip():
        raise FundingRefused(_("Say what was found."))
    if due_on is not None and due_on < review.held_on:
        raise FundingRefused(_("A corrective action is due after the review that asked for it."))
    return Finding.objects.create(
        review=review,
        severity=severity,
        text=text.strip(),
        corrective_action=corrective_action.strip(),
        due_on=due_on,
    )


def follow_up(finding: Finding, *, note: str, by: str, on: datetime.date) -> Finding:
    """A follow-up note (what the provider did, what the overseer saw), kept in order."""
    if not note.strip():
        raise FundingRefused(_("Write the follow-up."))
    if finding.resolved_on is not None:
        raise FundingRefused(_("This finding is resolved already."))
    line = f"{on.isoformat()} — {by}: {note.strip()}"
    finding.follow_up = f"{finding.follow_up}\n{line}".strip()
    finding.save(update_fields=["follow_up"])
    return finding


def load_review(review_id: int) -> Review:
    """A review with the agencies that may read it (what `funding.oversight` asks)."""
    review = get_object_or_404(
        Review.objects.select_related("overseer", "provider", "program"), pk=review_id
    )
    review.parties = parties(review)
    return review
