"""The engagement part of the public API: consultations and their results (public), taking
part (signed in, with the same rules and limits as the pages), and complaints.

Errors are `{"detail": ..., "code": ...}` with a 4xx status: 403 not invited, 409 the phase
is closed or the support was already given, 429 the contribution limit, 422 bad input.
"""

from __future__ import annotations

from datetime import date, datetime

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status
from ninja.pagination import paginate

from joinedup.apicontract import Pages
from joinedup.apicontract import Refusal as ErrorOut
from joinedup.bundles.models import BundleSubmission
from joinedup.care.models import IntegratedCase
from joinedup.channels.models import Interaction
from joinedup.delivery.models import Application
from joinedup.federation.models import Service
from joinedup.identity import policy
from joinedup.identity.acting import ActingContext
from joinedup.identity.api_auth import api_auth
from joinedup.identity.models import Person

from . import complaints, participation, results
from .complaints import ComplaintError
from .models import Complaint, Consultation, Proposal, Visibility
from .participation import ParticipationError

router = Router(tags=["engagement"])


class PhaseOut(Schema):
    kind: str
    starts_on: date
    ends_on: date


class ConsultationOut(Schema):
    key: str
    title: str
    question: str
    owner: str = Field(description="Key of the owner agency")
    service: str | None = Field(description="Catalogue key of the service it is about")
    bundle: str | None
    place: str | None = Field(description="Code of the place it is about")
    audiences: list[str] = Field(description="public, residents, partners, staff")
    phase: str | None = Field(description="The phase today, if any")
    phases: list[PhaseOut]


class ProposalOut(Schema):
    id: int
    kind: str
    title: str
    body: str
    organisation: str | None
    supports: int
    decision: str | None
    decision_reasons: str | None
    created_at: datetime


class ProposalIn(Schema):
    title: str = Field(max_length=200)
    body: str = Field(max_length=5000)


class SupportOut(Schema):
    proposal: int
    supports: int


class CountOut(Schema):
    label: str
    count: int


class ChartOut(Schema):
    id: str
    title: str
    rows: list[list[str | int | float | None]]


class ResultsOut(Schema):
    participants: int
    proposals: int
    comments: int
    supports: int
    decisions: dict[str, int]
    charts: list[ChartOut]


class ComplaintIn(Schema):
    text: str = Field(max_length=5000)
    kind: str = "complaint"
    service: str | None = Field(None, description="Catalogue key of the service")
    application: str | None = Field(None, description="Reference of the application")
    place: str | None = Field(None, description="Jurisdiction code; else the person's address")
    person: int | None = Field(None, description="Staff recording for a person: their number")
    submission: str | None = Field(None, description="Reference of a life-event request")
    interaction: int | None = Field(None, description="Number of a visit or call")
    case: str | None = Field(None, description="Reference of a care plan")


class PartOut(Schema):
    agency: str
    application: str = Field(description="Reference of the complaint's application")
    due_date: date | None
    tier: int
    ombudsman: str | None


class ComplaintOut(Schema):
    reference: str
    kind: str
    service: str
    state: str
    created_at: datetime
    answer: str | None
    answered_at: datetime | None
    closed_at: datetime | None
    rating: int | None
    parts: list[PartOut]


def _consultation_out(c: Consultation) -> ConsultationOut:
    phase = participation.current_phase(c)
    return ConsultationOut(
        key=c.key,
        title=c.title,
        question=c.question,
        owner=c.owner.key,
        service=c.service.key if c.service_id else None,
        bundle=c.bundle.key if c.bundle_id else None,
        place=c.place.code if c.place_id else None,
        audiences=list(c.audiences),
        phase=phase.kind if phase else None,
        phases=[
            PhaseOut(kind=p.kind, starts_on=p.starts_on, ends_on=p.ends_on) for p in c.phases.all()
        ],
    )


