"""The directory of services in HSDS 3's shape: finding services and writing them as HSDS JSON.

`find` answers the services matching a search — text, taxonomy term or taxonomy, organisation,
`modified_after`, a place of the registry (services whose area covers it, or with a location
in it), a language, and a distance from a point — and `service_json` writes one service fully
nested the way HSDS's `/services/{id}` does. Lists are read with a fixed number of statements
whatever their length (every nested table is prefetched once per page).

HSDS fields that have no value are left out rather than sent as null: the standard's schemas
type them as plain strings and numbers. Text comes in the reader's language where a
translation exists. Live capacity (HSDS 3.1) is in `capacities`, each with its `unit`.
"""

from __future__ import annotations

import datetime
import decimal
import math
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Prefetch, Q, QuerySet
from django.utils.translation import gettext as _

from joinedup.federation.models import WEEKDAYS, Agency, Jurisdiction, Offering, Office

from .models import (
    Attribute,
    Location,
    Organization,
    Phone,
    Schedule,
    Service,
    ServiceAtLocation,
    ServiceCapacity,
    Taxonomy,
    TaxonomyTerm,
)

HSDS_VERSION = "3.1"
#: The days of HSDS's `byday`, in order.
DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
EARTH_KM = 6371.0


def _clean(data: dict[str, Any]) -> dict[str, Any]:
    """Leave out what has no value (None or empty text)."""
    return {k: v for k, v in data.items() if v is not None and v != ""}


def _num(value: decimal.Decimal | None) -> float | int | None:
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


def _date(value: datetime.date | None) -> str | None:
    return value.isoformat() if value else None


def _time(value: datetime.time | None) -> str | None:
    return value.strftime("%H:%M") if value else None


def _id(value: Any) -> str | None:
    return str(value) if value else None


# --- Writing records ----------------------------------------------------------------------


def organization_json(org: Organization, *, services: bool = False) -> dict[str, Any]:
    data = _clean(
        {
            "id": str(org.id),
            "name": org.text("name"),
            "alternate_name": org.text("alternate_name"),
            "description": org.text("description"),
            "email": org.email,
            "website": org.website,
        }
    )
    data.update(
        {
            "funding": [],
            "contacts": [contact_json(c) for c in org.contacts.all()],
            "phones": [phone_json(p) for p in org.phones.all()],
            "locations": [location_json(loc) for loc in org.locations.all()],
            "programs": [],
            "organization_identifiers": [],
            "attributes": [],
            "metadata": [],
        }
    )
    if services:
        data["services"] = [service_json(s, organization=False) for s in org.services.all()]
    return data


def contact_json(contact) -> dict[str, Any]:
    return {
        **_clean(
            {
                "id": str(contact.id),
                "organization_id": _id(contact.organization_id),
                "service_id": _id(contact.service_id),
                "location_id": _id(contact.location_id),
                "name": contact.name,
                "title": contact.title,
                "department": contact.department,
                "email": contact.email,
            }
        ),
        "phones": [],
        "attributes": [],
        "metadata": [],
    }


def phone_json(phone) -> dict[str, Any]:
    return {
        **_clean(
            {
                "id": str(phone.id),
                "organization_id": _id(phone.organization_id),
                "service_id": _id(phone.service_id),
                "location_id": _id(phone.location_id),
                "contact_id": _id(phone.contact_id),
                "number": phone.number,
                "extension": _num(decimal.Decimal(phone.extension))
                if phone.extension.isdigit()
                else None,
                "type": phone.type,
                "description": phone.text("description"),
            }
        ),
        "languages": [],
        "attributes": [],
        "metadata": [],
    }


