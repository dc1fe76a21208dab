"""Offices of the registry carry coordinates from their data files (no geocoding service is
reachable), so that the directory can place them beside its locations."""

from __future__ import annotations

import csv
import shutil
from decimal import Decimal

import pytest
from django.test import Client

from joinedup.care.models import Location
from joinedup.care.packages import load_package
from joinedup.demo.loading import DATA
from joinedup.federation.loader import load_federation
from joinedup.federation.models import Office

from .conftest import SMALL_DIRECTORY

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
