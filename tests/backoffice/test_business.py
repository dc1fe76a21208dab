"""A business as a client: its representative (a mandate in force) orders a service for the
business in the portal and by API, and follows its applications; nobody else does."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from joinedup.backoffice import business, catalogue
from joinedup.delivery.applications import SubmissionError
from joinedup.delivery.models import Application
from joinedup.federation.models import Jurisdiction, Offering, Service
from joinedup.identity import mandates, tokens
from joinedup.identity.models import Business, Mandate
from joinedup.identity.policy import PolicyDenied
from tests.delivery.conftest import make_applicant, sign_in  # noqa: F401 (a fixture)


@pytest.fixture
def firm(shared, make_applicant):  # noqa: F811 (the fixture imported above)
    """A Toronto business, its representative (view and apply), a bookkeeper (view only),
    and a service for businesses offered by the provincial provider."""
    ontario = Jurisdiction.objects.get(code="CA-ON")
    service = Service.objects.create(
        key="on.business-hosting",
        scope=ontario,
        names={"en": "Business hosting", "fr": "Hébergement pour entreprises"},
        frame=Service.Frame.BACK_OFFICE,
        client_type=Service.ClientType.BUSINESS,
        channels=["online"],
        standard_days=10,
    )
    Offering.objects.create(service=service, area=ontario, agency=shared["provincial"])
    catalogue.deploy("on.business-hosting")
    company = Business.objects.create(
        legal_name="Maple Bakery Inc.", business_number="123456789", jurisdiction=ontario
    )
    owner = make_applicant("owner@maple.example.org")
    keeper = make_applicant("books@maple.example.org")
    stranger = make_applicant("stranger@example.org")
    kind = Mandate.Kind.BUSINESS_REPRESENTATIVE
    mandates.grant_mandate(
        holder=owner.person, kind=kind, business=company, scopes=["view", "apply"]
    )
    mandates.grant_mandate(holder=keeper.person, kind=kind, business=company, scopes=["view"])
    return {
        "business": company,
        "service": service,
        "owner": owner,
        "keeper": keeper,
        "stranger": stranger,
    }


def _browser(user) -> Client:
    return sign_in(Client(), user)


def test_a_representative_orders_and_follows_for_the_business(firm, shared, staff_client):
    company = firm["business"]
    owner = _browser(firm["owner"])
    page = owner.get("/en/backoffice/businesses/").content.decode()
    assert "Maple Bakery Inc." in page
    home = owner.get(f"/en/backoffice/businesses/{company.pk}/").content.decode()
    assert "Order: Business hosting" in home
    url = f"/en/backoffice/businesses/{company.pk}/order/on.business-hosting/"
    assert owner.get(url).status_code == 200
    # Bad answers: a clear message, nothing received.
    bad = owner.post(url, {"details": "", "quantity": "two"})
    assert bad.status_code == 400 and "Give how many as a whole number." in bad.content.decode()
    french = owner.post(url.replace("/en/", "/fr/"), {"details": "", "quantity": "deux"})
    assert french.status_code == 400 and "en chiffres entiers" in french.content.decode()
    empty = owner.post(url, {"details": ""})
    assert empty.status_code == 400 and "Some answers need correcting" in empty.content.decode()
    assert not Application.objects.filter(applicant_business=company).exists()

    sent = owner.post(url, {"details": "A web server for the shop", "quantity": "1"})
    assert sent.status_code == 302
    application = Application.objects.get(applicant_business=company)
    assert application.applicant_id is None and application.agency == shared["provincial"]
    assert sent["Location"].endswith(
        f"/backoffice/businesses/{company.pk}/applications/{application.pk}/"
    )
    detail = owner.get(sent["Location"]).content.decode()
    assert application.reference in detail and "A web server for the shop" in detail
    # The provider works it in its queues as any application.
    assert application.work_items.filter(agency=shared["provincial"]).exists()

    # A bookkeeper with a mandate to view follows it, but orders nothing.
    keeper = _browser(firm["keeper"])
    listed = keeper.get(f"/en/backoffice/businesses/{company.pk}/").content.decode()
    assert application.reference in listed and "Order: Business hosting" not in listed
    assert keeper.get(sent["Location"]).status_code == 200
    assert keeper.get(url).status_code == 403
    assert keeper.post(url, {"details": "x"}).status_code == 403
    # Someone without a mandate, and staff, see nothing of the business.
    stranger = _browser(firm["stranger"])
    assert stranger.get(f"/en/backoffice/businesses/{company.pk}/").status_code == 403
    assert stranger.get(sent["Location"]).status_code == 403
    assert "Maple Bakery" not in stranger.get("/en/backoffice/businesses/").content.decode()
    staff, _ = staff_client(shared["provincial"], "caseworker")
    assert staff.get(f"/en/backoffice/businesses/{company.pk}/").status_code == 403
    # A service that is not for businesses cannot be ordered here.
    assert (
        owner.get(f"/en/backoffice/businesses/{company.pk}/order/on.onboarding/").status_code == 404
    )


def test_a_revoked_mandate_stops_at_once(firm):
    company = firm["business"]
    mandate = Mandate.objects.get(holder=firm["owner"].person, business=company)
    mandates.revoke(mandate)
    owner = _browser(firm["owner"])
    assert owner.get(f"/en/backoffice/businesses/{company.pk}/").status_code == 403
    with pytest.raises(PolicyDenied) as refused:
        business.order(_context(firm["owner"]), company, "on.business-hosting", {"details": "x"})
    assert "mandate" in str(refused.value)


def _context(user):
    from joinedup.identity import acting

    return acting.for_user(user)


def test_the_module_refuses_services_not_for_businesses(firm):
    with pytest.raises(SubmissionError) as refused:
        business.order(_context(firm["owner"]), firm["business"], "on.onboarding", {"details": "x"})
    assert refused.value.code == "unknown_service"


def test_the_api_orders_and_lists_for_the_business(firm):
    company = firm["business"]
    _token, secret = tokens.create_personal_token(firm["owner"], scopes=["read", "write"])
    api = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    url = f"/api/v1/backoffice/businesses/{company.pk}/applications"
    body = {
        "service": "on.business-hosting",
        "answers": {"details": "Mail for the shop"},
        "idempotency_key": "k-1",
    }
    made = api.post(url, json.dumps(body), "application/json")
    assert made.status_code == 201, made.content
    assert made.json()["business"] == company.pk and made.json()["agency"] == "on-shared"
    again = api.post(url, json.dumps(body), "application/json")
    assert again.status_code == 200 and again.json()["id"] == made.json()["id"]
    other = {**body, "answers": {"details": "Something else"}}
    assert api.post(url, json.dumps(other), "application/json").status_code == 409
    bad = api.post(
        url, json.dumps({**body, "answers": {}, "idempotency_key": ""}), "application/json"
    )
    assert bad.status_code == 422 and bad.json()["detail"]
    wrong = {**body, "service": "on.onboarding", "idempotency_key": ""}
    assert api.post(url, json.dumps(wrong), "application/json").status_code == 422
    listed = api.get(url)
    assert listed.status_code == 200 and [a["id"] for a in listed.json()["items"]] == [
        made.json()["id"]
    ]
    assert api.get("/api/v1/backoffice/businesses/999999/applications").status_code == 404

    # A view-only mandate lists but does not order; a stranger neither.
    _t, keeper_secret = tokens.create_personal_token(firm["keeper"], scopes=["read", "write"])
    keeper = Client(HTTP_AUTHORIZATION=f"Bearer {keeper_secret}")
    assert keeper.get(url).status_code == 200
    refused = keeper.post(url, json.dumps({**body, "idempotency_key": "k-2"}), "application/json")
    assert refused.status_code == 403 and "mandate" in refused.json()["detail"]
    _t, stranger_secret = tokens.create_personal_token(firm["stranger"], scopes=["read"])
    stranger = Client(HTTP_AUTHORIZATION=f"Bearer {stranger_secret}")
    assert stranger.get(url).status_code == 403
    assert Application.objects.filter(applicant_business=company).count() == 1


def test_the_business_page_costs_the_same_at_2_and_30_applications(firm):
    company = firm["business"]
    context = _context(firm["owner"])
    owner = _browser(firm["owner"])
    url = f"/en/backoffice/businesses/{company.pk}/"

    def queries() -> int:
        owner.get(url)  # warm the session
        with CaptureQueriesContext(connection) as captured:
            assert owner.get(url).status_code == 200
        return len(captured)

    for n in range(2):
        business.order(context, company, "on.business-hosting", {"details": f"n{n}"})
    few = queries()
    for n in range(28):
        business.order(context, company, "on.business-hosting", {"details": f"m{n}"})
    assert queries() == few
