"""My services and the bundles API's lists send as many SQL statements with 200 rows as with
10: a person with many applications, bundles or offers, and a catalogue with many life
events, must not make the page slower one statement at a time."""

from __future__ import annotations

import uuid

import pytest
from django.test import Client

from joinedup.bundles.models import Bundle, BundleLeg, BundleSubmission, Offer
from joinedup.delivery.applications import new_reference, submit_application
from joinedup.delivery.models import Application
from joinedup.identity import tokens
from tests.delivery.conftest import birth_answers, copies_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def registration(world) -> Application:
    """An application of Amara's (a birth registration in Ontario); the tests copy it."""
    application, _ = submit_application(
        world.context(world.amara),
        "ca.birth-registration",
        birth_answers(
            birth_province="CA-ON",
            parents=[{"given_names": "Amara", "family_name": "Okafor"}],
            mailing_address={
                "street_address": "40 Bay St",
                "locality": "Toronto",
                "postal_code": "M5J 2X2",
            },
        ),
    )
    return application


def add_bundles(template: Application):
    """n more newborn bundles of Amara's, each with one leg: a copy of the application."""
    bundle = Bundle.objects.get(key="newborn")

    def add(count: int) -> None:
        copies = copies_of(template, count)
        made = BundleSubmission.objects.bulk_create(
            BundleSubmission(
                reference=new_reference("B"), bundle=bundle, subject_id=template.applicant_id
            )
            for _copy in copies
        )
        BundleLeg.objects.bulk_create(
            BundleLeg(
                submission=submission,
                key="birth-registration",
                service_id=copy.service_id,
                agency_id=copy.agency_id,
                application=copy,
            )
            for submission, copy in zip(made, copies, strict=True)
        )

    return add


def add_offers(template: Application):
    bundle = Bundle.objects.get(key="newborn")

    def add(count: int) -> None:
        Offer.objects.bulk_create(
            Offer(
                person_id=template.applicant_id,
                bundle=bundle,
                leg="child-benefit",
                service_id=template.service_id,
                trigger=Offer.Trigger.values[0],
                event_id=uuid.uuid4().hex,
                source_application=template,
            )
            for _n in range(count)
        )

    return add


def bearer(user) -> dict:
    _token, value = tokens.create_personal_token(user, scopes=["read"])
    return {"HTTP_AUTHORIZATION": f"Bearer {value}"}


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_my_services_does_not_query_per_application(world, registration, queries_at_10_and_200):
    browser = signed_in(world.amara)

    def read():
        mine = browser.get("/en/my/").context["mine"]
        assert len(mine.applications) == min(100, Application.objects.count())

    at_10, at_200 = queries_at_10_and_200(lambda n: copies_of(registration, n), read, start=1)
    assert at_200 == at_10


def test_my_services_does_not_query_per_bundle(world, registration, queries_at_10_and_200):
    browser = signed_in(world.amara)

    def read():
        mine = browser.get("/en/my/").context["mine"]
        assert len(mine.bundles) == min(20, BundleSubmission.objects.count())
        assert all(len(card.legs) == 1 for card in mine.bundles)

    at_10, at_200 = queries_at_10_and_200(add_bundles(registration), read)
    assert at_200 == at_10


def test_my_services_does_not_query_per_offer(world, registration, queries_at_10_and_200):
    browser = signed_in(world.amara)

    def read():
        mine = browser.get("/en/my/").context["mine"]
        assert len(mine.offers) == Offer.objects.count()

    at_10, at_200 = queries_at_10_and_200(add_offers(registration), read)
    assert at_200 == at_10


def test_my_bundles_api_does_not_query_per_bundle(world, registration, queries_at_10_and_200):
    client = Client()
    auth = bearer(world.amara)

    def read():
        listed = client.get("/api/v1/me/bundles?limit=100", **auth).json()
        assert listed["count"] == BundleSubmission.objects.count()
        assert len(listed["items"]) == min(100, listed["count"])
        assert all(len(s["legs"]) == 1 for s in listed["items"])

    at_10, at_200 = queries_at_10_and_200(add_bundles(registration), read)
    assert at_200 == at_10


def test_my_offers_api_does_not_query_per_offer(world, registration, queries_at_10_and_200):
    client = Client()
    auth = bearer(world.amara)

    def read():
        assert client.get("/api/v1/me/offers", **auth).json()["count"] == Offer.objects.count()

    at_10, at_200 = queries_at_10_and_200(add_offers(registration), read)
    assert at_200 == at_10


def add_life_events(count: int) -> None:
    """n more life events, each a copy of the newborn bundle under its own key."""
    newborn = Bundle.objects.get(key="newborn")
    start = Bundle.objects.count()
    Bundle.objects.bulk_create(
        Bundle(
            key=f"newborn-{start + n}",
            names=newborn.names,
            descriptions=newborn.descriptions,
            position=newborn.position,
            definition=newborn.definition,
            checksum=newborn.checksum,
        )
        for n in range(count)
    )


def test_the_life_events_list_and_api_do_not_query_per_life_event(world, queries_at_10_and_200):
    client = Client()
    start = Bundle.objects.filter(active=True).count()

    def read():
        listed = client.get("/api/v1/bundles").json()
        assert listed["count"] == Bundle.objects.filter(active=True).count()
        assert all(leg["service_name"] != leg["service"] for leg in listed["items"][0]["legs"])
        page = client.get("/en/life-events/").content.decode()
        assert page.count('href="/en/life-events/newborn') == Bundle.objects.count() - start + 1

    at_10, at_200 = queries_at_10_and_200(add_life_events, read, start=start)
    assert at_200 == at_10
