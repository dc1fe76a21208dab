"""Pages (English and French) and the API: taking part, refusals as 4xx, complaints, list
pages whose query count does not grow with the data."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from joinedup import kept
from joinedup.engagement import participation
from joinedup.engagement.models import Complaint, Consultation, Proposal
from joinedup.federation.models import Service
from joinedup.identity import tokens

from .conftest import context_of, sign_in


@pytest.fixture
def resident(make_applicant):
    return make_applicant(email="res@example.org", place="CA-ON-TOR")


def _bearer(user) -> dict:
    _token, secret = tokens.create_personal_token(user, name="t", scopes=["read", "write"])
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def _many_proposals(consultation, make_applicant, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        user = make_applicant(email=f"p{i}@example.org")
        participation.submit_proposal(context_of(user), consultation, f"Idea {i}", "Text")


def _queries(client: Client, url: str) -> int:
    # Measured cold: an answer kept per process would be read in one measurement only.
    kept.forget_all()
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, response.content[:500]
    return len(captured)


def test_consultation_pages_in_english_and_french(client, consultation, resident):
    participation.submit_proposal(context_of(resident), consultation, "Save my answers", "Please")
    page = client.get(reverse("engagement:consultation", args=[consultation.key]))
    assert page.status_code == 200
    assert b"Registering a birth online" in page.content and b"Save my answers" in page.content
    results = client.get(reverse("engagement:results", args=[consultation.key]))
    assert results.status_code == 200 and b"Data of the chart" in results.content
    assert "Save my answers" in results.content.decode()
    french = client.get(f"/fr/consultations/{consultation.key}/").content.decode()
    assert "Enregistrer une naissance en ligne" in french
    assert "Propositions" in french and "Phases et leurs dates" in french
    french_results = client.get(f"/fr/consultations/{consultation.key}/results/").content
    assert "Propositions les plus appuyées".encode() in french_results


def test_list_pages_cost_the_same_whatever_the_data(client, consultation, make_applicant):
    _many_proposals(consultation, make_applicant, 2)
    url = reverse("engagement:consultation", args=[consultation.key])
    small = _queries(client, url)
    results_small = _queries(client, reverse("engagement:results", args=[consultation.key]))
    api_small = _queries(client, f"/api/v1/consultations/{consultation.key}/proposals")
    _many_proposals(consultation, make_applicant, 8, start=2)
    assert _queries(client, url) == small
    assert _queries(client, reverse("engagement:results", args=[consultation.key])) == results_small
    assert _queries(client, f"/api/v1/consultations/{consultation.key}/proposals") == api_small
    for n in range(3):
        Consultation.objects.create(
            key=f"c{n}",
            titles={"en": f"C{n}"},
            owner=consultation.owner,
            service=consultation.service,
        )
    assert _queries(client, reverse("engagement:consultations")) <= 6


def test_taking_part_through_the_pages(consultation, resident, make_applicant):
    browser = sign_in(Client(), resident)
    response = browser.post(
        reverse("engagement:propose", args=[consultation.key]),
        {"title": "Save my answers", "body": "Let me come back later."},
    )
    proposal = Proposal.objects.get()
    assert response.status_code == 302
    outsider = make_applicant(email="ott@example.org", place="CA-ON-OTT")
    refused = sign_in(Client(), outsider).post(
        reverse("engagement:propose", args=[consultation.key]), {"title": "x", "body": "y"}
    )
    assert refused.status_code == 403 and b"residents of Toronto" in refused.content
    empty = browser.post(
        reverse("engagement:comment", args=[consultation.key, proposal.pk]), {"body": " "}
    )
    assert empty.status_code == 400
    anonymous = Client().post(reverse("engagement:support", args=[consultation.key, proposal.pk]))
    assert anonymous.status_code == 302 and "sign-in" in anonymous["Location"]


def test_moderation_page_is_the_owners(consultation, resident, staff_client, federation):
    owner, _context = staff_client(federation["serviceontario"], "supervisor")
    assert owner.get(reverse("engagement:moderation", args=[consultation.key])).status_code == 200
    other, _context = staff_client(federation["toronto"], "supervisor")
    assert other.get(reverse("engagement:moderation", args=[consultation.key])).status_code == 403


def test_complaint_through_the_pages(federation, resident):
    browser = sign_in(Client(), resident)
    form = browser.get(reverse("engagement:complaint-new") + "?service=ca.parking-permit")
    assert form.status_code == 200
    bad = browser.post(
        reverse("engagement:complaint-new"), {"service": "ca.parking-permit", "text": ""}
    )
    assert bad.status_code == 400 and b"Tell us what happened" in bad.content
    made = browser.post(
        reverse("engagement:complaint-new"),
        {"service": "ca.parking-permit", "text": "It failed.", "kind": "complaint"},
    )
    complaint = Complaint.objects.get()
    assert made.status_code == 302
    detail = browser.get(reverse("engagement:complaint", args=[complaint.reference]))
    assert detail.status_code == 200 and b"City of Toronto" in detail.content
    assert browser.get(reverse("engagement:complaints")).status_code == 200
    reply_too_early = browser.post(
        reverse("engagement:complaint-act", args=[complaint.reference]), {"action": "accept"}
    )
    assert reply_too_early.status_code == 400


def test_counter_staff_record_a_complaint_by_url(federation, resident, staff_client):
    clerk, _context = staff_client(federation["toronto"], "front_line")
    made = clerk.post(
        reverse("engagement:complaint-new"),
        {"person": resident.person.pk, "service": "ca.parking-permit", "text": "At the desk."},
    )
    assert made.status_code == 200
    complaint = Complaint.objects.get()
    assert complaint.channel == "counter"
    # Staff of the agency concerned see it; the person's details come through the data gate.
    from joinedup.sharing.models import AccessEvent

    before = AccessEvent.objects.count()
    assert clerk.get(reverse("engagement:complaint", args=[complaint.reference])).status_code == 200
    assert AccessEvent.objects.count() > before


def test_api_consultations_proposals_supports(client, consultation, resident, make_applicant):
    listed = client.get("/api/v1/consultations")
    assert listed.status_code == 200 and listed.json()["items"][0]["key"] == consultation.key
    assert client.get("/api/v1/consultations/nope").status_code == 404
    anonymous = client.post(
        f"/api/v1/consultations/{consultation.key}/proposals",
        json.dumps({"title": "t", "body": "b"}),
        content_type="application/json",
    )
    assert anonymous.status_code in (401, 403)
    made = client.post(
        f"/api/v1/consultations/{consultation.key}/proposals",
        json.dumps({"title": "Save", "body": "Please"}),
        content_type="application/json",
        **_bearer(resident),
    )
    assert made.status_code == 201, made.content
    pid = made.json()["id"]
    supporter = make_applicant(email="s@example.org")
    url = f"/api/v1/consultations/{consultation.key}/proposals/{pid}/supports"
    assert client.post(url, **_bearer(supporter)).json()["supports"] == 1
    again = client.post(url, **_bearer(supporter))
    assert again.status_code == 409 and again.json()["code"] == "already_supported"
    assert client.get(f"/api/v1/consultations/{consultation.key}/results").json()["supports"] == 1


def test_api_rate_limit_answers_429(client, consultation, resident, settings):
    settings.ENGAGEMENT_CONTRIBUTIONS_PER_HOUR = 1
    headers = _bearer(resident)
    body = json.dumps({"title": "One", "body": "x"})
    url = f"/api/v1/consultations/{consultation.key}/proposals"
    assert client.post(url, body, content_type="application/json", **headers).status_code == 201
    second = client.post(url, body, content_type="application/json", **headers)
    assert second.status_code == 429 and second.json()["detail"]


def test_api_complaints(client, federation, resident):
    headers = _bearer(resident)
    bad = client.post(
        "/api/v1/complaints",
        json.dumps({"text": "x", "service": "no.such"}),
        content_type="application/json",
        **headers,
    )
    assert bad.status_code == 404 and bad.json()["detail"]
    made = client.post(
        "/api/v1/complaints",
        json.dumps({"text": "Slow permit", "service": "ca.parking-permit"}),
        content_type="application/json",
        **headers,
    )
    assert made.status_code == 201, made.content
    body = made.json()
    assert body["parts"][0]["agency"] == "toronto" and body["parts"][0]["due_date"]
    mine = client.get("/api/v1/me/complaints", **headers).json()
    assert mine["count"] == 1
    one = client.get(f"/api/v1/complaints/{body['reference']}", **headers)
    assert one.status_code == 200
    assert Service.objects.filter(key="complaints.toronto").exists()
