"""Care's work carried by delivery's engine: no second queue, clock or notification.

- A referral to an organisation on the platform IS an application of that organisation's
  referral service (`referrals.<agency>`), made by the referrer on the person's behalf on the
  channel "referral" and run by the referral process (`processes/referral.bpmn`: accept or
  decline, contact, deliver, outcome) on the receiver's calendar, in the receiver's queue.
- A person's request about their plan (a review, a complaint) and a plan review falling due
  are applications of the lead agency's plan-review service (`care-reviews.<agency>`), in the
  queue of its case staff (`processes/plan-request.bpmn`).

Each service is made the first time it is needed (as engagement makes complaints services).
The processes call back here by name (`care_referral_step`, `care_request_handled`): care's
records change inside the engine's step, in its transaction, or not at all.
"""

from __future__ import annotations

import datetime
from pathlib import Path

from django.db import transaction
from django.utils import formats, timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from joinedup.delivery import applications, clock, queues, versions
from joinedup.delivery.models import Application, ServiceVersion
from joinedup.delivery.workflows.engine import Run, handler
from joinedup.federation.models import Agency, Channel, Jurisdiction, Offering, Service
from joinedup.federation.routing import route_for
from joinedup.identity.acting import ActingContext
from joinedup.identity.models import Person
from joinedup.sharing import outbox
from joinedup.sharing.models import DataCategory

from .fields import LABELS
from .models import PlanRequest, Referral, ReferralStep

PROCESSES = Path(__file__).parent / "processes"
REFERRAL_CHANNEL = "referral"
SOURCE = "/joinedup/care/referrals"
Status = Referral.Status

#: Business days the receiver has to close the loop (the engine's service standard); the
#: answer itself is due sooner, by urgency (`referrals.ANSWER_DAYS`).
REFERRAL_STANDARD_DAYS = 20
#: Business days the lead agency has to answer a person's request about their plan.
REQUEST_STANDARD_DAYS = 10

REFERRAL_FORM = {
    "schema": {
        "type": "object",
        "additionalProperties": False,
        "required": ["referral"],
        "properties": {
            "referral": {"type": "string", "minLength": 1, "maxLength": 40},
            "urgency": {"type": "string", "maxLength": 10},
        },
    },
    "ui": {
        "fields": {
            "referral": {"label": {"en": "Referral", "fr": "Orientation"}},
            "urgency": {"label": {"en": "Urgency", "fr": "Urgence"}},
        }
    },
}
REQUEST_FORM = {
    "schema": {
        "type": "object",
        "additionalProperties": False,
        "required": ["request"],
        "properties": {
            "request": {"type": "string", "minLength": 1, "maxLength": 20},
            "kind": {"type": "string", "maxLength": 12},
        },
    },
    "ui": {
        "fields": {
            "request": {"label": {"en": "Request", "fr": "Demande"}},
            "kind": {"label": {"en": "Kind", "fr": "Type"}},
        }
    },
}

#: A step of the referral process, as the receiver's decision names it.
OUTCOME_DECISIONS = set(Referral.Outcome.values)


def _name(agency: Agency, language: str) -> str:
    return agency.names.get(language) or agency.name


def _version(
    agency: Agency,
    area: Jurisdiction,
    key: str,
    names: dict,
    channels: list[str],
    days: int,
    process: str,
    form,
) -> ServiceVersion:
    """The agency's service `key` and its current version, made when first needed, offered
    by the agency in `area` (its own jurisdiction; for a community organisation, which has
    none, the place of the person it serves)."""
    with transaction.atomic():
        service, _created = Service.objects.get_or_create(
            key=key,
            defaults={
                "scope": area,
                "names": names,
                "frame": Service.Frame.TRANSACTIONAL,
                "client_type": Service.ClientType.PERSON,
                "channels": channels,
                "standard_days": days,
                "standard_day_kind": Service.DayKind.BUSINESS,
                "required_assurance": 1,
            },
        )
        Offering.objects.get_or_create(service=service, area=area, agency=agency)
        version = (
            ServiceVersion.objects.filter(service=service, active=True)
            .defer("bpmn", "spec")
            .order_by("-number")
            .first()
        )
        if version is None or key not in _DEPLOYED:
            # Once per process: deploying parses the BPMN, and finds the identical version.
            text = (PROCESSES / process).read_text(encoding="utf-8")
            version = versions.deploy(key, text, form, source="care").version
            _DEPLOYED.add(key)
    return version