def schedule_json(schedule: Schedule) -> dict[str, Any]:
    return {
        **_clean(
            {
                "id": str(schedule.id),
                "service_id": _id(schedule.service_id),
                "location_id": _id(schedule.location_id),
                "service_at_location_id": _id(schedule.service_at_location_id),
                "valid_from": _date(schedule.valid_from),
                "valid_to": _date(schedule.valid_to),
                "dtstart": _date(schedule.dtstart),
                "until": _date(schedule.until),
                "timezone": _num(schedule.timezone),
                "freq": schedule.freq,
                "interval": schedule.interval,
                "byday": schedule.byday,
                "bymonthday": schedule.bymonthday,
                "opens_at": _time(schedule.opens_at),
                "closes_at": _time(schedule.closes_at),
                "description": schedule.text("description"),
                "attending_type": schedule.attending_type,
                "notes": schedule.notes,
            }
        ),
        "attributes": [],
        "metadata": [],
    }


def language_json(language) -> dict[str, Any]:
    return {
        **_clean(
            {
                "id": str(language.id),
                "service_id": _id(language.service_id),
                "location_id": _id(language.location_id),
                "phone_id": _id(language.phone_id),
                "name": language.name,
                "code": language.code,
                "note": language.note,
            }
        ),
        "attributes": [],
        "metadata": [],
    }


def location_json(location: Location) -> dict[str, Any]:
    data = _clean(
        {
            "id": str(location.id),
            "location_type": location.location_type,
            "organization_id": _id(location.organization_id),
            "name": location.text("name"),
            "description": location.text("description"),
            "transportation": location.text("transportation"),
            "latitude": _num(location.latitude),
            "longitude": _num(location.longitude),
        }
    )
    addresses = []
    if location.address_id:
        addresses.append(
            {
                "id": str(location.address_id),
                "location_id": str(location.id),
                "address_1": location.address_1,
                "city": location.city,
                "state_province": location.state_province,
                "postal_code": location.postal_code,
                "country": location.country,
                "address_type": "physical",
                "attributes": [],
                "metadata": [],
            }
        )
    data.update(
        {
            "languages": [language_json(lang) for lang in location.languages.all()],
            "addresses": addresses,
            "contacts": [contact_json(c) for c in location.contacts.all()],
            "accessibility": [],
            "phones": [phone_json(p) for p in location.phones.all()],
            "schedules": [schedule_json(s) for s in location.schedules.all()],
            "attributes": [],
            "metadata": [],
        }
    )
    return data


def taxonomy_json(taxonomy: Taxonomy) -> dict[str, Any]:
    return {
        **_clean(
            {
                "id": str(taxonomy.id),
                "name": taxonomy.text("name"),
                "description": taxonomy.text("description"),
                "uri": taxonomy.uri,
                "version": taxonomy.version,
            }
        ),
        "metadata": [],
    }


def term_json(term: TaxonomyTerm) -> dict[str, Any]:
    return {
        **_clean(
            {
                "id": str(term.id),
                "code": term.code,
                "name": term.text("name"),
                "description": term.text("description"),
                "parent_id": _id(term.parent_id),
                "taxonomy": term.taxonomy.name if term.taxonomy_id else None,
                "taxonomy_id": _id(term.taxonomy_id),
                "language": term.language,
                "term_uri": term.term_uri,
            }
        ),
        "metadata": [],
    }


def attribute_json(attribute: Attribute) -> dict[str, Any]:
    return {
        **_clean(
            {
                "id": str(attribute.id),
                "link_id": str(attribute.link_id),
                "taxonomy_term_id": str(attribute.taxonomy_term_id),
                "link_type": attribute.link_type,
                "link_entity": attribute.link_entity,
                "value": attribute.value,
            }
        ),
        "taxonomy_term": term_json(attribute.taxonomy_term),
        "metadata": [],
    }


def capacity_json(capacity: ServiceCapacity) -> dict[str, Any]:
    return _clean(
        {
            "id": str(capacity.id),
            "service_id": str(capacity.service_id),
            "available": _num(capacity.available),
            "maximum": _num(capacity.maximum),
            "description": capacity.text("description"),
            "updated": capacity.updated.isoformat(),
            "unit": _clean(
                {
                    "id": str(capacity.unit.id),
                    "name": capacity.unit.text("name"),
                    "scheme": capacity.unit.scheme,
                    "identifier": capacity.unit.identifier,
                    "uri": capacity.unit.uri,
                }
            ),
        }
    )


