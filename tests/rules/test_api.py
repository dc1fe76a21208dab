"""POST /api/v1/rules/calculate: public, in OpenFisca's situation shape, documented, and a
422 naming the entity, variable and period for a situation the rules cannot compute."""

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.django_db

URL = "/api/v1/rules/calculate"


def family(income: float = 45000) -> dict:
    return {
        "persons": {
            "parent": {"age": {"2026-07": 35}},
            "younger": {"age": {"2026-07": 3}},
            "older": {"age": {"2026-07": 8}},
        },
        "families": {
            "family": {
                "parents": ["parent"],
                "children": ["younger", "older"],
                "adjusted_family_net_income": {"2025": income},
            }
        },
    }


def post(client, body, **headers):
    return client.post(URL, json.dumps(body), content_type="application/json", **headers)


def test_anyone_computes_the_benefits_of_every_level_at_a_place(client, small_federation):
    response = post(client, {"place": "ca-on-tor", "period": "2026-07", "situation": family()})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["place"] == "CA-ON-TOR"
    assert [p["jurisdiction"] for p in body["packages"]] == ["CA", "CA-ON", "CA-ON-TOR"]
    assert all(p["illustrative"] for p in body["packages"])
    by_benefit = {(b["variable"], b["id"]): b for b in body["benefits"]}
    assert by_benefit[("ca_child_benefit", "family")]["per_month"] == 1177.25
    assert by_benefit[("ca_on_child_benefit", "family")]["per_month"] == 172.94
    assert by_benefit[("ca_on_tor_transit_discount", "parent")]["per_month"] == 33.6
    assert body["total_per_month"] == 1383.79
    federal = by_benefit[("ca_child_benefit", "family")]
    assert federal["service"] == "ca.child-benefit"
    step = body["trace"][federal["trace"]]
    assert step["values"] == {"family": pytest.approx(1177.25, abs=0.005)}
    assert "ca_child_benefit_reduction<2026-07>" in step["depends_on"]


def test_names_come_in_the_language_asked_for(client, small_federation):
    response = post(
        client,
        {"place": "CA-ON", "period": "2026-07", "situation": family()},
        HTTP_ACCEPT_LANGUAGE="fr",
    )
    names = {b["variable"]: b["name"] for b in response.json()["benefits"]}
    assert names == {
        "ca_child_benefit": "Allocation canadienne pour enfants",
        "ca_on_child_benefit": "Prestation ontarienne pour enfants",
    }


@pytest.mark.parametrize(
    ("place", "situation", "period", "named"),
    [
        ("CA-ON", {"persons": {"parent": {"salary": {"2026": 1}}}}, "2026-07", ["salary"]),
        ("CA-ON", {"households": {"home": {}}}, "2026-07", ["households"]),
        ("CA-ON", {"persons": {"parent": {"age": {"2026-13": 3}}}}, "2026-07", ["age", "2026-13"]),
        (
            "CA-ON",
            {
                "persons": {"p": {}},
                "families": {"f": {"parents": ["p"], "ca_child_benefit": {"2026": None}}},
            },
            None,
            ["families/f", "ca_child_benefit", "2026"],
        ),
        ("XX-NOWHERE", family(), "2026-07", ["XX-NOWHERE"]),
    ],
)
def test_bad_situations_get_a_422_naming_what_is_wrong(
    client, small_federation, place, situation, period, named
):
    response = post(client, {"place": place, "period": period, "situation": situation})
    assert response.status_code == 422
    detail = response.json()["detail"]
    for text in named:
        assert text in detail


def test_a_body_that_is_not_a_request_is_a_422(client, small_federation):
    response = post(client, {"place": "CA-ON"})
    assert response.status_code == 422
    assert "detail" in response.json()


def test_the_refusal_is_translated(client, small_federation):
    response = post(
        client,
        {"place": "CA-ON", "period": "July", "situation": family()},
        HTTP_ACCEPT_LANGUAGE="fr",
    )
    assert response.status_code == 422
    assert response.json()["detail"].startswith("Ce n'est pas une période. (période July)")


def test_the_openapi_document_describes_the_operation(client):
    document = client.get("/api/v1/openapi.json").json()
    operation = document["paths"][URL]["post"]
    assert {"200", "422"} <= set(operation["responses"])
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    schema = document["components"]["schemas"][body["$ref"].rsplit("/", 1)[-1]]
    assert {"place", "situation"} <= set(schema["required"])
    assert "CalculationOut" in document["components"]["schemas"]


def test_the_web_process_does_not_import_openfisca():
    """OpenFisca and the rule packages load on the first computation, not at start-up."""
    code = (
        "import sys, django, os;"
        "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'joinedup.settings');"
        "from django.core.wsgi import get_wsgi_application;"
        "get_wsgi_application();"
        "from django.urls import get_resolver; get_resolver().url_patterns;"
        "import joinedup.api.api, joinedup.rules.api;"
        "print(sorted(m for m in sys.modules if m.startswith(('openfisca', 'numexpr'))))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]", result.stdout
