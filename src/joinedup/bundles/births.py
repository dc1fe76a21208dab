"""When a birth is registered: the child enters the client registry, and each parent gets
the mandate to act for them.

The registrar's decision (the birth registration's process announces
`org.joinedup.application.birth_registered`) is the fact the mandate rests on: from then on a
parent can switch to the child in "My services" and apply, see and manage for them until the
eve of the age of majority. The parents are the applicant and any other parent named in the
registration who is the applicant's spouse or partner in the registry (matched by name); a
parent the registry does not know gets no mandate until a caseworker records one.
"""

from __future__ import annotations

import datetime
import logging

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from joinedup.delivery.models import Application
from joinedup.identity import mandates
from joinedup.identity.client_registry import AddressInput, register_person
from joinedup.identity.models import Person, Relationship

from .models import RegisteredBirth

logger = logging.getLogger(__name__)


def _same_name(person: Person, entry: dict) -> bool:
    def norm(text: str) -> str:
        return " ".join((text or "").split()).casefold()

    return norm(person.given_names) == norm(entry.get("given_names", "")) and norm(
        person.family_name
    ) == norm(entry.get("family_name", ""))


def parents_of(application: Application) -> list[Person]:
    """The registered parents the registry can tell: the applicant, and their partner when
    named among the parents."""
    applicant = application.applicant
    found = [applicant]
    named = [p for p in application.data.get("parents") or [] if isinstance(p, dict)]
    partners = Person.objects.filter(
        pk__in=Relationship.objects.filter(
            person=applicant, kind=Relationship.Kind.SPOUSE_OF
        ).values("related_person")
    )
    for entry in named:
        if _same_name(applicant, entry):
            continue
        match = next((p for p in partners if _same_name(p, entry)), None)
        if match is not None and match not in found:
            found.append(match)
    return found


def _address_of(person: Person) -> AddressInput | None:
    address = person.current_address()
    if address is None:
        return None
    return AddressInput(
        street_address=address.street_address,
        locality=address.locality,
        region=address.region,
        postal_code=address.postal_code,
        country=address.country,
        jurisdiction_code=address.jurisdiction.code if address.jurisdiction_id else "",
    )


def record_birth(application: Application) -> RegisteredBirth:
    """Register the child and give each parent a mandate, once per registration."""
    existing = RegisteredBirth.objects.filter(registration=application).first()
    if existing is not None:
        return existing
    data = application.data
    parents = parents_of(application)
    with transaction.atomic():
        child = register_person(
            given_names=data.get("child_given_names", ""),
            family_name=data.get("child_family_name", ""),
            birth_date=datetime.date.fromisoformat(data["birth_date"]),
            preferred_language=application.applicant.preferred_language,
            address=_address_of(application.applicant),
        )
        birth = RegisteredBirth.objects.create(registration=application, child=child)
        given = []
        for parent in parents:
            try:
                mandates.grant_parental_mandate(
                    parent,
                    child,
                    basis=_("Birth registration %(reference)s")
                    % {"reference": application.reference},
                )
            except ValidationError as error:
                logger.warning("no parental mandate for birth %s: %s", application.reference, error)
                continue
            given.append(parent)
        birth.parents.set(given)
    return birth