def service_at_location_json(sal: ServiceAtLocation, *, service: bool = False) -> dict[str, Any]:
    data = {
        **_clean(
            {
                "id": str(sal.id),
                "service_id": str(sal.service_id),
                "location_id": str(sal.location_id),
                "description": sal.text("description"),
            }
        ),
        "contacts": [],
        "phones": [],
        "schedules": [schedule_json(s) for s in sal.schedules.all()],
        "location": location_json(sal.location),
        "attributes": [],
        "metadata": [],
    }
    if service:
        data["service"] = service_json(sal.service)
    return data


def _service_fields(service: Service) -> dict[str, Any]:
    return _clean(
        {
            "id": str(service.id),
            "organization_id": str(service.organization_id),
            "name": service.text("name"),
            "alternate_name": service.text("alternate_name"),
            "description": service.text("description"),
            "url": service.url,
            "email": service.email,
            "status": service.status,
            "interpretation_services": service.text("interpretation_services"),
            "application_process": service.text("application_process"),
            "fees_description": service.text("fees_description"),
            "eligibility_description": service.text("eligibility_description"),
            "minimum_age": _num(service.minimum_age),
            "maximum_age": _num(service.maximum_age),
            "assured_date": _date(service.assured_date),
            "assurer_email": service.assurer_email,
            "alert": service.text("alert"),
            "last_modified": service.last_modified.isoformat(),
        }
    )


def service_json(service: Service, *, organization: bool = True) -> dict[str, Any]:
    """One service, fully nested (HSDS `/services/{id}`)."""
    data = _service_fields(service)
    data.update(
        {
            "phones": [phone_json(p) for p in service.phones.all()],
            "schedules": [schedule_json(s) for s in service.schedules.all()],
            "service_areas": [
                {
                    **_clean(
                        {
                            "id": str(a.id),
                            "service_id": str(a.service_id),
                            "name": a.text("name"),
                            "description": a.text("description"),
                            "extent": a.extent,
                            "extent_type": a.extent_type,
                            "uri": a.uri,
                        }
                    ),
                    "attributes": [],
                    "metadata": [],
                }
                for a in service.service_areas.all()
            ],
            "service_at_locations": [
                service_at_location_json(sal) for sal in service.at_locations.all()
            ],
            "languages": [language_json(lang) for lang in service.languages.all()],
            "funding": [],
            "cost_options": [
                {
                    **_clean(
                        {
                            "id": str(c.id),
                            "service_id": str(c.service_id),
                            "valid_from": _date(c.valid_from),
                            "valid_to": _date(c.valid_to),
                            "option": c.text("option"),
                            "currency": c.currency,
                            "amount": _num(c.amount),
                            "amount_description": c.text("amount_description"),
                        }
                    ),
                    "attributes": [],
                    "metadata": [],
                }
                for c in service.cost_options.all()
            ],
            "required_documents": [
                {
                    **_clean(
                        {
                            "id": str(d.id),
                            "service_id": str(d.service_id),
                            "document": d.text("document"),
                            "uri": d.uri,
                        }
                    ),
                    "attributes": [],
                    "metadata": [],
                }
                for d in service.required_documents.all()
            ],
            "contacts": [contact_json(c) for c in service.contacts.all()],
            "attributes": [attribute_json(a) for a in getattr(service, "terms", [])],
            "capacities": [capacity_json(c) for c in service.capacities.all()],
            "metadata": [],
        }
    )
    if organization:
        data["organization"] = organization_json(service.organization)
    return data


