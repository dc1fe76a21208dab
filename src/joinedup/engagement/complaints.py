"""Feedback and complaints that close.

    complaint = file_complaint(context, person, text, service=..., application=...,
                               submission=..., place_code=...)

A complaint goes to the agency responsible for what it is about: the agency that handled the
application, the agencies of a bundle's legs, or — about a service in general — the
competent authority of the service at the person's place. Each agency concerned gets a part,
and each part IS an application of that agency's complaints service, run by the engine with
the complaint process (acknowledge, answer, second tier, ombudsman) on the agency's calendar.
The person gets one answer when every part has its answer, replies once (accept, or ask for
a second look), can reopen a closed complaint and rate how it was handled.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Prefetch
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from joinedup.bundles.models import BundleSubmission
from joinedup.care.models import IntegratedCase
from joinedup.channels.models import Interaction
from joinedup.delivery import queues
from joinedup.delivery.applications import SubmissionError, new_reference, submit_application
from joinedup.delivery.models import Application, WorkItem
from joinedup.federation.models import Agency, Jurisdiction, Service
from joinedup.federation.routing import RoutingError, route_for
from joinedup.identity import policy
from joinedup.identity.acting import ActingContext
from joinedup.identity.models import Person
from joinedup.sharing import outbox

from .complaints_service import NoComplaintsService, complaints_version
from .models import Complaint, ComplaintPart

MAX_TEXT = 5000
REPLIES = ("accept", "escalate")


class ComplaintError(Exception):
    """The complaint cannot be taken or changed; the message is for people."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def _place(person: Person, place_code: str | None) -> Jurisdiction:
    if place_code:
        place = Jurisdiction.objects.filter(code=place_code.strip().upper()).first()
        if place is None:
            raise ComplaintError(
                "unknown_place",
                _("There is no jurisdiction with the code “%(code)s”.") % {"code": place_code},
            )
        return place
    address = person.current_address()
    if address is None or address.jurisdiction_id is None:
        raise ComplaintError(
            "no_place",
            _("Tell us where you live, so the complaint reaches the agency responsible."),
        )
    return address.jurisdiction


def responsible_agencies(
    person: Person,
    *,
    service: Service | None = None,
    application: Application | None = None,
    submission: BundleSubmission | None = None,
    interaction: Interaction | None = None,
    case: IntegratedCase | None = None,
    place: Jurisdiction,
) -> tuple[Service, list[Agency]]:
    """The service complained about and the agencies that answer for it (one per part).

    A visit or call is answered by the agency whose agent served the person; a care plan by
    the agency that holds the case and every agency with a member in its team, so the person
    does not have to know which of them is at fault."""
    if application is not None:
        if application.applicant_id != person.pk:
            raise ComplaintError("not_yours", _("This application is not this person's."))
        return application.service, [application.agency]
    if submission is not None:
        if submission.subject_id != person.pk:
            raise ComplaintError("not_yours", _("This life-event request is not this person's."))
        legs = list(submission.legs.select_related("service", "agency").order_by("position"))
        if not legs:
            raise ComplaintError("empty", _("This life-event request has no parts to answer."))
        agencies: dict[int, Agency] = {}
        for leg in legs:
            agencies.setdefault(leg.agency_id, leg.agency)
        return legs[0].service, list(agencies.values())
    if interaction is not None:
        if interaction.person_id != person.pk:
            raise ComplaintError("not_yours", _("This visit or call was not with this person."))
        first = interaction.applications.select_related("service").first()
        chosen = first.service if first is not None else service
        if chosen is None:
            raise ComplaintError("no_subject", _("Say which service the visit or call was about."))
        return chosen, [interaction.agency]
    if case is not None:
        if case.person_id != person.pk:
            raise ComplaintError("not_yours", _("This care plan is not this person's."))
        if service is None:
            raise ComplaintError("no_subject", _("Say which service of the plan it is about."))
        team: dict[int, Agency] = {case.agency_id: case.agency}
        for agency in Agency.objects.filter(
            staff__care_teams__case=case, staff__care_teams__left_at__isnull=True
        ).order_by("key"):
            team.setdefault(agency.pk, agency)
        return service, list(team.values())
    if service is None:
        raise ComplaintError("no_subject", _("Say which service the complaint is about."))
    try:
        route = route_for(service, place, explain=False)
    except RoutingError as error:
        raise ComplaintError(error.reason, error.message) from None
    return service, [route.agency]


