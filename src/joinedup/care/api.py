"""The directory's API in the shape of HSDS 3's own: `/api/v1/hsds/...`.

Lists come in HSDS's page envelope (`total_items`, `total_pages`, `page_number`, `size`,
`first_page`, `last_page`, `empty`, `contents`) with its paging parameters (`page`,
`per_page`); `/services` takes HSDS's `search`, `taxonomy_term_id`, `taxonomy_id`,
`organization_id`, `modified_after`, `minimal` and `full`, and ours: `place` (a jurisdiction
code), `language` (ISO 639) and a distance from a point (`lat`, `lon`, `radius_km`). Public,
like the directory itself; bad parameters get a 400 with `{"detail": ...}`.
"""

from __future__ import annotations

import math
import uuid
from typing import Any

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from ninja import Router

from joinedup.identity.api_auth import api_auth

from . import directory
from .models import Organization, Service, ServiceAtLocation, Taxonomy, TaxonomyTerm

router = Router(tags=["hsds"], auth=api_auth("care.directory"))

MAX_PER_PAGE = 100
MAX_PAGE = 1_000_000


def _uuid(value: str, name: str) -> str:
    if not value:
        return ""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise ValidationError(_("%(name)s must be a UUID.") % {"name": name}) from None


def _paging(page: int, per_page: int) -> tuple[int, int]:
    if page < 1:
        raise ValidationError(_("page starts at 1."))
    if page > MAX_PAGE:
        # Far beyond any directory, and an offset the database can still take.
        raise ValidationError(_("page is at most %(max)s.") % {"max": MAX_PAGE})
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise ValidationError(_("per_page is between 1 and %(max)s.") % {"max": MAX_PER_PAGE})
    return page, per_page


def envelope(total: int, page: int, per_page: int, contents: list[Any]) -> dict[str, Any]:
    """HSDS's page envelope around one page of contents."""
    pages = max(1, math.ceil(total / per_page)) if total else 0
    return {
        "total_items": total,
        "total_pages": pages,
        "page_number": page,
        "size": len(contents),
        "first_page": page == 1,
        "last_page": page >= pages,
        "empty": total == 0,
        "contents": contents,
    }


@router.get("/hsds/", summary="About this API and its relation to HSDS")
def about(request: HttpRequest) -> dict[str, Any]:
    return {
        "version": directory.HSDS_VERSION,
        "profile": "https://docs.openreferral.org/en/latest/hsds/",
        "openapi_url": request.build_absolute_uri("/api/v1/openapi.json"),
        "publisher": {
            "name": "Joinedup",
            "description": _(
                "Directory of public and community human services; the demonstration data "
                "is illustrative."
            ),
        },
    }


def _near(lat: float | None, lon: float | None, radius_km: float | None):
    given = [v is not None for v in (lat, lon)]
    if not any(given):
        return None
    if not all(given):
        raise ValidationError(_("Give both lat and lon to search by distance."))
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ValidationError(_("lat is between -90 and 90, lon between -180 and 180."))
    radius = 10.0 if radius_km is None else radius_km
    if not 0 < radius <= 500:
        raise ValidationError(_("radius_km is between 0 and 500."))
    return directory.Near(lat, lon, radius)


@router.get("/hsds/services", summary="Services (HSDS), searched and paged")
def services(
    request: HttpRequest,
    search: str = "",
    page: int = 1,
    per_page: int = 50,
    taxonomy_term_id: str = "",
    taxonomy_id: str = "",
    organization_id: str = "",
    modified_after: str = "",
    minimal: bool = False,
    full: bool = False,
    place: str = "",
    language: str = "",
    lat: float | None = None,
    lon: float | None = None,
    radius_km: float | None = None,
) -> dict[str, Any]:
    page, per_page = _paging(page, per_page)
    after = None
    if modified_after:
        after = parse_datetime(modified_after)
        if after is None:
            raise ValidationError(_("modified_after must be a date and time (ISO 8601)."))
    near = _near(lat, lon, radius_km)
    try:
        queryset = directory.find(
            text=search[:200],
            taxonomy_term_id=_uuid(taxonomy_term_id, "taxonomy_term_id"),
            taxonomy_id=_uuid(taxonomy_id, "taxonomy_id"),
            organization_id=_uuid(organization_id, "organization_id"),
            modified_after=after,
            place=place,
            language=language[:8],
            near=near,
        )
    except directory.SearchError as error:
        raise ValidationError(str(error)) from None
    if minimal:
        rows = queryset.values_list("id", "last_modified")
        total = queryset.count()
        start = (page - 1) * per_page
        contents = [
            {"id": str(pk), "last_modified": modified.isoformat()}
            for pk, modified in rows[start : start + per_page]
        ]
        return envelope(total, page, per_page, contents)
    start = (page - 1) * per_page
    if near is not None:
        found = directory.within(
            directory.nested(queryset) if full else _with_locations(queryset), near
        )
        total = len(found)
        chosen = [service for service, _km in found[start : start + per_page]]
    else:
        total = queryset.count()
        base = directory.nested(queryset) if full else queryset.select_related("organization")
        chosen = list(base[start : start + per_page])
    if full:
        directory.attach_terms(chosen)
        contents = [directory.service_json(s) for s in chosen]
    else:
        contents = [directory.service_summary_json(s) for s in chosen]
    return envelope(total, page, per_page, contents)


