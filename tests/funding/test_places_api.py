"""The read API of places and pilots: lists paged with the project's one paginator, a place's
counts, a pilot's evaluation (estimate, interval, method, caveats), 404 in JSON for unknown
keys, bounded queries at two sizes, and the operations in the OpenAPI document."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from joinedup.demo.history.places import write_places
from joinedup.funding import places
from joinedup.funding.models import Pilot, Place
from tests.funding.conftest import staff_client


def _history(count: int, months: int = 18, **pilot) -> None:
    days = [datetime.date(2024 + (m // 12), m % 12 + 1, 1) for m in range(months)]
    write_places(count=count, months=days, seed=7, **pilot)


@pytest.fixture
def analyst(world):
    places.load_places([])
    client, _user = staff_client(world.toronto, "analyst")
    return client


def _queries(client: Client, url: str, params: dict | None = None) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params or {})
    assert response.status_code == 200, response.content
    return len(queries)


def test_places_and_pilots_are_listed_in_pages_with_bounded_queries(analyst):
    _history(6, pilot="navigators", effect=4.0, treated=2, pilot_months=6)
    analyst.get("/api/v1/funding/places")  # the first request of a session does more
    small = (
        _queries(analyst, "/api/v1/funding/places"),
        _queries(analyst, "/api/v1/funding/pilots"),
    )
    listed = analyst.get("/api/v1/funding/places", {"kind": "area", "limit": 4}).json()
    assert listed["count"] == 6 and len(listed["items"]) == 4
    first = listed["items"][0]
    assert first["key"] == "synthetic-01" and first["synthetic"] and first["shaped"]
    assert first["months"] == 18 and first["name"] == "Synthetic place 01"
    toronto = analyst.get("/api/v1/funding/places", {"kind": "jurisdiction", "limit": 100})
    assert {"key": "ca-on-tor", "jurisdiction": "CA-ON-TOR"}.items() <= {
        **next(p for p in toronto.json()["items"] if p["key"] == "ca-on-tor")
    }.items()
    _history(30, pilot="navigators", effect=4.0, treated=5, pilot_months=6)
    Pilot.objects.create(
        key="second",
        names={"en": "Second"},
        change="bundle",
        starts_on=datetime.date(2025, 1, 1),
        measure="within_standard",
    )
    Pilot.objects.get(key="second").treated.set(Place.objects.filter(key="synthetic-03"))
    large = (
        _queries(analyst, "/api/v1/funding/places"),
        _queries(analyst, "/api/v1/funding/pilots"),
    )
    assert large == small
    pilots = analyst.get("/api/v1/funding/pilots").json()
    assert pilots["count"] == 2
    navigators = pilots["items"][0]
    assert navigators["key"] == "navigators" and len(navigators["treated"]) == 5
    assert navigators["synthetic"] and navigators["injected_effect"] == 4.0
    assert navigators["starts_on"] == "2025-01-01"
    # The one paginator's bounds, and the filters' values, refused as invalid input.
    for params in ({"limit": 0}, {"offset": -1}, {"kind": "planet"}):
        refused = analyst.get("/api/v1/funding/places", params)
        assert refused.status_code == 422 and "detail" in refused.json()


def test_a_place_gives_its_counts_with_bounded_queries(analyst):
    toronto = analyst.get("/api/v1/funding/places/ca-on-tor").json()
    assert toronto["traced"] and toronto["currency"] == "CAD"
    (year,) = toronto["money"]
    assert year["allocated"] == "60.00" and year["fiscal_year"] == 2025
    assert toronto["funders"] == [
        {"funder": "serviceontario", "fiscal_year": 2025, "amount": "60.00"}
    ]
    assert toronto["services"] and {"service", "delivered_by", "offered_for"} <= set(
        toronto["services"][0]
    )
    _history(4, months=6)
    small = _queries(analyst, "/api/v1/funding/places/synthetic-01")
    _history(4, months=30, pilot="navigators", effect=2.0, treated=1, pilot_months=6)
    large = _queries(analyst, "/api/v1/funding/places/synthetic-01")
    assert large == small
    place = analyst.get("/api/v1/funding/places/synthetic-01").json()
    assert not place["traced"] and place["money"] == []
    series = {s["measure"]: s for s in place["figures"]}
    assert len(series["within_standard"]["points"]) == 30
    assert series["within_standard"]["points"][0]["month"] == "2024-01"
    part = place["pilots"] + place["compared_in"]
    assert part == ["navigators"]
    missing = analyst.get("/api/v1/funding/places/nowhere")
    assert missing.status_code == 404 and missing.json() == {"detail": "Not found."}


def test_a_pilot_gives_its_estimate_interval_method_and_caveats(analyst):
    _history(12, months=18, pilot="navigators", effect=4.0, treated=3, pilot_months=6)
    pilot = analyst.get("/api/v1/funding/pilots/navigators").json()
    assert pilot["evaluated"] and pilot["error"] is None
    estimate = pilot["estimate"]
    assert estimate["low"] < estimate["effect"] < estimate["high"]
    assert estimate["level"] == 0.95 and estimate["method"] == "wild_bootstrap"
    assert estimate["replications"] == 999 and "bootstrap" in estimate["method_text"]
    assert pilot["places_treated"] == 3 and pilot["places_compared"] == 9
    assert pilot["months_before"] == 12 and pilot["months_since"] == 6
    codes = [c["code"] for c in pilot["caveats"]]
    assert "few_clusters" in codes and "synthetic" in codes
    assert any("Only 12 places are compared" in c["text"] for c in pilot["caveats"])
    assert len(pilot["event_study"]) == 18 and pilot["synthetic_control"] is None
    assert len(pilot["suggested_comparison"]) == 5
    french = analyst.get("/api/v1/funding/pilots/navigators", HTTP_ACCEPT_LANGUAGE="fr").json()
    assert "Bootstrap sauvage par grappes" in french["estimate"]["method_text"]
    assert french["caveats"][0]["text"] != pilot["caveats"][0]["text"]
    _history(12, months=18, pilot="alone", effect=5.0, treated=1, pilot_months=6)
    alone = analyst.get("/api/v1/funding/pilots/alone").json()
    control = alone["synthetic_control"]
    assert control["runs"] == 12 and 1 <= control["rank"] <= 12
    assert abs(sum(w["weight"] for w in control["weights"]) - 1) < 1e-4
    assert "one_treated" in [c["code"] for c in alone["caveats"]]
    missing = analyst.get("/api/v1/funding/pilots/nothing")
    assert missing.status_code == 404 and missing.json() == {"detail": "Not found."}


def test_a_pilot_without_figures_says_why_it_cannot_be_evaluated(analyst):
    pilot = Pilot.objects.create(
        key="early",
        names={"en": "Early"},
        change="other",
        starts_on=datetime.date(2025, 1, 1),
        measure="take_up",
    )
    pilot.treated.set(Place.objects.filter(key="ca-on-tor"))
    read = analyst.get("/api/v1/funding/pilots/early").json()
    assert not read["evaluated"] and "cannot be evaluated yet" in read["error"]
    assert read["estimate"] is None and read["treated"] == ["ca-on-tor"]


def test_only_analysts_read_places_and_pilots_and_the_document_describes_them(world):
    assert Client().get("/api/v1/funding/places").status_code == 401
    front_line, _user = staff_client(world.toronto, "front_line")
    refused = front_line.get("/api/v1/funding/pilots")
    assert refused.status_code == 403 and "detail" in refused.json()
    document = Client().get("/api/v1/openapi.json").json()
    paths = document["paths"]
    for path in (
        "/api/v1/funding/places",
        "/api/v1/funding/places/{key}",
        "/api/v1/funding/pilots",
        "/api/v1/funding/pilots/{key}",
    ):
        assert "get" in paths[path], path
    detail = paths["/api/v1/funding/pilots/{key}"]["get"]["responses"]
    assert detail["404"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Refusal"
    }
    listed = {p["name"] for p in paths["/api/v1/funding/places"]["get"]["parameters"]}
    assert {"limit", "offset", "kind", "synthetic"} <= listed


def _lived_in(month, lives_in: str, postal: str, completed: int, service: str = "ca.passport"):
    """Rollup rows of transactions the federal government delivered to people living in a
    place (as the live rollups write them: the month's row and its place and postal rows)."""
    from joinedup.performance.models import GroupRollup, MonthlyRollup

    key = {
        "month": month,
        "service_key": service,
        "jurisdiction": "CA",
        "agency": "esdc",
        "channel": "online",
    }
    counts = {"started": completed, "completed": completed, "with_standard": completed}
    row, _made = MonthlyRollup.objects.get_or_create(**key)  # the residents of every place
    row.completed += completed
    row.save()
    GroupRollup.objects.create(**key, dimension="place", value=lives_in, **counts)
    GroupRollup.objects.create(**key, dimension="postal_area", value=postal, **counts)


def test_residents_of_a_place_by_the_places_inside_it_with_small_cells_hidden(analyst):
    this_month = datetime.date.today().replace(day=1)
    for lives_in, postal, completed in (
        ("CA-ON-TOR", "M1B", 40),
        ("CA-ON-OTT", "K1A", 25),
        ("CA-ON", "", 3),  # known to live in Ontario, not where
        ("CA-QC-MTL", "H2X", 50),  # outside Ontario: not counted there
    ):
        _lived_in(this_month, lives_in, postal, completed)
    url = "/api/v1/funding/places/ca-on/residents"
    analyst.get(url)  # the first request of a session does more
    small = _queries(analyst, url)
    found = analyst.get(url).json()
    assert found["by"] == "place" and found["minimum"] == 10
    rows = {row["group"]: row for row in found["rows"]}
    assert set(rows) == {"CA-ON", "CA-ON-TOR", "CA-ON-OTT"}
    assert rows["CA-ON-TOR"]["name"] == "Toronto"  # the registry's name
    # 3 is too few; Ottawa, the next smallest, is hidden too, so 3 cannot be recovered
    assert rows["CA-ON"]["completions"] is None and rows["CA-ON-OTT"]["completions"] is None
    assert rows["CA-ON-TOR"]["completions"] == 40
    assert found["total"]["completions"] == 68  # everyone living in Ontario, delivered by CA
    # a service area: by its postal areas
    Place.objects.create(
        key="toronto-east",
        kind="area",
        jurisdiction=Place.objects.get(key="ca-on-tor").jurisdiction,
        names={"en": "Toronto East"},
        postal_codes=["M1B", "M1C"],
    )
    east = analyst.get("/api/v1/funding/places/toronto-east/residents").json()
    assert east["by"] == "postal_area"
    assert [(r["group"], r["completions"]) for r in east["rows"]] == [("M1B", 40)]
    assert east["total"]["completions"] == 40
    # queries do not grow with the data
    for n in range(20):
        _lived_in(this_month, "CA-ON-TOR", "M1C", 1, service=f"ca.other-{n}")
    assert _queries(analyst, url) == small
    refused = analyst.get(url, {"first": "2025-13"})
    assert refused.status_code == 400 and "YYYY-MM" in refused.json()["detail"]
    backwards = analyst.get(url, {"first": "2025-06", "last": "2025-01"})
    assert backwards.status_code == 400 and backwards.json()["detail"]
    assert analyst.get("/api/v1/funding/places/nowhere/residents").status_code == 404