def file_complaint(
    context: ActingContext,
    person: Person,
    text: str,
    *,
    kind: str = Complaint.Kind.COMPLAINT,
    service: Service | None = None,
    application: Application | None = None,
    submission: BundleSubmission | None = None,
    interaction: Interaction | None = None,
    case: IntegratedCase | None = None,
    place_code: str | None = None,
) -> Complaint:
    """Take a complaint (or feedback) from the person, or recorded for them at a counter or on
    the phone, and start each agency's part. All or nothing."""
    policy.require(context, "engagement.complain", person)
    text = (text or "").strip()
    if not text:
        raise ComplaintError("empty", _("Tell us what happened."))
    if len(text) > MAX_TEXT:
        raise ComplaintError(
            "too_long", _("Please keep it under %(n)s characters.") % {"n": MAX_TEXT}
        )
    if kind not in Complaint.Kind.values:
        raise ComplaintError("kind", _("Choose complaint or feedback."))
    place = _place(person, place_code)
    subject_service, agencies = responsible_agencies(
        person,
        service=service,
        application=application,
        submission=submission,
        interaction=interaction,
        case=case,
        place=place,
    )
    channel = context.channel if context.role else "online"
    if context.role and channel == "online":
        channel = "counter"
    with transaction.atomic():
        complaint = Complaint.objects.create(
            reference=new_reference("C"),
            kind=kind,
            person=person,
            recorded_by_id=context.user_id,
            channel=channel,
            service=subject_service,
            application=application,
            submission=submission,
            interaction=interaction,
            case=case,
            place=place,
            text=text,
        )
        for agency in agencies:
            try:
                version = complaints_version(agency)
                made, _created = submit_application(
                    context,
                    version.service.key,
                    {"complaint": complaint.reference, "about": subject_service.name[:200]},
                    channel=channel if channel in ("online", "counter", "phone") else "online",
                    applicant=person,
                    version=version,
                    place=agency.jurisdiction,
                )
            except NoComplaintsService as error:
                raise ComplaintError("no_complaints_service", str(error)) from None
            except SubmissionError as error:
                raise ComplaintError(error.code, error.message) from None
            ComplaintPart.objects.create(complaint=complaint, agency=agency, application=made)
        _announce(complaint, "received", {"agencies": [a.key for a in agencies]})
    return complaint


def _announce(complaint: Complaint, verb: str, data: dict) -> None:
    """One event per complaint (not per part): the person is told of it once."""
    outbox.emit(
        "org.joinedup.engagement.complaint." + verb,
        source="/engagement",
        subject=str(complaint.pk),
        data={"complaint": complaint.reference, "person": complaint.person_id, **data},
    )


def _waiting_replies(complaint: Complaint) -> list[ComplaintPart]:
    return [
        part
        for part in complaint.parts.select_related("application")
        if part.application.work_items.filter(
            role=WorkItem.APPLICANT, kind="complaint_reply", status=WorkItem.Status.OPEN
        ).exists()
    ]


def reply(context: ActingContext, complaint: Complaint, decision: str, note: str = "") -> None:
    """The person accepts the answer, or asks for a second look (every part goes on)."""
    policy.require(context, "engagement.complaint.reply", complaint)
    if decision not in REPLIES:
        raise ComplaintError("decision", _("Accept the answer or ask for a second look."))
    complaint.refresh_from_db(fields=["answered_at", "closed_at"])
    if complaint.answered_at is None:
        raise ComplaintError("not_answered", _("There is no answer to reply to yet."))
    with transaction.atomic():
        parts = _waiting_replies(complaint)
        if not parts:
            raise ComplaintError("not_waiting", _("Nothing is waiting for your reply."))
        for part in parts:
            queues.respond(
                context,
                part.application,
                note,
                kind="complaint_reply",
                extra={"decision": decision},
            )


