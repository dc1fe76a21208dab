"""The batch API: an agency's client submits its records; refusals are JSON with lines and
fields; a caseworker sees a linked person's agencies only through the gate (and the ledger)."""

from __future__ import annotations

import json

import pytest

from joinedup.clientindex.loading import load
from joinedup.clientindex.models import Cluster, SourceRecord
from joinedup.identity import tokens
from joinedup.identity.client_registry import AddressInput, register_person
from joinedup.sharing import gate
from joinedup.sharing.models import AccessEvent

from .conftest import SIN_A

URL = "/api/v1/client-index/records"
RECORD = {
    "record_id": "ON-1",
    "given_names": "Marie",
    "family_name": "Tremblay",
    "birth_date": "1980-03-04",
    "identifier_kind": "ca-sin",
    "identifier": SIN_A,
}


def post(client, token, body):
    return client.post(
        URL, json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}"
    )


@pytest.fixture
def agency_token(agencies):
    _client, token = tokens.create_api_client(
        agencies["serviceontario"], name="CRM", role="front_line", scopes=["read", "write"]
    )
    return token


def test_a_batch_is_stored_once_per_record_id(
    client, agency_token, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks():
        response = post(client, agency_token, {"records": [RECORD]})
    assert response.status_code == 200, response.content
    assert response.json()["created"] == 1
    again = post(client, agency_token, {"records": [RECORD]})
    assert again.json() | {"errors": []} == {
        "received": 1,
        "created": 0,
        "updated": 0,
        "unchanged": 1,
        "rejected": 0,
        "errors": [],
    }
    assert SIN_A not in repr(list(SourceRecord.objects.values()))


def test_bad_records_are_refused_by_line_and_field_and_nothing_is_kept(client, agency_token):
    bad = dict(RECORD, record_id="ON-2", birth_date="04/03/1980", identifier="123")
    response = post(client, agency_token, {"records": [RECORD, bad]})
    assert response.status_code == 422
    body = response.json()
    assert body["detail"]
    assert {(e["line"], e["field"]) for e in body["errors"]} == {
        (2, "birth_date"),
        (2, "identifier"),
    }
    assert SourceRecord.objects.count() == 0
    partial = post(client, agency_token, {"records": [RECORD, bad], "partial": True})
    assert partial.status_code == 200 and partial.json()["created"] == 1


def test_refusals(client, agencies, agency_token):
    assert client.post(URL, "{}", content_type="application/json").status_code == 401
    from joinedup.identity.models import User

    user = User.objects.create_user("cw", "cw@example.org", "a long password 123")
    from joinedup.identity.models import StaffMembership

    StaffMembership.objects.create(user=user, agency=agencies["esdc"], role="caseworker")
    _token, personal = tokens.create_personal_token(user, scopes=["read", "write"])
    assert post(client, personal, {"records": [RECORD]}).status_code == 403
    assert post(client, agency_token, {"records": []}).status_code == 400
    assert SourceRecord.objects.count() == 0


def test_a_caseworker_sees_the_linked_agencies_only_through_the_gate(agencies, caseworker):
    person = register_person(
        given_names="Marie",
        family_name="Tremblay",
        address=AddressInput(
            street_address="1 Main St", locality="Toronto", jurisdiction_code="CA-ON-TOR"
        ),
    )
    for agency in ("esdc", "toronto"):
        load(agencies[agency], [dict(RECORD, record_id=f"{agency}-1")], channel="api")
    cluster = Cluster.objects.create(key="CI-TEST000001", person=person)
    SourceRecord.objects.update(cluster=cluster)
    before = AccessEvent.objects.filter(subject_id=person.pk).count()
    disclosure = gate.disclose(caseworker, person, ["linked_agencies"], "case-management")
    assert sorted(disclosure.fields["linked_agencies"]) == sorted(
        [agencies["esdc"].name, agencies["toronto"].name]
    )
    assert AccessEvent.objects.filter(subject_id=person.pk).count() == before + 1
