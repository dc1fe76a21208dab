"""The bundles part of the API: life events and their legs, bundle submissions (idempotent,
with the `Idempotency-Key` header), a submission's status leg by leg, and the signed-in
person's offers. Endpoints call the bundles modules; their errors become JSON 4xx answers.
"""

from __future__ import annotations

import datetime
import json
import uuid
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status
from ninja.pagination import paginate

from joinedup.apicontract import Pages
from joinedup.apicontract import Refusal as ErrorOut
from joinedup.delivery import clock
from joinedup.federation.localization import pick
from joinedup.federation.models import Service
from joinedup.identity import policy
from joinedup.identity.acting import ActingContext
from joinedup.identity.api_auth import api_auth

from . import definitions, offers, portal, submission
from .models import Bundle, BundleLeg, BundleSubmission, Offer

router = Router(tags=["bundles"])


class LegOut(Schema):
    key: str
    service: str
    service_name: str
    when: str | None = Field(None, description="The condition that includes the leg")
    required: bool
    why: str
    consent: str = Field(description="The consent text the person agrees to for this leg")
    consent_purposes: list[str]
    consent_categories: list[str]


class BundleOut(Schema):
    key: str
    name: str
    names: dict[str, str]
    description: str
    life_situation: str
    illustrative: bool
    legs: list[LegOut]


class BundleDetailOut(BundleOut):
    screening: dict[str, Any] = Field(description="The screening questions (form definition)")
    form: dict[str, Any] = Field(description="The unified form (form definition)")
    prefill: dict[str, str] = Field(description="Unified fields prefilled from what is held")


class BundleList(Schema):
    items: list[BundleOut]
    count: int


class SubmissionIn(Schema):
    screening: dict[str, Any] = Field(default_factory=dict, description="Screening answers")
    answers: dict[str, Any] = Field(
        default_factory=dict, description="Unified form answers (prefilled ones may be left out)"
    )
    consents: list[str] = Field(
        default_factory=list, description="The legs the person consents to, by key"
    )
    dropped_legs: list[str] = Field(default_factory=list, description="Legs left out, by key")


class LegStatusOut(Schema):
    leg: str
    service: str
    service_name: str
    agency: str
    agency_name: str
    jurisdiction: str | None
    application: uuid.UUID | None
    reference: str
    status: str
    status_label: str
    due_date: datetime.date | None
    clock: str
    consent: uuid.UUID | None
    elsewhere: bool = Field(
        False, description="Sent to another government's system (a node of the exchange)"
    )
    elsewhere_name: str = Field("", description="The name of that system, when elsewhere")


class SubmissionOut(Schema):
    id: uuid.UUID
    reference: str
    bundle: str
    person: int
    submitted_at: datetime.datetime
    status: str
    status_label: str
    due_date: datetime.date | None = Field(None, description="When the last open leg is due")
    dropped_legs: list[str]
    legs: list[LegStatusOut]


class OfferOut(Schema):
    id: uuid.UUID
    service: str
    service_name: str
    bundle: str
    leg: str
    trigger: str
    reason: str
    status: str
    created_at: datetime.datetime
    application: uuid.UUID | None = None


class OfferList(Schema):
    items: list[OfferOut]
    count: int


class AcceptIn(Schema):
    answers: dict[str, Any] = Field(default_factory=dict, description="Answers still missing")
    consent: bool = Field(False, description="The person consents to send the data shown")


class AcceptOut(Schema):
    offer: OfferOut
    application: uuid.UUID
    reference: str


def _json(body: dict, status: int) -> HttpResponse:
    return HttpResponse(
        json.dumps(body, ensure_ascii=False), status=status, content_type="application/json"
    )


STATUS_OF_CODE = {
    "unknown_bundle": 404,
    "idempotency_conflict": 409,
    "offer_closed": 409,
    "not_yours": 403,
}


def _error(error: submission.BundleError) -> HttpResponse:
    return _json(
        {"detail": error.message, "code": error.code, "errors": error.errors or None},
        STATUS_OF_CODE.get(error.code, 422),
    )


