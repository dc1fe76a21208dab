"""The counter: find or register a person, verify their identity in person, start services
and bundles on their behalf (assisted digital), issue or print documents, take a payment.

Every act happens inside a visit (an `Interaction` of channel `counter`) and is counted in it.
A service of another agency is served only under a joint-delivery agreement (colocation).
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Prefetch
from django.utils.translation import gettext as _

from joinedup.bundles import journey
from joinedup.bundles.models import Bundle, BundleDraft, BundleLeg, BundleSubmission
from joinedup.bundles.submission import submit_bundle
from joinedup.delivery import documents
from joinedup.delivery.applications import submit_application
from joinedup.delivery.models import Application, Document, Payment
from joinedup.delivery.payments import flows
from joinedup.delivery.payments import registry as payment_registry
from joinedup.federation.models import Channel, Service
from joinedup.identity import assurance, client_registry, policy
from joinedup.identity.acting import ActingContext
from joinedup.identity.models import AssuranceLevel, IdentityProofing, Person, User
from joinedup.sharing.gate import Disclosure, disclose

from . import colocation, interactions
from .interactions import InteractionError
from .models import Interaction

PURPOSE = "counter-service"
#: What the agent sees of the person at the counter (through the gate, logged).
SHOWN = ["identity", "birth_date", "address", "contact"]


def find_person(context: ActingContext, kind: str, value: str) -> Person | None:
    policy.require(context, "person.find")
    return client_registry.find_by_identifier(kind, value)


def register(
    context: ActingContext,
    *,
    given_names: str,
    family_name: str,
    birth_date: datetime.date,
    address: client_registry.AddressInput | None = None,
    contacts: Iterable[tuple[str, str]] = (),
) -> Person:
    """Register someone the registry does not know yet (self-asserted until verified)."""
    policy.require(context, "channels.counter")
    return client_registry.register_person(
        given_names=given_names,
        family_name=family_name,
        birth_date=birth_date,
        address=address,
        contacts=list(contacts),
    )


def start_visit(context: ActingContext, person: Person, topic: str = "") -> Interaction:
    policy.require(context, "channels.counter")
    policy.require(context, "person.view", person)
    return interactions.start(context, Interaction.Channel.COUNTER, person=person, topic=topic)


def person_view(context: ActingContext, visit: Interaction) -> Disclosure:
    """What the agent may see of the person: only through the data gate, which logs it."""
    return disclose(context, visit.person, SHOWN, PURPOSE)


def verify_in_person(
    context: ActingContext, visit: Interaction, evidence: Iterable[str]
) -> IdentityProofing:
    """Record documents seen at this office: level 3, reused by every agency's services."""
    interactions.require_open(visit)
    policy.require(context, "proofing.record", visit.person)
    evidence = [item.strip() for item in evidence if item and item.strip()]
    if not evidence:
        raise ValidationError(_("Name the identity documents you saw."), code="evidence")
    if visit.office is None:
        raise ValidationError(_("Identity is verified in person at an office."), code="office")
    return assurance.record_proofing(
        visit.person,
        level=AssuranceLevel.IN_PERSON,
        method=IdentityProofing.Method.IN_PERSON,
        evidence=evidence,
        verified_by=User.objects.get(pk=context.user_id),
        office=visit.office,
        agency=visit.office.agency,
    )


def assisted_context(context: ActingContext, person: Person) -> ActingContext:
    """The context of an agent applying with the person at the counter (assisted digital):
    the agent stays the actor (account, agency, role, channel) and the person, present and
    known to the agent, is the applicant at their own level of assurance."""
    return dataclasses.replace(
        context,
        person_id=person.pk,
        subject_id=person.pk,
        mandate_id=None,
        mandate_scopes=(),
        assurance=assurance.level_of(person),
        channel=Channel.COUNTER,
    )


def _require_level(person: Person, service: Service) -> None:
    if assurance.level_of(person) < service.required_assurance:
        raise InteractionError(
            "step_up",
            _(
                "“%(service)s” needs the person's identity verified at level %(level)s: "
                "verify it first."
            )
            % {"service": service.name, "level": service.required_assurance},
        )


