"""The satisfaction survey: sampled after completion, answered anonymously.

When a transaction completes, a share of them (`JOINEDUP_PERFORMANCE_SURVEY_RATE`, chosen by
a keyed hash of the application, so a replayed event chooses the same) gets an invitation:
an e-mail with a link holding a random token, and an entry on the person's feedback page in
the portal. The invitation keeps the token's hash (never the token) and the application, only
so that the person can find it; it is deleted when answered or expired.

The answer is stored with the service, the delivering jurisdiction, the channel and the month
— nothing that leads back to the person or the application. The invitation also holds the
transaction's client groups (bands and kinds, as the transaction records them), so that the
answer adds to each group's survey sums (`SurveyGroupRollup`): the groups never reach the
stored response. The questions follow the Common
Measurements Tool's five drivers of satisfaction, plus overall satisfaction and trust, each on
a 1–5 scale (shown as 0–100).
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import logging
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from joinedup.delivery.models import Application
from joinedup.delivery.notifications import channels, sending

from . import rollups
from .models import SurveyInvitation, SurveyResponse, Transaction

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Question:
    name: str
    text: str | Promise
    driver: bool  # one of the five drivers (may be answered "does not apply")
    low: str | Promise
    high: str | Promise


SATISFIED = (gettext_lazy("Very dissatisfied"), gettext_lazy("Very satisfied"))
AGREE = (gettext_lazy("Strongly disagree"), gettext_lazy("Strongly agree"))

QUESTIONS = (
    Question(
        "satisfaction",
        gettext_lazy("Overall, how satisfied were you with this service?"),
        False,
        *SATISFIED,
    ),
    Question(
        "timeliness",
        gettext_lazy("How satisfied were you with the amount of time it took to get the service?"),
        True,
        *SATISFIED,
    ),
    Question(
        "competence",
        gettext_lazy("The staff or the online service knew what they were doing."),
        True,
        *AGREE,
    ),
    Question(
        "courtesy",
        gettext_lazy("They went the extra mile to make sure I got what I needed."),
        True,
        *AGREE,
    ),
    Question("fairness", gettext_lazy("I was treated fairly."), True, *AGREE),
    Question(
        "outcome",
        gettext_lazy("In the end, I got what I needed."),
        True,
        *AGREE,
    ),
    Question(
        "trust",
        gettext_lazy("This experience increased my trust in the agency that served me."),
        False,
        *AGREE,
    ),
)
DRIVERS = tuple(q.name for q in QUESTIONS if q.driver)
DRIVER_LABELS = {
    "timeliness": gettext_lazy("Timeliness"),
    "competence": gettext_lazy("Knowledge and competence"),
    "courtesy": gettext_lazy("Courtesy and going the extra mile"),
    "fairness": gettext_lazy("Fair treatment"),
    "outcome": gettext_lazy("Outcome"),
    "satisfaction": gettext_lazy("Overall satisfaction"),
    "trust": gettext_lazy("Trust"),
}


class SurveyError(ValueError):
    """The answers cannot be taken; the message is for the person."""


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def sampled(application_id: str) -> bool:
    """Whether the application is in the sample: a keyed hash spread evenly over [0, 1)."""
    rate = settings.PERFORMANCE_SURVEY_RATE
    if rate <= 0:
        return False
    if rate >= 1:
        return True
    digest = hmac.new(
        settings.SECRET_KEY.encode(), f"survey:{application_id}".encode(), hashlib.sha256
    ).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < rate


def invite(txn: Transaction, application_id, event_id: str) -> SurveyInvitation | None:
    """Invite the applicant of a completed transaction, if sampled (once per event)."""
    if not sampled(str(application_id)):
        return None
    if SurveyInvitation.objects.filter(event_id=event_id).exists():
        return None
    token = secrets.token_urlsafe(24)
    now = timezone.now()
    groups = rollups.groups_of(txn)
    invitation = SurveyInvitation.objects.create(
        token_hash=hash_token(token),
        application_id=application_id,
        event_id=event_id,
        service_key=txn.service_key,
        jurisdiction=txn.jurisdiction,
        channel=txn.channel,
        groups=groups,
        created_at=now,
        expires_at=now + datetime.timedelta(days=settings.PERFORMANCE_SURVEY_DAYS),
    )
    month = rollups.month_of(timezone.localdate(now))
    key = {"service_key": txn.service_key, "jurisdiction": txn.jurisdiction, "channel": txn.channel}
    rollups.add_survey(month, key, invited=1)
    rollups.add_survey_groups(month, key, groups, invited=1)
    transaction.on_commit(lambda: _send_email(application_id, token))
    return invitation


def survey_url(token: str, language: str) -> str:
    with translation.override(language):
        path = reverse("performance:survey", kwargs={"token": token})
    return settings.PUBLIC_URL.rstrip("/") + path


def _send_email(application_id, token: str) -> None:
    """E-mail the link (after the commit; a failure leaves the portal entry)."""
    application = (
        Application.objects.select_related("applicant", "service").filter(pk=application_id).first()
    )
    if application is None:
        return
    person = application.applicant
    if person is None:
        return  # an agency's request: its requesters answer in the back-office portal
    language = person.preferred_language or application.language or "en"
    emails = [address for kind, address in sending.addresses(person) if kind == "email"]
    if not emails:
        return
    with translation.override(language):
        subject = _("How did we do? Tell us about %(service)s") % {
            "service": application.service.name
        }
        body = _(
            "Your application %(reference)s is complete. Would you tell us how it went? "
            "It takes two minutes, and your answers are anonymous: they are kept without your "
            "name or your application.\n\n%(url)s\n"
        ) % {"reference": application.reference, "url": survey_url(token, language)}
    try:
        channels.send_email(emails[0], subject, body, language)
    except Exception:  # the invitation is still in the portal
        logger.warning("could not e-mail a survey invitation", exc_info=True)


def by_token(token: str) -> SurveyInvitation | None:
    return (
        SurveyInvitation.objects.filter(token_hash=hash_token(token), expires_at__gt=timezone.now())
        .only("id", "service_key", "jurisdiction", "channel")
        .first()
    )


def pending_for(person_id: int) -> list[SurveyInvitation]:
    """A person's open invitations, for their feedback page in the portal."""
    applications = Application.objects.filter(applicant_id=person_id).values("pk")
    return list(
        SurveyInvitation.objects.filter(
            application_id__in=applications, expires_at__gt=timezone.now()
        ).order_by("-created_at")
    )


