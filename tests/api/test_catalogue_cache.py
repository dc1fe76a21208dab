"""The catalogue API's response cache: fast on repeat, never stale after a change."""

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from joinedup.api.caching import current_version
from joinedup.federation.loader import load_federation
from joinedup.federation.models import (
    Agency,
    Jurisdiction,
    LifeSituation,
    Offering,
    Service,
)
from tests.conftest import SMALL_FEDERATION

pytestmark = pytest.mark.django_db

ROUTE = "/api/v1/routing?service=ca.parking-permit&jurisdiction=CA-ON-TOR"


@pytest.fixture
def api(small_federation) -> Client:
    cache.clear()
    return Client()


def names(client: Client, url: str = "/api/v1/services", language: str = "en") -> list[str]:
    response = client.get(url, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200, response.content
    return [item["name"] for item in response.json()["items"]]


def test_a_renamed_service_shows_its_new_name_at_once(api):
    assert "Register a birth" in names(api)
    assert "Register a birth" in names(api)  # now answered from the cache

    service = Service.objects.get(key="ca.birth-registration")
    service.names = {"en": "Register a newborn", "fr": "Enregistrer un nouveau-né"}
    service.save()

    assert "Register a newborn" in names(api)
    assert "Enregistrer un nouveau-né" in names(api, language="fr")
    detail = api.get("/api/v1/services/ca.birth-registration").json()
    assert detail["name"] == "Register a newborn"


def test_a_repeated_read_costs_one_small_query(api):
    with CaptureQueriesContext(connection) as first:
        assert api.get("/api/v1/services").status_code == 200
    with CaptureQueriesContext(connection) as again:
        repeated = api.get("/api/v1/services")
    assert repeated.status_code == 200
    assert len(first.captured_queries) > 1
    assert len(again.captured_queries) == 1  # the catalogue's version, nothing else
    assert repeated["Content-Type"].startswith("application/json")


def test_each_language_gets_its_own_answer(api):
    assert "Register a birth" in names(api, language="en")
    assert "Enregistrer une naissance" in names(api, language="fr")
    assert "Register a birth" in names(api, language="en")


def test_deleting_moving_and_linking_show_at_once(api):
    assert api.get(ROUTE).json()["agency"]["key"] == "toronto"

    # Another agency takes over the offering.
    offering = Offering.objects.get(service__key="ca.parking-permit")
    offering.agency = Agency.objects.get(key="serviceontario")
    offering.save()
    assert api.get(ROUTE).json()["agency"]["key"] == "serviceontario"

    # A many-to-many change: the service joins a life situation.
    situation = LifeSituation.objects.get(key="having-a-baby")
    detail = "/api/v1/services/ca.parking-permit"
    assert api.get(detail).json()["life_situations"] == []
    situation.services.add(Service.objects.get(key="ca.parking-permit"))
    assert api.get(detail).json()["life_situations"] == ["having-a-baby"]

    # The offering goes: nobody delivers the permit in Toronto any more.
    offering.delete()
    gone = api.get(ROUTE)
    assert gone.status_code == 404 and gone.json()["reason"] == "not_delivered"


def test_a_new_jurisdiction_is_listed_at_once(api):
    before = api.get("/api/v1/jurisdictions").json()["count"]
    Jurisdiction.objects.create(
        code="CA-ON-HAM",
        level="local",
        parent=Jurisdiction.objects.get(code="CA-ON"),
        names={"en": "Hamilton"},
        time_zone="America/Toronto",
    )
    assert api.get("/api/v1/jurisdictions").json()["count"] == before + 1


def test_loading_a_federation_changes_the_version(api):
    before = current_version()
    load_federation([SMALL_FEDERATION])
    assert current_version() not in {None, before}


def test_credentials_are_never_answered_from_the_cache(api):
    assert api.get("/api/v1/services").status_code == 200
    refused = api.get("/api/v1/services", HTTP_AUTHORIZATION="Bearer not-a-token")
    assert refused.status_code == 401


def test_building_an_answer_does_not_query_once_per_service(api):
    """The first (uncached) answer costs as many queries for three services as for thirty."""

    def queries_for(url: str) -> int:
        cache.clear()
        with CaptureQueriesContext(connection) as captured:
            assert api.get(url).status_code == 200
        return len(captured.captured_queries)

    few = queries_for("/api/v1/services")
    routing = queries_for(ROUTE)
    situation = LifeSituation.objects.get(key="having-a-baby")
    scope = Jurisdiction.objects.get(code="CA")
    for number in range(30):
        service = Service.objects.create(
            key=f"ca.extra-{number}",
            scope=scope,
            names={"en": f"Extra {number}"},
            frame="transactional",
            client_type="person",
            channels=["online"],
        )
        service.life_situations.add(situation)
    assert queries_for("/api/v1/services") == few
    assert queries_for(ROUTE) == routing