def _load(key: str) -> Consultation:
    return get_object_or_404(
        Consultation.objects.select_related(
            "owner", "owner__jurisdiction", "service", "bundle", "place"
        ).prefetch_related("phases"),
        key=key,
    )


@router.get(
    "/consultations",
    response=list[ConsultationOut],
    auth=api_auth("public"),
    summary="Consultations on service design",
)
@paginate(Pages)
def consultation_list(request: HttpRequest):
    return [
        _consultation_out(c)
        for c in Consultation.objects.select_related(
            "owner", "owner__jurisdiction", "service", "bundle", "place"
        )
        .prefetch_related("phases")
        .order_by("key")
    ]


@router.get("/consultations/{key}", response=ConsultationOut, auth=api_auth("public"))
def consultation_detail(request: HttpRequest, key: str):
    return _consultation_out(_load(key))


def _proposal_out(p: Proposal) -> ProposalOut:
    return ProposalOut(
        id=p.pk,
        kind=p.kind,
        title=p.title,
        body=p.body,
        organisation=p.organisation.key if p.organisation_id else None,
        supports=p.supports_count,
        decision=p.decision or None,
        decision_reasons=p.decision_reasons or None,
        created_at=p.created_at,
    )


@router.get("/consultations/{key}/proposals", response=list[ProposalOut], auth=api_auth("public"))
@paginate(Pages)
def proposal_list(request: HttpRequest, key: str):
    """Published proposals, most supported first (no authors: people are not listed)."""
    consultation = _load(key)
    return [
        _proposal_out(p)
        for p in Proposal.objects.filter(consultation=consultation, visibility=Visibility.VISIBLE)
        .select_related("organisation")
        .order_by("-supports_count", "created_at")
    ]


def _refusal(error: ParticipationError | ComplaintError, status: int | None = None):
    return Status(
        status or getattr(error, "status", 422), ErrorOut(detail=error.message, code=error.code)
    )


@router.post(
    "/consultations/{key}/proposals",
    response={201: ProposalOut, 400: ErrorOut, 403: ErrorOut, 409: ErrorOut, 429: ErrorOut},
    auth=api_auth("engagement.contribute"),
)
def propose(request: HttpRequest, key: str, payload: ProposalIn):
    """Make a proposal (a person) or a formal position (a partner organisation's staff)."""
    context: ActingContext = request.auth
    try:
        made = participation.submit_proposal(context, _load(key), payload.title, payload.body)
    except ParticipationError as error:
        return _refusal(error)
    return Status(201, _proposal_out(made))


@router.post(
    "/consultations/{key}/proposals/{proposal_id}/supports",
    response={201: SupportOut, 400: ErrorOut, 403: ErrorOut, 409: ErrorOut},
    auth=api_auth("engagement.contribute"),
)
def support(request: HttpRequest, key: str, proposal_id: int):
    """Support a proposal: once per verified person, whichever account asks."""
    proposal = get_object_or_404(
        Proposal.objects.select_related("consultation__owner"),
        pk=proposal_id,
        consultation__key=key,
    )
    try:
        participation.support(request.auth, proposal)
    except ParticipationError as error:
        return _refusal(error)
    proposal.refresh_from_db(fields=["supports_count"])
    return Status(201, SupportOut(proposal=proposal.pk, supports=proposal.supports_count))


@router.get("/consultations/{key}/results", response=ResultsOut, auth=api_auth("public"))
def consultation_results(request: HttpRequest, key: str):
    """Counts, decisions and each chart's data table."""
    found = results.results(_load(key))
    return ResultsOut(
        participants=found.participants,
        proposals=found.proposals,
        comments=found.comments,
        supports=found.supports,
        decisions=found.decided,
        charts=[ChartOut(id=c.id, title=str(c.title), rows=c.rows) for c in found.charts],
    )


