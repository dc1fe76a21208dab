"""Fixtures for the channels tests: the Canadian demo federation with its service versions
and bundles (once per module, rolled back after it), staff of three agencies, a person with a
verified mobile number, and a hospital's API clients.

- ESDC's clerk serves at Service Canada Toronto; ESDC is a party to the Ontario newborn
  joint-delivery agreement with ServiceOntario and CRA.
- Toronto's clerk works for the city, which has no joint-delivery agreement for birth
  services: it is refused when serving them.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.db import transaction
from django.utils import timezone

from joinedup.bundles import loader
from joinedup.delivery import versions
from joinedup.demo import loading
from joinedup.federation.loader import load_federation
from joinedup.federation.models import Agency, Office
from joinedup.identity import acting, assurance, tokens
from joinedup.identity.acting import ActingContext
from joinedup.identity.client_registry import AddressInput, register_person
from joinedup.identity.models import ApiClient, ContactPoint, Person, StaffMembership, User

CANADA = loading.federation_folder("canada")
BUNDLES = loading.BUNDLES / "bundles"


@dataclass
class World:
    esdc_clerk: User
    city_clerk: User
    cra_agent: User
    amara: User
    hospital: ApiClient
    hospital_secret: str
    hospital_reader: ApiClient
    hospital_reader_secret: str

    def staff(self, user: User) -> ActingContext:
        return acting.for_user(user, second_factor=True)

    def person(self, user: User) -> ActingContext:
        return acting.for_user(user)


def _staff(email: str, agency: str, office: str | None = None) -> User:
    user = User.objects.create_user(username=email, email=email, password="x" * 20)
    membership = StaffMembership.objects.create(
        user=user, agency=Agency.objects.get(key=agency), role="front_line"
    )
    if office:
        membership.offices.add(Office.objects.get(key=office))
    return user


def build_world() -> World:
    esdc_clerk = _staff("clerk@esdc.example.org", "esdc", "sc-toronto-downtown")
    city_clerk = _staff("clerk@toronto.example.org", "toronto", "toronto-city-hall")
    cra_agent = _staff("agent@cra.example.org", "cra")
    someone = register_person(
        given_names="Amara",
        family_name="Okafor",
        birth_date=datetime.date(1988, 3, 14),
        address=AddressInput("40 Bay St", "Toronto", "ON", "M5J 2X2", "CA", "CA-ON-TOR"),
        contacts=[("email", "amara@example.org"), ("mobile", "+1 416 555 0142")],
    )
    ContactPoint.objects.filter(person=someone).update(verified_at=timezone.now())
    amara = User.objects.create_user(
        username="amara@example.org",
        email="amara@example.org",
        password="a long password 123",
        person=someone,
    )
    assurance.record_proofing(someone, level=2, method="document_check")
    moh = Agency.objects.get(key="on-moh")
    hospital, secret = tokens.create_api_client(
        moh, name="Toronto General birth notices", role="front_line", scopes=["read", "write"]
    )
    reader, reader_secret = tokens.create_api_client(
        moh, name="Read-only", role="front_line", scopes=["read"]
    )
    return World(esdc_clerk, city_clerk, cra_agent, amara, hospital, secret, reader, reader_secret)


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker) -> Iterator[World]:
    with django_db_blocker.unblock(), transaction.atomic():
        load_federation([CANADA])
        versions.load_paths([loading.SERVICE_VERSIONS])
        versions.load_paths([loading.BUNDLES / "services"])
        loader.load_bundles([BUNDLES])
        yield build_world()
        transaction.set_rollback(True)


@pytest.fixture(autouse=True)
def channel_settings(settings, tmp_path):
    from django.utils import translation

    translation.activate("en")
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.PUBLIC_URL = "https://services.example.org"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.SMS_PROVIDER = "sandbox"


def birth_registration(**overrides) -> dict:
    data = {
        "child_given_names": "Noor",
        "child_family_name": "Okafor",
        "birth_date": (timezone.localdate() - datetime.timedelta(days=2)).isoformat(),
        "sex": "female",
        "birth_province": "CA-ON",
        "birth_place": "Toronto General Hospital",
        "parents": [{"given_names": "Amara", "family_name": "Okafor"}],
        "mailing_address": {
            "street_address": "40 Bay St",
            "locality": "Toronto",
            "postal_code": "M5J 2X2",
        },
    }
    data.update(overrides)
    return data


def person_of(user: User) -> Person:
    return user.person
