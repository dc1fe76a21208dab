"""Offices of the registry carry coordinates from their data files (no geocoding service is
reachable), so that the directory can place them beside its locations."""

from __future__ import annotations

import csv
import shutil
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.test import Client

from joinedup.care.models import Location, Organization, Service, ServiceAtLocation
from joinedup.care.packages import load_package
from joinedup.demo.loading import DATA
from joinedup.federation.loader import load_federation
from joinedup.federation.models import Jurisdiction, Office

from .conftest import SMALL_DIRECTORY, assert_valid

pytestmark = pytest.mark.django_db


def test_the_canadian_offices_with_an_address_have_coordinates_in_their_city():
    result = load_federation([DATA / "federations" / "canada"])
    assert not getattr(result, "problems", None)
    with_address = Office.objects.exclude(street_address="")
    assert with_address.exists()
    assert not with_address.filter(latitude__isnull=True).exists()
    for office in with_address:
        assert 42 < office.latitude < 60 and -140 < office.longitude < -52, office.key
    toronto = Office.objects.get(key="sc-toronto-downtown")
    assert abs(float(toronto.latitude) - 43.69) < 0.05
    assert abs(float(toronto.longitude) + 79.39) < 0.05


def _package_with_office(tmp_path, rows: dict[int, dict[str, str]]):
    """The small directory with some locations.csv rows (spreadsheet numbering) changed."""
    target = tmp_path / "package"
    shutil.copytree(SMALL_DIRECTORY, target)
    path = target / "locations.csv"
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        header, lines = reader.fieldnames, list(reader)
    for row, cells in rows.items():
        lines[row - 2].update(cells)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=header)
        writer.writeheader()
        writer.writerows(lines)
    return target


def test_a_location_without_coordinates_takes_its_offices_from_the_registry(agencies, tmp_path):
    Office.objects.filter(key="esdc-toronto").update(latitude="43.645500", longitude="-79.380600")
    package = _package_with_office(
        tmp_path,
        {
            # Income assistance: at the registry's office, the row gives no coordinates.
            4: {"x_office": "esdc-toronto", "latitude": "", "longitude": ""},
            # Emergency shelter: linked to the office, but its own coordinates win.
            3: {"x_office": "esdc-toronto"},
        },
    )
    load_package(package)
    income = Location.objects.get(name="Income assistance")
    assert (income.latitude, income.longitude) == (Decimal("43.645500"), Decimal("-79.380600"))
    shelter = Location.objects.get(name="Emergency shelter")
    assert (shelter.latitude, shelter.longitude) == (Decimal("43.660000"), Decimal("-79.400000"))
    # Placed, it is found near the office (it was 6 km north before).
    near = (
        Client()
        .get("/api/v1/hsds/services", {"lat": 43.6455, "lon": -79.3806, "radius_km": 0.5})
        .json()
    )
    assert [s["name"] for s in near["contents"]] == ["Income assistance"]


def test_an_office_without_coordinates_leaves_the_location_unplaced(agencies, tmp_path):
    package = _package_with_office(
        tmp_path, {4: {"x_office": "esdc-toronto", "latitude": "", "longitude": ""}}
    )
    load_package(package)
    income = Location.objects.get(name="Income assistance")
    assert income.latitude is None and income.longitude is None


def test_the_demo_directory_places_the_agencies_locations_at_their_offices():
    load_federation([DATA / "federations" / "canada"])
    load_package(DATA / "care" / "directory")
    at_offices = Location.objects.filter(office__isnull=False).select_related("office")
    assert at_offices.count() >= 40
    for location in at_offices:
        assert (location.latitude, location.longitude) == (
            location.office.latitude,
            location.office.longitude,
        ), location.name
        assert location.address_1 == location.office.street_address, location.name
    physical = Location.objects.filter(location_type="physical")
    assert not physical.filter(latitude__isnull=True).exists()


def _ottawa_office(agencies) -> Office:
    return Office.objects.create(
        agency=agencies["serviceontario"],
        key="so-ottawa",
        names={"en": "ServiceOntario Ottawa centre", "fr": "Centre ServiceOntario d'Ottawa"},
        jurisdiction=Jurisdiction.objects.get(code="CA-ON-OTT"),
        street_address="1 Ogilvie Rd",
        locality="Ottawa",
        region="ON",
        postal_code="K1J 7N2",
        country="CA",
        hours={"mon": [["08:30", "17:00"]], "tue": [["08:30", "17:00"]]},
        phone="613-555-0100",
        latitude=Decimal("45.440000"),
        longitude=Decimal("-75.610000"),
    )


