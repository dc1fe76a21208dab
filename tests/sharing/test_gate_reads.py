"""Staff reads that once left no trace are now in the person's ledger, with what was read,
why and on which basis: the person endpoint, an application read by a caseworker, the
admin site's pages of a person; the person's own reads add nothing."""

from __future__ import annotations

import datetime

import pytest
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from joinedup.federation.models import Agency
from joinedup.identity import acting, disclosure, tokens
from joinedup.identity.client_registry import AddressInput, add_identifier, register_person
from joinedup.identity.models import User
from joinedup.sharing import gate, presentation
from joinedup.sharing.models import AccessEvent
from tests.delivery.test_authorisation import make_records
from tests.identity.test_authorisation_matrix import build_world

pytestmark = pytest.mark.django_db

VALID_SIN = "046 454 286"


@pytest.fixture
def amara(small_federation):
    person = register_person(
        given_names="Amara",
        family_name="Okafor",
        birth_date=datetime.date(1988, 3, 14),
        address=AddressInput("1 King St W", "Toronto", "ON", jurisdiction_code="CA-ON-TOR"),
    )
    add_identifier(person, "ca-sin", VALID_SIN)
    return person


def bearer(value: str) -> dict:
    return {"Authorization": f"Bearer {value}"}


def test_an_agency_reading_a_person_by_the_api_is_in_their_ledger(amara):
    _client, value = tokens.create_api_client(
        Agency.objects.get(key="esdc"), name="Benefits system", role="front_line"
    )
    response = Client().get(f"/api/v1/people/{amara.pk}", headers=bearer(value))
    assert response.status_code == 200
    assert response.json()["identifiers"] == {"ca-sin": "••••••286"}
    event = AccessEvent.objects.get(subject_id=amara.pk)
    assert event.outcome == AccessEvent.Outcome.DISCLOSED
    assert event.actor_agency == "esdc" and event.purpose == "person-record"
    assert {"given_names", "birth_date", "masked_identifiers"} <= set(event.fields)
    assert event.legal_basis == "own_agency"


def test_the_persons_own_reads_add_nothing(amara):
    user = User.objects.create_user("amara@example.org", "amara@example.org", person=amara)
    _token, value = tokens.create_personal_token(user)
    response = Client().get(f"/api/v1/people/{amara.pk}", headers=bearer(value))
    assert response.status_code == 200 and response.json()["given_names"] == "Amara"
    assert not AccessEvent.objects.filter(subject_id=amara.pk).exists()


def test_a_caseworker_reading_an_application_is_in_the_applicants_ledger(small_federation):
    world = build_world()
    records = make_records(world)
    before = AccessEvent.objects.filter(subject_id=world.amara.pk).count()
    _client, value = tokens.create_api_client(
        Agency.objects.get(key="serviceontario"), name="Registry", role="caseworker"
    )
    url = f"/api/v1/applications/{records.open_application.pk}"
    response = Client().get(url, headers=bearer(value))
    assert response.status_code == 200
    events = AccessEvent.objects.filter(subject_id=world.amara.pk).order_by("seq")
    assert events.count() == before + 1
    event = events.last()
    assert event.fields == ["applications"] and event.holder_agency == "serviceontario"
    assert event.purpose == "service-delivery"


def _admin_client() -> tuple[Client, User]:
    admin = User.objects.create_user("root@example.org", "root@example.org")
    admin.is_staff = admin.is_superuser = True
    admin.save()
    client = Client()
    client.force_login(admin)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = TOTPDevice.objects.create(user=admin).persistent_id
    session.save()
    return client, admin


def test_the_admin_site_records_each_person_it_shows(amara):
    client, admin = _admin_client()
    listing = client.get("/admin/identity/person/")
    assert listing.status_code == 200 and "Okafor" in listing.content.decode()
    change = client.get(f"/admin/identity/person/{amara.pk}/change/")
    assert change.status_code == 200
    events = list(AccessEvent.objects.filter(subject_id=amara.pk).order_by("seq"))
    assert len(events) == 2
    assert {e.legal_basis for e in events} == {"administration"}
    assert {e.purpose for e in events} == {"platform-administration"}
    assert all(e.actor_user_id == admin.pk for e in events)
    # In her "Who used my data", the administrators are named as such.
    entries = presentation.access_entries(events)
    assert {str(e.agency_name) for e in entries} == {"The platform's administrators"}


def test_only_platform_administrators_read_for_administration(amara):
    """Naming the admin's purpose opens nothing to anyone else: staff of no person-facing
    role, or an administrator through a token, are refused (and the refusal is recorded)."""
    auditor = User.objects.create_user("auditor@example.org", "auditor@example.org")
    context = acting.ActingContext(
        user_id=auditor.pk,
        needs_second_factor=True,
        second_factor=True,
        agency_key="esdc",
        role="auditor",
    )
    with pytest.raises(gate.DisclosureRefused):
        gate.disclose(context, amara, ["given_names"], disclosure.ADMINISTRATION)
    by_token = acting.ActingContext(
        user_id=auditor.pk,
        needs_second_factor=True,
        second_factor=True,
        platform_admin=True,
        token_id=1,
    )
    with pytest.raises(disclosure.Refused):
        disclosure.disclose(by_token, amara, ["given_names"], disclosure.ADMINISTRATION)
    assert AccessEvent.objects.filter(subject_id=amara.pk, outcome="refused").count() == 2
