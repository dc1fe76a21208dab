"""The public catalogue's lists, on the site and in the API, send as many SQL statements
with 200 services (or places, agencies, offices) as with 10. The response cache hides the
cost of building an answer most of the time, so each read here clears it first: what is
measured is the answer being built, as after every change to the catalogue."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client

from joinedup.api.caching import bump_catalogue_version
from joinedup.federation.models import Agency, Jurisdiction, Office, Service

pytestmark = pytest.mark.django_db
LIKE = "ca.birth-registration"  # delivered by ServiceOntario in Ontario


def built(client: Client, path: str):
    cache.clear()
    response = client.get(path)
    assert response.status_code == 200, path
    return response


def test_the_service_lists_do_not_query_per_service(
    client, small_federation, add_services, queries_at_10_and_200
):
    start = Service.objects.count()

    def read():
        count = Service.objects.count()
        listed = built(client, "/api/v1/services?limit=500").json()
        assert listed["count"] == count and len(listed["items"]) == count
        built(client, "/en/services/")
        agency = built(client, "/en/agencies/serviceontario/").content.decode()
        assert agency.count(f'href="/en/services/{LIKE}') == count - start + 1
        place = built(client, "/en/places/CA-ON/").content.decode()
        assert f'href="/en/services/{LIKE}-' in place

    at_10, at_200 = queries_at_10_and_200(lambda n: add_services(n, LIKE), read, start=start)
    assert at_200 == at_10


def items(body):
    """The rows of an API list, paginated or not."""
    return body["items"] if isinstance(body, dict) else body


def copy_of(record, **changes):
    fields = {f.attname: getattr(record, f.attname) for f in record._meta.concrete_fields}
    return type(record)(**{**fields, "id": None, **changes})


def add_places(count: int) -> None:
    """n more cities in Ontario, each a copy of Toronto."""
    toronto = Jurisdiction.objects.get(code="CA-ON-TOR")
    start = Jurisdiction.objects.count()
    Jurisdiction.objects.bulk_create(
        copy_of(
            toronto,
            code=f"CA-ON-X{start + n}",
            names={"en": f"Town {start + n}", "fr": f"Ville {start + n}"},
            path=toronto.path.replace("TOR", f"X{start + n}"),
        )
        for n in range(count)
    )
    bump_catalogue_version()


def test_the_place_lists_do_not_query_per_place(client, small_federation, queries_at_10_and_200):
    start = Jurisdiction.objects.count()

    def read():
        count = Jurisdiction.objects.count()
        assert len(items(built(client, "/api/v1/jurisdictions?limit=500").json())) >= 1
        page = built(client, "/en/places/").content.decode()
        assert page.count('href="/en/places/') >= count
        children = built(client, "/en/places/CA-ON/").content.decode()
        assert f"Town {count - 1}" in children

    at_10, at_200 = queries_at_10_and_200(add_places, read, start=start)
    assert at_200 == at_10


def add_agencies_and_offices(count: int) -> None:
    """n more agencies (copies of ServiceOntario), and n more offices of the agency of the
    first office."""
    template = Agency.objects.get(key="serviceontario")
    office = Office.objects.order_by("pk").first()
    start = Agency.objects.count()
    Agency.objects.bulk_create(
        copy_of(
            template,
            key=f"agency-{start + n}",
            names={"en": f"Agency {start + n}", "fr": f"Organisme {start + n}"},
        )
        for n in range(count)
    )
    Office.objects.bulk_create(copy_of(office, key=f"office-{start + n}") for n in range(count))
    bump_catalogue_version()


def test_the_agency_and_office_lists_do_not_query_per_row(
    client, small_federation, queries_at_10_and_200
):
    start = Agency.objects.count()
    office = Office.objects.select_related("agency").order_by("pk").first()
    key = office.agency.key

    def read():
        agencies = items(built(client, "/api/v1/agencies?limit=500").json())
        assert len(agencies) == Agency.objects.count()
        offices = items(built(client, f"/api/v1/agencies/{key}/offices?limit=500").json())
        assert len(offices) == Office.objects.filter(agency=office.agency).count()
        page = built(client, f"/en/agencies/{key}/").content.decode()
        assert page.count(office.name) >= len(offices)

    at_10, at_200 = queries_at_10_and_200(add_agencies_and_offices, read, start=start)
    assert at_200 == at_10
