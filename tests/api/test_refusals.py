"""No input gets a 500 or an HTML page from the API: each hostile request seen from outside
gets a 4xx with a JSON `{"detail": ...}`, and nothing is written (issue 13)."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from joinedup.identity import tokens
from joinedup.identity.client_registry import register_person
from joinedup.identity.models import PersonalToken, User
from joinedup.web.server import ServerOptions, gunicorn_command

pytestmark = pytest.mark.django_db

#: "²" and "¹" pass str.isdigit() but are no registry number; 2^63 overflows the database.
BAD_ACTING_FOR = ("²", "¹", "1²", str(2**63), str(2**64), "-1", "1e3", "١٢")


@pytest.fixture
def citizen(small_federation) -> User:
    person = register_person(given_names="Amara", family_name="Okafor")
    return User.objects.create_user(
        username="amara@example.org", email="amara@example.org", person=person
    )


@pytest.fixture
def bearer(citizen) -> dict[str, str]:
    _token, value = tokens.create_personal_token(citizen, scopes=["read", "write"])
    return {"Authorization": f"Bearer {value}"}


def refused(response, status: int) -> dict:
    """The answer is the status asked, in JSON, with a `detail` a person can read."""
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json"), response.content[:300]
    body = response.json()
    assert body["detail"]
    return body


@pytest.mark.parametrize("value", BAD_ACTING_FOR)
@pytest.mark.parametrize(
    "path", ["/api/v1/services", "/api/v1/jurisdictions/CA", "/api/v1/me", "/api/v1/me/bundles"]
)
def test_a_malformed_acting_for_is_a_400_anonymous_or_not(path, value, bearer):
    anonymous = Client().get(path, headers={"X-Acting-For": value})
    assert "registry number" in refused(anonymous, 400)["detail"]
    signed = Client().get(path, headers={"X-Acting-For": value, **bearer})
    refused(signed, 400)


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/jurisdictions",
        "/api/v1/agencies",
        "/api/v1/services",
        "/api/v1/performance/kpis",
        "/api/v1/me/applications",
        "/api/v1/me/consents",
        "/api/v1/me/bundles",
        "/api/v1/me/access-log",
        "/api/v1/me/complaints",
        "/api/v1/consultations",
    ],
)
@pytest.mark.parametrize(
    "query", [f"offset={2**63}", f"offset={2**64}", f"limit={2**63}", "limit=0", "offset=-1"]
)
def test_paging_beyond_any_list_is_a_422(path, query, bearer):
    refused(Client().get(f"{path}?{query}", headers=bearer), 422)


def test_every_list_of_the_api_bounds_its_offset():
    """Every list pages with the API's one paginator (apicontract.Pages): an offset past the
    largest the database takes is refused in the contract, before any query is sent."""
    from joinedup.apicontract import MAX_OFFSET

    document = Client().get("/api/v1/openapi.json").json()
    unbounded = [
        f"{method.upper()} {path}"
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        for parameter in operation.get("parameters", [])
        if parameter["name"] == "offset"
        and parameter.get("schema", {}).get("maximum") != MAX_OFFSET
    ]
    assert not unbounded, unbounded


def test_the_last_offset_allowed_answers_an_empty_page(bearer):
    from joinedup.apicontract import MAX_OFFSET

    page = Client().get(f"/api/v1/jurisdictions?offset={MAX_OFFSET}")
    assert page.status_code == 200 and page.json()["items"] == []


def test_my_consents_and_bundles_are_paged_like_every_list(bearer):
    for path in ("/api/v1/me/consents", "/api/v1/me/bundles"):
        page = Client().get(f"{path}?limit=1&offset=0", headers=bearer)
        assert page.status_code == 200
        assert page.json() == {"items": [], "count": 0}


def test_a_body_over_the_limit_is_a_json_413(bearer, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = json.dumps({"name": "x" * 2000})
    response = Client().post(
        "/api/v1/me/tokens", body, content_type="application/json", headers=bearer
    )
    refused(response, 413)
    assert PersonalToken.objects.count() == 1


def test_an_over_long_url_is_a_json_414_under_the_api_and_a_page_elsewhere(settings):
    settings.MAX_URL_LENGTH = 2000
    refused(Client().get("/api/v1/services?q=" + "a" * 3000), 414)
    page = Client().get("/services/?q=" + "a" * 3000)
    assert page.status_code == 414 and page["Content-Type"].startswith("text/html")
    assert "too long" in page.content.decode()
    assert Client().get("/api/v1/services?q=" + "a" * 100).status_code == 200


def test_the_server_leaves_long_urls_to_the_application():
    command = gunicorn_command(ServerOptions())
    assert command[command.index("--limit-request-line") + 1] == "0"
    # and believes no X-Forwarded-* header itself (see test_proxies.py)
    assert command[command.index("--forwarded-allow-ips") + 1] == ""


@pytest.mark.parametrize("body", ["[null, null]", "[]", "null", '"read"', "3", "[{}]"])
def test_a_body_that_is_not_an_object_creates_no_token(body, bearer):
    response = Client().post(
        "/api/v1/me/tokens", body, content_type="application/json", headers=bearer
    )
    refused(response, 422)
    assert PersonalToken.objects.count() == 1


@pytest.mark.parametrize(
    "content_type,encoding,body,status",
    [
        ("text/plain", None, b'{"name": "x"}', 415),
        # the test client encodes these in the charset named
        ("application/json; charset=latin-1", None, '{"name": "é"}', 415),
        ("application/json; charset=utf-16", None, '{"name": "x"}', 415),
        ("application/json", None, '{"name": "x"}'.encode("utf-16"), 400),
        ("application/json", None, '{"name": "é"}'.encode("latin-1"), 400),
        ("application/json", "gzip", b'{"name": "x"}', 415),
        ("application/json", None, b'{"name": ', 400),
    ],
)
def test_a_body_not_json_in_utf8_creates_no_token(content_type, encoding, body, status, bearer):
    headers = dict(bearer)
    if encoding:
        headers["Content-Encoding"] = encoding
    response = Client().post("/api/v1/me/tokens", body, content_type=content_type, headers=headers)
    refused(response, status)
    assert PersonalToken.objects.count() == 1


def test_a_nul_character_anywhere_is_a_422(bearer):
    body = json.dumps({"name": "a\x00b"})
    refused(
        Client().post("/api/v1/me/tokens", body, content_type="application/json", headers=bearer),
        422,
    )
    nested = json.dumps({"name": "ok", "scopes": ["read\x00"]})
    refused(
        Client().post("/api/v1/me/tokens", nested, content_type="application/json", headers=bearer),
        422,
    )
    assert PersonalToken.objects.count() == 1
    refused(Client().get("/api/v1/services?q=a%00b"), 422)
    refused(Client().get("/api/v1/services/ca.%00"), 422)
    refused(Client().get("/api/v1/routing?service=a&jurisdiction=%00"), 422)


def test_public_operations_ask_for_no_credential_in_the_document():
    document = Client().get("/api/v1/openapi.json").json()
    public = {
        ("get", "/api/v1/services"),
        ("get", "/api/v1/agencies"),
        ("get", "/api/v1/jurisdictions"),
        ("get", "/api/v1/routing"),
        ("get", "/api/v1/bundles"),
        ("get", "/api/v1/offices/{office_key}/slots"),
        ("get", "/api/v1/performance/kpis"),
        ("get", "/api/v1/documents/{document_id}/verify"),
        ("get", "/api/v1/hsds/services"),
        ("get", "/api/v1/funding/programs"),
    }
    for method, path in public:
        assert {} in document["paths"][path][method]["security"], path
    for method, path in (("get", "/api/v1/me"), ("post", "/api/v1/applications")):
        assert {} not in document["paths"][path][method]["security"], path
    # and they do answer without one
    for path in ("/api/v1/services", "/api/v1/performance/kpis", "/api/v1/bundles"):
        assert Client().get(path).status_code == 200


def test_every_refusal_has_one_schema():
    document = Client().get("/api/v1/openapi.json").json()
    shapes = set()
    for operations in document["paths"].values():
        for operation in operations.values():
            for code, answer in operation["responses"].items():
                if int(code) in {400, 401, 403, 409, 413, 414, 415, 422, 429}:
                    shapes.add(json.dumps(answer["content"]["application/json"]["schema"]))
    assert shapes == {json.dumps({"$ref": "#/components/schemas/Refusal"})}
    schemas = document["components"]["schemas"]
    assert "detail" in schemas["Refusal"]["required"]
    assert "ErrorOut" not in schemas


def test_a_personal_token_has_a_rate_limit(bearer, settings):
    assert settings.PERSONAL_TOKEN_RATE_PER_MINUTE >= 600  # at least 10 a second by default
    assert settings.PERSONAL_TOKEN_BURST >= 10
    settings.PERSONAL_TOKEN_BURST = 3
    settings.PERSONAL_TOKEN_RATE_PER_MINUTE = 60
    answers = [Client().get("/api/v1/me", headers=bearer) for _ in range(4)]
    assert [a.status_code for a in answers[:3]] == [200, 200, 200]
    limited = refused(answers[3], 429)
    assert "Too many requests" in limited["detail"]
    assert int(answers[3]["Retry-After"]) >= 1
    # another token of the same account has its own bucket
    _token, other = tokens.create_personal_token(User.objects.get(username="amara@example.org"))
    assert (
        Client().get("/api/v1/me", headers={"Authorization": f"Bearer {other}"}).status_code == 200
    )