#: Services whose version this process has checked against the process file.
_DEPLOYED: set[str] = set()


def referral_service_key(agency: Agency) -> str:
    return "referrals." + agency.key.replace("_", "-")


def request_service_key(agency: Agency) -> str:
    return "care-reviews." + agency.key.replace("_", "-")


def on_platform(agency: Agency | None) -> bool:
    """Whether referrals to this organisation are carried by the engine: it is an agency of
    the registry, whose staff work queues on the platform."""
    return agency is not None


def area_for(agency: Agency, person: Person, sender: Agency | None = None) -> Jurisdiction:
    """Where the agency's care work for this person is routed, and whose calendar counts its
    days: the agency's jurisdiction, else (a community organisation) the person's place, else
    the sending agency's."""
    if agency.jurisdiction_id is not None:
        return agency.jurisdiction
    address = person.current_address()
    if address is not None and address.jurisdiction_id is not None:
        return address.jurisdiction
    if sender is not None and sender.jurisdiction_id is not None:
        return sender.jurisdiction
    raise ValueError("no place to route care work to")


def referral_version(agency: Agency, area: Jurisdiction) -> ServiceVersion:
    """The receiving agency's referral service (channel "referral"), made when first needed."""
    return _version(
        agency,
        area,
        referral_service_key(agency),
        {
            "en": f"Referrals to {_name(agency, 'en')}",
            "fr": f"Orientations vers {_name(agency, 'fr')}",
        },
        [REFERRAL_CHANNEL],
        REFERRAL_STANDARD_DAYS,
        "referral.bpmn",
        REFERRAL_FORM,
    )


def request_version(agency: Agency, area: Jurisdiction) -> ServiceVersion:
    """The lead agency's plan-review service, made when first needed."""
    return _version(
        agency,
        area,
        request_service_key(agency),
        {
            "en": f"Plan reviews — {_name(agency, 'en')}",
            "fr": f"Révisions de plan — {_name(agency, 'fr')}",
        },
        ["online", "counter", "phone"],
        REQUEST_STANDARD_DAYS,
        "plan-request.bpmn",
        REQUEST_FORM,
    )


#: The platform itself, opening work no one asked for in a request (a review date that came):
#: the application's timeline says "system".
PLATFORM = ActingContext()


def open_due_review_work(request: PlanRequest, agency: Agency, area: Jurisdiction) -> Application:
    """The task of a plan review that fell due: an application of the lead agency's
    plan-review service for the person, received and started by the platform (nobody
    submitted it, so no one's policy is asked), its task in that agency's queue on its clock.
    Runs in the caller's transaction, with the request it answers."""
    version = request_version(agency, area)
    route = route_for(version.service, area, explain=False)
    application = applications.received(
        PLATFORM,
        version,
        request.case.person,
        {"request": str(request.pk), "kind": request.kind},
        Channel.ONLINE,
        area,
        route.offering,
    )
    applications.start(application, PLATFORM)
    return application


def answer_due(application: Application, business_days: int) -> datetime.date:
    """The date `business_days` after the application was received, on the receiving
    agency's calendar (the engine's clock calendar: its holidays and time zone)."""
    return clock.calendar_of(application).add(application.submitted_at, business_days)


# --- Referral steps ----------------------------------------------------------------------


def announce(referral: Referral, step: str) -> None:
    outbox.emit(
        f"org.joinedup.care.referral.{step}",
        source=SOURCE,
        subject=f"person/{referral.person_id}",
        data={
            "referral_id": str(referral.pk),
            "service_id": str(referral.service_id),
            "from_agency": referral.from_agency.key,
            "to_agency": referral.to_agency.key if referral.to_agency_id else None,
            "status": referral.status,
            "outcome": referral.outcome or None,
            "urgency": referral.urgency,
        },
    )


def apply_step(
    referral: Referral, status: str, note: str, outcome: str, by_id: int | None
) -> Referral:
    """Write one step on the (locked) referral, keep it, and announce it."""
    now = timezone.now()
    referral.status = status
    if status == Status.ACCEPTED:
        referral.accepted_at = now
    if status == Status.DECLINED:
        referral.decline_reason = note
        referral.closed_at = now
    if status == Status.CLOSED:
        referral.outcome = outcome
        referral.closed_at = now
    referral.save()
    ReferralStep.objects.create(referral=referral, status=status, by_id=by_id, note=note)
    announce(referral, status)
    return referral