def leg_out(leg: dict, services: dict | None = None) -> LegOut:
    """`services`: the legs' services by key, when the caller read them for several legs."""
    if services is None:
        services = services_of([leg])
    service = services.get(leg["service"])
    return LegOut(
        key=leg["key"],
        service=leg["service"],
        service_name=service.name if service else leg["service"],
        when=leg.get("when"),
        required=bool(leg.get("required")),
        why=pick(leg.get("why") or {}),
        consent=pick(leg["consent"]["text"]),
        consent_purposes=leg["consent"]["purposes"],
        consent_categories=leg["consent"]["categories"],
    )


def services_of(legs: list[dict]) -> dict:
    """The services of bundles' legs by key, in one query."""
    return Service.objects.in_bulk({leg["service"] for leg in legs}, field_name="key")


def bundle_out(bundle: Bundle, detail: bool = False, services: dict | None = None):
    services = services_of(bundle.legs) if services is None else services
    values = {
        "key": bundle.key,
        "name": bundle.name,
        "names": bundle.names,
        "description": bundle.description,
        "life_situation": bundle.life_situation,
        "illustrative": bundle.illustrative,
        "legs": [leg_out(leg, services) for leg in bundle.legs],
    }
    if not detail:
        return BundleOut(**values)
    return BundleDetailOut(
        **values,
        screening=bundle.definition["screening"],
        form=bundle.definition["form"],
        prefill=bundle.definition.get("prefill") or {},
    )


def submission_out(found: BundleSubmission, legs: list | None = None) -> SubmissionOut:
    """`legs`: the submission's legs, when the caller read them with others'.

    Built without validation (`model_construct`): every value is made here with the type its
    field declares, and validating them again through ninja's getters cost a tenth of a
    bundle's acceptance. tests/bundles/test_api.py checks the answer is the one validation
    gives."""
    legs = submission.legs_of(found) if legs is None else legs
    code, label = submission.status_of(legs)
    return SubmissionOut.model_construct(
        id=found.pk,
        reference=found.reference,
        bundle=found.bundle.key,
        person=found.subject_id,
        submitted_at=found.submitted_at,
        status=str(code),
        status_label=str(label),
        due_date=submission.due_date_of(legs),
        dropped_legs=list(found.dropped),
        legs=[_leg_status_out(leg) for leg in legs],
    )


def _leg_status_out(leg: BundleLeg) -> LegStatusOut:
    started = leg.application_id is not None
    return LegStatusOut.model_construct(
        leg=leg.key,
        service=leg.service.key,
        service_name=str(leg.service.name),
        agency=leg.agency.key,
        agency_name=str(leg.agency.name),
        jurisdiction=leg.agency.jurisdiction.code if leg.agency.jurisdiction_id else None,
        application=leg.application_id,
        reference=leg.application.reference if started else leg.elsewhere_reference,
        status=str(leg.status),
        status_label=leg.status_label,
        due_date=leg.current_due_date,
        clock=str(clock.state(leg.application).label) if started else "",
        consent=leg.consent_id,
        elsewhere=bool(leg.elsewhere),
        elsewhere_name=leg.elsewhere_name,
    )


def offer_out(offer: Offer) -> OfferOut:
    return OfferOut(
        id=offer.pk,
        service=offer.service.key,
        service_name=offer.service.name,
        bundle=offer.bundle.key,
        leg=offer.leg,
        trigger=offer.trigger,
        reason=str(offer.get_trigger_display()),
        status=offer.status,
        created_at=offer.created_at,
        application=offer.application_id,
    )


@router.get("/bundles", response=BundleList, auth=api_auth("public"))
def list_bundles(request: HttpRequest):
    """Life events a person can apply for in one go, with their legs."""
    bundles = list(definitions.active_bundles())
    services = services_of([leg for b in bundles for leg in b.legs])
    items = [bundle_out(b, services=services) for b in bundles]
    return {"items": items, "count": len(items)}


@router.get(
    "/bundles/{key}", response={200: BundleDetailOut, 404: ErrorOut}, auth=api_auth("public")
)
def get_bundle(request: HttpRequest, key: str):
    """One life event: its screening questions, unified form, legs, conditions and consents."""
    bundle = definitions.get_bundle(key)
    if bundle is None:
        return _json({"detail": _("There is no life event called “%(key)s”.") % {"key": key}}, 404)
    return bundle_out(bundle, detail=True)