def start_service(
    context: ActingContext,
    visit: Interaction,
    service_key: str,
    data: dict[str, Any],
    idempotency_key: str = "",
) -> Application:
    """Apply for a service on the person's behalf; another agency's only under joint delivery.
    Raises SubmissionError, PolicyDenied, NotCoLocated or InteractionError."""
    interactions.require_open(visit)
    policy.require(context, "channels.counter")
    service = Service.objects.filter(key=service_key).first()
    if service is not None:
        _require_level(visit.person, service)
    try:
        with transaction.atomic():
            application, _created = submit_application(
                context,
                service_key,
                data,
                Channel.COUNTER,
                idempotency_key,
                applicant=visit.person,
            )
            agreement = colocation.authorise_within(context, application, visit.person)
            interactions.touch(visit, application)
            if agreement is not None:
                interactions.served_for(visit, application.agency.key)
    except colocation.NotCoLocated as refusal:
        colocation.record_refusal_for(context, refusal, visit.person)
        raise
    return application


def submit_bundle_for(
    context: ActingContext,
    visit: Interaction,
    bundle_key: str,
    answers: Mapping[str, Any],
    consents: Iterable[str],
    dropped_legs: Iterable[str] = (),
    *,
    screening: Mapping[str, Any] | None = None,
    idempotency_key: str = "",
) -> BundleSubmission:
    """Submit a life event for the person at the counter. Every leg delivered by another
    agency needs joint delivery; if one does not have it, nothing is submitted. The legs'
    applications, made by the task workers, are recorded on the visit (`touch_visit`)."""
    interactions.require_open(visit)
    policy.require(context, "channels.counter")
    policy.require(context, "person.view", visit.person)
    assisted = assisted_context(context, visit.person)
    try:
        with transaction.atomic():
            submission, _created = submit_bundle(
                assisted,
                bundle_key,
                answers,
                consents,
                dropped_legs,
                idempotency_key,
                screening=screening,
                channel=Channel.COUNTER,
                origin=VISIT_ORIGIN + str(visit.pk),
            )
            for leg in submission.legs.select_related("agency", "service"):
                # A leg names its service and agency as its application will.
                agreement = colocation.authorise_within(context, leg, visit.person)
                if agreement is not None:
                    interactions.served_for(visit, leg.agency.key)
    except colocation.NotCoLocated as refusal:
        colocation.record_refusal_for(context, refusal, visit.person)
        raise
    return submission


VISIT_ORIGIN = "visit:"


def touch_visit(leg: BundleLeg, application: Application) -> None:
    """When a leg submitted at the counter starts (in the task worker), its application is
    recorded on the visit, as an application submitted there at once is."""
    origin = leg.submission.origin
    if origin.startswith(VISIT_ORIGIN):
        visit = Interaction.objects.filter(pk=origin.removeprefix(VISIT_ORIGIN)).first()
        if visit is not None:
            interactions.touch(visit, application)


def start_bundle_draft(context: ActingContext, visit: Interaction, bundle: Bundle) -> BundleDraft:
    """Start (or resume) the guided life event for the person at the counter: the portal's
    own journey, kept in a draft of the agent's for this person, prefilled from what the
    registry knows."""
    interactions.require_open(visit)
    policy.require(context, "channels.counter")
    policy.require(context, "person.view", visit.person)
    return journey.start(assisted_context(context, visit.person), bundle)


def submit_draft_for(
    context: ActingContext, visit: Interaction, draft: BundleDraft, consents: Iterable[str]
) -> BundleSubmission:
    """Submit the guided life event with the consents the person gave in person (read out
    to them, one per leg: recorded with the method `counter` and the agent as recorder);
    the visit records every leg's application. Idempotent: the draft's id is the key."""
    assisted = assisted_context(context, visit.person)
    consents = [key for key in consents if isinstance(key, str)]
    draft.consents = consents
    draft.save(update_fields=["consents", "updated_at"])
    answers, dropped = journey.to_submit(assisted, draft)
    made = submit_bundle_for(
        context,
        visit,
        draft.bundle.key,
        answers,
        consents,
        dropped,
        screening=draft.screening,
        idempotency_key=f"draft:{draft.pk}",
    )
    draft.submitted = made
    draft.save(update_fields=["submitted", "updated_at"])
    return made


def applications_of(visit: Interaction) -> list[Application]:
    """The person's latest applications, each with what `issuable` needs (its version's
    documents, the documents already issued) read with the list, not once per row."""
    return list(
        Application.objects.filter(applicant=visit.person)
        .select_related("service", "agency", "version")
        .defer("data", "process_state", "version__form", "version__bpmn", "version__spec")
        .prefetch_related(
            Prefetch("documents", queryset=Document.objects.only("id", "application", "template"))
        )
        .order_by("-submitted_at")[:50]
    )