def _complaint_out(c: Complaint) -> ComplaintOut:
    parts = list(c.parts.all())  # prefetched with complaints.with_parts()
    return ComplaintOut(
        reference=c.reference,
        kind=c.kind,
        service=c.service.key,
        state=complaints.state_of(c, parts),
        created_at=c.created_at,
        answer=c.answer or None,
        answered_at=c.answered_at,
        closed_at=c.closed_at,
        rating=c.rating,
        parts=[
            PartOut(
                agency=p.agency.key,
                application=p.application.reference,
                due_date=p.application.due_date,
                tier=p.tier,
                ombudsman=p.ombudsman.key if p.ombudsman_id else None,
            )
            for p in parts
        ],
    )


@router.post(
    "/complaints",
    response={201: ComplaintOut, 400: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    auth=api_auth("engagement.complain"),
)
def complain(request: HttpRequest, payload: ComplaintIn):
    """Make a complaint (or give feedback), or record one for a person at a counter or on the
    phone. It is routed to the agency responsible and answered through its process."""
    context: ActingContext = request.auth
    if context.role:
        person = Person.objects.filter(pk=payload.person or 0).first()
    else:
        person = Person.objects.filter(pk=context.subject_id or 0).first()
    if person is None:
        return Status(
            422, ErrorOut(detail=_("Say which person the complaint is for."), code="no_person")
        )
    service = None
    if payload.service:
        service = Service.objects.filter(key=payload.service).first()
        if service is None:
            return Status(
                404,
                ErrorOut(
                    detail=_("There is no service with this catalogue key."), code="unknown_service"
                ),
            )
    application = None
    if payload.application:
        application = Application.objects.filter(reference=payload.application.upper()).first()
        if application is None:
            return Status(
                404,
                ErrorOut(
                    detail=_("There is no application with this reference."),
                    code="unknown_application",
                ),
            )
    about = {
        "submission": BundleSubmission.objects.filter(
            reference=(payload.submission or "").upper()
        ).first()
        if payload.submission
        else None,
        "interaction": Interaction.objects.filter(pk=payload.interaction).first()
        if payload.interaction
        else None,
        "case": IntegratedCase.objects.filter(reference=(payload.case or "").upper()).first()
        if payload.case
        else None,
    }
    for name, value in about.items():
        if getattr(payload, name) and value is None:
            return Status(
                404,
                ErrorOut(
                    detail=_("Nothing with this reference was found."), code=f"unknown_{name}"
                ),
            )
    try:
        made = complaints.file_complaint(
            context,
            person,
            payload.text,
            kind=payload.kind,
            service=service,
            application=application,
            place_code=payload.place,
            **about,
        )
    except ComplaintError as error:
        return _refusal(error, 422)
    made = (
        Complaint.objects.select_related("service")
        .prefetch_related(complaints.with_parts())
        .get(pk=made.pk)
    )
    return Status(201, _complaint_out(made))


@router.get(
    "/me/complaints", response=list[ComplaintOut], auth=api_auth("engagement.complaint.view")
)
@paginate(Pages)
def my_complaints(request: HttpRequest):
    context: ActingContext = request.auth
    return _Mapped(
        complaints.visible_to_person(None if context.role else context.subject_id).order_by(
            "-created_at", "pk"
        ),
        _complaint_out,
    )


class _Mapped:
    """A queryset the pager counts and slices, each row of the slice turned into its output:
    the page reads only its own rows (and their parts in one more query)."""

    def __init__(self, queryset, convert):
        self.queryset = queryset
        self.convert = convert

    def all(self):
        return self

    def count(self) -> int:
        return self.queryset.count()

    def __getitem__(self, window: slice) -> list:
        return [self.convert(row) for row in self.queryset[window]]


@router.get(
    "/complaints/{reference}",
    response=ComplaintOut,
    auth=api_auth("engagement.complaint.view"),
)
def complaint_detail(request: HttpRequest, reference: str):
    complaint = get_object_or_404(
        Complaint.objects.select_related("service").prefetch_related(complaints.with_parts()),
        reference=reference.upper(),
    )
    policy.require(request.auth, "engagement.complaint.view", complaint)
    return _complaint_out(complaint)
