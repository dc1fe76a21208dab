"""The directory: HSDS 3 data packages in and out, and the HSDS API, checked against the
standard's published schemas."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from joinedup.care import directory
from joinedup.care.models import Location, Organization, Service, ServiceCapacity
from joinedup.care.packages import PackageRefused, load_package
from joinedup.demo.loading import federation_folder
from joinedup.federation.loader import load_federation

from .conftest import DEMO_DIRECTORY, SMALL_DIRECTORY, assert_valid

pytestmark = pytest.mark.django_db

FOOD = "/api/v1/hsds/services"


@pytest.fixture
def small_directory(agencies):
    load_package(SMALL_DIRECTORY)
    return {s.name: s for s in Service.objects.all()}


def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "package"
    shutil.copytree(SMALL_DIRECTORY, target)
    return target


def _edit(path: Path, row: int, column: str, value: str) -> None:
    """Set one cell (row as a spreadsheet numbers it: the header is row 1)."""
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        header, rows = reader.fieldnames, list(reader)
    rows[row - 2][column] = value
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, header)
        writer.writeheader()
        writer.writerows(rows)


# --- Loading and refusing -----------------------------------------------------------------


def test_a_package_loads_with_links_to_the_registry_and_french_text(small_directory, agencies):
    food = small_directory["Community food bank"]
    assert food.organization.agency == agencies["helping-hands"]
    assert food.text("name", "fr") == "Banque alimentaire communautaire"
    assert food.text("name", "en") == "Community food bank"
    location = food.at_locations.get().location
    assert location.jurisdiction.code == "CA-ON-TOR"
    assert location.address_1 == "10 Main St"  # from addresses.csv
    shelter = small_directory["Emergency shelter"]
    capacity = shelter.capacities.get()
    assert (capacity.available, capacity.maximum, capacity.unit.name) == (7, 40, "bed")


def test_loading_again_updates_in_place(small_directory, tmp_path):
    package = _copy(tmp_path)
    _edit(package / "service_capacities.csv", 2, "available", "3")
    load_package(package)
    assert Service.objects.count() == 5
    assert ServiceCapacity.objects.get().available == 3


@pytest.mark.parametrize(
    ("file", "row", "column", "value", "message"),
    [
        ("services.csv", 3, "id", "not-a-uuid", "services.csv, row 3, field id"),
        ("services.csv", 2, "name", "", "services.csv, row 2, field name: a value is required"),
        ("services.csv", 4, "status", "open", "services.csv, row 4, field status"),
        ("locations.csv", 2, "latitude", "north", "locations.csv, row 2, field latitude"),
        ("schedules.csv", 3, "opens_at", "9h", "schedules.csv, row 3, field opens_at"),
        (
            "service_at_location.csv",
            2,
            "location_id",
            "1b4e28ba-2fa1-11d2-883f-0016d3cca427",
            "service_at_location.csv, row 2, field location_id: no record",
        ),
        ("organizations.csv", 2, "x_agency", "nobody", "organizations.csv, row 2, field x_agency"),
    ],
)
def test_a_bad_package_is_refused_whole_naming_file_row_and_field(
    agencies, tmp_path, file, row, column, value, message
):
    package = _copy(tmp_path)
    _edit(package / file, row, column, value)
    with pytest.raises(PackageRefused) as refused:
        load_package(package)
    assert any(message in problem for problem in refused.value.problems), refused.value.problems
    assert Service.objects.count() == 0
    assert Organization.objects.count() == 0


def test_every_problem_is_listed_at_once_and_a_missing_file_is_named(agencies, tmp_path):
    package = _copy(tmp_path)
    _edit(package / "services.csv", 2, "status", "open")
    _edit(package / "phones.csv", 3, "number", "")
    (package / "organizations.csv").unlink()
    with pytest.raises(PackageRefused) as refused:
        load_package(package)
    text = "\n".join(refused.value.problems)
    assert "organizations.csv: the package has no such file" in text
    assert "services.csv, row 2, field status" in text
    assert "phones.csv, row 3, field number" in text


def test_the_command_refuses_a_bad_package_and_loads_a_good_one(agencies, tmp_path, capsys):
    from django.core.management.base import CommandError

    package = _copy(tmp_path)
    _edit(package / "services.csv", 2, "id", "x")
    with pytest.raises(CommandError, match="nothing was loaded"):
        call_command("load_directory", str(package))
    assert "services.csv, row 2, field id" in capsys.readouterr().err
    call_command("load_directory", str(SMALL_DIRECTORY))
    assert "services.csv: 5" in capsys.readouterr().out


def test_an_export_loads_back_the_same_directory(small_directory, tmp_path):
    out = tmp_path / "export"
    call_command("export_directory", str(out))
    descriptor = json.loads((out / "datapackage.json").read_text())
    assert {r["path"] for r in descriptor["resources"]} >= {"services.csv", "organizations.csv"}
    before = {s.id: (s.name, s.translations, s.status) for s in Service.objects.all()}
    Service.objects.all().delete()
    Location.objects.all().delete()
    Organization.objects.all().delete()
    load_package(out)
    after = {s.id: (s.name, s.translations, s.status) for s in Service.objects.all()}
    assert after == before
    assert Location.objects.exclude(address_1="").count() == 5


# --- The demo directory -------------------------------------------------------------------


@pytest.fixture
def demo_directory(db):
    load_federation([federation_folder("canada")], base=federation_folder("canada").parent)
    load_package(DEMO_DIRECTORY)


def test_the_demo_directory_is_large_bilingual_illustrative_and_validates(demo_directory, tmp_path):
    assert Service.objects.count() >= 60
    assert Organization.objects.count() >= 15
    assert all(s.translations.get("fr", {}).get("name") for s in Service.objects.all())
    descriptor = json.loads((DEMO_DIRECTORY / "datapackage.json").read_text())
    assert descriptor["illustrative"] is True
    out = tmp_path / "export"
    call_command("export_directory", str(out))
    services = json.loads((out / "services.json").read_text())
    assert len(services) == Service.objects.count()
    for document in services:
        assert_valid("service", document)
    kinds = {a["taxonomy_term"]["code"] for s in services for a in s["attributes"]}
    assert kinds >= {
        "food",
        "shelter",
        "mental-health",
        "addiction",
        "employment",
        "legal",
        "child-care",
        "seniors",
    }


# --- The API ------------------------------------------------------------------------------


def test_services_come_in_the_hsds_page_envelope(small_directory, client):
    answer = client.get(FOOD, {"per_page": 2, "page": 2}).json()
    assert {k: answer[k] for k in ("total_items", "total_pages", "page_number", "size")} == {
        "total_items": 5,
        "total_pages": 3,
        "page_number": 2,
        "size": 2,
    }
    assert (answer["first_page"], answer["last_page"], answer["empty"]) == (False, False, False)
    for item in answer["contents"]:
        assert_valid("service_list", item)


def test_every_service_answer_is_valid_hsds_and_fully_nested(small_directory, client):
    for service in small_directory.values():
        answer = client.get(f"{FOOD}/{service.id}")
        assert answer.status_code == 200
        document = answer.json()
        assert_valid("service", document)
        assert document["organization"]["id"] == str(service.organization_id)
        location = document["service_at_locations"][0]["location"]
        assert location["addresses"][0]["city"] == "Toronto"
        assert document["service_at_locations"][0]["schedules"][0]["byday"] == "MO,WE,FR"
    shelter = client.get(f"{FOOD}/{small_directory['Emergency shelter'].id}").json()
    assert shelter["capacities"][0]["available"] == 7
    assert shelter["capacities"][0]["unit"]["name"] == "bed"
    assert shelter["attributes"][0]["taxonomy_term"]["code"] == "shelter"


def test_the_answer_is_in_the_language_asked_for(small_directory, client):
    food = small_directory["Community food bank"]
    answer = client.get(f"{FOOD}/{food.id}", HTTP_ACCEPT_LANGUAGE="fr").json()
    assert answer["name"] == "Banque alimentaire communautaire"
    translation.activate("en")


def test_search_by_text_taxonomy_place_language_and_date(small_directory, client):
    def names(**params):
        answer = client.get(FOOD, params)
        assert answer.status_code == 200, answer.content
        return sorted(s["name"] for s in answer.json()["contents"])

    assert names(search="shelter") == ["Emergency shelter"]
    housing = "taxonomy_term_id"
    from joinedup.care.models import TaxonomyTerm

    housing_id = str(TaxonomyTerm.objects.get(code="housing").id)
    assert names(**{housing: housing_id}) == ["Emergency shelter"]  # narrower terms count
    assert names(place="CA-ON-OTT") == ["Income assistance", "Walk-in counselling"]
    assert names(language="es") == ["Community food bank"]
    assert names(modified_after="2026-10-03T12:00:00Z") == [
        "Community meals Montréal",
        "Walk-in counselling",
    ]
    minimal = client.get(FOOD, {"minimal": "true"}).json()["contents"]
    assert set(minimal[0]) == {"id", "last_modified"}


def test_search_by_distance_from_a_point(small_directory, client):
    answer = client.get(FOOD, {"lat": 43.651, "lon": -79.381, "radius_km": 8}).json()
    names = [s["name"] for s in answer["contents"]]
    assert names == ["Community food bank", "Emergency shelter", "Income assistance"]
    far = client.get(FOOD, {"lat": 45.5, "lon": -73.57, "radius_km": 2}).json()
    assert [s["name"] for s in far["contents"]] == ["Community meals Montréal"]


@pytest.mark.parametrize(
    "params",
    [
        {"page": 0},
        {"per_page": 1000},
        {"modified_after": "yesterday"},
        {"taxonomy_term_id": "food"},
        {"place": "XX-NOPE"},
        {"lat": 43.6},
        {"lat": 123, "lon": 0},
    ],
)
def test_bad_parameters_are_refused_with_a_message(small_directory, client, params):
    answer = client.get(FOOD, params)
    assert answer.status_code == 400
    assert answer.json()["detail"]


def test_unknown_records_are_not_found(small_directory, client):
    assert client.get(f"{FOOD}/not-a-uuid").status_code == 404
    assert client.get(f"{FOOD}/1b4e28ba-2fa1-11d2-883f-0016d3cca427").status_code == 404


def test_organizations_taxonomies_terms_and_service_at_locations(small_directory, client):
    orgs = client.get("/api/v1/hsds/organizations").json()
    assert orgs["total_items"] == 4
    for org in orgs["contents"]:
        assert_valid("organization", org)
    one = client.get(f"/api/v1/hsds/organizations/{orgs['contents'][0]['id']}").json()
    assert_valid("organization", one)
    for item in client.get("/api/v1/hsds/taxonomies").json()["contents"]:
        assert_valid("taxonomy", item)
    terms = client.get("/api/v1/hsds/taxonomy_terms").json()
    assert terms["total_items"] == 5
    for item in terms["contents"]:
        assert_valid("taxonomy_term", item)
    sals = client.get("/api/v1/hsds/service_at_locations").json()["contents"]
    for item in sals:
        assert_valid("service_at_location", item)
    assert client.get(f"/api/v1/hsds/service_at_locations/{sals[0]['id']}").status_code == 200
    about = client.get("/api/v1/hsds/").json()
    assert about["version"].startswith("3")


def test_the_full_list_reads_a_constant_number_of_statements(small_directory, client, tmp_path):
    def statements() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(FOOD, {"full": "true"}).status_code == 200
        return len(queries)

    few = statements()
    package = _copy(tmp_path)
    # Ten times the services: the same package with new identifiers.
    for copy in range(9):
        target = tmp_path / f"copy{copy}"
        shutil.copytree(package, target)
        for path in target.glob("*.csv"):
            text = path.read_text(encoding="utf-8")
            for uid in set(_uuids(text)):
                text = text.replace(uid, uid[:-2] + f"{copy:02d}")
            path.write_text(text, encoding="utf-8")
        load_package(target)
    assert Service.objects.count() == 50
    assert statements() == few


def _uuids(text: str) -> list[str]:
    import re

    return re.findall(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", text)


def test_open_hours_in_words(small_directory):
    food = small_directory["Community food bank"]
    schedules = food.at_locations.get().schedules.all()
    assert directory.hours_in_words(schedules) == [
        "Monday: 09:00–17:00",
        "Wednesday: 09:00–17:00",
        "Friday: 09:00–17:00",
    ]
