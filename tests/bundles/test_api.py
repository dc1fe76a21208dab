"""The bundles API: life events, idempotent submissions, a submission's status, offers; and
refusals with clear JSON messages, never a 500."""

from __future__ import annotations

import datetime

import pytest
from django.test import Client

from joinedup.bundles.models import Bundle, BundleSubmission, Offer
from joinedup.federation.models import Service
from joinedup.identity import mandates, tokens
from joinedup.identity.client_registry import register_person

from .conftest import NEWBORN_LEGS, RECENT_BIRTH, newborn_answers, newborn_screening, run_workers

pytestmark = pytest.mark.django_db


def client_for(user, scopes=("read", "write")) -> Client:
    _token, value = tokens.create_personal_token(user, scopes=list(scopes))
    return Client(HTTP_AUTHORIZATION=f"Bearer {value}")


def body(**overrides) -> dict:
    data = {
        "screening": newborn_screening(),
        "answers": newborn_answers(),
        "consents": NEWBORN_LEGS,
        "dropped_legs": [],
    }
    data.update(overrides)
    return data


def post(client: Client, key="newborn", data=None, idempotency="key-1", **headers):
    if idempotency:
        headers["HTTP_IDEMPOTENCY_KEY"] = idempotency
    return client.post(
        f"/api/v1/bundles/{key}/submissions",
        data if data is not None else body(),
        content_type="application/json",
        **headers,
    )


def test_life_events_are_public(world):
    listed = Client().get("/api/v1/bundles").json()
    assert [b["key"] for b in listed["items"]] == [
        "newborn",
        "moving",
        "death",
        "starting-a-business",
    ]
    newborn = Client().get("/api/v1/bundles/newborn", HTTP_ACCEPT_LANGUAGE="fr").json()
    assert newborn["name"] == "Enregistrer votre nouveau-né"
    legs = {leg["key"]: leg for leg in newborn["legs"]}
    assert legs["provincial-child-benefit"]["when"].endswith(
        '"ca.provincial-child-benefit" in offered'
    )
    assert legs["social-insurance-number"]["consent"].startswith("J'accepte")
    assert "child_given_names" in newborn["form"]["schema"]["properties"]
    missing = Client().get("/api/v1/bundles/nothing-here")
    assert missing.status_code == 404 and missing.json()["detail"]


def test_submit_once_whatever_the_retries(world):
    client = client_for(world.amara)
    first = post(client)
    assert first.status_code == 201, first.content
    made = first.json()
    assert made["bundle"] == "newborn" and len(made["legs"]) == 6
    assert {leg["agency"] for leg in made["legs"]} == {"serviceontario", "esdc", "cra"}
    assert {leg["jurisdiction"] for leg in made["legs"]} == {"CA", "CA-ON"}
    assert all(leg["due_date"] for leg in made["legs"])
    # Accepted: every leg received, its application made next by the task workers.
    assert {leg["status"] for leg in made["legs"]} == {"received"}
    assert all(leg["application"] is None for leg in made["legs"])
    again = post(client)
    assert again.status_code == 200 and again.json()["id"] == made["id"]
    assert BundleSubmission.objects.count() == 1
    conflict = post(client, data=body(answers=newborn_answers(child_given_names="Ada")))
    assert conflict.status_code == 409 and conflict.json()["code"] == "idempotency_conflict"


def test_bad_input_gets_a_clear_4xx(world):
    client = client_for(world.amara)
    unknown = post(client, key="nothing-here")
    assert unknown.status_code == 404
    invalid = post(client, data=body(answers=newborn_answers(income_last_year="lots")))
    assert invalid.status_code == 422
    answer = invalid.json()
    assert answer["code"] == "invalid"
    assert answer["errors"][0]["field"] == "income_last_year"
    assert "must be a number" in answer["errors"][0]["message"]
    wrong_shape = post(client, data={"screening": [], "answers": "no"})
    assert wrong_shape.status_code == 422
    no_consent = post(client, data=body(consents=[]))
    assert no_consent.status_code == 422 and no_consent.json()["code"] == "consent_missing"
    extra = post(client, data=body(answers={**newborn_answers(), "favourite_colour": "blue"}))
    assert extra.status_code == 422 and "favourite_colour" in extra.json()["detail"]


def test_anonymous_and_read_only_tokens_cannot_submit(world):
    assert post(Client()).status_code == 401
    assert post(client_for(world.amara, scopes=("read",))).status_code == 403


