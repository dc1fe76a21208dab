"""Which agencies hold a record linked to a person: for the person, and through the gate.

The field `linked_agencies` (category identity) joins the gate's catalogue, so a caseworker
reads it with `gate.disclose` (decided and written to the person's ledger like any read)
and never sees the raw lists. A merged person's records count with the person they now are.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from joinedup.federation.models import Agency
from joinedup.identity.models import Person
from joinedup.sharing.categories import register_field

from .clusters import resolve
from .models import PersonAlias, SourceRecord


def person_ids(person: Person) -> set[int]:
    """The person they now are, and everyone merged into them (their records count too)."""
    person = resolve(person)
    ids = {person.pk}
    frontier = [person.pk]
    while frontier:
        merged = set(
            PersonAlias.objects.filter(resolves_to_id__in=frontier).values_list(
                "person_id", flat=True
            )
        )
        frontier = list(merged - ids)
        ids |= merged
    return ids


def agencies_holding(person: Person) -> list[Agency]:
    """The agencies holding at least one record linked to the person, by name."""
    agency_ids = (
        SourceRecord.objects.filter(
            cluster__person_id__in=person_ids(person), cluster__retired_at__isnull=True
        )
        .values_list("agency_id", flat=True)
        .distinct()
    )
    agencies = list(Agency.objects.filter(pk__in=set(agency_ids)))
    return sorted(agencies, key=lambda a: a.name)


def _linked_agencies(person: Person) -> list[str]:
    return [agency.name for agency in agencies_holding(person)]


register_field("linked_agencies", "identity", _("agencies holding a record"), _linked_agencies)
