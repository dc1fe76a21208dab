"""The demo identities: a family, a person with several needs, a business owner, and staff
of several agencies in every role; created idempotently and usable at once."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from joinedup.demo.identities import create_demo_identities, demo_password
from joinedup.demo.loading import demo_root
from joinedup.federation.loader import load_federation
from joinedup.identity import assurance
from joinedup.identity.models import (
    IdentityProofing,
    Mandate,
    Person,
    PersonIdentifier,
    StaffMembership,
    User,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def canada(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    load_federation([demo_root() / "canada"])


def counts() -> dict[str, int]:
    models = (User, Person, PersonIdentifier, IdentityProofing, Mandate, StaffMembership)
    return {m.__name__: m.objects.count() for m in models}


def test_the_demo_identities_are_created_once(canada):
    sign_ins = create_demo_identities()
    first = counts()
    again = create_demo_identities()
    assert counts() == first
    assert [s.username for s in again] == [s.username for s in sign_ins]
    roles = set(StaffMembership.objects.values_list("role", flat=True))
    assert roles == set(StaffMembership.Role.values)
    assert StaffMembership.objects.values("agency").distinct().count() >= 5
    amara = User.objects.get(username="amara@example.org").person
    assert assurance.level_of(amara) == 3
    assert amara.proofings.get(level=3).office.key == "sc-toronto-downtown"
    assert amara.relationships.get().related_person.given_names == "David"
    assert Mandate.objects.get(kind="business_representative").business.legal_name == (
        "Chen Bakery Ltd."
    )
    assert all(s.password == demo_password() for s in sign_ins)


def test_a_demo_staff_member_signs_in_with_the_demo_code(client, canada):
    create_demo_identities()
    username = "esdc.caseworker@example.org"
    response = client.post(
        reverse("identity:sign-in"), {"username": username, "password": demo_password()}
    )
    assert response.status_code == 302
    out = io.StringIO()
    call_command("totp_code", username, stdout=out)
    response = client.post(reverse("identity:two-factor"), {"code": out.getvalue().strip()})
    assert response.status_code == 302
    assert client.get(reverse("identity-staff:home")).status_code == 200


def test_codes_are_not_printed_in_production(canada, settings):
    create_demo_identities()
    settings.SECURE = True
    with pytest.raises(CommandError, match="refused"):
        call_command("totp_code", "esdc.caseworker@example.org", stdout=io.StringIO())
