"""POST /api/v1/applications reads only JSON in UTF-8: a body in another media type,
charset or content coding is refused and writes nothing (issue 13)."""

from __future__ import annotations

import gzip
import json

import pytest
from django.test import Client

from joinedup.delivery.models import Application
from joinedup.identity import tokens

from .conftest import birth_answers

pytestmark = pytest.mark.django_db


@pytest.fixture
def headers(applicant) -> dict[str, str]:
    _token, secret = tokens.create_personal_token(applicant, scopes=["read", "write"])
    return {"Authorization": f"Bearer {secret}"}


def _body() -> str:
    return json.dumps({"service": "ca.birth-registration", "answers": birth_answers()})


@pytest.mark.parametrize(
    "content_type,extra,encode,status",
    [
        ("text/plain", {}, str.encode, 415),
        ("application/json; charset=latin-1", {}, lambda text: text.encode("latin-1"), 415),
        ("application/json; charset=utf-16", {}, lambda text: text.encode("utf-16"), 415),
        ("application/json", {}, lambda text: text.encode("utf-16"), 400),
        ("application/json", {"Content-Encoding": "gzip"}, str.encode, 415),
        (
            "application/json",
            {"Content-Encoding": "gzip"},
            lambda t: gzip.compress(t.encode()),
            415,
        ),
        ("application/x-www-form-urlencoded", {}, lambda text: b"service=x", 415),
    ],
)
def test_a_body_not_json_in_utf8_is_refused_and_writes_nothing(
    birth_registration, headers, content_type, extra, encode, status
):
    response = Client().generic(
        "POST",
        "/api/v1/applications",
        encode(_body()),
        content_type=content_type,
        headers={**headers, **extra},
    )
    assert response.status_code == status, response.content
    assert response.json()["detail"]
    assert not Application.objects.exists()


def test_the_same_body_as_json_in_utf8_is_written(birth_registration, headers):
    response = Client().post(
        "/api/v1/applications", _body(), content_type="application/json", headers=headers
    )
    assert response.status_code == 201, response.content
    assert Application.objects.count() == 1


def test_a_nul_in_an_answer_is_a_422_and_writes_nothing(birth_registration, headers):
    body = json.dumps(
        {"service": "ca.birth-registration", "answers": birth_answers(child_given_names="Zo\x00e")}
    )
    response = Client().post(
        "/api/v1/applications", body, content_type="application/json", headers=headers
    )
    assert response.status_code == 422 and "NUL" in response.json()["detail"]
    assert not Application.objects.exists()
