"""Submitting applications (their timeline, which every later step writes to, is `timeline`).

    application, created = submit_application(context, "ca.birth-certificate", data,
                                              channel="online", idempotency_key=key)

A submission is idempotent: the same key from the same submitter returns the application the
first call made (whatever the retries, timeouts and double clicks), and the same key with
different answers is refused rather than silently ignored. The competent agency is found by
routing the service to the applicant's place; the clock starts; the application's process
starts; and `org.joinedup.application.submitted` is written to the outbox in the same
transaction, so the application and its announcement exist together or not at all.

A single application starts its process in the request: the caller wants its first task
(pay the fee, send a document) in the answer, and one process start is a small part of the
request. A life-event bundle is only accepted in the request; each leg's application is
made later by the task workers with `received` and `start` (see the bundles app).
"""

from __future__ import annotations

import datetime
import hashlib
import json
import secrets
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from joinedup import kept, prepared
from joinedup.federation.models import Agency, Channel, Jurisdiction, Offering, Program, Service
from joinedup.federation.routing import RoutingError, route_for
from joinedup.identity import policy
from joinedup.identity.acting import ActingContext, subject_of
from joinedup.identity.models import Business, Person, User
from joinedup.sharing import outbox

from . import clock, formdefs, timeline
from .models import AgencyBackend, Application, ApplicationStatus, ServiceVersion
from .timeline import STATUS_EVENTS, record_status  # noqa: F401 (STATUS_EVENTS: read here too)
from .workflows import engine