def reopen_window() -> int:
    return int(getattr(settings, "ENGAGEMENT_REOPEN_DAYS", 30))


def reopen(context: ActingContext, complaint: Complaint, why: str) -> Complaint:
    """A closed complaint, reopened within the window: each part starts a new round."""
    policy.require(context, "engagement.complaint.reply", complaint)
    why = (why or "").strip()
    if not why:
        raise ComplaintError("empty", _("Say why you are reopening the complaint."))
    if complaint.closed_at is None:
        raise ComplaintError("open", _("This complaint is still open."))
    if timezone.now() - complaint.closed_at > datetime.timedelta(days=reopen_window()):
        raise ComplaintError(
            "too_late",
            _("A complaint can be reopened within %(n)s days of its closure; make a new one.")
            % {"n": reopen_window()},
        )
    with transaction.atomic():
        complaint = Complaint.objects.select_for_update().get(pk=complaint.pk)
        for part in complaint.parts.select_related("agency", "application"):
            version = complaints_version(part.agency)
            made, _created = submit_application(
                context,
                version.service.key,
                {"complaint": complaint.reference, "about": why[:200]},
                applicant=complaint.person,
                version=version,
                place=part.agency.jurisdiction,
            )
            part.earlier_applications = [*part.earlier_applications, str(part.application_id)]
            part.application = made
            part.finding = ""
            part.reasons = ""
            part.tier = 1
            part.closed_at = None
            part.save()
        complaint.reopened += 1
        complaint.closed_at = None
        complaint.answer = ""
        complaint.answered_at = None
        complaint.text = f"{complaint.text}\n\n{why}"[: MAX_TEXT * 2]
        complaint.save()
        _announce(complaint, "reopened", {"reopened": complaint.reopened})
    return complaint


def rate(context: ActingContext, complaint: Complaint, stars: int) -> None:
    policy.require(context, "engagement.complaint.reply", complaint)
    complaint.refresh_from_db(fields=["answered_at", "closed_at"])
    if complaint.answered_at is None and complaint.closed_at is None:
        raise ComplaintError("not_answered", _("Rate the complaint once it is answered."))
    if not isinstance(stars, int) or not 1 <= stars <= 5:
        raise ComplaintError("rating", _("Give a rating from 1 to 5."))
    Complaint.objects.filter(pk=complaint.pk).update(rating=stars)


THEME_MAX = 40


def tag(context: ActingContext, complaint: Complaint, themes: list[str]) -> list[str]:
    """Staff of an agency concerned tag the complaint's themes (measured over time)."""
    policy.require(context, "engagement.complaint.tag", complaint)
    cleaned = sorted({t.strip().lower()[:THEME_MAX] for t in themes if t and t.strip()})
    Complaint.objects.filter(pk=complaint.pk).update(themes=cleaned)
    return cleaned


def state_of(complaint: Complaint, parts: list[ComplaintPart] | None = None) -> str:
    """Where the complaint stands, in words (its parts' furthest step)."""
    parts = parts if parts is not None else list(complaint.parts.all())
    if complaint.closed_at is not None:
        if any(p.ombudsman_id or p.tier == 3 for p in parts):
            return _("Referred to the ombudsman")
        return pgettext("consultations and complaints", "Closed")
    if complaint.answered_at is not None:
        return _("Answered: waiting for your reply")
    if any(p.tier >= 2 for p in parts):
        return _("Under review at the second tier")
    return _("Being looked at")


def with_parts():
    """Each complaint's parts with their agency, application and ombudsman, read once for
    a whole page of complaints (the state and the parts are shown per complaint)."""
    return Prefetch(
        "parts", queryset=ComplaintPart.objects.select_related("agency", "application", "ombudsman")
    )


def visible_to_person(person_id: int | None):
    if person_id is None:
        return Complaint.objects.none()
    return (
        Complaint.objects.filter(person_id=person_id)
        .select_related("service")
        .prefetch_related(with_parts())
    )