def service_summary_json(service: Service) -> dict[str, Any]:
    """A service in a list (HSDS's `service_list` item): its fields and its organisation."""
    data = _service_fields(service)
    data["organization"] = _clean(
        {
            "id": str(service.organization.id),
            "name": service.organization.text("name"),
            "description": service.organization.text("description"),
            "email": service.organization.email,
            "website": service.organization.website,
        }
    )
    return data


# --- Reading with a fixed number of statements --------------------------------------------


def _location_prefetch(prefix: str) -> list[str]:
    return [
        f"{prefix}languages",
        f"{prefix}contacts",
        f"{prefix}phones",
        f"{prefix}schedules",
    ]


def nested(queryset: QuerySet[Service]) -> QuerySet[Service]:
    """Everything `service_json` reads, prefetched (a constant number of statements)."""
    return queryset.select_related("organization").prefetch_related(
        "phones",
        "schedules",
        "service_areas",
        "languages",
        "cost_options",
        "required_documents",
        "contacts",
        Prefetch("capacities", queryset=ServiceCapacity.objects.select_related("unit")),
        Prefetch(
            "at_locations",
            queryset=ServiceAtLocation.objects.select_related("location").order_by("pk"),
        ),
        "at_locations__schedules",
        *_location_prefetch("at_locations__location__"),
        "organization__contacts",
        "organization__phones",
        "organization__locations",
        *_location_prefetch("organization__locations__"),
    )


def attach_terms(services: list[Service]) -> list[Service]:
    """Give each service its taxonomy attributes (HSDS links them by id, not by key)."""
    by_id = {s.id: s for s in services}
    for service in services:
        service.terms = []
    attributes = Attribute.objects.filter(
        link_entity="service", link_id__in=list(by_id)
    ).select_related("taxonomy_term__taxonomy")
    for attribute in attributes.order_by("pk"):
        by_id[attribute.link_id].terms.append(attribute)
    return services


# --- Finding services ---------------------------------------------------------------------


class SearchError(ValueError):
    """A search that cannot be understood; the message is for people."""


@dataclass(frozen=True)
class Near:
    latitude: float
    longitude: float
    radius_km: float


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_KM * math.asin(math.sqrt(a))


def _box(near: Near) -> Q:
    """A latitude/longitude box around the point (the database narrows, then haversine)."""
    dlat = near.radius_km / 111.0
    dlon = near.radius_km / max(111.0 * math.cos(math.radians(near.latitude)), 1e-6)
    return Q(
        at_locations__location__latitude__gte=near.latitude - dlat,
        at_locations__location__latitude__lte=near.latitude + dlat,
        at_locations__location__longitude__gte=near.longitude - dlon,
        at_locations__location__longitude__lte=near.longitude + dlon,
    )


def find(
    *,
    text: str = "",
    taxonomy_term_id: str = "",
    taxonomy_id: str = "",
    organization_id: str = "",
    modified_after: datetime.datetime | None = None,
    place: str = "",
    language: str = "",
    near: Near | None = None,
    active_only: bool = False,
) -> QuerySet[Service]:
    """The services matching every criterion given (see the module's description)."""
    queryset = Service.objects.all()
    if active_only:
        queryset = queryset.filter(status=Service.Status.ACTIVE)
    if text:
        words = [w for w in text.split() if w][:8]
        for word in words:
            queryset = queryset.filter(
                Q(name__icontains=word)
                | Q(description__icontains=word)
                | Q(organization__name__icontains=word)
                | Q(translations__icontains=word)
            )
    if taxonomy_term_id or taxonomy_id:
        terms = TaxonomyTerm.objects.all()
        if taxonomy_term_id:
            # A term's narrower terms count too (food → food banks).
            terms = terms.filter(Q(pk=taxonomy_term_id) | Q(parent_id=taxonomy_term_id))
        if taxonomy_id:
            terms = terms.filter(taxonomy_id=taxonomy_id)
        linked = Attribute.objects.filter(link_entity="service", taxonomy_term__in=terms)
        queryset = queryset.filter(id__in=linked.values("link_id"))
    if organization_id:
        queryset = queryset.filter(organization_id=organization_id)
    if modified_after is not None:
        queryset = queryset.filter(last_modified__gt=modified_after)
    if place:
        jurisdiction = Jurisdiction.objects.filter(code=place).first()
        if jurisdiction is None:
            raise SearchError(_("There is no place with the code “%(code)s”.") % {"code": place})
        covering = jurisdiction.ancestor_codes
        queryset = queryset.filter(
            Q(service_areas__jurisdiction__code__in=covering)
            | Q(at_locations__location__jurisdiction__code=place)
            | Q(at_locations__location__jurisdiction__parent__code=place)
        )
    if language:
        queryset = queryset.filter(
            Q(languages__code=language) | Q(at_locations__location__languages__code=language)
        )
    if near is not None:
        queryset = queryset.filter(_box(near))
    return queryset.distinct().order_by("name", "id")


