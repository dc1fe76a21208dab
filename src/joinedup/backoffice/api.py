"""The back office in the API: an agency's API client (acting as a service requester) or a
requester's token orders shared services for the agency and follows its requests; a
client's or a provider's staff read statements as data; a business's representative (a
personal token, a mandate in force) orders services for the business and follows them.
Refusals are `{"detail", "code"}`: 403 not allowed, 404 unknown, 422 bad answers or no
agreement, 409 a key reused.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from uuid import UUID

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status
from ninja.errors import HttpError
from ninja.pagination import paginate

from joinedup.apicontract import Pages
from joinedup.apicontract import Refusal as ErrorOut
from joinedup.delivery.applications import SubmissionError
from joinedup.federation.models import Agency
from joinedup.identity import policy
from joinedup.identity.acting import ActingContext
from joinedup.identity.api_auth import api_auth
from joinedup.identity.models import Business, Person

from . import business, requests
from .models import Request, Statement

router = Router(tags=["backoffice"])


class RequestIn(Schema):
    service: str = Field(description="Catalogue key of the shared service")
    answers: dict = Field(description="The service's form: details, quantity, needed_by")
    idempotency_key: str = Field("", max_length=200)
    employee: int | None = Field(
        None,
        description="Registry number of the person the request concerns (a pay change); "
        "linked, never returned: the provider reads it through the data gate",
    )


class RequestOut(Schema):
    id: UUID
    reference: str
    service: str
    client: str = Field(description="Key of the client agency")
    provider: str = Field(description="Key of the provider")
    status: str
    submitted_at: datetime.datetime
    due_date: datetime.date | None
    response_due: datetime.datetime | None
    price: Decimal
    currency: str

    # Read from a request row as it is listed (no row is turned into an answer before the
    # paginator cuts its page).
    @staticmethod
    def resolve_id(obj: Request) -> UUID:
        return obj.pk

    @staticmethod
    def resolve_reference(obj: Request) -> str:
        return obj.application.reference

    @staticmethod
    def resolve_service(obj: Request) -> str:
        return obj.level.service.key

    @staticmethod
    def resolve_client(obj: Request) -> str:
        return obj.client.key

    @staticmethod
    def resolve_provider(obj: Request) -> str:
        return obj.provider.key

    @staticmethod
    def resolve_status(obj: Request) -> str:
        return obj.application.status

    @staticmethod
    def resolve_due_date(obj: Request) -> datetime.date | None:
        return obj.application.due_date

    @staticmethod
    def resolve_price(obj: Request) -> Decimal:
        return obj.unit_price

    @staticmethod
    def resolve_currency(obj: Request) -> str:
        return obj.level.currency


class LineOut(Schema):
    id: int
    service: str
    requests: int
    resolved: int
    within_level: int
    amount: Decimal
    credit: Decimal = Field(description="All the line's credits (resolution + availability)")
    resolution_credit: Decimal = Field(
        description="Credited because too few requests were resolved within the level"
    )
    availability_credit: Decimal = Field(
        description="Credited because the running service missed its availability target"
    )
    resolution_target: Decimal = Field(
        description="Share of the requests to resolve within the level, as the line was issued"
    )
    availability: Decimal | None = Field(
        description="Share of the month the running service was available (null: no target)"
    )
    availability_target: Decimal | None
    unavailable_minutes: int | None
    status: str


class StatementOut(Schema):
    id: int
    client: str
    provider: str
    month: datetime.date
    currency: str
    charges: Decimal
    credits: Decimal = Field(description="All the credits (resolution + availability)")
    resolution_credits: Decimal
    availability_credits: Decimal
    total: Decimal
    lines: list[LineOut]


def _agency(context: ActingContext) -> Agency:
    return get_object_or_404(Agency.objects.select_related("jurisdiction"), key=context.agency_key)


@router.post(
    "/backoffice/requests",
    response={200: RequestOut, 201: RequestOut, 403: ErrorOut, 409: ErrorOut, 422: ErrorOut},
    auth=api_auth("backoffice.request"),
)
def order(request: HttpRequest, payload: RequestIn):
    context: ActingContext = request.auth
    employee = None
    if payload.employee is not None:
        employee = Person.objects.filter(pk=payload.employee).only("pk").first()
        if employee is None:
            return Status(
                422,
                ErrorOut(
                    detail=_("There is no person with this number in the person registry."),
                    code="unknown_employee",
                ),
            )
    try:
        made, created = requests.submit_request(
            context,
            _agency(context),
            payload.service,
            payload.answers,
            payload.idempotency_key,
            channel="partner" if context.api_client_id else "online",
            employee=employee,
        )
    except SubmissionError as error:
        status = 409 if error.code == "idempotency_conflict" else 422
        errors = [{"field": e.path, "message": e.message} for e in error.errors] or None
        return Status(status, ErrorOut(detail=error.message, code=error.code, errors=errors))
    except policy.PolicyDenied as denied:
        return Status(403, ErrorOut(detail=denied.decision.reason, code=denied.decision.code))
    made = requests.of_client(made.client).select_related("client").get(pk=made.pk)
    return Status(201 if created else 200, made)


@router.get("/backoffice/requests", response=list[RequestOut], auth=api_auth("backoffice.client"))
@paginate(Pages)
def my_requests(request: HttpRequest):
    context: ActingContext = request.auth
    return requests.of_client(_agency(context)).select_related("client")


@router.get(
    "/backoffice/statements/{statement_id}",
    response={200: StatementOut, 403: ErrorOut, 404: ErrorOut},
    auth=api_auth("backoffice.statement"),
)
def statement(request: HttpRequest, statement_id: int):
    context: ActingContext = request.auth
    found = get_object_or_404(
        Statement.objects.select_related("client", "provider"), pk=statement_id
    )
    decision = policy.decide(context, "backoffice.statement", found)
    if not decision.allowed:
        return Status(403, ErrorOut(detail=decision.reason, code=decision.code))
    lines = list(found.lines.select_related("level__service"))
    availability_credits = sum((line.availability_credit for line in lines), Decimal("0.00"))
    return StatementOut(
        id=found.pk,
        client=found.client.key,
        provider=found.provider.key,
        month=found.month,
        currency=found.currency,
        charges=found.charges,
        credits=found.credits,
        resolution_credits=found.credits - availability_credits,
        availability_credits=availability_credits,
        total=found.total,
        lines=[
            LineOut(
                id=line.pk,
                service=line.level.service.key,
                requests=line.requests,
                resolved=line.resolved,
                within_level=line.within_level,
                amount=line.amount,
                credit=line.credit,
                resolution_credit=line.resolution_credit,
                availability_credit=line.availability_credit,
                resolution_target=line.target_issued,
                availability=line.availability,
                availability_target=line.availability_target,
                unavailable_minutes=line.unavailable_minutes,
                status=line.status,
            )
            for line in lines
        ],
    )


class BusinessOrderIn(Schema):
    service: str = Field(description="Catalogue key of a service for businesses")
    answers: dict = Field(
        description="Answers to the service's form (its version's schema): the short request "
        "form (details, quantity, needed_by) or the service's full form"
    )
    idempotency_key: str = Field("", max_length=200)


class BusinessApplicationOut(Schema):
    id: UUID
    reference: str
    service: str
    business: int = Field(description="The business (applicant)")
    agency: str = Field(description="Key of the agency that delivers it")
    status: str
    submitted_at: datetime.datetime
    due_date: datetime.date | None

    @staticmethod
    def resolve_service(obj) -> str:
        return obj.service.key

    @staticmethod
    def resolve_business(obj) -> int:
        return obj.applicant_business_id

    @staticmethod
    def resolve_agency(obj) -> str:
        return obj.agency.key


def _represented(context: ActingContext, business_id: int, action: str):
    """The business, or the refusal (404 unknown, 403 no mandate for it)."""
    found = Business.objects.filter(pk=business_id).first()
    if found is None:
        return None, Status(404, ErrorOut(detail=_("There is no such business."), code="not_found"))
    decision = policy.decide(context, action, found)
    if not decision.allowed:
        return None, Status(403, ErrorOut(detail=decision.reason, code=decision.code))
    return found, None


@router.post(
    "/backoffice/businesses/{business_id}/applications",
    response={
        200: BusinessApplicationOut,
        201: BusinessApplicationOut,
        403: ErrorOut,
        404: ErrorOut,
        409: ErrorOut,
        422: ErrorOut,
    },
    auth=api_auth("backoffice.business_apply"),
)
def order_for_business(request: HttpRequest, business_id: int, payload: BusinessOrderIn):
    context: ActingContext = request.auth
    firm, refusal = _represented(context, business_id, "backoffice.business_apply")
    if refusal is not None:
        return refusal
    try:
        made, created = business.order(
            context, firm, payload.service, payload.answers, payload.idempotency_key
        )
    except SubmissionError as error:
        status = 409 if error.code == "idempotency_conflict" else 422
        errors = [{"field": e.path, "message": e.message} for e in error.errors] or None
        return Status(status, ErrorOut(detail=error.message, code=error.code, errors=errors))
    except policy.PolicyDenied as denied:
        return Status(403, ErrorOut(detail=denied.decision.reason, code=denied.decision.code))
    return Status(201 if created else 200, business.applications_of(firm).get(pk=made.pk))


@router.get(
    "/backoffice/businesses/{business_id}/applications",
    response=list[BusinessApplicationOut],
    auth=api_auth("backoffice.business"),
)
@paginate(Pages)
def business_applications(request: HttpRequest, business_id: int):
    """The business's applications, newest first (its representatives: a mandate in force)."""
    context: ActingContext = request.auth
    firm = Business.objects.filter(pk=business_id).first()
    if firm is None:
        raise HttpError(404, _("There is no such business."))
    decision = policy.decide(context, "backoffice.business", firm)
    if not decision.allowed:
        raise HttpError(403, decision.reason)
    return business.applications_of(firm).order_by("-submitted_at", "-pk")
