"""A person asks for a correction of the links the index holds about them; a data steward
answers it.

The request is recorded and announced through the outbox. The steward reads the person's
linked records through the gate (`access`), then accepts — unlinking the records that are
not the person's (a split) and/or linking another client index id that is (a merge), each a
reversible decision with the answer as its reason — or declines, saying why. Either way the
person reads the answer in My services, and the answer is announced through the outbox.
"""

from __future__ import annotations

from collections import defaultdict

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from joinedup.federation.models import Agency
from joinedup.identity.acting import ActingContext
from joinedup.identity.models import Person, User
from joinedup.sharing import outbox

from . import decisions, holdings
from .clusters import resolve_key
from .models import Cluster, CorrectionRequest, SourceRecord


def request_correction(person: Person, message: str, agency: Agency | None = None):
    """Record the request (with the agency it is about, if any) and announce it."""
    message = (message or "").strip()
    if not message:
        raise ValidationError({"message": _("Say what is wrong.")})
    if len(message) > 2000:
        raise ValidationError({"message": _("Write at most 2,000 characters.")})
    with transaction.atomic():
        request = CorrectionRequest.objects.create(person=person, agency=agency, message=message)
        outbox.emit(
            "org.joinedup.clientindex.correction.requested",
            subject=str(person.pk),
            data={"request": request.pk, "agency": agency.key if agency else None},
        )
    return request


def linked_records(request: CorrectionRequest) -> list[SourceRecord]:
    """The records now linked to the person who asked (merged people's included)."""
    return list(
        SourceRecord.objects.filter(
            cluster__person_id__in=holdings.person_ids(request.person),
            cluster__retired_at__isnull=True,
        ).select_related("agency", "cluster")
    )


def answer(
    context: ActingContext,
    request: CorrectionRequest,
    *,
    accept: bool,
    text: str,
    unlink: list[int] | None = None,
    link_key: str = "",
) -> CorrectionRequest:
    """Answer a request: accept (unlink these records of the person's; link this other id to
    them) or decline. The answer is required: it is the reason of every decision made and
    what the person reads. All or nothing."""
    text = (text or "").strip()
    if not text:
        raise ValidationError({"answer": _("Write the answer the person will read.")})
    if len(text) > 2000:
        raise ValidationError({"answer": _("Write at most 2,000 characters.")})
    unlink = sorted(set(unlink or []))
    link_key = (link_key or "").strip().upper()
    if not accept and (unlink or link_key):
        raise ValidationError(
            {"outcome": _("A declined request changes no link: accept it to change them.")}
        )
    with transaction.atomic():
        request = CorrectionRequest.objects.select_for_update().get(pk=request.pk)
        if request.status != CorrectionRequest.Status.OPEN:
            raise ValidationError(_("This request was already answered."))
        made = []
        records = linked_records(request)
        if unlink:
            mine = {r.pk: r for r in records}
            if any(pk not in mine for pk in unlink):
                raise ValidationError({"records": _("Choose records linked to this person.")})
            by_cluster: dict[int, list[int]] = defaultdict(list)
            for pk in unlink:
                by_cluster[mine[pk].cluster_id].append(pk)
            for cluster_id, chosen in sorted(by_cluster.items()):
                made.append(
                    decisions.split(
                        context, Cluster.objects.get(pk=cluster_id), chosen, reason=text[:500]
                    )
                )
        if link_key:
            other = resolve_key(link_key)
            if other is None:
                raise ValidationError({"link": _("No linked person has this id.")})
            keep = next(
                (r.cluster for r in records if r.pk not in unlink and r.cluster_id),
                None,
            )
            if keep is None:
                raise ValidationError(
                    {"link": _("This person has no linked record left to link another to.")}
                )
            keep = Cluster.objects.get(pk=keep.pk)
            if other.pk == keep.pk:
                raise ValidationError({"link": _("This id is already this person's.")})
            made.append(decisions.merge(context, keep, other, reason=text[:500]))
        request.status = CorrectionRequest.Status.CLOSED
        request.outcome = (
            CorrectionRequest.Outcome.ACCEPTED if accept else CorrectionRequest.Outcome.DECLINED
        )
        request.answer = text
        request.answered_by = (
            User.objects.filter(pk=context.user_id).first() if context.user_id else None
        )
        request.answered_at = timezone.now()
        request.save()
        request.decisions.set(made)
        outbox.emit(
            "org.joinedup.clientindex.correction.answered",
            subject=str(request.person_id),
            data={"request": request.pk, "outcome": request.outcome},
        )
    return request