def within(services: Iterable[Service], near: Near) -> list[tuple[Service, float]]:
    """The services with a location within the radius, nearest first, with the distance."""
    found = []
    for service in services:
        distances = [
            distance_km(
                near.latitude,
                near.longitude,
                float(sal.location.latitude),
                float(sal.location.longitude),
            )
            for sal in service.at_locations.all()
            if sal.location.latitude is not None and sal.location.longitude is not None
        ]
        if distances and min(distances) <= near.radius_km:
            found.append((service, min(distances)))
    return sorted(found, key=lambda pair: pair[1])


# --- Open hours in words ------------------------------------------------------------------


def day_names() -> dict[str, str]:
    return {
        "MO": _("Monday"),
        "TU": _("Tuesday"),
        "WE": _("Wednesday"),
        "TH": _("Thursday"),
        "FR": _("Friday"),
        "SA": _("Saturday"),
        "SU": _("Sunday"),
    }


def hours_in_words(schedules: Iterable[Schedule]) -> list[str]:
    """Open hours people can read: 'Monday: 09:00–17:00'. Monthly rules keep their description."""
    names = day_names()
    lines = []
    for schedule in schedules:
        if schedule.freq == Schedule.Freq.WEEKLY and schedule.byday:
            days = [d.strip() for d in schedule.byday.split(",") if d.strip() in names]
            hours = (
                f"{_time(schedule.opens_at)}–{_time(schedule.closes_at)}"
                if schedule.opens_at and schedule.closes_at
                else ""
            )
            for day in sorted(days, key=DAYS.index):
                lines.append(f"{names[day]}: {hours}".strip().rstrip(":"))
        elif schedule.text("description"):
            lines.append(schedule.text("description"))
    return lines


# --- Offices of the registry, placed in the directory -------------------------------------

#: Records the directory makes for the registry's offices have identifiers derived from the
#: office's key (the same every time), so placing the offices again updates them in place.
_REGISTRY = uuid.UUID("6f1d3c52-5a8e-4b8f-9a61-0c6d4e7b2a10")


def registry_id(*parts: str) -> uuid.UUID:
    return uuid.uuid5(_REGISTRY, ":".join(parts))


def _names(names: dict[str, str]) -> tuple[str, dict[str, dict[str, str]]]:
    """A registry name as the directory keeps it: English as published, others translated."""
    published = names.get("en") or next(iter(names.values()), "")
    return published, {lang: {"name": text} for lang, text in names.items() if lang != "en"}


def _organization_for(agency: Agency) -> Organization:
    """The agency's organisation in the directory, made from the registry when it has none."""
    found = Organization.objects.filter(agency=agency).order_by("name", "id").first()
    if found is not None:
        return found
    name, translations = _names(agency.names)
    for texts in translations.values():
        texts["description"] = texts["name"]
    organization, _created = Organization.objects.update_or_create(
        id=registry_id("agency", agency.key),
        defaults={
            "name": name or agency.key,
            "description": name or agency.key,
            "agency": agency,
            "translations": translations,
        },
    )
    return organization


