"""The stewards' decisions: a review pair judged, people merged or split, and undone.

Each decision names its author and reason, moves records in one transaction, says which
ids changed and why (`ClusterChange`), writes the ledger of every person it touches, and
can be undone exactly: a merge's records go back to the person they came from, a split's
records rejoin. Everything that pointed at a merged person or id still resolves
(`clusters.resolve`). The next run keeps these decisions (see `runs`).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from joinedup.identity.acting import ActingContext
from joinedup.identity.models import User
from joinedup.sharing.models import AccessEvent

from . import access
from . import clusters as cluster_store
from .models import Cluster, ClusterChange, Decision, PersonAlias, ReviewPair, SourceRecord

WRITE = AccessEvent.Action.WRITE


def _user(context: ActingContext) -> User | None:
    return User.objects.filter(pk=context.user_id).first() if context.user_id else None


def _records(cluster: Cluster) -> list[SourceRecord]:
    return list(cluster.records.select_related("agency", "cluster"))


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why.")})
    return reason[:500]


def decide_pair(
    context: ActingContext, pair: ReviewPair, status: str, note: str = ""
) -> ReviewPair:
    """Record a steward's word on a pair; a match merges the two people now."""
    if status not in (ReviewPair.Status.MATCH, ReviewPair.Status.NOT_MATCH):
        raise ValidationError({"status": _("Say whether the two records are the same person.")})
    with transaction.atomic():
        pair = ReviewPair.objects.select_for_update().get(pk=pair.pk)
        pair.status = status
        pair.note = (note or "").strip()[:500]
        pair.decided_by = _user(context)
        pair.decided_at = timezone.now()
        pair.save()
        left = SourceRecord.objects.select_related("agency", "cluster").get(pk=pair.left_id)
        right = SourceRecord.objects.select_related("agency", "cluster").get(pk=pair.right_id)
        access.record_use(context, [left, right], action=WRITE)
        if (
            status == ReviewPair.Status.MATCH
            and left.cluster_id
            and right.cluster_id
            and left.cluster_id != right.cluster_id
        ):
            merge(
                context,
                left.cluster,
                right.cluster,
                _("Review: the two records are the same person."),
            )
    return pair


def merge(context: ActingContext, keep: Cluster, other: Cluster, reason: str) -> Decision:
    """Move every record of `other` to `keep`; `other`'s id and person resolve to `keep`'s."""
    reason = _reason(reason)
    if keep.pk == other.pk:
        raise ValidationError(_("A person cannot be merged with themselves."))
    if keep.retired_at or other.retired_at:
        raise ValidationError(_("This person was already merged into another."))
    with transaction.atomic():
        moved = _records(other)
        decision = Decision.objects.create(
            kind=Decision.Kind.MERGE,
            cluster=keep,
            other=other,
            moved=[r.pk for r in moved],
            reason=reason,
            decided_by=_user(context),
        )
        access.record_use(context, moved + _records(keep), action=WRITE)
        _move(moved, keep, ClusterChange.Reason.MERGED, decision)
        other.retired_at, other.merged_into = timezone.now(), keep
        other.save(update_fields=["retired_at", "merged_into"])
        if other.person_id and keep.person_id and other.person_id != keep.person_id:
            PersonAlias.objects.update_or_create(
                person_id=other.person_id,
                defaults={"resolves_to_id": keep.person_id, "decision": decision, "run": None},
            )
    return decision


def split(context: ActingContext, cluster: Cluster, record_ids: list[int], reason: str) -> Decision:
    """Move some records of a person to a new person (a new id, a new registry person)."""
    reason = _reason(reason)
    with transaction.atomic():
        members = _records(cluster)
        chosen = [r for r in members if r.pk in set(record_ids)]
        if not chosen or len(chosen) == len(members):
            raise ValidationError(
                {"records": _("Choose some, but not all, of this person's records.")}
            )
        new = Cluster.objects.create(
            key=cluster_store.new_key(), person=cluster_store.person_for(chosen)
        )
        decision = Decision.objects.create(
            kind=Decision.Kind.SPLIT,
            cluster=cluster,
            other=new,
            moved=[r.pk for r in chosen],
            reason=reason,
            decided_by=_user(context),
        )
        access.record_use(context, members, action=WRITE)
        _move(chosen, new, ClusterChange.Reason.SPLIT, decision)
    return decision


def undo(context: ActingContext, decision: Decision, reason: str) -> Decision:
    """Reverse a merge or a split exactly; the undoing is recorded beside the decision."""
    reason = _reason(reason)
    with transaction.atomic():
        decision = Decision.objects.select_for_update().get(pk=decision.pk)
        if decision.undone_at is not None:
            raise ValidationError(_("This decision was already undone."))
        moved = list(
            SourceRecord.objects.filter(pk__in=decision.moved).select_related("agency", "cluster")
        )
        if decision.kind == Decision.Kind.MERGE:
            target = decision.other
            target.retired_at, target.merged_into = None, None
            target.save(update_fields=["retired_at", "merged_into"])
            PersonAlias.objects.filter(decision=decision).delete()
        else:
            target = decision.cluster
            decision.other.retired_at = timezone.now()
            decision.other.merged_into = target
            decision.other.save(update_fields=["retired_at", "merged_into"])
            if decision.other.person_id and target.person_id:
                PersonAlias.objects.update_or_create(
                    person_id=decision.other.person_id,
                    defaults={"resolves_to_id": target.person_id, "decision": decision},
                )
        access.record_use(context, moved, action=WRITE)
        _move(moved, target, ClusterChange.Reason.UNDONE, decision)
        decision.undone_at = timezone.now()
        decision.undone_by = _user(context)
        decision.undo_reason = reason
        decision.save(update_fields=["undone_at", "undone_by", "undo_reason"])
    return decision


def _move(records: list[SourceRecord], target: Cluster, reason: str, decision: Decision) -> None:
    changes = [
        ClusterChange(
            record=r,
            old_key=r.cluster.key if r.cluster_id else "",
            new_key=target.key,
            reason=reason,
            decision=decision,
        )
        for r in records
    ]
    SourceRecord.objects.filter(pk__in=[r.pk for r in records]).update(cluster=target)
    ClusterChange.objects.bulk_create(changes)