def test_acting_for_a_child_needs_a_mandate(world):
    child = register_person(given_names="Noor", family_name="Okafor")
    refused = post(client_for(world.jordan), HTTP_X_ACTING_FOR=str(child.pk))
    assert refused.status_code == 403
    assert "mandate" in refused.json()["detail"]
    child.birth_date = datetime.date(2024, 5, 1)
    child.save()
    mandates.grant_parental_mandate(world.amara.person, child)
    listed = client_for(world.amara).get("/api/v1/me/bundles", HTTP_X_ACTING_FOR=str(child.pk))
    assert listed.status_code == 200 and listed.json()["items"] == []


def test_a_submission_is_seen_by_its_person_only(world):
    made = post(client_for(world.amara)).json()
    assert made["status"] == "submitted" and made["status_label"] == "Received"
    run_workers()  # each leg's application is made: the API shows where each one stands
    mine = client_for(world.amara).get(f"/api/v1/submissions/{made['id']}")
    assert mine.status_code == 200
    assert mine.json()["status"] == "waiting_for_applicant"  # the certificate's fee
    legs = mine.json()["legs"]
    assert all(leg["application"] and leg["reference"].startswith("A-") for leg in legs)
    promised = {leg["leg"]: leg["due_date"] for leg in made["legs"]}
    assert {leg["leg"]: leg["due_date"] for leg in legs} == promised
    assert client_for(world.jordan).get(f"/api/v1/submissions/{made['id']}").status_code == 403
    assert Client().get(f"/api/v1/submissions/{made['id']}").status_code == 401
    assert (
        client_for(world.amara)
        .get("/api/v1/submissions/00000000-0000-0000-0000-000000000000")
        .status_code
        == 404
    )
    assert [s["id"] for s in client_for(world.amara).get("/api/v1/me/bundles").json()["items"]] == [
        made["id"]
    ]


def test_the_submissions_answer_is_what_validating_it_gives(world):
    """The answer is built without validation (`api.submission_out`): each value must already
    be of its field's type, or the JSON would differ from what pydantic makes of it."""
    import json
    import warnings

    from django.utils import translation

    from joinedup.bundles import api, portal

    made = post(client_for(world.amara)).json()

    def both(found, legs=None) -> tuple[str, str]:
        built = api.submission_out(found, legs)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a value of the wrong type warns when dumped
            dumped = built.model_dump()
        validated = api.SubmissionOut.model_validate(dumped).model_dump()
        return json.dumps(dumped, default=str), json.dumps(validated, default=str)

    for language in ("en", "fr"):
        with translation.override(language):
            found = portal.load_submission(made["id"])
            built, validated = both(found)
            assert built == validated and json.loads(built)["legs"][0]["status"] == "received"
    run_workers()  # the legs started: applications, their clocks and statuses
    with translation.override("fr"):
        built, validated = both(portal.load_submission(made["id"]))
    assert built == validated
    assert all(leg["application"] for leg in json.loads(built)["legs"])


def test_offers_are_listed_accepted_and_declined(world):
    offer = Offer.objects.create(
        person=world.amara.person,
        bundle=Bundle.objects.get(key="newborn"),
        leg="education-savings",
        service=Service.objects.get(key="ca.education-savings-referral"),
        trigger="birth_registered",
        event_id="test-event",
        answers={"child_given_names": "Noor", "birth_date": RECENT_BIRTH},
        place="CA-ON-TOR",
    )
    client = client_for(world.amara)
    listed = client.get("/api/v1/me/offers").json()
    assert [o["id"] for o in listed["items"]] == [str(offer.pk)]
    other = client_for(world.jordan).post(
        f"/api/v1/me/offers/{offer.pk}/accept", {"consent": True}, content_type="application/json"
    )
    assert other.status_code == 403
    no_consent = client.post(
        f"/api/v1/me/offers/{offer.pk}/accept", {}, content_type="application/json"
    )
    assert no_consent.status_code == 422 and no_consent.json()["code"] == "consent_missing"
    accepted = client.post(
        f"/api/v1/me/offers/{offer.pk}/accept", {"consent": True}, content_type="application/json"
    )
    assert accepted.status_code == 201, accepted.content
    assert accepted.json()["offer"]["status"] == "accepted"
    closed = client.post(f"/api/v1/me/offers/{offer.pk}/decline")
    assert closed.status_code == 200 and closed.json()["status"] == "accepted"
