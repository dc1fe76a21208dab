"""The federation's part of the public API: jurisdictions, agencies, the catalogue, routing.

These are public reads: the catalogue is published information. Names come in the reader's
language (Accept-Language) as `name`, and in every language as `names`.
"""

from decimal import Decimal
from typing import Literal

from django.db.models import Prefetch, Q, QuerySet
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from ninja.errors import HttpError
from ninja.pagination import paginate

from joinedup.apicontract import Pages, Refusal

from . import catalogue
from .models import Agency, Jurisdiction, Offering, Office, PartnerRole, Service
from .routing import RoutingError, route

router = Router(tags=["catalogue"])

Frame = Literal["back_office", "transactional", "human_services"]


class Named(Schema):
    name: str
    names: dict[str, str]

    @staticmethod
    def resolve_name(obj) -> str:
        return obj.name


class JurisdictionOut(Named):
    code: str
    level: str
    parent: str | None = Field(None, description="Code of the parent jurisdiction")
    path: str = Field(description="Codes from the root down, separated by slashes")
    official_languages: list[str]
    time_zone: str
    holiday_calendar: str | None = Field(None, description="Country[-subdivision] of holidays")
    illustrative: bool

    @staticmethod
    def resolve_parent(obj: Jurisdiction) -> str | None:
        return obj.path.rsplit("/", 1)[0].rsplit("/", 1)[-1] if obj.parent_id else None

    @staticmethod
    def resolve_holiday_calendar(obj: Jurisdiction) -> str | None:
        if not obj.holiday_country:
            return None
        return "-".join(p for p in (obj.holiday_country, obj.holiday_subdivision) if p)


class AgencyRef(Named):
    key: str
    kind: str
    short_name: str

    @staticmethod
    def resolve_short_name(obj: Agency) -> str:
        return obj.short_name


class AgencyOut(AgencyRef):
    jurisdiction: str | None
    website: str
    email: str
    phone: str

    @staticmethod
    def resolve_jurisdiction(obj: Agency) -> str | None:
        return obj.jurisdiction.code if obj.jurisdiction_id else None


class OfficeOut(Named):
    key: str
    jurisdiction: str
    address: list[str]
    channels: list[str]
    hours: dict[str, list[list[str]]]
    phone: str

    @staticmethod
    def resolve_jurisdiction(obj) -> str:
        return obj.jurisdiction.code

    @staticmethod
    def resolve_address(obj) -> list[str]:
        return obj.address_lines


class Standard(Schema):
    days: int | None
    count: str = Field(description="business or calendar")
    target: Decimal | None = Field(None, description="Share to meet the standard, 0 to 1")


class Fee(Schema):
    amount: Decimal
    currency: str


class ServiceOut(Named):
    key: str
    description: str
    frame: str
    client_type: str
    scope: str = Field(description="Code of the jurisdiction whose catalogue lists the service")
    channels: list[str]
    standard: Standard
    fee: Fee
    required_assurance: int = Field(description="Level of assurance needed: 1, 2 or 3")
    life_situations: list[str]

    @staticmethod
    def resolve_scope(obj: Service) -> str:
        return obj.scope.code

    @staticmethod
    def resolve_standard(obj: Service) -> dict:
        return {
            "days": obj.standard_days,
            "count": obj.standard_day_kind,
            "target": obj.standard_target,
        }

    @staticmethod
    def resolve_fee(obj: Service) -> dict:
        return {"amount": obj.fee_amount, "currency": obj.fee_currency}

    @staticmethod
    def resolve_life_situations(obj: Service) -> list[str]:
        return [situation.key for situation in obj.life_situations.all()]


class OfferingOut(Schema):
    area: str
    area_name: str
    agency: AgencyRef
    offices: list[OfficeOut]
    channels: list[str]
    standard_days: int | None
    fee: Decimal
    url: str

    @staticmethod
    def resolve_area(obj: Offering) -> str:
        return obj.area.code

    @staticmethod
    def resolve_area_name(obj: Offering) -> str:
        return obj.area.name

    @staticmethod
    def resolve_offices(obj: Offering) -> list:
        return list(obj.offices.all())

    @staticmethod
    def resolve_channels(obj: Offering) -> list[str]:
        return obj.effective_channels

    @staticmethod
    def resolve_standard_days(obj: Offering) -> int | None:
        return obj.effective_standard_days

    @staticmethod
    def resolve_fee(obj: Offering) -> Decimal:
        return obj.effective_fee


class PartnerRoleOut(Schema):
    agency: AgencyRef
    role: str


class ServiceDetail(ServiceOut):
    program: str | None
    evidence: list[str]
    keywords: list[str]
    offerings: list[OfferingOut]
    partner_roles: list[PartnerRoleOut]

    @staticmethod
    def resolve_program(obj: Service) -> str | None:
        return obj.program.key if obj.program_id else None

    @staticmethod
    def resolve_offerings(obj: Service) -> list:
        return list(obj.offerings.all())

    @staticmethod
    def resolve_partner_roles(obj: Service) -> list:
        return list(obj.partner_roles.all())