def _with_locations(queryset):
    return queryset.select_related("organization").prefetch_related("at_locations__location")


@router.get("/hsds/services/{service_id}", summary="One service (HSDS), fully nested")
def service(request: HttpRequest, service_id: str) -> dict[str, Any]:
    pk = _uuid_or_404(service_id)
    found = list(directory.nested(Service.objects.filter(pk=pk)))
    if not found:
        raise Http404
    directory.attach_terms(found)
    return directory.service_json(found[0])


def _uuid_or_404(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise Http404 from None


@router.get("/hsds/organizations", summary="Organisations (HSDS), paged")
def organizations(
    request: HttpRequest, search: str = "", page: int = 1, per_page: int = 50
) -> dict[str, Any]:
    page, per_page = _paging(page, per_page)
    queryset = Organization.objects.all().order_by("name", "id")
    if search:
        queryset = queryset.filter(name__icontains=search[:200])
    start = (page - 1) * per_page
    chosen = queryset.prefetch_related(
        "contacts",
        "phones",
        "locations",
        "locations__languages",
        "locations__contacts",
        "locations__phones",
        "locations__schedules",
    )[start : start + per_page]
    return envelope(
        queryset.count(), page, per_page, [directory.organization_json(o) for o in chosen]
    )


@router.get("/hsds/organizations/{organization_id}", summary="One organisation (HSDS)")
def organization(request: HttpRequest, organization_id: str) -> dict[str, Any]:
    org = Organization.objects.filter(pk=_uuid_or_404(organization_id)).first()
    if org is None:
        raise Http404
    return directory.organization_json(org, services=False)


@router.get("/hsds/service_at_locations", summary="Services at locations (HSDS), paged")
def service_at_locations(request: HttpRequest, page: int = 1, per_page: int = 50) -> dict[str, Any]:
    page, per_page = _paging(page, per_page)
    queryset = ServiceAtLocation.objects.order_by("id")
    start = (page - 1) * per_page
    chosen = queryset.select_related("location").prefetch_related(
        "schedules",
        "location__languages",
        "location__contacts",
        "location__phones",
        "location__schedules",
    )[start : start + per_page]
    return envelope(
        queryset.count(),
        page,
        per_page,
        [directory.service_at_location_json(sal) for sal in chosen],
    )


@router.get("/hsds/service_at_locations/{sal_id}", summary="One service at a location (HSDS)")
def service_at_location(request: HttpRequest, sal_id: str) -> dict[str, Any]:
    sal = ServiceAtLocation.objects.filter(pk=_uuid_or_404(sal_id)).first()
    if sal is None:
        raise Http404
    return directory.service_at_location_json(sal)


@router.get("/hsds/taxonomies", summary="Taxonomies (HSDS), paged")
def taxonomies(request: HttpRequest, page: int = 1, per_page: int = 50) -> dict[str, Any]:
    page, per_page = _paging(page, per_page)
    queryset = Taxonomy.objects.order_by("name", "id")
    start = (page - 1) * per_page
    return envelope(
        queryset.count(),
        page,
        per_page,
        [directory.taxonomy_json(t) for t in queryset[start : start + per_page]],
    )


@router.get("/hsds/taxonomy_terms", summary="Taxonomy terms (HSDS), paged")
def taxonomy_terms(
    request: HttpRequest,
    page: int = 1,
    per_page: int = 50,
    taxonomy_id: str = "",
    parent_id: str = "",
) -> dict[str, Any]:
    page, per_page = _paging(page, per_page)
    queryset = TaxonomyTerm.objects.select_related("taxonomy").order_by("code", "id")
    if taxonomy_id:
        queryset = queryset.filter(taxonomy_id=_uuid(taxonomy_id, "taxonomy_id"))
    if parent_id:
        queryset = queryset.filter(parent_id=_uuid(parent_id, "parent_id"))
    start = (page - 1) * per_page
    return envelope(
        queryset.count(),
        page,
        per_page,
        [directory.term_json(t) for t in queryset[start : start + per_page]],
    )
