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
    Read from the open reports (few) rather than the contributions (many): four queries
    whatever the size of the consultation."""
    visible = Q(proposal__visibility=Visibility.VISIBLE) | Q(comment__visibility=Visibility.VISIBLE)
    open_reports = AbuseReport.objects.filter(
        visible, consultation=consultation, outcome=AbuseReport.Outcome.OPEN
    )
    counted = list(
        open_reports.values("proposal_id", "comment_id")
        .annotate(n=Count("id"))
        .order_by("-n", "proposal_id", "comment_id")[:limit]
    )
    proposals = Proposal.objects.only("title", "body", "consultation_id", "created_at").in_bulk(
        [r["proposal_id"] for r in counted if r["proposal_id"]]
    )
    comments = Comment.objects.only("body", "consultation_id", "created_at").in_bulk(
        [r["comment_id"] for r in counted if r["comment_id"]]
    )
    reasons: dict[tuple[str, int], list[str]] = {}
    wanted_p = list(proposals)
    wanted_c = list(comments)
    for found in (
        open_reports.filter(Q(proposal_id__in=wanted_p) | Q(comment_id__in=wanted_c))
        .values_list("proposal_id", "comment_id", "reason")
        .distinct()
    ):
        key = ("proposal", found[0]) if found[0] else ("comment", found[1])
        label = str(ModerationReason(found[2]).label)
        if label not in reasons.setdefault(key, []):
            reasons[key].append(label)
    rows = []
    for row in counted:
        if row["proposal_id"]:
            kind, item = "proposal", proposals.get(row["proposal_id"])
        else:
            kind, item = "comment", comments.get(row["comment_id"])
        if item is not None:
            rows.append(
                {
                    "kind": kind,
                    "item": item,
                    "reports": row["n"],
                    "reasons": sorted(reasons.get((kind, item.pk), [])),
                }
            )
    return rows
