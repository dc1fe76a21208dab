"""Fixtures for the bundles tests: the Canadian demo federation with its service versions
and the demo bundles, loaded once per module (and rolled back after it), and a family.

The family lives in Toronto: Amara (verified in person, level 3) and David (verified
remotely, level 2) are partners; Jordan lives in Montréal and is no relation of theirs.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.db import transaction

from joinedup.bundles import loader
from joinedup.delivery import versions
from joinedup.demo import loading
from joinedup.federation.loader import load_federation
from joinedup.federation.models import Agency, Office
from joinedup.identity import acting, assurance
from joinedup.identity.acting import ActingContext
from joinedup.identity.client_registry import AddressInput, register_person
from joinedup.identity.models import Person, Relationship, StaffMembership, User

CANADA = loading.federation_folder("canada")
BUNDLES = loading.BUNDLES / "bundles"
# A birth inside the registration period (the form refuses one older than 30 days).
RECENT_BIRTH = (datetime.date.today() - datetime.timedelta(days=3)).isoformat()


@dataclass
class Family:
    amara: User
    david: User
    jordan: User
    clerk: User

    def context(self, user: User, subject: Person | None = None) -> ActingContext:
        return acting.for_user(
            user, subject_id=subject.pk if subject else None, strict=subject is not None
        )


def person(
    email: str, given: str, family: str, born: datetime.date, place: str, street: str
) -> User:
    someone = register_person(
        given_names=given,
        family_name=family,
        birth_date=born,
        address=AddressInput(street, place.split("-")[-1].title(), "", "M5J 2X2", "CA", place),
        contacts=[("email", email)],
    )
    return User.objects.create_user(
        username=email, email=email, password="a long password 123", person=someone
    )


def build_family() -> Family:
    esdc = Agency.objects.get(key="esdc")
    clerk = User.objects.create_user(
        username="clerk@example.org", email="clerk@example.org", password="x" * 20
    )
    StaffMembership.objects.create(user=clerk, agency=esdc, role="front_line")
    amara = person(
        "amara@example.org", "Amara", "Okafor", datetime.date(1988, 3, 14), "CA-ON-TOR", "40 Bay St"
    )
    assurance.record_proofing(
        amara.person,
        level=3,
        method="in_person",
        verified_by=clerk,
        office=Office.objects.get(key="sc-toronto-downtown"),
    )
    david = person(
        "david@example.org", "David", "Okafor", datetime.date(1986, 11, 2), "CA-ON-TOR", "40 Bay St"
    )
    assurance.record_proofing(david.person, level=2, method="document_check")
    for one, other in ((amara, david), (david, amara)):
        Relationship.objects.create(
            person=one.person, kind=Relationship.Kind.SPOUSE_OF, related_person=other.person
        )
    jordan = person(
        "jordan@example.org",
        "Jordan",
        "Tremblay",
        datetime.date(1979, 7, 23),
        "CA-QC-MTL",
        "1200 boul. de Maisonneuve E",
    )
    assurance.record_proofing(jordan.person, level=2, method="document_check")
    return Family(amara, david, jordan, clerk)


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker) -> Iterator[Family]:
    """The demo federation, its service versions, the demo bundles and the family."""
    with django_db_blocker.unblock(), transaction.atomic():
        load_federation([CANADA])
        versions.load_paths([loading.SERVICE_VERSIONS])
        versions.load_paths([loading.BUNDLES / "services"])
        loader.load_bundles([BUNDLES])
        yield build_family()
        transaction.set_rollback(True)


@pytest.fixture(autouse=True)
def english():
    from django.utils import translation

    translation.activate("en")
    yield
    translation.activate("en")


@pytest.fixture(autouse=True)
def bundle_settings(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.PUBLIC_URL = "https://services.example.org"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def newborn_screening(**overrides) -> dict:
    answers = {"birth_province": "CA-ON", "lives_with_child": True, "wants_certificate": True}
    answers.update(overrides)
    return answers


def newborn_answers(**overrides) -> dict:
    """What a parent types into the unified form (the rest is prefilled)."""
    answers = {
        "child_given_names": "Noor",
        "child_family_name": "Okafor",
        "birth_date": (datetime.date.today() - datetime.timedelta(days=3)).isoformat(),
        "sex": "female",
        "birth_place": "Toronto General Hospital",
        "birth_town": "Toronto",
        "other_parent_given_names": "David",
        "other_parent_family_name": "Okafor",
        "certificate_reason": "passport",
        "marital_status": "married",
        "spouse_name": "David Okafor",
        "income_last_year": 85000,
    }
    answers.update(overrides)
    return answers


NEWBORN_LEGS = [
    "birth-registration",
    "birth-certificate",
    "social-insurance-number",
    "child-benefit",
    "provincial-child-benefit",
    "education-savings",
]


def staff(agency_key: str, role: str = "caseworker") -> ActingContext:
    """A staff member's context (second factor given)."""
    agency = Agency.objects.select_related("jurisdiction").get(key=agency_key)
    user = User.objects.create_user(
        username=f"{role}.{agency_key}@example.org",
        email=f"{role}.{agency_key}@example.org",
        password="x" * 20,
    )
    membership = StaffMembership.objects.create(user=user, agency=agency, role=role)
    return ActingContext(
        user_id=user.pk,
        needs_second_factor=True,
        second_factor=True,
        membership_id=membership.pk,
        agency_key=agency.key,
        agency_jurisdiction=agency.jurisdiction.code if agency.jurisdiction_id else None,
        role=role,
    )


def run_workers() -> None:
    """What the task workers do after a bundle is accepted: deliver the outbox's events,
    which start each leg's application in its agency (`bundles.starting`)."""
    from joinedup.sharing import dispatch

    dispatch.dispatch_pending()