def open_for_applications(application_ids: Iterable[Any], person_id: int | None) -> dict:
    """The person's open invitations by application (application id → invitation id).

    A list of the person's applications links each one they were asked about to its survey,
    in one query. Only their own applications count: an invitation is answered by the
    person who used the service, never by someone acting for them.
    """
    ids = list(application_ids)
    if person_id is None or not ids:
        return {}
    own = Application.objects.filter(pk__in=ids, applicant_id=person_id).values("pk")
    rows = (
        SurveyInvitation.objects.filter(application_id__in=own, expires_at__gt=timezone.now())
        .order_by("created_at")
        .values_list("application_id", "pk")
    )
    return dict(rows)  # the newest invitation of an application wins


def owned_by(invitation_id, person_id: int) -> SurveyInvitation | None:
    invitation = SurveyInvitation.objects.filter(
        pk=invitation_id, expires_at__gt=timezone.now()
    ).first()
    if invitation is None or invitation.application_id is None:
        return None
    if not Application.objects.filter(
        pk=invitation.application_id, applicant_id=person_id
    ).exists():
        return None
    return invitation


def clean_answers(raw: dict[str, str]) -> dict[str, int | None]:
    """Answers 1–5 from a form; drivers may be left out ("does not apply"). Raises
    SurveyError when overall satisfaction is missing or an answer is out of range."""
    answers: dict[str, int | None] = {}
    for question in QUESTIONS:
        value = (raw.get(question.name) or "").strip()
        if value in ("", "na"):
            answers[question.name] = None
            continue
        if value not in {"1", "2", "3", "4", "5"}:
            raise SurveyError(_("Choose an answer from 1 to 5."))
        answers[question.name] = int(value)
    if answers["satisfaction"] is None:
        raise SurveyError(_("Tell us how satisfied you were overall."))
    return answers


def respond(invitation: SurveyInvitation, answers: dict[str, int | None], mode: str) -> None:
    """Store the answer anonymously and discard the invitation, in one transaction."""
    with transaction.atomic():
        locked = SurveyInvitation.objects.select_for_update().filter(pk=invitation.pk).first()
        if locked is None:
            raise SurveyError(_("This survey was already answered."))
        month = rollups.month_of(timezone.localdate())
        key = {
            "service_key": locked.service_key,
            "jurisdiction": locked.jurisdiction,
            "channel": locked.channel,
        }
        SurveyResponse.objects.create(month=month, mode=mode, **key, **answers)
        rollups.add_survey(month, key, answers=answers)
        # The groups go to the sums only: the response itself stays without them.
        rollups.add_survey_groups(month, key, locked.groups or {}, answers=answers)
        locked.delete()


def expire(now: datetime.datetime | None = None) -> int:
    """Discard invitations nobody answered in time."""
    deleted, _detail = SurveyInvitation.objects.filter(
        expires_at__lte=now or timezone.now()
    ).delete()
    return deleted
