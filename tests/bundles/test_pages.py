"""The portal's pages, as a browser without JavaScript uses them: the journey of a life
event from the start page to the status page, My services, switching to a family member,
withdrawing a consent, and clear refusals."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice  # noqa: F401 (staff use it)

from joinedup.bundles.models import BundleDraft, BundleSubmission, Offer
from joinedup.identity import acting, mandates
from joinedup.identity.client_registry import register_person
from joinedup.sharing.models import ConsentRecord

from .conftest import RECENT_BIRTH, newborn_answers, run_workers

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def date_fields(name: str, iso: str) -> dict:
    year, month, day = iso.split("-")
    return {f"{name}__year": year, f"{name}__month": str(int(month)), f"{name}__day": str(int(day))}


def follow_journey(client: Client) -> tuple[BundleDraft, str]:
    """Start the newborn journey and answer the screening; returns the draft and the page
    the list of services sends to."""
    begin = client.post("/en/life-events/newborn/begin/")
    assert begin.status_code == 302
    draft = BundleDraft.objects.get()
    assert begin["Location"] == f"/en/life-events/journeys/{draft.pk}/questions/"
    wrong = client.post(begin["Location"], {})
    assert wrong.status_code == 400
    assert "Select an answer for “Where was the baby born?”" in wrong.content.decode()
    answered = client.post(
        begin["Location"],
        {"birth_province": "CA-ON", "lives_with_child": "true", "wants_certificate": "true"},
    )
    assert answered.status_code == 302
    services = client.get(answered["Location"])
    text = services.content.decode()
    assert "6 services apply to you, delivered by 3 agencies" in text
    first = re.search(r'href="(/en/life-events/journeys/[^"]+/form/[^"]+/)"', text).group(1)
    return draft, first


def test_the_newborn_journey_without_javascript(world):
    client = signed_in(world.amara)
    start = client.get("/en/life-events/newborn/")
    assert start.status_code == 200 and "Register your newborn" in start.content.decode()
    _draft, page = follow_journey(client)
    answers = newborn_answers()
    assert page.endswith("/form/child/")
    child = {
        k: answers[k]
        for k in ("child_given_names", "child_family_name", "sex", "birth_place", "birth_town")
    }
    missing = client.post(page, {})
    assert missing.status_code == 400
    response = client.post(page, {**child, **date_fields("birth_date", answers["birth_date"])})
    assert response["Location"].endswith("/form/parents/")
    parents = client.get(response["Location"])
    assert 'value="Amara"' in parents.content.decode()  # prefilled from the identity record
    response = client.post(
        response["Location"],
        {
            "parent_given_names": "Amara",
            "parent_family_name": "Okafor",
            **date_fields("parent_birth_date", "1988-03-14"),
            "other_parent_given_names": "David",
            "other_parent_family_name": "Okafor",
        },
    )
    # The contact page is all known (address and e-mail): it is not asked again.
    assert response["Location"].endswith("/form/certificate/")
    response = client.post(response["Location"], {"certificate_reason": "passport"})
    assert response["Location"].endswith("/form/family/")
    response = client.post(
        response["Location"],
        {"marital_status": "married", "spouse_name": "David Okafor", "income_last_year": "85000"},
    )
    assert response["Location"].endswith("/check/")
    check = client.get(response["Location"]).content.decode()
    assert "Your answers go to 6 services, at 3 agencies in 2 jurisdictions" in check
    assert "40 Bay St" in check  # the prefilled address, shown with the rest
    for agency in (
        "ServiceOntario",
        "Employment and Social Development Canada",
        "Canada Revenue Agency",
    ):
        assert agency in check
    # Leave the education savings referral out, then try to send without all consents.
    dropped = client.post(response["Location"], {"drop": "education-savings"})
    assert dropped.status_code == 302
    assert BundleDraft.objects.get().dropped == ["education-savings"]
    refused = client.post(response["Location"], {"submit": "1", "consent": ["birth-registration"]})
    assert refused.status_code == 400
    assert "Give your consent for each service you keep" in refused.content.decode()
    assert not BundleSubmission.objects.exists()
    sent = client.post(
        response["Location"],
        {
            "submit": "1",
            "consent": [
                "birth-registration",
                "birth-certificate",
                "social-insurance-number",
                "child-benefit",
                "provincial-child-benefit",
            ],
        },
    )
    made = BundleSubmission.objects.get()
    assert sent["Location"] == f"/en/my/bundles/{made.pk}/"
    assert made.legs.count() == 5
    accepted = client.get(sent["Location"]).content.decode()
    assert "Being sent to the agency." in accepted and "Pay the fee" not in accepted
    run_workers()  # the task workers make each leg's application
    status = client.get(sent["Location"]).content.decode()
    assert made.reference in status and "5 agencies" not in status
    assert "3 agencies, 2 jurisdictions" in status
    assert "Pay the fee" in status  # the certificate waits for its fee
    # Sending twice (a double click) makes nothing new: the draft is closed.
    again = client.post(response["Location"], {"submit": "1"})
    assert again.status_code == 404
    assert BundleSubmission.objects.count() == 1
    mine = client.get("/en/my/").content.decode()
    assert "Register your newborn" in mine and made.reference in mine
    assert "Who used my data" in mine
    # Each consent is shown by the service it was given for, not by a purpose's key.
    consents = mine.split('id="consents"')[1]
    for leg in made.legs.select_related("service", "agency"):
        assert leg.service.name in consents and leg.agency.name in consents
    # The receipts are titled by service and agency too, not by purpose.
    receipts = client.get("/en/my-data/consents/").content.decode()
    for leg in made.legs.select_related("service", "agency"):
        assert f"{leg.service.name} — {leg.agency.name}" in receipts
    assert "child-benefit-eligibility" not in consents


def test_my_services_in_french(world):
    page = signed_in(world.amara).get("/fr/my/")
    assert page.status_code == 200
    assert '<html lang="fr">' in page.content.decode()


def test_pages_need_a_signed_in_person(world):
    client = Client()
    assert client.get("/en/life-events/").status_code == 200
    assert client.get("/en/life-events/nothing-here/").status_code == 404
    my = client.get("/en/my/")
    assert my.status_code == 302 and "/sign-in/" in my["Location"]
    begin = client.post("/en/life-events/newborn/begin/")
    assert begin.status_code == 302 and "/sign-in/" in begin["Location"]


def test_someone_elses_journey_and_bundle_are_not_found_or_refused(world):
    draft, _page = follow_journey(signed_in(world.amara))
    other = signed_in(world.jordan)
    assert other.get(f"/en/life-events/journeys/{draft.pk}/questions/").status_code == 404


def test_switching_to_a_child_under_a_mandate(world):
    import datetime

    child = register_person(
        given_names="Noor", family_name="Okafor", birth_date=datetime.date(2025, 5, 1)
    )
    mandates.grant_parental_mandate(world.amara.person, child)
    client = signed_in(world.amara)
    page = client.get("/en/my/").content.decode()
    assert "Noor Okafor" in page and "Act for" in page
    switched = client.post("/en/my/family/", {"subject": str(child.pk)})
    assert switched.status_code == 302
    assert client.session[acting.SESSION_ACTING_FOR] == child.pk
    assert "You are acting for Noor Okafor." in client.get("/en/my/").content.decode()
    # Someone without a mandate cannot switch to the child.
    refused = signed_in(world.jordan).post("/en/my/family/", {"subject": str(child.pk)})
    assert refused.status_code == 403
    bad = client.post("/en/my/family/", {"subject": "me"})
    assert bad.status_code == 302


def test_withdrawing_a_consent_from_my_services(world):
    from joinedup.federation.models import Agency
    from joinedup.sharing.consent import record_consent

    consent = record_consent(
        world.amara.person,
        recipients=[Agency.objects.get(key="cra")],
        purposes=["child-benefit-eligibility"],
        categories=["identity"],
        method="online",
        notice="The Canada Revenue Agency may check your identity for the child benefit.",
    )
    client = signed_in(world.amara)
    page = client.get("/en/my/").content.decode()
    assert "may check your identity for the child benefit" in page and ">Given<" in page
    asked = client.post(f"/en/my/consents/{consent.pk}/withdraw/")
    assert asked.status_code == 200 and "Withdraw this consent?" in asked.content.decode()
    # It says what happens to the applications already sent, before anything is done.
    assert "Applications you already sent keep the answers you gave" in asked.content.decode()
    assert ConsentRecord.objects.get(pk=consent.pk).withdrawn_at is None
    withdrawn = client.post(f"/en/my/consents/{consent.pk}/withdraw/", {"confirm": "yes"})
    assert withdrawn.status_code == 302 and withdrawn["Location"] == "/en/my/"
    assert ConsentRecord.objects.get(pk=consent.pk).withdrawn_at is not None
    assert ">Withdrawn<" in client.get("/en/my/").content.decode()
    other = signed_in(world.jordan).post(
        f"/en/my/consents/{consent.pk}/withdraw/", {"confirm": "yes"}
    )
    assert other.status_code == 404


def test_an_offer_page_accepts_in_one_step(world):
    from joinedup.bundles.models import Bundle
    from joinedup.federation.models import Service

    offer = Offer.objects.create(
        person=world.amara.person,
        bundle=Bundle.objects.get(key="newborn"),
        leg="education-savings",
        service=Service.objects.get(key="ca.education-savings-referral"),
        trigger="birth_registered",
        event_id="test-event",
        answers={"child_given_names": "Noor"},
        place="CA-ON-TOR",
    )
    client = signed_in(world.amara)
    page = client.get(f"/en/my/offers/{offer.pk}/").content.decode()
    assert "Still needed" in page and "Date of birth" in page
    refused = client.post(f"/en/my/offers/{offer.pk}/", {"accept": "1"})
    assert refused.status_code == 400
    accepted = client.post(
        f"/en/my/offers/{offer.pk}/",
        {"accept": "1", "consent": "1", **date_fields("birth_date", RECENT_BIRTH)},
    )
    assert accepted.status_code == 302, accepted.content.decode()[:3000]
    offer.refresh_from_db()
    assert offer.status == "accepted" and offer.application.data["child_birth_date"] == RECENT_BIRTH
    assert signed_in(world.jordan).get(f"/en/my/offers/{offer.pk}/").status_code == 403
