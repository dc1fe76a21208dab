"""A business as a client: its representative (a mandate in force) orders a service for the
business in the portal and by API (the short request form on one page, or a service's full
form page by page through delivery's form engine), and follows its applications; nobody else
does."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from joinedup.backoffice import business, catalogue
from joinedup.delivery import versions
from joinedup.delivery.applications import SubmissionError
from joinedup.delivery.models import Application, Draft
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


#: A licence's full form: two pages, a place field (the city), an address, a choice, a file.
LICENCE_FORM = {
    "schema": {
        "type": "object",
        "additionalProperties": False,
        "required": ["business_name", "activity", "municipality", "premises"],
        "properties": {
            "business_name": {"type": "string", "minLength": 1, "maxLength": 200},
            "activity": {"type": "string", "enum": ["retail", "food"]},
            "municipality": {"type": "string", "enum": ["CA-ON-TOR", "CA-ON-OTT"]},
            "premises": {
                "type": "object",
                "additionalProperties": False,
                "required": ["street_address", "postal_code"],
                "properties": {
                    "street_address": {"type": "string", "minLength": 1, "maxLength": 200},
                    "postal_code": {
                        "type": "string",
                        "pattern": "^[A-Za-z][0-9][A-Za-z] ?[0-9][A-Za-z][0-9]$",
                    },
                },
            },
            "floor_plan": {"type": "string"},
        },
    },
    "ui": {
        "pages": [
            {
                "key": "business",
                "title": {"en": "The business", "fr": "L'entreprise"},
                "fields": ["business_name", "activity"],
            },
            {
                "key": "premises",
                "title": {"en": "The premises", "fr": "L'établissement"},
                "fields": ["municipality", "premises", "floor_plan"],
            },
        ],
        "fields": {
            "business_name": {"label": {"en": "Business name", "fr": "Nom de l'entreprise"}},
            "activity": {
                "label": {"en": "Main activity", "fr": "Activité principale"},
                "choices": {
                    "retail": {"en": "Retail", "fr": "Commerce de détail"},
                    "food": {"en": "Food and drink", "fr": "Restauration"},
                },
            },
            "municipality": {
                "label": {"en": "City", "fr": "Ville"},
                "widget": "select",
                "choices": {
                    "CA-ON-TOR": {"en": "Toronto", "fr": "Toronto"},
                    "CA-ON-OTT": {"en": "Ottawa", "fr": "Ottawa"},
                },
            },
            "premises": {"label": {"en": "Address of the premises", "fr": "Adresse"}},
            "premises.postal_code": {
                "label": {"en": "Postal code", "fr": "Code postal"},
                "pattern_message": {
                    "en": "Enter a postal code like K1A 0B1.",
                    "fr": "Entrez un code postal comme K1A 0B1.",
                },
            },
            "floor_plan": {
                "label": {"en": "Floor plan (optional)", "fr": "Plan (facultatif)"},
                "widget": "file",
                "accept": ["application/pdf"],
            },
        },
    },
}


@pytest.fixture
def licence(firm, shared):
    """A licence for businesses with a full form, delivered by the City of Toronto only."""
    toronto = Jurisdiction.objects.get(code="CA-ON-TOR")
    service = Service.objects.create(
        key="on.food-premises-licence",
        scope=toronto,
        names={"en": "Food premises licence", "fr": "Permis d'établissement alimentaire"},
        client_type=Service.ClientType.BUSINESS,
        channels=["online"],
        standard_days=15,
    )
    Offering.objects.create(service=service, area=toronto, agency=shared["city"])
    versions.deploy(
        service.key,
        catalogue.PROCESS.read_text(),
        LICENCE_FORM,
        place_field="municipality",
        source="test",
    )
    return service


def test_a_representative_orders_a_full_form_service_page_by_page(firm, licence, shared):
    company = firm["business"]
    owner = _browser(firm["owner"])
    home = owner.get(f"/en/backoffice/businesses/{company.pk}/").content.decode()
    assert "Order: Food premises licence" in home and "Order: Business hosting" in home
    start = owner.get(f"/en/backoffice/businesses/{company.pk}/order/on.food-premises-licence/")
    base = f"/en/backoffice/businesses/{company.pk}/order/on.food-premises-licence"
    assert start.status_code == 302 and start["Location"] == f"{base}/business/"
    first = owner.get(f"{base}/business/").content.decode()
    assert "Step 1 of 2" in first and "Business name" in first and "Food and drink" in first

    # The engine's checks and messages, page by page; nothing is received meanwhile.
    empty = owner.post(f"{base}/business/", {"business_name": "", "continue": "1"})
    assert empty.status_code == 400 and "There is a problem" in empty.content.decode()
    french = owner.post(
        f"{base.replace('/en/', '/fr/')}/business/", {"business_name": "", "continue": "1"}
    )
    assert french.status_code == 400 and "Il y a un problème" in french.content.decode()
    page_one = {"business_name": "Bakery on King", "activity": "food", "continue": "1"}
    assert owner.post(f"{base}/business/", page_one)["Location"] == f"{base}/premises/"
    # Saved as a draft (delivery's, the business its applicant): signed out and in again,
    # the representative resumes it from the business's page, where they left off.
    owner = _browser(firm["owner"])
    home = owner.get(f"/en/backoffice/businesses/{company.pk}/").content.decode()
    assert "Continue: Food premises licence" in home and f"{base}/business/" in home
    assert "Bakery on King" in owner.get(f"{base}/business/").content.decode()
    draft = Draft.objects.get(applicant_business=company)
    assert draft.applicant_id is None and draft.page == "business"
    # Not a person's draft: delivery's own pages do not open it; the keeper does not see it.
    assert owner.get(f"/en/applications/drafts/{draft.pk}/business/").status_code == 404
    keeper_home = _browser(firm["keeper"]).get(f"/en/backoffice/businesses/{company.pk}/")
    assert "Continue: Food premises licence" not in keeper_home.content.decode()
    premises = {
        "municipality": "CA-ON-TOR",
        "premises.street_address": "12 King St W",
        "premises.postal_code": "nope",
        "continue": "1",
    }
    bad = owner.post(f"{base}/premises/", premises)
    assert bad.status_code == 400
    assert "Enter a postal code like K1A 0B1." in bad.content.decode()
    wrong_file = owner.post(
        f"{base}/premises/",
        {
            **premises,
            "premises.postal_code": "M5H 1A1",
            "floor_plan": SimpleUploadedFile("plan.txt", b"not a pdf"),
        },
    )
    assert wrong_file.status_code == 400
    assert "must be a file of an accepted type" in wrong_file.content.decode()
    plan = SimpleUploadedFile("plan.pdf", b"%PDF-1.4 floor plan", content_type="application/pdf")
    sent = owner.post(
        f"{base}/premises/", {**premises, "premises.postal_code": "M5H 1A1", "floor_plan": plan}
    )
    assert sent.status_code == 302 and sent["Location"] == f"{base}/check/"
    assert not Application.objects.filter(applicant_business=company).exists()
    check = owner.get(f"{base}/check/").content.decode()
    assert "Bakery on King" in check and "Food and drink" in check and "plan.pdf" in check

    # Sent once: routed by the city answered (Toronto's offering), worked in its queues.
    made = owner.post(f"{base}/check/")
    application = Application.objects.get(applicant_business=company)
    assert made["Location"].endswith(f"/applications/{application.pk}/")
    assert application.agency == shared["city"] and application.place.code == "CA-ON-TOR"
    assert application.data["premises"]["postal_code"] == "M5H 1A1"
    assert application.work_items.filter(agency=shared["city"]).exists()
    detail = owner.get(made["Location"]).content.decode()
    assert "Food and drink" in detail and "12 King St W" in detail
    # Sent again (a double click, a reload): the same application, found by the engine.
    again = owner.post(f"{base}/check/")
    assert again["Location"] == made["Location"]
    assert Application.objects.filter(applicant_business=company).count() == 1

    # A new order starts afresh (the sent draft is no longer in progress); a city with no
    # offering is refused with the reason.
    assert Draft.objects.get(applicant_business=company).submitted == application
    home = owner.get(f"/en/backoffice/businesses/{company.pk}/").content.decode()
    assert "Continue: Food premises licence" not in home
    assert "Bakery on King" not in owner.get(f"{base}/business/").content.decode()
    owner.post(f"{base}/business/", page_one)
    owner.post(
        f"{base}/premises/",
        {**premises, "municipality": "CA-ON-OTT", "premises.postal_code": "K1A 0B1"},
    )
    refused = owner.post(f"{base}/check/")
    assert refused.status_code == 400 and 'data-testid="order-problem"' in refused.content.decode()
    assert Application.objects.filter(applicant_business=company).count() == 1

    # A view-only representative follows, but does not fill the form.
    keeper = _browser(firm["keeper"])
    assert keeper.get(f"{base}/business/").status_code == 403
    assert keeper.post(f"{base}/check/").status_code == 403
    assert keeper.get(made["Location"]).status_code == 200


def test_the_api_orders_a_full_form_service_for_the_business(firm, licence, shared):
    company = firm["business"]
    _token, secret = tokens.create_personal_token(firm["owner"], scopes=["read", "write"])
    api = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    url = f"/api/v1/backoffice/businesses/{company.pk}/applications"
    answers = {
        "business_name": "Maple Bakery",
        "activity": "food",
        "municipality": "CA-ON-TOR",
        "premises": {"street_address": "12 King St W", "postal_code": "M5H 1A1"},
    }
    body = {"service": "on.food-premises-licence", "answers": answers, "idempotency_key": "l-1"}
    made = api.post(url, json.dumps(body), "application/json")
    assert made.status_code == 201, made.content
    assert made.json()["agency"] == "toronto"
    again = api.post(url, json.dumps(body), "application/json")
    assert again.status_code == 200 and again.json()["id"] == made.json()["id"]
    bad = {**body, "answers": {**answers, "activity": "mining"}, "idempotency_key": "l-2"}
    refused = api.post(url, json.dumps(bad), "application/json")
    assert refused.status_code == 422 and refused.json()["detail"]
    assert Application.objects.filter(applicant_business=company).count() == 1


def test_a_business_draft_left_untouched_is_an_abandoned_transaction(firm, licence):
    """A business's draft is no person's: it is not listed among the representative's own
    drafts, and the performance sweep counts it abandoned once (no age band: no person)."""
    import datetime

    from django.utils import timezone

    from joinedup.delivery.applications import current_version
    from joinedup.performance.models import Transaction
    from joinedup.performance.transactions import sweep_abandoned_drafts

    company = firm["business"]
    draft = Draft.objects.create(
        user=firm["owner"],
        applicant_business=company,
        version=current_version(licence),
        data={"business_name": "Bakery on King"},
        page="business",
    )
    mine = _browser(firm["owner"]).get("/en/applications/").content.decode()
    assert "Bakery on King" not in mine and str(draft.pk) not in mine
    Draft.objects.filter(pk=draft.pk).update(
        updated_at=timezone.now() - datetime.timedelta(days=400)
    )
    assert sweep_abandoned_drafts() == 1
    swept = Transaction.objects.get(source=f"draft:{draft.pk}")
    assert swept.outcome == "abandoned" and swept.age_band == ""
    assert sweep_abandoned_drafts() == 0
