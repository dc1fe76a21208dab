"""Who an application's applicant is: a person, a business or an agency (a party).

Code that used to read `application.applicant` as a person asks here instead when the
application may be a business's or an agency's (a shared service's request): the engine,
its notifications and its documents then work for every kind of client without knowing
which one it is.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from joinedup.federation.models import Agency
from joinedup.identity.models import Business, Person

from .models import Application


class Kind:
    PERSON = "person"
    BUSINESS = "business"
    AGENCY = "agency"


KIND_LABELS = {
    Kind.PERSON: _("Person"),
    Kind.BUSINESS: _("Business"),
    Kind.AGENCY: _("Agency"),
}


@dataclass(frozen=True)
class Party:
    """The applicant of an application, whichever kind it is."""

    kind: str
    person: Person | None = None
    business: Business | None = None
    agency: Agency | None = None

    @property
    def is_person(self) -> bool:
        return self.kind == Kind.PERSON

    @property
    def kind_label(self) -> str:
        return str(KIND_LABELS[self.kind])

    @property
    def name(self) -> str:
        """The applicant in words, as a person reads it (never a key or an id)."""
        if self.person is not None:
            return self.person.full_name
        if self.business is not None:
            return self.business.legal_name
        return self.agency.name if self.agency is not None else ""

    @property
    def language(self) -> str:
        if self.person is not None:
            return self.person.preferred_language or ""
        return ""

    @property
    def email(self) -> str:
        """Where a message to an organisation goes (a person's contact is their own)."""
        if self.agency is not None:
            return self.agency.email
        return ""


def party_of(application: Application) -> Party:
    """The application's applicant as a party (reads the related row that is set)."""
    if application.applicant_id is not None:
        return Party(Kind.PERSON, person=application.applicant)
    if application.applicant_business_id is not None:
        return Party(Kind.BUSINESS, business=application.applicant_business)
    return Party(Kind.AGENCY, agency=application.applicant_agency)


def applicant_name(application: Application) -> str:
    """Who the applicant is, in words."""
    return party_of(application).name


def is_person_application(application: Application) -> bool:
    return application.applicant_id is not None
