"""A person's complaints, on the page and through the API: the statements do not grow with
the number of complaints (their parts are read once for the page), and the API pages them."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from joinedup.engagement import complaints
from joinedup.federation.models import Service
from joinedup.identity import tokens
from tests.delivery.conftest import sign_in

from .conftest import context_of

pytestmark = pytest.mark.django_db


def _complain(user, count: int) -> None:
    parking = Service.objects.get(key="ca.parking-permit")
    for n in range(count):
        complaints.file_complaint(context_of(user), user.person, f"Problem {n}.", service=parking)


def _statements(client: Client, url: str, **headers) -> tuple[int, object]:
    client.get(url, **headers)  # warm: the session and the caches
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, **headers)
    assert response.status_code == 200, response.content[:300]
    return len(captured), response


def test_my_complaints_page_and_api_cost_the_same_for_2_or_6(federation, make_applicant):
    user = make_applicant(place="CA-ON-TOR")
    _token, secret = tokens.create_personal_token(user, name="t", scopes=["read"])
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
    page_client, api_client = Client(), Client()
    sign_in(page_client, user)

    _complain(user, 2)
    page_small, _response = _statements(page_client, "/en/complaints/")
    api_small, response = _statements(api_client, "/api/v1/me/complaints", **bearer)
    assert response.json()["count"] == 2

    _complain(user, 4)
    page_large, response = _statements(page_client, "/en/complaints/")
    assert page_large == page_small
    assert response.content.decode().count("Being looked at") == 6
    api_large, response = _statements(api_client, "/api/v1/me/complaints", **bearer)
    assert api_large == api_small
    body = response.json()
    assert body["count"] == 6 and len(body["items"]) == 6
    assert body["items"][0]["parts"][0]["agency"] == "toronto"
    assert body["items"][0]["reference"] > "" and body["items"][0]["state"] == "Being looked at"

    paged = api_client.get("/api/v1/me/complaints?limit=2&offset=4", **bearer).json()
    assert paged["count"] == 6 and len(paged["items"]) == 2
    newest_first = [item["reference"] for item in body["items"]]
    assert [item["reference"] for item in paged["items"]] == newest_first[4:]
