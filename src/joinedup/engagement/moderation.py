"""Moderation: anyone taking part reports abuse with a reason; the owner's moderators hide a
contribution with a stated reason (shown in its place) or dismiss the reports. Nothing is
deleted: a hidden contribution keeps its text for the record and the author sees why."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from joinedup.identity import policy
from joinedup.identity.acting import ActingContext

from .models import AbuseReport, Comment, Consultation, ModerationReason, Proposal, Visibility
from .participation import ParticipationError, standing

MAX_NOTE = 500


def report(
    context: ActingContext,
    target: Proposal | Comment,
    reason: str,
    note: str = "",
) -> AbuseReport:
    """Report a contribution (one open report per person and contribution)."""
    consultation = target.consultation
    who = standing(context, consultation)
    if who.person is None:
        raise ParticipationError("person_only", _("Reports are made by people."), 403)
    if reason not in ModerationReason.values:
        raise ParticipationError("reason", _("Choose why you are reporting this."))
    field = "proposal" if isinstance(target, Proposal) else "comment"
    existing = AbuseReport.objects.filter(
        **{field: target}, reporter=who.person, outcome=AbuseReport.Outcome.OPEN
    ).first()
    if existing is not None:
        return existing
    return AbuseReport.objects.create(
        consultation=consultation,
        reporter=who.person,
        reason=reason,
        note=(note or "").strip()[:MAX_NOTE],
        **{field: target},
    )


def hide(context: ActingContext, target: Proposal | Comment, reason: str, note: str = "") -> None:
    """Take a contribution down with a stated reason; its open reports are resolved."""
    policy.require(context, "engagement.moderate", target.consultation)
    if reason not in ModerationReason.values:
        raise ParticipationError("reason", _("Choose the reason for taking this down."))
    field = "proposal" if isinstance(target, Proposal) else "comment"
    now = timezone.now()
    with transaction.atomic():
        type(target).objects.filter(pk=target.pk).update(
            visibility=Visibility.HIDDEN,
            moderation_reason=reason,
            moderation_note=(note or "").strip()[:MAX_NOTE],
            moderated_at=now,
            moderated_by_id=context.user_id,
        )
        AbuseReport.objects.filter(**{field: target}, outcome=AbuseReport.Outcome.OPEN).update(
            outcome=AbuseReport.Outcome.HIDDEN, resolved_at=now
        )


def restore(context: ActingContext, target: Proposal | Comment) -> None:
    policy.require(context, "engagement.moderate", target.consultation)
    type(target).objects.filter(pk=target.pk).update(
        visibility=Visibility.VISIBLE, moderation_reason="", moderation_note=""
    )


def dismiss(context: ActingContext, target: Proposal | Comment) -> int:
    """The reports were unfounded: the contribution stays."""
    policy.require(context, "engagement.moderate", target.consultation)
    field = "proposal" if isinstance(target, Proposal) else "comment"
    return AbuseReport.objects.filter(**{field: target}, outcome=AbuseReport.Outcome.OPEN).update(
        outcome=AbuseReport.Outcome.DISMISSED, resolved_at=timezone.now()
    )


def queue(consultation: Consultation, limit: int = 100) -> list[dict]:
    """The contributions with open reports, most reported first, with the reasons given.
    Three queries whatever the number of reports."""
    open_reports = Q(reports__outcome=AbuseReport.Outcome.OPEN)
    rows: list[dict] = []
    for model, kind in ((Proposal, "proposal"), (Comment, "comment")):
        items = (
            model.objects.filter(consultation=consultation, visibility=Visibility.VISIBLE)
            .annotate(open_reports=Count("reports", filter=open_reports))
            .filter(open_reports__gt=0)
            .order_by("-open_reports", "created_at")[:limit]
        )
        for item in items:
            rows.append({"kind": kind, "item": item, "reports": item.open_reports})
    reasons: dict[tuple[str, int], list[str]] = {}
    wanted_p = [r["item"].pk for r in rows if r["kind"] == "proposal"]
    wanted_c = [r["item"].pk for r in rows if r["kind"] == "comment"]
    for found in AbuseReport.objects.filter(
        Q(proposal_id__in=wanted_p) | Q(comment_id__in=wanted_c),
        outcome=AbuseReport.Outcome.OPEN,
    ).only("proposal_id", "comment_id", "reason"):
        key = (
            ("proposal", found.proposal_id) if found.proposal_id else ("comment", found.comment_id)
        )
        label = ModerationReason(found.reason).label
        if label not in reasons.setdefault(key, []):
            reasons[key].append(label)
    for row in rows:
        row["reasons"] = reasons.get((row["kind"], row["item"].pk), [])
    rows.sort(key=lambda r: -r["reports"])
    return rows[:limit]