def _offered_at(office: Office, services: list[Service]) -> list[Service]:
    """The organisation's active services offered at the office: those the registry offers
    there (their catalogue service), and those whose service area covers the office's place
    (or that name no area)."""
    places = set(office.jurisdiction.ancestor_codes)
    offered = set(Offering.objects.filter(offices=office).values_list("service_id", flat=True))
    chosen = []
    for service in services:
        areas = {a.jurisdiction.code for a in service.service_areas.all() if a.jurisdiction_id}
        if (service.catalogue_service_id in offered) or not areas or areas & places:
            chosen.append(service)
    return chosen


def _office_schedules(office: Office, sal: ServiceAtLocation) -> list[Schedule]:
    """The office's opening hours as HSDS weekly schedules of a service at the office."""
    days = dict(zip(WEEKDAYS, DAYS, strict=True))
    hours: dict[tuple[str, str], list[str]] = {}
    for day, intervals in (office.hours or {}).items():
        for opens, closes in intervals:
            hours.setdefault((opens, closes), []).append(days[day])
    return [
        Schedule(
            id=registry_id("office", office.key, str(sal.service_id), opens, closes),
            service_at_location=sal,
            freq=Schedule.Freq.WEEKLY,
            byday=",".join(sorted(byday, key=DAYS.index)),
            opens_at=datetime.time.fromisoformat(opens),
            closes_at=datetime.time.fromisoformat(closes),
        )
        for (opens, closes), byday in sorted(hours.items())
    ]


@transaction.atomic
def place_offices() -> int:
    """Place every office of the registry that has coordinates in the directory, so that the
    map, the distance search, the HSDS answers and the export know it: an office no
    directory location names becomes a location of its agency's organisation (made from the
    registry when the directory has none), at the office's address and coordinates, with the
    organisation's services offered there and the office's hours. Offices a location of a
    package names (`x_office`) keep that location; an office that loses its coordinates or
    comes to be named by a package loses the location made for it. Answers how many offices
    are placed."""
    offices = list(
        Office.objects.filter(latitude__isnull=False, longitude__isnull=False)
        .select_related("agency", "jurisdiction")
        .order_by("key")
    )
    made = {registry_id("office", o.key) for o in Office.objects.only("key")}
    named = set(
        Location.objects.filter(office__isnull=False)
        .exclude(pk__in=made)
        .values_list("office_id", flat=True)
    )
    wanted = [o for o in offices if o.pk not in named]
    keep = {registry_id("office", o.key) for o in wanted}
    Location.objects.filter(pk__in=made - keep).delete()
    for office in wanted:
        organization = _organization_for(office.agency)
        name, translations = _names(office.names)
        location, _created = Location.objects.update_or_create(
            id=registry_id("office", office.key),
            defaults={
                "organization": organization,
                "location_type": Location.Type.PHYSICAL,
                "name": name or office.key,
                "translations": translations,
                "latitude": office.latitude,
                "longitude": office.longitude,
                "address_id": registry_id("office-address", office.key),
                "address_1": office.street_address,
                "city": office.locality,
                "state_province": office.region,
                "postal_code": office.postal_code,
                "country": office.country,
                "jurisdiction": office.jurisdiction,
                "office": office,
            },
        )
        services = list(
            Service.objects.filter(organization=organization, status=Service.Status.ACTIVE)
            .prefetch_related("service_areas__jurisdiction")
            .order_by("id")
        )
        location.services_here.all().delete()  # what the office offers is read afresh
        location.phones.all().delete()
        for service in _offered_at(office, services):
            sal = ServiceAtLocation.objects.create(
                id=registry_id("office", office.key, str(service.id)),
                service=service,
                location=location,
            )
            Schedule.objects.bulk_create(_office_schedules(office, sal))
        if office.phone:
            Phone.objects.create(
                id=registry_id("office-phone", office.key), location=location, number=office.phone
            )
    return len(wanted)