def decision_for(status: str, outcome: str) -> str:
    """The decision of the engine's work item that takes this step."""
    return outcome if status == Status.CLOSED else status


@handler("care_referral_step")
def referral_step(run: Run, decision: str = "", note: str = "", **_ignored) -> dict:
    """The receiver decided a referral task: record the step on care's referral."""
    referral = (
        Referral.objects.select_for_update(of=("self",))
        .select_related("from_agency", "to_agency")
        .filter(application_id=run.application.pk)
        .first()
    )
    if referral is None:
        return {"decision": decision}
    if decision in OUTCOME_DECISIONS:
        status, outcome = Status.CLOSED, decision
    else:
        status, outcome = decision, ""
    by_id = run.context.user_id if run.context is not None else None
    apply_step(referral, status, str(note or "")[:4000], outcome, by_id)
    return {"status": status, "outcome": outcome}


@handler("care_request_handled")
def request_handled(run: Run, **_ignored) -> dict:
    """The lead agency answered the person's request, or held the due review."""
    now = timezone.now()
    PlanRequest.objects.filter(application_id=run.application.pk, handled_at__isnull=True).update(
        handled_at=now
    )
    return {"at": now.isoformat()}


# --- The work in words, in the engine's queue ---------------------------------------------


def _language() -> str:
    return (get_language() or "en").split("-")[0]


def _categories_in_words(keys: list[str]) -> str:
    language = _language()
    names = {
        c.key: c.names.get(language) or c.names.get("en") or c.key
        for c in DataCategory.objects.filter(key__in=keys)
    }
    return ", ".join(str(LABELS[k]) if k in LABELS else names.get(k, k) for k in keys)


def referral_in_words(application: Application) -> list[tuple[str, str]] | None:
    """What the receiver of a referral reads in its queue: the service, who refers, why, how
    urgent and by when — from care's referral (the form holds only its identifier)."""
    referral = (
        Referral.objects.select_related("service__organization", "from_agency")
        .filter(application_id=application.pk)
        .first()
    )
    if referral is None:
        return None
    service = referral.service
    rows = [
        (_("Service referred to"), f"{service.local_name} — {service.organization.local_name}"),
        (_("Referred by"), _name(referral.from_agency, _language())),
        (_("Urgency"), str(referral.get_urgency_display())),
        (_("Reason"), referral.reason),
        (_("Answer by"), formats.date_format(referral.due_date, "DATE_FORMAT")),
    ]
    if referral.shared_categories:
        rows.append((_("Data shared"), _categories_in_words(list(referral.shared_categories))))
    return rows


def request_in_words(application: Application) -> list[tuple[str, str]] | None:
    """A request about a plan, as the lead agency reads it: what is asked, the person's own
    words, or the review date that came."""
    request = (
        PlanRequest.objects.select_related("case").filter(application_id=application.pk).first()
    )
    if request is None:
        return None
    rows = [
        (_("Case"), request.case.reference),
        (_("What is asked for"), str(request.get_kind_display())),
    ]
    if request.due_on is not None:
        rows.append((_("Review date"), formats.date_format(request.due_on, "DATE_FORMAT")))
    if request.text:
        rows.append((_("The person's message"), request.text))
    return rows


def _close_with(outcome: Referral.Outcome):
    return lambda: _("Close: %(outcome)s") % {"outcome": outcome.label}


REFERRAL_DECISIONS = {
    Status.ACCEPTED: lambda: _("Accept the referral"),
    Status.DECLINED: lambda: _("Decline the referral (say why)"),
    Status.CONTACTED: lambda: _("Record that contact was made"),
    Status.DELIVERED: lambda: _("Record that the service was delivered"),
    **{outcome.value: _close_with(outcome) for outcome in Referral.Outcome},
}
REQUEST_DECISIONS = {
    "reviewed": lambda: _("The plan was reviewed with the person"),
    "answered": lambda: _("The request was answered"),
}

queues.register_wording(
    "referrals.", queues.Wording(answers=referral_in_words, decisions=REFERRAL_DECISIONS)
)
queues.register_wording(
    "care-reviews.", queues.Wording(answers=request_in_words, decisions=REQUEST_DECISIONS)
)
