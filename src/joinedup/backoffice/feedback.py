"""The satisfaction survey asked of client agencies: `performance`'s own survey.

When a request is finished, `performance` samples it and keeps an invitation for its
application, as for any transaction; an agency has no e-mail to be sent, so its staff find
the invitation in the back-office portal (the agency's page and the request's page) and
answer the same questions there. The answer is stored by `performance`, anonymously (the
service, the place, the channel and the month), and the invitation is discarded: one answer
per invitation. The back office keeps the overall and timeliness scores once more with the
client agency (an agency, not a person: never the request nor who answered), so the
provider's dashboard shows satisfaction per client agency, from enough answers only.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from joinedup.federation.models import Agency
from joinedup.performance import surveys
from joinedup.performance.models import SurveyInvitation, SurveyResponse

from .models import ClientSurveyAnswer, Request, month_start

__all__ = ["SurveyError", "answer", "open_for_agency", "open_for_request"]

SurveyError = surveys.SurveyError


def open_for_request(request: Request) -> SurveyInvitation | None:
    """The request's open invitation (the newest), if it was sampled and nobody answered."""
    return (
        SurveyInvitation.objects.filter(application_id=request.pk, expires_at__gt=timezone.now())
        .order_by("-created_at")
        .first()
    )


def open_for_agency(agency: Agency, limit: int = 12) -> list[tuple[SurveyInvitation, Request]]:
    """A client agency's open invitations, newest first, each with its request (two
    queries, whatever the number)."""
    invitations = list(
        SurveyInvitation.objects.filter(
            application_id__in=Request.objects.filter(client=agency).values("pk"),
            expires_at__gt=timezone.now(),
        ).order_by("-created_at")[:limit]
    )
    found: QuerySet[Request] = Request.objects.filter(
        pk__in=[i.application_id for i in invitations]
    ).select_related("application", "level__service")
    by_pk = {r.pk: r for r in found}
    return [(i, by_pk[i.application_id]) for i in invitations if i.application_id in by_pk]


def answer(invitation: SurveyInvitation, raw: dict[str, str]) -> None:
    """Take the agency's answers (raises SurveyError with a message for the person)."""
    answers = surveys.clean_answers(raw)
    request = (
        Request.objects.filter(pk=invitation.application_id)
        .select_related("application")
        .only("client_id", "provider_id", "application__service_id")
        .first()
    )
    with transaction.atomic():
        surveys.respond(invitation, answers, SurveyResponse.Mode.PORTAL)
        if request is not None:
            ClientSurveyAnswer.objects.create(
                provider_id=request.provider_id,
                client_id=request.client_id,
                service_id=request.application.service_id,
                month=month_start(timezone.localdate()),
                satisfaction=answers["satisfaction"],
                timeliness=answers.get("timeliness"),
            )