class SubmissionError(Exception):
    """The submission cannot be accepted. `code` is for machines; `message` for people."""

    def __init__(self, code: str, message: str, errors: list[formdefs.FieldError] | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.errors = errors or []


#: Columns of a version a submission never reads: the BPMN text and the parsed definition
#: (restored once per process by `engine.spec_for`, which loads them when it must).
UNREAD_VERSION_FIELDS = ("bpmn", "spec")


def current_version(service: Service) -> ServiceVersion | None:
    """The version new applications use: the highest active one."""
    return (
        ServiceVersion.objects.filter(service=service, active=True)
        .defer(*UNREAD_VERSION_FIELDS)
        .order_by("-number")
        .first()
    )


#: A service's current version (with the service) by its key, and the offering a service
#: is routed to at a place (with its agency, the agency's jurisdiction and back-end), kept
#: per process (`joinedup.kept`): every submission of a service asks for the same rows,
#: which change a few times a year. A save of any of these models in this process forgets
#: them at once; other processes see a change within `kept.SECONDS`. Shared: read only.
VERSIONS = kept.Kept("delivery.current_versions", (Service, ServiceVersion))
ROUTES = kept.Kept(
    "delivery.routes", (Offering, Agency, Jurisdiction, Program, Service, AgencyBackend)
)


def _service_and_version(service_key: str) -> tuple[Service | None, ServiceVersion | None]:
    """The service and its current version, kept per process (`VERSIONS`)."""
    return VERSIONS.get(service_key, lambda: _read_service_and_version(service_key))


def _read_service_and_version(
    service_key: str,
) -> tuple[Service | None, ServiceVersion | None]:
    """The service and its current version in one query (two when it has none)."""
    version = (
        ServiceVersion.objects.filter(service__key=service_key, active=True)
        .select_related("service")
        .defer(*UNREAD_VERSION_FIELDS)
        .order_by("-number")
        .first()
    )
    if version is not None:
        return version.service, version
    return Service.objects.filter(key=service_key).first(), None


def fingerprint(
    service_key: str,
    data: dict,
    place: str | None,
    applicant_id: int | None = None,
    actor: str = "",
) -> str:
    """What makes two submissions 'the same': the service, the answers, the place, whom the
    application is for and who sends it. Someone acting for two people who reuses a key with
    the same answers must never get the first person's application back."""
    canonical = json.dumps(
        {
            "service": service_key,
            "data": data,
            "place": place or "",
            "applicant": applicant_id,
            "actor": actor,
        },
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def idempotency_scope(context: ActingContext, applicant_id: int | None = None) -> str:
    """Keys are unique per submitter (an account or an agency's API client) and, when the
    submitter acts for someone else, per person acted for: a key reused for another person
    is a new submission for that person, not a replay of the first one."""
    if context.api_client_id is not None:
        scope = f"client:{context.api_client_id}"
    else:
        scope = f"user:{context.user_id}"
    subject = applicant_id if applicant_id is not None else context.subject_id
    if subject is not None and subject != context.person_id:
        scope += f":for:{subject}"
    return scope


def new_reference(prefix: str = "A") -> str:
    """A short reference a person can read out on the phone (no 0/O, 1/I confusion); the
    prefix says what it names (A- an application, B- a life-event bundle)."""
    alphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
    return f"{prefix}-" + "".join(secrets.choice(alphabet) for _ in range(8))


def place_in_answers(
    version: ServiceVersion, data: dict, place_code: str | None = None
) -> Jurisdiction | None:
    """Where the application goes, when it is said: `place_code`, else the answer to the
    version's place field (a municipality the form asks for); None when neither says.
    Raises SubmissionError for a code that names no jurisdiction."""
    code = place_code
    if not code and version.place_field:
        value = formdefs.lookup(data, version.place_field)
        code = value if isinstance(value, str) else None
    if not code:
        return None
    place = Jurisdiction.objects.filter(code=code.upper()).first()
    if place is None:
        raise SubmissionError(
            "unknown_place",
            _("There is no jurisdiction with the code “%(code)s”.") % {"code": code},
        )
    return place


def _place_of(
    version: ServiceVersion, applicant: Person, data: dict, place_code: str | None
) -> Jurisdiction:
    place = place_in_answers(version, data, place_code)
    if place is not None:
        return place
    address = applicant.current_address()
    if address is None or address.jurisdiction_id is None:
        raise SubmissionError(
            "no_place",
            _(
                "We need to know where you live to send your application to the right agency. "
                "Add your address to your account first."
            ),
        )
    return address.jurisdiction


def _applicant_for(context: ActingContext, applicant: Person | None) -> Person:
    if applicant is not None:
        if context.role is not None and context.person_id != applicant.pk:
            # Staff applying for someone at a counter or on the phone must be able to serve them.
            policy.require(context, "person.view", applicant)
        elif context.subject_id != applicant.pk:
            raise SubmissionError("not_yours", _("You may not apply for this person."))
        return applicant
    # The person read with the token or the session's account when they act for themself.
    person = subject_of(context) if context.subject_id is not None else None
    if person is None:
        raise SubmissionError("no_applicant", _("Only a person can apply for a service."))
    return person


def submit_application(
    context: ActingContext,
    service_key: str,
    data: dict[str, Any],
    channel: str = Channel.ONLINE,
    idempotency_key: str = "",
    *,
    place_code: str | None = None,
    applicant: Person | None = None,
    version: ServiceVersion | None = None,
    place: Jurisdiction | None = None,
) -> tuple[Application, bool]:
    """Receive an application (see the module's description). Returns (application, created).

    `place`: where the application is routed, when the caller has already worked it out as
    this function would (a bundle's leg, from its preview); else from `place_code`, the
    version's place field or the applicant's address.

    Raises SubmissionError (bad answers, nowhere to route, key reused with other answers) and
    PolicyDenied (not allowed to apply).
    """
    if version is None:
        service, version = _service_and_version(service_key)
    elif version.service.key == service_key:
        service = version.service
    else:
        service = Service.objects.filter(key=service_key).first()
    if service is None:
        raise SubmissionError(
            "unknown_service",
            _("There is no service with the catalogue key “%(key)s”.") % {"key": service_key},
        )
    if channel not in Channel.values:
        raise SubmissionError(
            "unknown_channel", _("Unknown channel: %(channel)s.") % {"channel": channel}
        )
    if context.role is None or applicant is None:
        policy.require(context, "service.apply", service)
    if not isinstance(data, dict):
        raise SubmissionError("invalid", _("The answers must be a JSON object."))
    idempotency_key = (idempotency_key or "").strip()
    if len(idempotency_key) > 200:
        raise SubmissionError("invalid_key", _("An idempotency key has at most 200 characters."))
    applicant_id = applicant.pk if applicant is not None else context.subject_id
    scope = idempotency_scope(context, applicant_id)
    print_ = fingerprint(service_key, data, place_code, applicant_id, scope)
    if idempotency_key:
        existing = existing_submission(scope, idempotency_key, print_)
        if existing is not None:
            return existing, False

    if version is None:
        raise SubmissionError(
            "not_available", _("This service does not take applications online yet.")
        )
    person = _applicant_for(context, applicant)
    cleaned, errors = formdefs.validate(version.form, data)
    if errors:
        raise SubmissionError("invalid", _("Some answers need correcting."), errors)
    if place is None:
        place = _place_of(version, person, cleaned, place_code)
    try:
        # The agency's back-end with it: starting the process opens its first work item there.
        offering = ROUTES.get(
            (service.pk, place.pk),
            lambda: route_for(service, place, explain=False, related=("agency__backend",)).offering,
        )
    except RoutingError as error:
        raise SubmissionError(error.reason, error.message) from None
    application = received(
        context,
        version,
        person,
        cleaned,
        channel,
        place,
        offering,
        scope=scope if idempotency_key else "",
        key=idempotency_key,
        print_=print_,
    )
    try:
        # A savepoint only where a lost race must be answered inside the caller's transaction.
        with transaction.atomic(savepoint=bool(idempotency_key)):
            start(application, context)
    except IntegrityError:
        if not idempotency_key:
            raise
        # Another request with the same key won the race: answer with its application.
        existing = existing_submission(scope, idempotency_key, print_)
        if existing is None:
            raise
        return existing, False
    return application, True


def received(
    context: ActingContext,
    version: ServiceVersion,
    applicant: Person | None,
    data: dict[str, Any],
    channel: str,
    place: Jurisdiction,
    offering: Offering,
    *,
    applicant_agency: Agency | None = None,
    applicant_business: Business | None = None,
    submitted_at: datetime.datetime | None = None,
    language: str | None = None,
    scope: str = "",
    key: str = "",
    print_: str = "",
) -> Application:
    """An application as received, not saved yet: its agency, fee and clock set from the
    offering routing chose. A bundle's leg uses it twice: when the bundle is accepted, for
    the due date it promises; and when its worker starts it, with the same time received,
    so that the application keeps that promise.

    The applicant is one party: a person (`applicant`), or else a business or an agency (a
    shared service's request, received by the back office on an agency's behalf)."""
    service = version.service
    offering.service = service  # its standard and fee fall back to the service's
    application = Application(
        reference=new_reference(),
        service=service,
        version=version,
        applicant=applicant,
        applicant_agency=applicant_agency if applicant is None else None,
        applicant_business=applicant_business if applicant is None else None,
        acting_person_id=(
            context.person_id if applicant is None or context.person_id != applicant.pk else None
        ),
        submitted_by_id=context.user_id,
        channel=channel,
        language=language or (get_language() or "en").split("-")[0],
        data=data,
        place=place,
        agency=offering.agency,
        offering=offering,
        status=ApplicationStatus.SUBMITTED,
        submitted_at=submitted_at or timezone.now(),
        fee_amount=offering.effective_fee,
        fee_currency=service.fee_currency,
        idempotency_scope=scope,
        idempotency_key=key,
        fingerprint=print_,
    )
    clock.start(application)
    return application


def start(application: Application, context: ActingContext) -> Application:
    """Save a received application, open its timeline and start its process, in the
    caller's transaction (`submit_application` in the request; a bundle's leg in the task
    worker, after its answers were checked when the bundle was accepted)."""
    with transaction.atomic(savepoint=False), outbox.batch(), timeline.batch():
        # The row is inserted once, with its first step (the timeline and events in bulk).
        record_status(application, ApplicationStatus.SUBMITTED, context, "", save=False, first=True)
        engine.start(application, context=None, saved=False)
    return application


#: `existing_submission`'s statement, compiled once per database (`joinedup.prepared`).
_SUBMITTED_UNDER = prepared.Instances(
    "delivery.submitted_under",
    lambda a: Application.objects.filter(
        idempotency_scope=a.text("scope"), idempotency_key=a.text("key")
    ).order_by("pk")[:1],
)


def existing_submission(scope: str, key: str, print_: str) -> Application | None:
    """The application already received under this idempotency key and scope (a replay), or
    None; SubmissionError when the key was used for a different submission."""
    found = _SUBMITTED_UNDER.all(scope=scope, key=key)
    existing = found[0] if found else None
    if existing is not None and existing.fingerprint != print_:
        raise SubmissionError(
            "idempotency_conflict",
            _(
                "This idempotency key was already used for a different submission. Use a new "
                "key for a new application."
            ),
        )
    return existing


def visible_to(context: ActingContext):
    """The applications a person may list as theirs: their own and those they applied for."""
    qs = Application.objects.select_related("service", "agency").defer("process_state")
    if context.subject_id is None:
        return qs.none()
    return qs.filter(applicant_id=context.subject_id)


def submitter_user(application: Application) -> User | None:
    return application.submitted_by
