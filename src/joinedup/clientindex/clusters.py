"""Writing clusters: new client index ids, the person each maps to, and resolving old ids.

Shared by the runs and the stewards' decisions (no Splink here). A new cluster maps to the
person in identity's registry holding the same identifier (by blind index), else to a new
person made from its first record. A person merged into another resolves to it, however
many merges happened since.
"""

from __future__ import annotations

import secrets

from django.db.models import QuerySet

from joinedup.identity import encryption, identifiers
from joinedup.identity.models import Person, PersonIdentifier

from .models import Cluster, PersonAlias, SourceRecord

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def new_key() -> str:
    """A fresh client index id: no meaning, no personal data, hard to guess."""
    return "CI-" + "".join(secrets.choice(ALPHABET) for _ in range(10))


def person_for(records: list[SourceRecord]) -> Person:
    """The registry's person for a new cluster: found by identifier, else made."""
    indexes = [r.identifier_index for r in records if r.identifier_index]
    if indexes:
        found = (
            PersonIdentifier.objects.filter(blind_index__in=indexes)
            .select_related("person")
            .first()
        )
        if found is not None:
            return resolve(found.person)
    first = records[0]
    return Person.objects.create(
        given_names=first.given_names or "-",
        family_name=first.family_name,
        birth_date=first.birth_date,
    )


def resolve(person: Person) -> Person:
    """The person a (possibly merged) person now is."""
    seen = {person.pk}
    while True:
        alias = PersonAlias.objects.filter(person=person).select_related("resolves_to").first()
        if alias is None or alias.resolves_to_id in seen:
            return person
        person = alias.resolves_to
        seen.add(person.pk)


def person_with_identifier(kind: str, raw: str) -> Person | None:
    """The person an agency's record holding this identifier is linked to, resolved: how
    another node's assertion finds someone this node knows only from its agencies' client
    lists (not yet in the registry by that identifier). None when no linked record holds it;
    ValidationError or LookupError for an identifier that is not valid or not known."""
    identifier_type = identifiers.get(kind)
    index = encryption.blind_index(identifier_type.key, identifier_type.clean(raw))
    record = (
        SourceRecord.objects.filter(
            identifier_kind=identifier_type.key,
            identifier_index=index,
            cluster__isnull=False,
            cluster__person__isnull=False,
        )
        .select_related("cluster__person")
        .order_by("pk")
        .first()
    )
    return resolve(record.cluster.person) if record else None


def resolve_key(key: str) -> Cluster | None:
    """The live cluster an id (possibly of a merged cluster) now is."""
    cluster = Cluster.objects.filter(key=key).first()
    seen = set()
    while cluster is not None and cluster.merged_into_id and cluster.pk not in seen:
        seen.add(cluster.pk)
        cluster = cluster.merged_into
    return cluster


def live() -> QuerySet[Cluster]:
    return Cluster.objects.filter(retired_at__isnull=True)
