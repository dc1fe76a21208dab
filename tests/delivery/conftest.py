"""Fixtures for the delivery tests: the small federation, service versions, people, staff."""

from __future__ import annotations

import datetime

import pytest

from joinedup.delivery import versions
from joinedup.demo import loading
from joinedup.federation.loader import load_federation
from joinedup.federation.models import Agency
from joinedup.identity.acting import ActingContext
from joinedup.identity.client_registry import AddressInput, register_person
from joinedup.identity.models import IdentityProofing, StaffMembership, User
from tests.module_data import loaded_once

DEMO = loading.SERVICE_VERSIONS


@pytest.fixture(autouse=True)
def english():
    from django.utils import translation

    translation.activate("en")
    yield
    translation.activate("en")


@pytest.fixture(autouse=True)
def delivery_settings(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.PUBLIC_URL = "https://services.example.org"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def birth_answers(**overrides) -> dict:
    answers = {
        "child_given_names": "Noor",
        "child_family_name": "Okafor",
        "birth_date": (datetime.date.today() - datetime.timedelta(days=3)).isoformat(),
        "sex": "female",
        "birth_province": "CA-ON",
        "birth_place": "Toronto General Hospital",
        "parents": [{"given_names": "Amara", "family_name": "Okafor"}],
        "mailing_address": {
            "street_address": "100 Queen St W",
            "locality": "Toronto",
            "postal_code": "M5H 2N2",
        },
    }
    answers.update(overrides)
    return answers


def person_context(user: User) -> ActingContext:
    from joinedup.identity import acting

    return acting.for_user(user)


def staff_context(user: User, agency: Agency, role: str) -> ActingContext:
    membership, _created = StaffMembership.objects.get_or_create(
        user=user, agency=agency, role=role
    )
    return ActingContext(
        user_id=user.pk,
        needs_second_factor=True,
        second_factor=True,
        membership_id=membership.pk,
        agency_key=agency.key,
        agency_jurisdiction=agency.jurisdiction.code if agency.jurisdiction_id else None,
        role=role,
    )


@pytest.fixture(scope="module")
def canada_loaded(django_db_setup, django_db_blocker):
    """The Canadian demo federation and the demo services' versions, loaded once for each
    module that uses them (tests/module_data.py); gives the versions deployed."""
    with loaded_once(django_db_blocker):
        load_federation([loading.federation_folder("canada")])
        yield versions.load_paths([DEMO])


@pytest.fixture
def federation(small_federation):
    return {a.key: a for a in Agency.objects.select_related("jurisdiction")}


@pytest.fixture
def birth_registration(federation):
    return versions.load_file(DEMO / "birth-registration.json").version


@pytest.fixture
def make_applicant(db):
    """A person with an account, verified remotely (level 2), living in a given place."""
    from joinedup.identity import assurance

    def make(email="amara@example.org", place="CA-ON-TOR", language="en", mobile=None):
        contacts = [("email", email)] + ([("mobile", mobile)] if mobile else [])
        person = register_person(
            given_names="Amara",
            family_name="Okafor",
            birth_date=datetime.date(1990, 1, 2),
            preferred_language=language,
            address=AddressInput(
                street_address="100 Queen St W", locality="Toronto", jurisdiction_code=place
            ),
            contacts=contacts,
        )
        user = User.objects.create_user(
            username=email, email=email, password="a long password 123", person=person
        )
        assurance.record_proofing(person, level=2, method=IdentityProofing.Method.DOCUMENT_CHECK)
        return user

    return make


@pytest.fixture
def applicant(make_applicant):
    return make_applicant()


@pytest.fixture
def make_staff(db):
    def make(agency: Agency, role: str = "caseworker", username: str | None = None):
        username = username or f"{role}.{agency.key}@example.org"
        user = User.objects.create_user(username=username, email=username, password="x" * 20)
        return staff_context(user, agency, role)

    return make


def sign_in(client, user: User, *, second_factor: bool = False):
    """The browser session of `user` (staff confirm with their authenticator)."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    client.force_login(user)
    if second_factor:
        device = TOTPDevice.objects.create(user=user, name="phone")
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
    return client


@pytest.fixture
def staff_client(make_staff):
    """staff_client(agency, role): a signed-in browser of a staff member, and their context."""
    from django.test import Client

    def make(agency: Agency, role: str = "caseworker", username: str | None = None):
        context = make_staff(agency, role, username)
        user = User.objects.get(pk=context.user_id)
        return sign_in(Client(), user, second_factor=True), context

    return make


def copies_of(application, count: int) -> list:
    """`count` copies of a submitted application, with its timeline and work items, written
    with one bulk insert per table (list pages are measured with hundreds of rows, and
    submitting each through the engine would make the suite slow). Each copy has its own
    reference; everything else (applicant, agency, status, clock, open tasks) is the
    original's, so each copy shows on the same pages as the original."""
    import uuid

    from joinedup.delivery.applications import new_reference
    from joinedup.delivery.models import Application, StatusChange, WorkItem

    timeline = list(application.timeline.all())
    items = list(application.work_items.all())
    copies = []
    for _n in range(count):
        copy = Application.objects.get(pk=application.pk)
        copy.pk = uuid.uuid4()
        copy.reference = new_reference()
        copy.idempotency_key = ""
        copies.append(copy)
    Application.objects.bulk_create(copies)
    rows, work = [], []
    for copy in copies:
        for change in timeline:
            change.pk, change.application_id = None, copy.pk
            rows.append(StatusChange(**_fields(change)))
        for item in items:
            item.pk, item.application_id, item.task_id = None, copy.pk, uuid.uuid4()
            work.append(WorkItem(**_fields(item)))
    StatusChange.objects.bulk_create(rows)
    WorkItem.objects.bulk_create(work)
    return copies


def _fields(record) -> dict:
    return {f.attname: getattr(record, f.attname) for f in record._meta.concrete_fields}