def test_offices_no_location_names_are_placed_in_the_directory_and_found_near(
    agencies, tmp_path, client
):
    office = _ottawa_office(agencies)
    # An office of an agency the directory has no organisation for: ESDC.
    Office.objects.filter(key="esdc-toronto").update(latitude="43.645500", longitude="-79.380600")
    load_package(SMALL_DIRECTORY)
    placed = Location.objects.get(office=office)
    assert (placed.latitude, placed.longitude) == (office.latitude, office.longitude)
    assert (placed.address_1, placed.city, placed.jurisdiction.code) == (
        "1 Ogilvie Rd",
        "Ottawa",
        "CA-ON-OTT",
    )
    assert placed.organization.agency.key == "serviceontario"
    # ServiceOntario's province-wide service is offered there, with the office's hours.
    assert [sal.service.name for sal in placed.services_here.all()] == ["Income assistance"]
    near = client.get("/api/v1/hsds/services", {"lat": 45.44, "lon": -75.61, "radius_km": 1}).json()
    assert [s["name"] for s in near["contents"]] == ["Income assistance"]
    income = Service.objects.get(name="Income assistance")
    document = client.get(f"/api/v1/hsds/services/{income.id}").json()
    assert_valid("service", document)
    at_office = [
        sal for sal in document["service_at_locations"] if sal["location"]["id"] == str(placed.id)
    ]
    assert at_office[0]["location"]["latitude"] == 45.44
    assert at_office[0]["schedules"][0]["byday"] == "MO,TU"
    assert at_office[0]["location"]["phones"][0]["number"] == "613-555-0100"
    french = client.get(f"/api/v1/hsds/services/{income.id}", HTTP_ACCEPT_LANGUAGE="fr").json()
    assert "Centre ServiceOntario d'Ottawa" in {
        sal["location"]["name"] for sal in french["service_at_locations"]
    }
    # ESDC appears as an organisation of the directory, with its office.
    esdc = Organization.objects.get(agency__key="esdc")
    organisation = client.get(f"/api/v1/hsds/organizations/{esdc.id}").json()
    assert [loc["name"] for loc in organisation["locations"]] == ["Service Canada Centre Toronto"]
    assert_valid("organization", organisation)

    # The export carries the offices' locations and addresses; loading it again changes
    # nothing (the same identifiers), and placing again makes nothing twice.
    out = tmp_path / "export"
    call_command("export_directory", str(out))
    with (out / "locations.csv").open(encoding="utf-8") as handle:
        rows = {r["id"]: r for r in csv.DictReader(handle)}
    assert rows[str(placed.id)]["x_office"] == "so-ottawa"
    assert rows[str(placed.id)]["latitude"] == "45.440000"
    with (out / "addresses.csv").open(encoding="utf-8") as handle:
        assert "1 Ogilvie Rd" in {r["address_1"] for r in csv.DictReader(handle)}
    before = Location.objects.count(), ServiceAtLocation.objects.count()
    load_package(out)
    call_command("place_offices")
    assert (Location.objects.count(), ServiceAtLocation.objects.count()) == before

    # An office that loses its coordinates leaves the directory's map.
    Office.objects.filter(pk=office.pk).update(latitude=None, longitude=None)
    call_command("place_offices")
    assert not Location.objects.filter(office=office).exists()


def test_an_office_a_package_names_keeps_that_location_only(agencies, tmp_path):
    Office.objects.filter(key="esdc-toronto").update(latitude="43.645500", longitude="-79.380600")
    load_package(SMALL_DIRECTORY)
    assert Location.objects.filter(office__key="esdc-toronto").count() == 1
    package = _package_with_office(
        tmp_path, {4: {"x_office": "esdc-toronto", "latitude": "", "longitude": ""}}
    )
    load_package(package)
    named = Location.objects.get(office__key="esdc-toronto")
    assert named.name == "Income assistance"  # the package's location, not a second one