class RouteOut(Schema):
    service: str
    place: str
    area: str = Field(description="The area of the offering chosen (the place or an ancestor)")
    agency: AgencyRef
    offices: list[OfficeOut]
    channels: list[str]
    standard_days: int | None
    fee: Decimal
    explanation: list[str]


class RoutingErrorOut(Refusal):
    """A refusal of routing, with its reason and the reasoning that led to it."""

    detail: str
    reason: str = Field(description="unknown_service, unknown_jurisdiction or not_delivered")
    explanation: list[str]


class ServiceFilters(Schema):
    jurisdiction: str | None = Field(
        None, description="Services delivered in or for this jurisdiction (code)"
    )
    frame: Frame | None = None
    q: str | None = Field(None, max_length=200, description="Words in any language")
    life_situation: str | None = Field(None, description="Key of a life situation")


def _jurisdiction_or_400(code: str) -> Jurisdiction:
    found = Jurisdiction.objects.filter(code=code.upper()).first()
    if found is None:
        raise HttpError(
            400, _("There is no jurisdiction with the code “%(code)s”.") % {"code": code}
        )
    return found


def filter_services(filters: ServiceFilters) -> QuerySet[Service]:
    """The catalogue, narrowed by place, frame, life situation and words."""
    try:
        return catalogue.filter_services(
            jurisdiction=filters.jurisdiction,
            frame=filters.frame,
            q=filters.q,
            life_situation=filters.life_situation,
        )
    except catalogue.UnknownJurisdiction as error:
        raise HttpError(400, error.message) from None


@router.get("/jurisdictions", response=list[JurisdictionOut], summary="The jurisdiction tree")
@paginate(Pages)
def list_jurisdictions(request: HttpRequest, parent: str | None = None, level: str | None = None):
    """Every jurisdiction, parents before children (ordered by path)."""
    jurisdictions = Jurisdiction.objects.select_related("parent")
    if parent:
        jurisdictions = jurisdictions.filter(parent=_jurisdiction_or_400(parent))
    if level:
        jurisdictions = jurisdictions.filter(level=level)
    return jurisdictions


@router.get("/jurisdictions/{code}", response=JurisdictionOut, summary="One jurisdiction")
def get_jurisdiction(request: HttpRequest, code: str):
    return get_object_or_404(Jurisdiction, code=code.upper())


@router.get("/agencies", response=list[AgencyOut], summary="Agencies")
@paginate(Pages)
def list_agencies(
    request: HttpRequest,
    jurisdiction: str | None = None,
    kind: str | None = None,
    q: str | None = Query(None, max_length=200),
):
    """Agencies; `jurisdiction` gives those of that jurisdiction and the ones within it."""
    agencies = Agency.objects.select_related("jurisdiction")
    if jurisdiction:
        place = _jurisdiction_or_400(jurisdiction)
        agencies = agencies.filter(
            Q(jurisdiction=place) | Q(jurisdiction__path__startswith=place.path + "/")
        )
    if kind:
        agencies = agencies.filter(kind=kind)
    if q:
        for word in q.casefold().split():
            agencies = agencies.filter(search_text__contains=word)
    return agencies


@router.get("/agencies/{key}/offices", response=list[OfficeOut], summary="An agency's offices")
def list_offices(request: HttpRequest, key: str):
    agency = get_object_or_404(Agency, key=key)
    return agency.offices.select_related("jurisdiction")


@router.get("/services", response=list[ServiceOut], summary="The service catalogue")
@paginate(Pages)
def list_services(request: HttpRequest, filters: Query[ServiceFilters]):
    return filter_services(filters)


@router.get("/services/{key}", response=ServiceDetail, summary="One service")
def get_service(request: HttpRequest, key: str):
    """A service with who delivers it where, each partner's role, and its standard."""
    offices = Prefetch("offices", queryset=Office.objects.select_related("jurisdiction"))
    return get_object_or_404(
        Service.objects.select_related("scope", "program").prefetch_related(
            "life_situations",
            Prefetch(
                "offerings",
                queryset=Offering.objects.select_related("agency", "area").prefetch_related(
                    offices
                ),
            ),
            Prefetch("partner_roles", queryset=PartnerRole.objects.select_related("agency")),
        ),
        key=key,
    )


@router.get(
    "/routing",
    response={200: RouteOut, 404: RoutingErrorOut},
    summary="The competent agency for a service at a place",
)
def get_route(
    request: HttpRequest,
    service: str = Query(..., max_length=100, description="Catalogue key"),
    jurisdiction: str = Query(..., max_length=40, description="Code of the place"),
):
    """The most specific offering whose area contains the place, with the reasoning.

    404 when the service or the place is unknown, or nobody delivers the service there.
    """
    try:
        found = route(service, jurisdiction)
    except RoutingError as error:
        return Status(
            404,
            {
                "detail": error.message,
                "reason": error.reason,
                "explanation": error.explanation,
            },
        )
    offering = found.offering
    return Status(
        200,
        {
            "service": found.service.key,
            "place": found.place.code,
            "area": offering.area.code,
            "agency": offering.agency,
            "offices": list(offering.offices.all()),
            "channels": offering.effective_channels,
            "standard_days": offering.effective_standard_days,
            "fee": offering.effective_fee,
            "explanation": found.explanation,
        },
    )
