"""The person's view: GET /me/access-log, consents with receipts and withdrawal, and the
"Who used my data" and "My consents" pages in English and French."""

import pytest
from django.urls import reverse

from joinedup.identity.tokens import create_personal_token
from joinedup.sharing import consent as consents
from joinedup.sharing.gate import DisclosureRefused, disclose
from joinedup.sharing.models import SharingRule

from .conftest import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def account(person):
    user = make_user("amelia")
    user.person = person
    user.save()
    return user


@pytest.fixture
def bearer(account):
    _token, value = create_personal_token(account, scopes=["read", "write"])
    return {"HTTP_AUTHORIZATION": f"Bearer {value}"}


@pytest.fixture
def outreach(federation, person):
    SharingRule.objects.create(
        provider=federation["serviceontario"],
        recipient=federation["esdc"],
        categories=["contact"],
        purposes=["benefit-outreach"],
        legal_basis="consent",
        valid_from="2020-01-01",
    )
    return consents.record_consent(
        person,
        recipients=[federation["esdc"]],
        provider=federation["serviceontario"],
        purposes=["benefit-outreach"],
        categories=["contact"],
        method="online",
    )


def test_access_log_shows_who_what_why_and_basis(
    client, bearer, federation, person, esdc_caseworker
):
    disclose(
        esdc_caseworker, person, ["identity"], "sin-issuance", holder=federation["serviceontario"]
    )
    response = client.get("/api/v1/me/access-log", **bearer)
    assert response.status_code == 200, response.content
    (entry,) = response.json()["items"]
    assert entry["agency"] == "esdc"
    assert entry["agency_name"] == "Employment and Social Development Canada"
    assert entry["role"] == "caseworker"
    assert entry["categories"] == ["identity"]
    assert entry["purpose"] == "sin-issuance"
    assert entry["legal_basis"] == "statute"
    assert entry["outcome"] == "disclosed"


def test_access_log_needs_sign_in(client):
    response = client.get("/api/v1/me/access-log")
    assert response.status_code == 401
    assert "detail" in response.json()


def test_someone_elses_log_is_not_shown(client, bearer, federation, esdc_caseworker):
    from joinedup.identity.client_registry import register_person

    other = register_person(given_names="Other", family_name="Person")
    disclose(esdc_caseworker, other, ["identity"], "sin-issuance")
    assert client.get("/api/v1/me/access-log", **bearer).json()["items"] == []


def test_consents_list_receipt_and_withdraw(
    client, bearer, outreach, federation, person, esdc_caseworker
):
    listed = client.get("/api/v1/me/consents", **bearer).json()["items"]
    assert [c["id"] for c in listed] == [str(outreach.pk)]
    assert listed[0]["status"] == "active"
    receipt = client.get(f"/api/v1/me/consents/{outreach.pk}/receipt", **bearer)
    assert receipt.json()["record_id"] == str(outreach.pk)
    pdf = client.get(f"/api/v1/me/consents/{outreach.pk}/receipt?format=pdf", **bearer)
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    response = client.post(f"/api/v1/me/consents/{outreach.pk}/withdraw", **bearer)
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "withdrawn"
    with pytest.raises(DisclosureRefused):
        disclose(
            esdc_caseworker,
            person,
            ["email"],
            "benefit-outreach",
            holder=federation["serviceontario"],
        )


def test_a_read_only_token_cannot_withdraw(client, account, outreach):
    _token, value = create_personal_token(account, scopes=["read"])
    response = client.post(
        f"/api/v1/me/consents/{outreach.pk}/withdraw", HTTP_AUTHORIZATION=f"Bearer {value}"
    )
    assert response.status_code == 403


def test_an_unknown_consent_is_404(client, bearer):
    response = client.get(
        "/api/v1/me/consents/00000000-0000-0000-0000-000000000000/receipt", **bearer
    )
    assert response.status_code == 404
    assert client.get("/api/v1/me/consents/not-a-uuid", **bearer).status_code == 422


@pytest.mark.parametrize("language", ["en", "fr"])
def test_pages_in_both_languages(
    client, account, outreach, federation, person, esdc_caseworker, language
):
    disclose(
        esdc_caseworker, person, ["email"], "benefit-outreach", holder=federation["serviceontario"]
    )
    client.force_login(account)
    page = client.get(f"/{language}/my-data/access/")
    assert page.status_code == 200
    text = page.content.decode()
    assert ("Who used my data" if language == "en" else "Qui a utilisé mes données") in text
    assert "benefit-outreach" not in text  # the purpose by its name, never its key
    assert "Benefit outreach" in text
    page = client.get(f"/{language}/my-data/consents/")
    assert page.status_code == 200
    assert reverse("sharing:consent-withdraw", args=[outreach.pk]) in page.content.decode()


def test_withdraw_button(client, account, outreach):
    client.force_login(account)
    url = f"/en/my-data/consents/{outreach.pk}/withdraw/"
    asked = client.post(url)  # the first click asks, saying what withdrawing does
    assert asked.status_code == 200
    assert "Applications you already sent keep the answers you gave" in asked.content.decode()
    outreach.refresh_from_db()
    assert outreach.withdrawn_at is None
    response = client.post(url, {"confirm": "yes"})
    assert response.status_code == 302
    outreach.refresh_from_db()
    assert outreach.withdrawn_at is not None
    page = client.get("/en/my-data/consents/")
    assert "Withdraw this consent" not in page.content.decode()
    assert "— Withdrawn</h2>" in page.content.decode()
    receipt = client.get(f"/en/my-data/consents/{outreach.pk}/receipt.json")
    assert receipt.json()["status"] == "withdrawn"
    assert client.get(f"/en/my-data/consents/{outreach.pk}/receipt.exe").status_code == 404


def test_pages_need_sign_in(client):
    response = client.get("/en/my-data/access/")
    assert response.status_code == 302
    assert "sign-in" in response["Location"]


@pytest.mark.parametrize(
    ("language", "why", "kinds"),
    [
        ("en", "To work on your application", "Contact details"),
        ("fr", "Pour traiter votre demande", "Coordonnées"),
    ],
)
def test_purposes_and_kinds_of_data_read_as_words(
    client, account, federation, person, esdc_caseworker, language, why, kinds
):
    SharingRule.objects.create(
        provider=federation["serviceontario"],
        recipient=federation["esdc"],
        categories=["contact"],
        purposes=["service-delivery"],
        legal_basis="consent",
        valid_from="2020-01-01",
    )
    consents.record_consent(
        person,
        recipients=[federation["esdc"]],
        provider=federation["serviceontario"],
        purposes=["service-delivery"],
        categories=["contact"],
        method="online",
    )
    disclose(
        esdc_caseworker, person, ["email"], "service-delivery", holder=federation["serviceontario"]
    )
    client.force_login(account)
    log = client.get(f"/{language}/my-data/access/").content.decode()
    assert why in log and "service-delivery" not in log
    page = client.get(f"/{language}/my-data/consents/").content.decode()
    assert why in page and kinds in page
    assert "service-delivery" not in page and ">contact<" not in page
