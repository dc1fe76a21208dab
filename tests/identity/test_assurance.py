"""Levels of assurance: step up when a service needs more, prove once, reuse everywhere."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from joinedup.federation.models import Office, Service
from joinedup.identity import assurance
from joinedup.identity.client_registry import AddressInput
from joinedup.identity.models import IdentityProofing

from .conftest import page_text, sign_in

pytestmark = pytest.mark.django_db

PROVIDERS = {
    "ontario-id": {
        "name": {"en": "Ontario sign-in", "fr": "Connexion Ontario"},
        "issuer": "http://127.0.0.1:9/",
        "client_id": "joinedup",
        "assurance": 2,
    }
}


def start(key: str) -> str:
    return reverse("identity:service-start", args=[key])


def test_a_person_below_the_level_is_asked_to_step_up_and_told_how(
    client, small_federation, make_account, settings
):
    settings.OIDC_PROVIDERS = PROVIDERS
    user = make_account(level=1)
    sign_in(client, user)
    response = client.get(start("ca.birth-registration"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("identity:step-up"))
    page = client.get(response["Location"])
    text = page_text(page)
    assert page.status_code == 200
    assert "needs your identity verified at level 2" in text
    assert "Yours is at level 1" in text
    assert "Sign in with Ontario sign-in" in text  # online
    assert "Service Canada Centre Toronto" in text  # or in person
    assert "1 Front St W" in text


def test_in_person_services_cannot_be_reached_online(
    client, small_federation, make_account, settings
):
    settings.OIDC_PROVIDERS = PROVIDERS
    Service.objects.filter(key="ca.social-insurance-number").update(required_assurance=3)
    sign_in(client, make_account(level=2))
    response = client.get(start("ca.social-insurance-number"), follow=True)
    text = page_text(response)
    assert "needs your identity verified at level 3" in text
    assert "Ontario sign-in" not in text
    assert "Service Canada Centre Toronto" in text


def test_a_proof_at_a_counter_is_reused_by_every_agency(
    client, small_federation, make_account, make_staff
):
    person_user = make_account(level=1)
    person = person_user.person

    # A front-line worker of Service Canada sees the person at a counter.
    clerk = make_staff(agency="esdc", role="front_line")
    sign_in(client, clerk)
    url = reverse("identity-staff:record-proofing", args=[person.pk])
    response = client.post(url, {"method": "in_person", "evidence": ["passport"], "office": ""})
    assert response.status_code == 400
    assert "Say at which office the person was seen." in page_text(response)
    response = client.post(
        url, {"method": "in_person", "evidence": ["passport"], "office": "esdc-toronto"}
    )
    assert response.status_code == 302
    proof = IdentityProofing.objects.get(person=person, level=3)
    assert proof.office.key == "esdc-toronto"
    assert proof.verified_by == clerk
    assert proof.evidence == ["passport"]
    assert proof.valid_until > datetime.date.today()

    # The person can now use a service of another agency (ServiceOntario) needing level 2.
    citizen = client.__class__()
    sign_in(citizen, person_user)
    assert citizen.get(start("ca.birth-registration")).status_code == 200

    # Nobody re-verifies what is still valid.
    response = client.post(
        url, {"method": "in_person", "evidence": ["passport"], "office": "esdc-toronto"}
    )
    assert response.status_code == 400
    assert "There is no need to verify it again." in page_text(response)
    assert IdentityProofing.objects.filter(person=person, level=3).count() == 1


def test_a_proof_can_be_renewed_near_its_end(small_federation, make_account):
    person = make_account(level=2).person
    proof = person.proofings.get(level=2)
    with pytest.raises(ValidationError):
        assurance.record_proofing(person, level=2, method="document_check")
    proof.valid_until = datetime.date.today() + datetime.timedelta(days=10)
    proof.save()
    assurance.record_proofing(person, level=2, method="document_check")
    assert person.proofings.filter(level=2).count() == 2


def test_an_expired_proof_no_longer_counts(small_federation, make_account):
    person = make_account(level=2).person
    person.proofings.filter(level=2).update(valid_until=datetime.date(2020, 1, 1))
    assert assurance.level_of(person) == 0


def test_a_method_cannot_claim_more_than_it_proves(small_federation, make_account):
    person = make_account(level=1).person
    with pytest.raises(ValidationError, match="cannot prove identity at that level"):
        assurance.record_proofing(person, level=3, method="document_check")
    with pytest.raises(ValidationError, match="names the office"):
        assurance.record_proofing(person, level=3, method="in_person")


def test_staff_verify_only_people_their_agency_serves(
    client, small_federation, make_account, make_staff
):
    from joinedup.identity.client_registry import move

    person = make_account(level=1).person
    move(
        person,
        AddressInput("1 rue Sainte-Catherine", "Montréal", "QC", jurisdiction_code="CA-QC-MTL"),
        datetime.date.today(),
    )
    clerk = make_staff(agency="serviceontario", role="front_line")
    sign_in(client, clerk)
    response = client.get(reverse("identity-staff:record-proofing", args=[person.pk]))
    assert response.status_code == 403
    assert "You may not verify this person's identity." in page_text(response)


def test_the_step_up_page_for_an_unknown_service_is_a_404(client, small_federation):
    assert client.get(reverse("identity:step-up") + "?service=nope").status_code == 404


def test_anonymous_visitors_sign_in_before_applying(client, small_federation):
    response = client.get(start("ca.birth-registration"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("identity:sign-in"))


def test_offices_are_those_that_serve_at_a_counter(small_federation):
    service = Service.objects.get(key="ca.social-insurance-number")
    offices = assurance.proofing_offices(service, None)
    assert [o.key for o in offices] == ["esdc-toronto"]
    assert all(
        "counter" in o.channels for o in Office.objects.filter(pk__in=[o.pk for o in offices])
    )
