"""Repeated effort: the same questions asked of one linked person by services of different
agencies within a year, and the pairs of services a bundle could join to ask them once.

For a jurisdiction J and the twelve months to today: the applications to a place in J (or
under it) by a person the client index links (a live cluster naming the registry person).
A service asks the fields of its version's form (the schema's top-level properties, matched
by name across services). For each person and each two of their applications to services of
different agencies, the fields both forms ask are asked twice:

    people of a pair of services   = persons who applied to both
    repeated answers of the pair   = Σ over those persons of |fields(v₁) ∩ fields(v₂)|
    people of a field              = persons asked it by at least two agencies
    repeated askings of a field    = Σ over those persons of (agencies asking it − 1)

Only the forms' field names are read, never an answer. A row resting on fewer than
`PERFORMANCE_MIN_COUNT` people is left out of the list (the number left out is given).
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from joinedup.clientindex.models import Cluster
from joinedup.delivery.formdefs.definitions import label_of, schema_of
from joinedup.delivery.models import Application, ServiceVersion
from joinedup.federation.models import Agency, Jurisdiction, Service

WINDOW = datetime.timedelta(days=365)


@dataclass
class PairEffort:
    """Two services (ids, lower first) of two agencies asking some of the same fields."""

    first: int
    second: int
    first_agency: int
    second_agency: int
    people: int = 0
    repeated: int = 0
    fields: set[str] = field(default_factory=set)
    labels: list[str] = field(default_factory=list)
    names: tuple[str, str, str, str] = ("", "", "", "")


@dataclass
class FieldEffort:
    name: str
    label: str = ""
    people: int = 0
    repeated: int = 0
    services: set[int] = field(default_factory=set)
    service_names: list[str] = field(default_factory=list)


def _fields(form: dict) -> frozenset[str]:
    return frozenset((schema_of(form).get("properties") or {}).keys())


def effort(jurisdiction: Jurisdiction, today: datetime.date | None = None) -> dict[str, Any]:
    """Unsuppressed: every pair of services and every field asked twice (this module and
    its tests only; `published` hides the small rows). At most five queries whatever the data."""
    end = (
        timezone.now()
        if today is None
        else timezone.make_aware(
            datetime.datetime.combine(today + datetime.timedelta(days=1), datetime.time())
        )
    )
    path = jurisdiction.path
    linked = Cluster.objects.filter(
        person__isnull=False, merged_into__isnull=True, retired_at__isnull=True
    ).values("person_id")
    rows = (
        Application.objects.filter(
            Q(place__path=path) | Q(place__path__startswith=path + "/"),
            applicant_id__in=linked,
            submitted_at__gte=end - WINDOW,
            submitted_at__lt=end,
        )
        .order_by()
        .values_list("applicant_id", "service_id", "agency_id", "version_id")
        .distinct()
    )
    by_person: dict[int, list[tuple[int, int, int]]] = defaultdict(list)
    for person, service, agency, version in rows:
        by_person[person].append((service, agency, version))
    versions = {v for seen in by_person.values() for _s, _a, v in seen}
    read = ServiceVersion.objects.filter(pk__in=versions).values_list("pk", "service_id", "form")
    asked: dict[int, frozenset[str]] = {}
    form_of: dict[int, dict] = {}  # a service's latest version read: for the fields' labels
    for pk, service, form in sorted(read):
        asked[pk] = _fields(form)
        form_of[service] = form
    pairs: dict[tuple[int, int], PairEffort] = {}
    fields: dict[str, FieldEffort] = {}
    for seen in by_person.values():
        agencies_asking: dict[str, set[int]] = defaultdict(set)
        services_asking: dict[str, set[int]] = defaultdict(set)
        for service, agency, version in seen:
            for name in asked.get(version, ()):
                agencies_asking[name].add(agency)
                services_asking[name].add(service)
        for name, agencies in agencies_asking.items():
            if len(agencies) > 1:
                found = fields.setdefault(name, FieldEffort(name))
                found.people += 1
                found.repeated += len(agencies) - 1
                found.services |= services_asking[name]
        common_of: dict[tuple[int, int], set[str]] = defaultdict(set)
        agencies_of: dict[tuple[int, int], tuple[int, int]] = {}
        for (s1, a1, v1), (s2, a2, v2) in combinations(sorted(seen), 2):
            common = asked.get(v1, frozenset()) & asked.get(v2, frozenset())
            if a1 != a2 and s1 != s2 and common:
                common_of[(s1, s2)] |= common
                agencies_of[(s1, s2)] = (a1, a2)
        for key, common in common_of.items():
            pair = pairs.setdefault(key, PairEffort(*key, *agencies_of[key]))
            pair.people += 1
            pair.repeated += len(common)
            pair.fields |= common
    services = Service.objects.in_bulk(
        {s for key in pairs for s in key} | {s for f in fields.values() for s in f.services}
    )
    agencies = Agency.objects.in_bulk(
        {a for p in pairs.values() for a in (p.first_agency, p.second_agency)}
    )
    for pair in pairs.values():
        form = form_of.get(pair.first, {})
        pair.labels = sorted({label_of(form, name) for name in pair.fields}, key=str.casefold)
        pair.names = (
            services[pair.first].name,
            agencies[pair.first_agency].name,
            services[pair.second].name,
            agencies[pair.second_agency].name,
        )
    for found in fields.values():
        found.label = label_of(form_of.get(min(found.services), {}), found.name)
        found.service_names = sorted((services[s].name for s in found.services), key=str.casefold)
    return {"pairs": list(pairs.values()), "fields": list(fields.values())}


def published(jurisdiction: Jurisdiction, min_count: int | None = None) -> dict[str, Any]:
    """The suggestion list: pairs of services by repeated answers, fields by repeated
    askings, rows resting on fewer people than the minimum left out."""
    minimum = settings.PERFORMANCE_MIN_COUNT if min_count is None else min_count
    found = effort(jurisdiction)
    pairs = sorted(
        (p for p in found["pairs"] if p.people >= minimum),
        key=lambda p: (-p.repeated, -p.people, p.names[0].casefold()),
    )
    fields = sorted(
        (f for f in found["fields"] if f.people >= minimum),
        key=lambda f: (-f.repeated, f.label.casefold()),
    )
    return {
        "bundles": pairs,
        "fields": fields,
        "bundles_left_out": len(found["pairs"]) - len(pairs),
        "fields_left_out": len(found["fields"]) - len(fields),
    }