@router.post(
    "/bundles/{key}/submissions",
    response={201: SubmissionOut, 200: SubmissionOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut},
    auth=api_auth("bundles.apply"),
)
def submit(request: HttpRequest, key: str, payload: SubmissionIn):
    """Submit a bundle: accepted at once, all or nothing, each leg kept "received" with its
    due date; each leg's application is then made in its competent agency by the task
    workers (follow it with GET /submissions/{id}). Send an `Idempotency-Key` header: the
    same key and answers return the first submission (200) instead of making a second one
    (201)."""
    context: ActingContext = request.auth
    try:
        made, created = submission.submit_bundle(
            context,
            key,
            payload.answers,
            payload.consents,
            payload.dropped_legs,
            request.headers.get("Idempotency-Key", ""),
            screening=payload.screening,
        )
    except submission.BundleError as error:
        return _error(error)
    if created:
        # Answered from the rows just written, not read back.
        return Status(201, submission_out(made, made.accepted_legs))
    return Status(200, submission_out(portal.load_submission(made.pk)))


class FloorOut(Schema):
    id: uuid.UUID
    reference: str


if settings.BENCH_FLOOR:
    # Only in the benchmark's server: authentication plus the acceptance's inserts alone.

    @router.post(
        "/bundles/{key}/floor",
        response={201: FloorOut, 404: ErrorOut, 422: ErrorOut},
        auth=api_auth("bundles.apply"),
        include_in_schema=False,
    )
    def floor(request: HttpRequest, key: str, payload: SubmissionIn):
        """The benchmark's floor (see `submission.write_floor`)."""
        try:
            made = submission.write_floor(
                request.auth,
                key,
                payload.answers,
                payload.consents,
                payload.dropped_legs,
                payload.screening or {},
            )
        except submission.BundleError as error:
            return _error(error)
        return Status(201, FloorOut(id=made.pk, reference=made.reference))


@router.get(
    "/submissions/{submission_id}",
    response={200: SubmissionOut, 404: ErrorOut},
    auth=api_auth("bundles.view"),
)
def get_submission(request: HttpRequest, submission_id: uuid.UUID):
    """One bundle submission: the bundle's status and due date, and each leg's."""
    found = portal.load_submission(submission_id)
    policy.require(request.auth, "bundles.view", found)
    return submission_out(found)


@router.get("/me/bundles", response=list[SubmissionOut], auth=api_auth("bundles.view"))
@paginate(Pages)
def my_bundles(request: HttpRequest):
    """The bundles submitted for the person the caller acts for (paged like every list; a
    person has few, so they are read whole, their legs in one query)."""
    found = list(portal.submissions_for(request.auth))
    legs = submission.legs_of_each(found)
    return [submission_out(s, legs[s.pk]) for s in found]


@router.get("/me/offers", response=OfferList, auth=api_auth("bundles.view"))
def my_offers(request: HttpRequest, status: str | None = None):
    """Services offered to the person because of an event (open ones unless `status` says)."""
    items = [offer_out(o) for o in portal.offers_for(request.auth, status=status or "open")]
    return {"items": items, "count": len(items)}


def _offer(context: ActingContext, offer_id: uuid.UUID) -> Offer:
    offer = get_object_or_404(
        Offer.objects.select_related("service", "bundle", "person"), pk=offer_id
    )
    policy.require(context, "bundles.view", offer)
    return offer


@router.post(
    "/me/offers/{offer_id}/accept",
    response={
        200: AcceptOut,
        201: AcceptOut,
        403: ErrorOut,
        404: ErrorOut,
        409: ErrorOut,
        422: ErrorOut,
    },
    auth=api_auth("bundles.apply"),
)
def accept(request: HttpRequest, offer_id: uuid.UUID, payload: AcceptIn):
    """Accept an offer in one step: the answers still missing, and the consent."""
    offer = _offer(request.auth, offer_id)
    try:
        application, created = offers.accept_offer(
            request.auth, offer, payload.answers, consent=payload.consent
        )
    except submission.BundleError as error:
        return _error(error)
    offer.refresh_from_db()
    return Status(
        201 if created else 200,
        AcceptOut(
            offer=offer_out(offer), application=application.pk, reference=application.reference
        ),
    )


@router.post(
    "/me/offers/{offer_id}/decline",
    response={200: OfferOut, 404: ErrorOut},
    auth=api_auth("bundles.apply"),
)
def decline(request: HttpRequest, offer_id: uuid.UUID):
    """No thanks: the offer is closed and nothing is sent."""
    offer = _offer(request.auth, offer_id)
    return offer_out(offers.decline_offer(request.auth, offer))
