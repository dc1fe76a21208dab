"""The facts a person chooses to give on their profile: accessibility needs, the date they
arrived in the country, and the size of each business they represent."""

from __future__ import annotations

import datetime

import pytest
from django.test import Client
from django.utils import timezone

from joinedup.identity.models import Business, Mandate, Person

from .conftest import page_text, sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def amara(make_account):
    return make_account(birth_date=datetime.date(1990, 1, 2))


@pytest.mark.parametrize("language", ["en", "fr"])
def test_the_profile_page_in_both_languages(amara, language):
    client = Client()
    sign_in(client, amara)
    page = client.get(f"/{language}/account/profile/")
    assert page.status_code == 200
    text = page_text(page)
    if language == "en":
        assert "Accessibility needs" in text and "Date you arrived in the country" in text
        assert "I prefer not to say" in text
    else:
        assert "Besoins d’accessibilité" in text and "Date de votre arrivée au pays" in text
        assert "Je préfère ne pas répondre" in text
    assert "/account/profile/" in page_text(client.get(f"/{language}/account/"))


def test_a_person_gives_then_takes_back_their_facts(amara):
    client = Client()
    sign_in(client, amara)
    saved = client.post(
        "/en/account/profile/", {"accessibility_needs": "declared", "arrival_date": "2023-05-01"}
    )
    assert saved.status_code == 302
    person = Person.objects.get(pk=amara.person_id)
    assert person.accessibility_needs == "declared"
    assert person.arrival_date == datetime.date(2023, 5, 1)
    account = page_text(client.get("/en/account/"))
    assert "I have accessibility needs" in account
    # Empty: taken back.
    assert client.post("/en/account/profile/", {"accessibility_needs": ""}).status_code == 302
    person.refresh_from_db()
    assert person.accessibility_needs == "" and person.arrival_date is None


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ({"arrival_date": "2023-02-30"}, "Enter a real date, such as 2015-06-30."),
        ({"arrival_date": "1985-01-01"}, "An arrival date cannot be before your date of birth"),
        ({"accessibility_needs": "maybe"}, "Select a valid choice."),
    ],
)
def test_bad_answers_are_refused_with_a_message_and_nothing_saved(amara, answers, message):
    client = Client()
    sign_in(client, amara)
    refused = client.post("/en/account/profile/", answers)
    assert refused.status_code == 400
    assert message in page_text(refused)
    person = Person.objects.get(pk=amara.person_id)
    assert person.accessibility_needs == "" and person.arrival_date is None


def test_an_arrival_in_the_future_is_refused(amara):
    client = Client()
    sign_in(client, amara)
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    refused = client.post("/fr/account/profile/", {"arrival_date": tomorrow.isoformat()})
    assert refused.status_code == 400
    assert "Une date d’arrivée ne peut pas être dans le futur." in page_text(refused)


def test_a_representative_gives_the_size_of_their_business(amara, make_account):
    shop = Business.objects.create(legal_name="Okafor Bakery")
    other = Business.objects.create(legal_name="Someone Else Ltd")
    Mandate.objects.create(
        holder=amara.person, kind=Mandate.Kind.BUSINESS_REPRESENTATIVE, business=shop
    )
    client = Client()
    sign_in(client, amara)
    page = page_text(client.get("/en/account/profile/"))
    assert "Size of Okafor Bakery" in page and "Someone Else Ltd" not in page
    field = f"size_{shop.pk}"
    assert client.post("/en/account/profile/", {field: "small"}).status_code == 302
    shop.refresh_from_db()
    assert shop.size == "small"
    # Another business's size cannot be given through the form.
    client.post("/en/account/profile/", {field: "small", f"size_{other.pk}": "large"})
    other.refresh_from_db()
    assert other.size == ""
    refused = client.post("/en/account/profile/", {field: "huge"})
    assert refused.status_code == 400


def test_the_profile_is_for_the_signed_in_person():
    response = Client().get("/en/account/profile/")
    assert response.status_code == 302 and "sign-in" in response["Location"]