def legs_on_their_way(visit: Interaction) -> str:
    """How soon the visit page should look again for the applications of a life event
    submitted at this visit whose legs the task workers have not started yet: "3s" while a
    leg is just received, "20s" while the only ones left are held up (retried later), ""
    once every leg has its application (and its fee to take, if any). The page refreshes
    itself meanwhile, as the person's own status page does."""
    waiting = set(
        BundleLeg.objects.filter(
            submission__origin=VISIT_ORIGIN + str(visit.pk), application__isnull=True
        ).values_list("state", flat=True)
    )
    if BundleLeg.State.RECEIVED in waiting:
        return "3s"
    return "20s" if waiting else ""


def documents_of(visit: Interaction) -> list[Document]:
    return list(
        Document.objects.filter(person=visit.person)
        .select_related("issuer", "application__service")
        .order_by("-issued_at")[:50]
    )


def issuable(application: Application) -> list[str]:
    """Templates of the application's version not issued yet (once it is approved)."""
    if application.status != "approved":
        return []
    done = {document.template for document in application.documents.all()}
    return [key for key in (application.version.documents or {}) if key not in done]


def _applicants_application(visit: Interaction, application_id: Any) -> Application:
    application = (
        Application.objects.select_related("service", "agency", "version")
        .filter(pk=application_id, applicant=visit.person)
        .first()
    )
    if application is None:
        raise InteractionError("not_found", _("This person has no such application."))
    return application


def issue_document(
    context: ActingContext, visit: Interaction, application_id: Any, template: str
) -> Document:
    """Issue (sign) a document of an approved application at the counter."""
    interactions.require_open(visit)
    policy.require(context, "channels.counter")
    application = _applicants_application(visit, application_id)
    if template not in issuable(application):
        raise InteractionError(
            "not_issuable", _("This document cannot be issued for this application now.")
        )
    try:
        with transaction.atomic():
            agreement = colocation.authorise_within(context, application, visit.person)
            document = documents.issue(application, template)
            interactions.touch(visit, application)
            if agreement is not None:
                interactions.served_for(visit, application.agency.key)
    except colocation.NotCoLocated as refusal:
        colocation.record_refusal_for(context, refusal, visit.person)
        raise
    return document


def print_document(context: ActingContext, visit: Interaction, document_id: Any) -> Document:
    """A document of the person to print (the PDF); another agency's under joint delivery."""
    policy.require(context, "channels.counter")
    document = (
        Document.objects.select_related("application__service", "application__agency")
        .filter(pk=document_id, person=visit.person)
        .first()
    )
    if document is None:
        raise InteractionError("not_found", _("This person has no such document."))
    if document.application is None:
        if document.issuer.key != context.agency_key:
            raise InteractionError("not_found", _("This person has no such document."))
        return document
    colocation.authorise(
        context, document.application.service, document.application.agency, visit.person
    )
    return document


def take_payment(
    context: ActingContext, visit: Interaction, application_id: Any, card_number: str
) -> Payment:
    """Take the fee at the counter's card terminal (the active payment provider)."""
    interactions.require_open(visit)
    policy.require(context, "channels.counter")
    application = _applicants_application(visit, application_id)
    if not application.fee_amount:
        raise InteractionError("no_fee", _("This application has no fee to pay."))
    with transaction.atomic():
        colocation.authorise_within(context, application, visit.person)
        payment = application.payments.filter(status=Payment.Status.PENDING).order_by(
            "-pk"
        ).first() or flows.request(application)
        interactions.touch(visit, application)
    provider = payment_registry.get(payment.provider)
    terminal = getattr(provider, "pay", None)
    if terminal is None:
        raise InteractionError(
            "no_terminal", _("This payment provider takes payments on its own checkout page.")
        )
    intent = terminal(payment.intent_id, card_number)
    if getattr(intent, "status", "") != "succeeded":
        raise InteractionError("declined", _("The card was declined: try another card."))
    # The card was present and the terminal said yes: apply the provider's confirmation now
    # (its own webhook, arriving later, is then a duplicate and changes nothing).
    body, headers = provider.webhook(intent, "payment.succeeded")
    flows.handle_webhook(provider.key, body, headers)
    payment.refresh_from_db()
    return payment
