"""Inviting the people who actually used the service, not only those who come by themselves:
a random sample of the people whose applications for the consultation's service (or its
bundle's services) were completed in the last months, each invited once. The invitation is
announced on the outbox, for notifications to deliver in the person's language."""

from __future__ import annotations

import datetime
import random

from django.db import transaction
from django.utils import timezone

from joinedup.delivery.models import Application
from joinedup.federation.models import Service
from joinedup.sharing import outbox

from .models import Comment, Consultation, Invitation, Proposal, Support, SurveyAnswer

EVENT = "org.joinedup.engagement.invitation"


def service_ids(consultation: Consultation) -> list[int]:
    if consultation.service_id:
        return [consultation.service_id]
    if consultation.bundle_id:
        legs = (consultation.bundle.definition or {}).get("legs") or []
        keys = [leg.get("service") for leg in legs if isinstance(leg, dict)]
        return list(Service.objects.filter(key__in=keys).values_list("pk", flat=True))
    return []


def invite_recent_users(
    consultation: Consultation, *, months: int = 6, sample: int = 200, seed: int | None = None
) -> list[Invitation]:
    """Invite up to `sample` people who completed an application in the last `months`."""
    since = timezone.now() - datetime.timedelta(days=30 * months)
    rows = (
        Application.objects.filter(
            service_id__in=service_ids(consultation), completed_at__gte=since
        )
        .exclude(applicant_id__in=consultation.invitations.values("person_id"))
        .values_list("applicant_id", "id")
        .order_by("applicant_id", "-completed_at")
    )
    latest: dict[int, object] = {}
    for person_id, application_id in rows:
        latest.setdefault(person_id, application_id)
    people = sorted(latest)
    chosen = random.Random(seed).sample(people, min(sample, len(people)))
    with transaction.atomic():
        made = Invitation.objects.bulk_create(
            [
                Invitation(consultation=consultation, person_id=pid, application_id=latest[pid])
                for pid in sorted(chosen)
            ],
            ignore_conflicts=True,
        )
        for invitation in made:
            outbox.emit(
                EVENT,
                source="/engagement",
                subject=str(invitation.person_id),
                data={"consultation": consultation.key, "person": invitation.person_id},
            )
    return made


def took_part(consultation: Consultation) -> int:
    """How many invited people proposed, commented, supported or answered the survey."""
    invited = consultation.invitations.values("person_id")
    people = set(
        Proposal.objects.filter(consultation=consultation, author_id__in=invited).values_list(
            "author_id", flat=True
        )
    )
    people |= set(
        Comment.objects.filter(consultation=consultation, author_id__in=invited).values_list(
            "author_id", flat=True
        )
    )
    people |= set(
        Support.objects.filter(
            proposal__consultation=consultation, person_id__in=invited
        ).values_list("person_id", flat=True)
    )
    people |= set(
        SurveyAnswer.objects.filter(
            question__consultation=consultation, person_id__in=invited
        ).values_list("person_id", flat=True)
    )
    return len(people)
