"""The catalogue API contract (DESIGN.md §4): paths, shapes, filters, paging and errors."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(small_federation) -> Client:
    return Client()


def get(client: Client, url: str, language: str = "en", status: int = 200) -> dict:
    response = client.get(url, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    return response.json()


def test_jurisdictions_come_parents_first_with_paging(api):
    body = get(api, "/api/v1/jurisdictions")
    assert body["count"] == 6
    codes = [item["code"] for item in body["items"]]
    assert codes.index("CA") < codes.index("CA-ON") < codes.index("CA-ON-TOR")
    toronto = next(item for item in body["items"] if item["code"] == "CA-ON-TOR")
    assert toronto == {
        "code": "CA-ON-TOR",
        "level": "local",
        "parent": "CA-ON",
        "path": "CA/CA-ON/CA-ON-TOR",
        "name": "Toronto",
        "names": {"en": "Toronto", "fr": "Toronto"},
        "official_languages": [],
        "time_zone": "America/Toronto",
        "holiday_calendar": None,
        "illustrative": True,
    }
    page = get(api, "/api/v1/jurisdictions?limit=2&offset=2")
    assert page["count"] == 6 and [i["code"] for i in page["items"]] == codes[2:4]


def test_jurisdiction_children_and_one_jurisdiction(api):
    children = get(api, "/api/v1/jurisdictions?parent=CA-ON")["items"]
    assert {child["code"] for child in children} == {"CA-ON-TOR", "CA-ON-OTT"}
    quebec = get(api, "/api/v1/jurisdictions/ca-qc", language="fr")
    assert quebec["name"] == "Québec" and quebec["holiday_calendar"] == "CA-QC"
    get(api, "/api/v1/jurisdictions/CA-XX", status=404)


def test_agencies_filter_by_jurisdiction_including_those_within(api):
    ontario = get(api, "/api/v1/agencies?jurisdiction=CA-ON")["items"]
    assert {a["key"] for a in ontario} == {"serviceontario", "toronto"}
    everyone = get(api, "/api/v1/agencies")["items"]
    community = next(a for a in everyone if a["key"] == "helping-hands")
    assert community["jurisdiction"] is None and community["kind"] == "community_organisation"
    assert get(api, "/api/v1/agencies?q=ESDC")["items"][0]["key"] == "esdc"


def test_services_filter_by_place_frame_and_words(api):
    def keys(url):
        return [s["key"] for s in get(api, url)["items"]]

    assert keys("/api/v1/services") == [
        "ca.birth-registration",
        "ca.parking-permit",
        "ca.social-insurance-number",
    ]
    # Montreal gets federal and Quebec services, not Toronto's parking permits.
    assert keys("/api/v1/services?jurisdiction=CA-QC-MTL") == [
        "ca.birth-registration",
        "ca.social-insurance-number",
    ]
    # Ontario's catalogue includes what its municipalities deliver.
    assert "ca.parking-permit" in keys("/api/v1/services?jurisdiction=CA-ON")
    assert keys("/api/v1/services?q=naissance") == ["ca.birth-registration"]
    assert keys("/api/v1/services?q=BIRTH register") == ["ca.birth-registration"]
    assert keys("/api/v1/services?frame=human_services") == []
    assert keys("/api/v1/services?life_situation=having-a-baby") == ["ca.birth-registration"]


def test_a_service_in_the_list_has_its_standard_and_fee(api):
    items = get(api, "/api/v1/services?q=parking", language="fr")["items"]
    assert items == [
        {
            "key": "ca.parking-permit",
            "name": "Permis de stationnement résidentiel",
            "names": {
                "en": "Residential parking permit",
                "fr": "Permis de stationnement résidentiel",
            },
            "description": "",
            "frame": "transactional",
            "client_type": "person",
            "scope": "CA",
            "channels": ["online"],
            "standard": {"days": None, "count": "business", "target": None},
            "fee": {"amount": "18.50", "currency": "CAD"},
            "required_assurance": 1,
            "life_situations": [],
        }
    ]


def test_one_service_says_who_delivers_it_where(api):
    service = get(api, "/api/v1/services/ca.birth-registration")
    assert service["standard"] == {"days": 15, "count": "business", "target": "0.900"}
    assert service["required_assurance"] == 2
    offerings = {o["area"]: o for o in service["offerings"]}
    assert offerings["CA-ON"]["agency"]["key"] == "serviceontario"
    assert offerings["CA-ON"]["standard_days"] == 15  # the service's own standard
    assert offerings["CA-QC"]["standard_days"] == 20  # Quebec's override
    assert offerings["CA-QC"]["channels"] == ["online", "mail"]
    roles = {(r["agency"]["key"], r["role"]) for r in service["partner_roles"]}
    assert roles == {("serviceontario", "service_provider"), ("esdc", "policy_maker")}


def test_offices_come_with_their_address_and_hours(api):
    sin = get(api, "/api/v1/services/ca.social-insurance-number")
    office = sin["offerings"][0]["offices"][0]
    assert office["key"] == "esdc-toronto"
    assert office["address"] == ["1 Front St W", "Toronto ON M5J 2X5"]
    assert office["hours"]["mon"] == [["08:30", "16:00"]]
    assert office["jurisdiction"] == "CA-ON-TOR"


def test_routing_answers_with_the_competent_agency_and_why(api):
    body = get(api, "/api/v1/routing?service=ca.birth-registration&jurisdiction=CA-QC-MTL")
    assert body["agency"]["key"] == "dgeq"
    assert body["area"] == "CA-QC" and body["place"] == "CA-QC-MTL"
    assert body["standard_days"] == 20
    assert body["explanation"][0].startswith("CA-QC-MTL")
    toronto = get(api, "/api/v1/routing?service=ca.birth-registration&jurisdiction=CA-ON-TOR")
    assert toronto["agency"]["key"] == "serviceontario"


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("service=ca.parking-permit&jurisdiction=CA-QC-MTL", "not_delivered"),
        ("service=ca.nothing&jurisdiction=CA-ON", "unknown_service"),
        ("service=ca.birth-registration&jurisdiction=ZZ", "unknown_jurisdiction"),
    ],
)
def test_routing_refuses_with_a_clear_404(api, query, reason):
    body = get(api, f"/api/v1/routing?{query}", status=404)
    assert body["reason"] == reason and body["detail"]


def test_routing_speaks_french(api):
    body = get(
        api,
        "/api/v1/routing?service=ca.parking-permit&jurisdiction=CA-QC-MTL",
        language="fr",
        status=404,
    )
    assert "Montréal" in body["detail"]


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/api/v1/services?frame=painting", 422),
        ("/api/v1/services?jurisdiction=XX-NOPE", 400),
        ("/api/v1/agencies?jurisdiction=nowhere", 400),
        ("/api/v1/jurisdictions?parent=ZZ", 400),
        ("/api/v1/services?limit=-1", 422),
        ("/api/v1/services?limit=abc", 422),
        ("/api/v1/services?q=" + "x" * 500, 422),
        ("/api/v1/routing?service=ca.birth-registration", 422),
        ("/api/v1/services/nope", 404),
        ("/api/v1/agencies/nope/offices", 404),
    ],
)
def test_bad_requests_get_json_4xx_not_500(api, url, status):
    body = get(api, url, status=status)
    assert body["detail"]


def test_the_openapi_document_describes_the_contract(api):
    document = get(api, "/api/v1/openapi.json")
    assert document["openapi"].startswith("3.1")
    for path in (
        "/api/v1/jurisdictions",
        "/api/v1/agencies",
        "/api/v1/services",
        "/api/v1/services/{key}",
        "/api/v1/routing",
    ):
        assert path in document["paths"], path
    routing = document["paths"]["/api/v1/routing"]["get"]
    assert {"200", "404"} <= set(routing["responses"])
