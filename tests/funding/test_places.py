"""Places: the registry's jurisdictions and GeoJSON service areas, the synthetic history's
places and pilot, and everything counted in a place (money traced from the funding flows)."""

from __future__ import annotations

import csv
import datetime
import io
import json
import zipfile
from decimal import Decimal

import numpy as np
import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from joinedup.demo.history.places import write_places
from joinedup.demo.loading import PLACES
from joinedup.federation.loader import load_federation
from joinedup.federation.models import Jurisdiction
from joinedup.funding import expenditures, places
from joinedup.funding.models import Expenditure, Pilot, Place, PlaceFigure
from tests.conftest import SMALL_FEDERATION
from tests.funding.conftest import staff_client


def square(lon: float, lat: float) -> dict:
    ring = [[lon, lat], [lon + 0.1, lat], [lon + 0.1, lat + 0.1], [lon, lat + 0.1], [lon, lat]]
    return {"type": "Polygon", "coordinates": [ring]}


def collection(*features: dict) -> str:
    return json.dumps({"type": "FeatureCollection", "features": list(features)})


def area(key: str, code: str = "CA-ON-TOR", **extra) -> dict:
    properties = {"kind": "area", "key": key, "name_en": key.title(), "jurisdiction": code}
    properties.update(extra)
    return {"type": "Feature", "properties": properties, "geometry": square(-79.4, 43.6)}


@pytest.fixture
def registry(db):
    load_federation([SMALL_FEDERATION])


def test_every_jurisdiction_becomes_a_place_and_areas_load_from_geojson(registry, tmp_path):
    path = tmp_path / "areas.geojson"
    path.write_text(
        collection(
            area("east-end", name_fr="Est", population=1200, synthetic=True),
            {
                "type": "Feature",
                "properties": {"kind": "jurisdiction", "jurisdiction": "CA-ON-OTT"},
                "geometry": square(-75.7, 45.4),
            },
        )
    )
    call_command("load_places", str(path))
    toronto = Place.objects.get(key="ca-on-tor")
    assert toronto.kind == Place.Kind.JURISDICTION and toronto.jurisdiction.code == "CA-ON-TOR"
    east = Place.objects.get(key="east-end")
    assert east.kind == Place.Kind.AREA and east.synthetic and east.population == 1200
    assert east.jurisdiction.code == "CA-ON-TOR" and east.names["fr"] == "Est"
    assert Place.objects.get(key="ca-on-ott").shape["type"] == "Polygon"
    count = Place.objects.count()
    call_command("load_places", str(path))  # loading twice changes nothing
    assert Place.objects.count() == count


def test_a_bad_feature_is_named_and_nothing_is_written(registry, tmp_path):
    broken = area("open-ring")
    broken["geometry"]["coordinates"][0].pop()  # the ring no longer closes
    path = tmp_path / "bad.geojson"
    path.write_text(
        collection(area("fine"), area("nowhere", code="CA-XX"), broken, area("ca-on-ott"))
    )
    with pytest.raises(CommandError) as refused:
        call_command("load_places", str(path))
    message = str(refused.value)
    assert "bad.geojson, feature 2: no jurisdiction CA-XX" in message
    assert "bad.geojson, feature 3" in message and "close" in message
    assert "feature 4: ca-on-ott is the key of a jurisdiction's place" in message
    assert not Place.objects.exists()


def test_the_demo_shapes_are_small_synthetic_and_load(registry):
    document = json.loads((PLACES / "canada.geojson").read_text())
    assert all(f["properties"]["synthetic"] for f in document["features"])
    known = {"CA-ON-TOR", "CA-ON-OTT", "CA-QC-MTL"}
    subset = [f for f in document["features"] if f["properties"]["jurisdiction"] in known]
    loaded = places.load_places([])
    assert loaded.jurisdictions == Place.objects.count()
    # the features naming jurisdictions of the small federation load as they are
    with pytest.raises(places.PlacesRefused):
        places.load_places([PLACES / "canada.geojson"])  # Quebec City is not in it
    assert len(subset) >= 4


def test_synthetic_history_writes_places_figures_and_a_pilot_with_its_effect(registry):
    months = [datetime.date(2024, m, 1) for m in range(1, 13)] + [
        datetime.date(2025, m, 1) for m in range(1, 13)
    ]
    write_places(count=30, months=months, seed=3, pilot="navigators", effect=4.0, treated=4)
    synthetic = Place.objects.filter(synthetic=True, key__startswith="synthetic-")
    assert synthetic.count() == 30
    assert all(p.shape["type"] == "Polygon" for p in synthetic)
    assert PlaceFigure.objects.filter(measure="within_standard").count() == 30 * 24
    pilot = Pilot.objects.get(key="navigators")
    assert pilot.synthetic and pilot.injected_effect == 4.0
    assert pilot.treated.count() == 4 and pilot.comparison.count() == 26
    assert pilot.starts_on == datetime.date(2025, 1, 1)
    # again: the synthetic places are replaced, not added to
    write_places(count=30, months=months, seed=4)
    assert Place.objects.filter(synthetic=True, key__startswith="synthetic-").count() == 30
    assert not Pilot.objects.exists()


def test_place_money_is_traced_from_the_funding_flows(world):
    places.load_places([])
    for allocation, amount in ((world.municipal, "30.00"), (world.provincial, "5.00")):
        expenditures.report_expenditure(
            allocation,
            period=datetime.date(2025, 5, 1),
            category=Expenditure.Category.STAFF,
            phase=Expenditure.Phase.EXECUTED,
            amount=Decimal(amount),
            user_id=None,
            agency=allocation.recipient.key,
            reason="test",
        )
    toronto = places.view(Place.objects.get(key="ca-on-tor"))
    (year,) = toronto.years
    # 60 entered Toronto from Ontario; the 40 passed on to a Toronto charity is inside it
    assert year.allocated == "60.00 CAD" and year.executed == "35.00 CAD"
    assert toronto.funders == [["ServiceOntario", year.label, "60.00 CAD"]]
    ontario = places.view(Place.objects.get(key="ca-on"))
    assert ontario.years[0].allocated == "150.00 CAD"  # the federal 100 and 50, once each


# --- Pages -----------------------------------------------------------------------------------


def _history(count: int, months: int = 18, **pilot) -> None:
    days = [datetime.date(2024 + (m // 12), m % 12 + 1, 1) for m in range(months)]
    write_places(count=count, months=days, seed=7, **pilot)


def test_places_and_pilots_are_for_analysts(world):
    places.load_places([])
    _history(12, pilot="navigators", effect=4.0, treated=3, pilot_months=6)
    assert Client().get("/en/funding/places/").status_code in (302, 403)
    front_line, _user = staff_client(world.toronto, "front_line")
    assert front_line.get("/en/funding/places/").status_code == 403
    assert front_line.get("/en/funding/pilots/navigators/").status_code == 403


def test_the_places_list_has_a_map_with_its_table_and_bounded_queries(world):
    places.load_places([])
    client, _user = staff_client(world.toronto, "analyst")
    _history(6)
    client.get("/en/funding/places/")  # the first request of a session does more
    with CaptureQueriesContext(connection) as small:
        response = client.get("/en/funding/places/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "<svg" in page and "Synthetic place 06" in page and "synthetic" in page
    _history(30, pilot="navigators", effect=4.0, treated=5, pilot_months=6)
    with CaptureQueriesContext(connection) as large:
        response = client.get("/en/funding/places/")
    assert response.status_code == 200 and "Synthetic place 30" in response.content.decode()
    assert len(large) == len(small)
    assert client.get("/en/funding/places/?measure=nonsense").status_code == 400
    french = client.get("/fr/funding/places/")
    assert "Lieux et projets pilotes" in french.content.decode()


def test_a_place_page_shows_money_services_figures_and_bounded_queries(world):
    places.load_places([])
    client, _user = staff_client(world.toronto, "analyst")
    toronto = client.get("/en/funding/places/ca-on-tor/")
    assert toronto.status_code == 200
    assert "60.00 CAD" in toronto.content.decode() and "ServiceOntario" in toronto.content.decode()
    _history(4, months=6)
    with CaptureQueriesContext(connection) as small:
        assert client.get("/en/funding/places/synthetic-01/").status_code == 200
    _history(4, months=30, pilot="navigators", effect=2.0, treated=1, pilot_months=6)
    with CaptureQueriesContext(connection) as large:
        response = client.get("/en/funding/places/synthetic-01/")
    assert len(large) == len(small)
    page = response.content.decode()
    assert "Data of the chart" in page and "2026-06" in page  # the table beside the chart
    assert client.get("/en/funding/places/nowhere/").status_code == 404


def test_a_pilot_page_states_the_estimate_interval_and_computed_caveats(world):
    places.load_places([])
    client, _user = staff_client(world.toronto, "analyst")
    _history(12, months=18, pilot="navigators", effect=4.0, treated=3, pilot_months=6)
    response = client.get("/en/funding/pilots/navigators/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "95 % confidence interval" in page and "Wild-cluster bootstrap" in page
    assert "Only 12 places are compared" in page  # computed, from the panel
    assert "Event study" in page and "Data of the chart" in page
    assert "Months before the start</th><td>12" in page
    french = client.get("/fr/funding/pilots/navigators/").content.decode()
    assert "Intervalle de confiance" in french
    _history(12, months=18, pilot="alone", effect=5.0, treated=1, pilot_months=6)
    single = client.get("/en/funding/pilots/alone/").content.decode()
    assert "Synthetic control" in single and "rank among placebo runs" in single
    assert "runs in one place" in single
    assert client.get("/en/funding/pilots/nothing/").status_code == 404


def test_two_places_side_by_side_and_a_place_exported_as_a_data_package(world):
    places.load_places([])
    client, _user = staff_client(world.toronto, "analyst")
    _history(4, months=6)
    response = client.get("/en/funding/places/ca-on-tor/compare/?with=synthetic-02")
    assert response.status_code == 200
    page = response.content.decode()
    assert "side by side" in page and "60.00 CAD" in page and "Synthetic place 02" in page
    assert client.get("/en/funding/places/ca-on-tor/compare/?with=nowhere").status_code == 400
    exported = client.get("/en/funding/places/ca-on-tor/export/")
    assert exported["Content-Type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(exported.content)) as archive:
        descriptor = json.loads(archive.read("datapackage.json"))
        money_rows = list(csv.DictReader(io.StringIO(archive.read("money.csv").decode())))
    assert [r["name"] for r in descriptor["resources"]] == [
        "money",
        "services",
        "figures",
        "gaps",
        "performance",
        "referrals",
        "take_up",
        "cost_per_outcome",
    ]
    assert money_rows[0]["allocated"] == "60.00" and money_rows[0]["currency"] == "CAD"


def test_similar_places_are_suggested_as_comparisons():
    from joinedup.funding import evaluation

    values = np.array([[10.0, 11, 12, 20], [10, 11, 12, 13], [30, 31, 32, 33], [11, 12, 13, 14]])
    panel = evaluation.Panel.build(["t", "near", "far", "close"], [0, 1, 2, 3], values, [0], 3)
    assert [key for key, _d in evaluation.similar_places(panel, 2)] == ["near", "close"]


def _residents(month, service_key, delivered_by, lives_in, postal="", channel="online", **counts):
    """What the rollups hold for transactions delivered by one jurisdiction to people living
    in another: the monthly row, and the group rows of the place and the postal area."""
    from joinedup.performance.models import GroupRollup, MonthlyRollup

    key = {
        "month": month,
        "service_key": service_key,
        "jurisdiction": delivered_by,
        "agency": "esdc",
        "channel": channel,
    }
    row, _made = MonthlyRollup.objects.get_or_create(**key)  # the residents of every place
    for name, value in counts.items():
        setattr(row, name, getattr(row, name) + value)
    row.save()
    GroupRollup.objects.create(**key, dimension="place", value=lives_in, **counts)
    GroupRollup.objects.create(**key, dimension="postal_area", value=postal, **counts)


def test_place_figures_count_where_people_live_and_reconcile_with_the_rollups(registry):
    from joinedup.performance.models import MonthlyRollup

    month = datetime.date(2025, 1, 1)
    # Everything is delivered by the federal government, to people living in each city.
    for lives_in, postal, completed, with_standard, met in (
        ("CA-ON-TOR", "M1B", 10, 8, 6),
        ("CA-ON-OTT", "K1A", 5, 5, 5),
        ("CA-QC-MTL", "H2X", 3, 0, 0),
    ):
        _residents(
            month,
            "ca.passport",
            "CA",
            lives_in,
            postal,
            completed=completed,
            with_standard=with_standard,
            met_standard=met,
        )
    east = Place.objects.create(
        key="toronto-east",
        kind="area",
        jurisdiction=Jurisdiction.objects.get(code="CA-ON-TOR"),
        names={"en": "Toronto East"},
        postal_codes=["M1B", "M1C"],
    )
    call_command("load_places", "--figures")

    def figure(key, measure):
        return PlaceFigure.objects.get(place__key=key, measure=measure, period=month).value

    assert figure("ca-on-tor", "completed") == 10 and figure("ca-on-tor", "within_standard") == 75
    assert figure("ca-on", "completed") == 15
    assert figure("ca-on", "within_standard") == pytest.approx(11 / 13 * 100)
    # the service area: the people living in its postal areas
    assert figure(east.key, "completed") == 10
    # the country's total is the rollups' total: nothing lost, nothing counted twice
    assert figure("ca", "completed") == sum(r.completed for r in MonthlyRollup.objects.all())
    assert not PlaceFigure.objects.filter(place__key="ca-qc-mtl", measure="within_standard")
    places.figures_from_rollups()  # again: replaced, not added
    assert PlaceFigure.objects.filter(place__key="ca", measure="completed").count() == 1


# --- Satisfaction, referrals, cost, take-up ---------------------------------------------------


def _activity(world, size: int) -> None:
    """Activity of people in Toronto over the last months: `size` services measured by
    performance, referrals to two organisations, offers of a benefit to people found
    entitled, and a completed year for the cost per outcome."""
    from django.utils import timezone

    from joinedup.bundles.models import Bundle, Offer
    from joinedup.care.models import Organization, Referral
    from joinedup.care.models import Service as CareService
    from joinedup.federation.models import Service
    from joinedup.identity.models import Person, User
    from joinedup.performance.models import ChannelUnitCost, SurveyGroupRollup, SurveyRollup

    this_month = timezone.localdate().replace(day=1)
    channel = "online" if size == 2 else "phone"  # each call adds rows of its own
    ChannelUnitCost.objects.get_or_create(
        jurisdiction="CA", channel=channel, defaults={"amount": 100, "currency": "CAD"}
    )
    services = list(Service.objects.order_by("key"))[:size]
    for n, service in enumerate(services):
        for back in range(size):
            month = (this_month - datetime.timedelta(days=31 * back)).replace(day=1)
            # delivered by the province to people living in Toronto
            _residents(
                month,
                service.key,
                "CA-ON",
                "CA-ON-TOR",
                "M5H",
                channel,
                completed=40 if n == 0 else 3,
                with_standard=40 if n == 0 else 3,
                met_standard=30 if n == 0 else 3,
                channel_cost=(40 if n == 0 else 3) * 1234,
            )
            survey = {
                "month": month,
                "service_key": service.key,
                "jurisdiction": "CA-ON",
                "channel": channel,
                "invited": 20,
                "responses": 12 if n == 0 else 2,
                "sums": {"satisfaction": [48, 12] if n == 0 else [10, 2]},
            }
            SurveyRollup.objects.create(**survey)
            SurveyGroupRollup.objects.create(**survey, dimension="place", value="CA-ON-TOR")
    # the year of the allocations: 50 transactions completed for people living in Toronto
    _residents(
        datetime.date(2025, 6, 1),
        services[0].key,
        "CA-ON",
        "CA-ON-TOR",
        "M5H",
        channel,
        completed=50,
    )
    user = User.objects.create_user(
        username=f"sender{size}", email=f"sender{size}@example.org", password="x" * 20
    )
    pantry_org = Organization.objects.create(name="Community pantry", description="Food")
    tiny_org = Organization.objects.create(name="Tiny club", description="Friends")
    pantry = CareService.objects.create(organization=pantry_org, name="Pantry", status="active")
    tiny = CareService.objects.create(organization=tiny_org, name="Club", status="active")
    toronto = world.toronto.jurisdiction
    bundle, _made = Bundle.objects.get_or_create(
        key="benefits", defaults={"names": {"en": "Benefits"}, "checksum": "x"}
    )
    for i in range(12 * size):
        person = Person.objects.create(given_names="P", family_name=f"{size}-{i}")
        Referral.objects.create(
            person=person,
            from_agency=world.toronto,
            service=pantry,
            sent_by=user,
            reason="food",
            urgency="routine",
            due_date=this_month,
            place=toronto,
            accepted_at=timezone.now(),
            status="closed" if i % 6 else "declined",
            outcome="got_help" if i % 6 else "",
        )
        if i < 2:
            Referral.objects.create(
                person=person,
                from_agency=world.toronto,
                service=tiny,
                sent_by=user,
                reason="company",
                urgency="routine",
                due_date=this_month,
                place=toronto,
            )
        Offer.objects.create(
            person=person,
            bundle=bundle,
            leg="benefit",
            service=services[0],
            trigger=Offer.Trigger.ENTITLEMENT_FOUND,
            event_id=f"rules:benefit:{size}-{i}",
            place="CA-ON-TOR",
            period=f"{this_month:%Y-%m}",
            status="accepted" if i % 4 else "open",
        )


def test_a_place_shows_satisfaction_referrals_cost_and_take_up_with_small_counts_hidden(world):
    from joinedup.federation.models import Service

    places.load_places([])
    expenditures.report_expenditure(
        world.municipal,
        period=datetime.date(2025, 5, 1),
        category=Expenditure.Category.STAFF,
        phase=Expenditure.Phase.EXECUTED,
        amount=Decimal("35.00"),
        user_id=None,
        agency=world.municipal.recipient.key,
        reason="test",
    )
    client, _user = staff_client(world.toronto, "analyst")
    _activity(world, 2)
    client.get("/en/funding/places/ca-on-tor/")
    with CaptureQueriesContext(connection) as small:
        response = client.get("/en/funding/places/ca-on-tor/")
    counted = places.view(Place.objects.get(key="ca-on-tor"))
    first, second = (Service.objects.order_by("key")[i].name for i in (0, 1))
    by_service = {row[0]: row for row in counted.performance}
    # 80 completed over two months, 75 % within the standard, satisfaction (4 − 1) / 4 = 75
    assert by_service[first][1:] == ["80", "75 %", "75.0", "24", "12.34 CAD"]
    # 6 transactions and 4 answers: below the publication minimum, not shown
    assert by_service[second][1:] == ["—", "—", "—", "—", "—"]
    referrals = {row[0]: row for row in counted.referrals}
    assert referrals["Community pantry"][1:3] == ["24", "24"]
    assert referrals["Community pantry"][4:] == ["83 %", "83 %"]  # 20 of 24 ended with help
    assert referrals["Tiny club"][1:] == ["—"] * 5
    assert counted.take_up[0][1:] == ["24", "18", "75 %"]
    (year,) = counted.cost_per_outcome
    assert year[1:] == ["35.00 CAD", "50", "0.70 CAD"]  # 35 spent ÷ 50 completed that year
    assert counted.suppressed
    page = response.content.decode()
    assert "Community pantry" in page and "Got help" in page and "0.70 CAD" in page
    # the same tables as figures in the API and the data package, hidden ones null / empty
    first_key, second_key = (Service.objects.order_by("key")[i].key for i in (0, 1))
    answered = client.get("/api/v1/funding/places/ca-on-tor").json()
    services = {row["service"]: row for row in answered["performance"]}
    assert services[first_key]["completions"] == 80
    assert services[first_key]["within_standard"] == pytest.approx(0.75)
    assert services[first_key]["satisfaction"] == pytest.approx(75.0)
    assert services[first_key]["cost_per_transaction"] == pytest.approx(12.34)
    assert services[first_key]["currency"] == "CAD"
    assert {services[second_key][k] for k in ("completions", "responses", "satisfaction")} == {None}
    referred = {row["organization"]: row for row in answered["referrals"]}
    assert (referred["Community pantry"]["sent"], referred["Community pantry"]["accepted"]) == (
        24,
        24,
    )
    assert referred["Community pantry"]["helped"] == pytest.approx(20 / 24)
    assert referred["Tiny club"]["sent"] is None and referred["Tiny club"]["helped"] is None
    (taken,) = answered["take_up"]
    assert (taken["offered"], taken["acted_on"], taken["take_up"]) == (24, 18, 0.75)
    assert answered["cost_per_outcome"] == [
        {"fiscal_year": 2025, "executed": "35.00", "outcomes": 50, "cost_per_outcome": "0.70"}
    ]
    assert len(answered["window"]) == 2
    exported = client.get("/en/funding/places/ca-on-tor/export/")
    with zipfile.ZipFile(io.BytesIO(exported.content)) as archive:
        tables = {
            name: list(csv.DictReader(io.StringIO(archive.read(f"{name}.csv").decode())))
            for name in ("performance", "referrals", "take_up", "cost_per_outcome")
        }
    assert tables["cost_per_outcome"] == [
        {"fiscal_year": "2025", "executed": "35.00", "outcomes": "50", "cost_per_outcome": "0.70"}
    ]
    assert {r["service"]: r["completions"] for r in tables["performance"]} == {
        first_key: "80",
        second_key: "",
    }
    assert {r["organization"]: r["sent"] for r in tables["referrals"]} == {
        "Community pantry": "24",
        "Tiny club": "",
    }
    assert tables["take_up"][0]["offered"] == "24"
    _activity(world, 4)
    with CaptureQueriesContext(connection) as large:
        assert client.get("/en/funding/places/ca-on-tor/").status_code == 200
    assert len(large) == len(small)
    french = client.get("/fr/funding/places/ca-on-tor/").content.decode()
    assert "Coût par résultat" in french and "Satisfaction (0 à 100)" in french
    assert "0,35 CAD" in french  # 35 spent ÷ 100 completed now, in the French way
    # a service area without postal areas: nothing placed in it
    area_place = Place.objects.create(
        key="downtown", kind="area", jurisdiction=world.toronto.jurisdiction, names={"en": "D"}
    )
    assert places.view(area_place).performance == []
    # with its postal areas: the services of the people living there
    area_place.postal_codes = ["M5H"]
    area_place.save()
    with translation.override("en"):
        by_service = {row[0]: row for row in places.view(area_place).performance}
    assert by_service[first][1:3] == ["240", "75 %"]  # both calls of _activity


def test_the_map_shows_the_month_and_measure_chosen_with_a_plain_form(world):
    from joinedup.funding import pilots

    places.load_places([])
    client, _user = staff_client(world.toronto, "analyst")
    _history(6, months=6)  # January to June 2024
    page = client.get("/en/funding/places/").content.decode()
    assert '<form method="get"' in page and 'name="month"' in page
    assert '<option value="2024-06" selected>' in page  # the latest month by default
    response = client.get("/en/funding/places/?measure=completed&month=2024-03")
    assert response.status_code == 200
    page = response.content.decode()
    assert '<option value="2024-03" selected>' in page and "March 2024" in page
    assert '<option value="completed" selected>' in page
    march = PlaceFigure.objects.get(
        place__key="synthetic-02", measure="completed", period="2024-03-01"
    )
    june = PlaceFigure.objects.get(
        place__key="synthetic-02", measure="completed", period="2024-06-01"
    )
    assert pilots.number(march.value) in page  # the data table gives the month chosen
    assert "<svg" in page and "<table" in page
    if pilots.number(june.value) != pilots.number(march.value):
        assert f"Synthetic place 02: {june.value:.1f}" not in page
    for bad in ("2024-13", "nonsense", "2019-01"):
        refused = client.get(f"/en/funding/places/?measure=completed&month={bad}")
        assert refused.status_code == 400 and "usa-alert--error" in refused.content.decode()
    french = client.get("/fr/funding/places/?month=2024-03").content.decode()
    assert "Mois affiché" in french and "mars 2024" in french


def test_a_place_page_maps_it_among_its_neighbours_with_a_table_and_its_residents(world, tmp_path):
    toronto = {"kind": "jurisdiction", "jurisdiction": "CA-ON-TOR"}
    ottawa = {"kind": "jurisdiction", "jurisdiction": "CA-ON-OTT"}
    shapes = tmp_path / "shapes.geojson"
    shapes.write_text(
        collection(
            {"type": "Feature", "properties": toronto, "geometry": square(-79.4, 43.6)},
            {"type": "Feature", "properties": ottawa, "geometry": square(-75.7, 45.4)},
            area("east", postal_codes=["m1b"]),
        )
    )
    loaded = places.load_places([shapes])
    assert loaded.areas == 1 and Place.objects.get(key="east").postal_codes == ["M1B"]
    bad = tmp_path / "bad.geojson"
    bad.write_text(collection(area("west", postal_codes=["TOO-LONG"])))
    with pytest.raises(places.PlacesRefused, match="postal_codes"):
        places.load_places([bad])
    this_month = datetime.date.today().replace(day=1)
    _residents(this_month, "ca.passport", "CA", "CA-ON-TOR", "M1B", completed=40)
    _residents(this_month, "ca.passport", "CA", "CA-ON-OTT", "K1A", completed=25)
    places.figures_from_rollups()
    client, _user = staff_client(world.toronto, "analyst")
    page = client.get("/en/funding/places/ca-on-tor/").content.decode()
    assert "<svg" in page and 'id="place-map-data"' in page
    # the map's table: the place itself, its service area and its neighbour, with values
    table = page[page.index('id="place-map-data"') :]
    table = table[: table.index("</table>")]
    assert "(this place)" in table and "/en/funding/places/ca-on-ott/" in table
    assert "/en/funding/places/east/" in table and ">40<" in table and ">25<" in table
    assert "Where the people served live" in page
    east = client.get("/en/funding/places/east/").content.decode()
    assert "by postal area" in east and "M1B" in east
    french = client.get("/fr/funding/places/ca-on-tor/").content.decode()
    assert "(ce lieu)" in french and "Où vivent les personnes servies" in french


def _screened(world, size: int, *, food: int, housing: int, elsewhere: int = 0) -> None:
    """People with an open case whose needs screen, taken this month, found a food need
    (`food` of them, in Toronto at M5H) and a housing need (`housing` of them), and
    `elsewhere` people in Ottawa with a food need; every other answer is 4 (safe)."""
    from django.utils import timezone

    from joinedup.care.assessments import load_sets
    from joinedup.care.models import Assessment, IntegratedCase
    from joinedup.identity.models import Address, Person, User

    screen = next(s for s in load_sets() if s.key == "needs-screen")
    keys = [q["key"] for q in screen.questions]
    user, _made = User.objects.get_or_create(
        username="screener", defaults={"email": "screener@example.org"}
    )
    today = timezone.localdate()
    toronto = world.toronto.jurisdiction
    ottawa = Jurisdiction.objects.get(code="CA-ON-OTT")
    people = [(toronto, "M5H 2N2", {"food"})] * food
    people += [(toronto, "M4C 1A1", {"housing"})] * housing
    people += [(ottawa, "K1P 1J1", {"food"})] * elsewhere
    for n, (where, postal, needs) in enumerate(people):
        person = Person.objects.create(given_names="S", family_name=f"{size}-{n}")
        Address.objects.create(
            person=person,
            street_address="1 Main St",
            locality="Town",
            postal_code=postal,
            jurisdiction=where,
            valid_from=today - datetime.timedelta(days=400),
        )
        case = IntegratedCase.objects.create(
            reference=f"S-{size}-{n}",
            person=person,
            agency=world.toronto,
            basis="consent",
            opened_by=user,
        )
        Assessment.objects.create(
            case=case,
            question_set=screen,
            answers={key: 2 if key in needs else 4 for key in keys},
            taken_on=today,
            by=user,
        )


def test_a_place_shows_the_needs_of_its_screens_with_no_service_within_reach(world, settings):
    from joinedup.care.models import Attribute, Organization, ServiceArea, Taxonomy, TaxonomyTerm
    from joinedup.care.models import Service as CareService

    settings.PERFORMANCE_MIN_COUNT = 3
    places.load_places([])
    Place.objects.create(
        key="downtown",
        kind="area",
        jurisdiction=world.toronto.jurisdiction,
        names={"en": "Downtown", "fr": "Centre-ville"},
        postal_codes=["M5H"],
    )
    client, _user = staff_client(world.toronto, "analyst")
    _screened(world, 1, food=4, housing=2, elsewhere=5)
    toronto = Place.objects.get(key="ca-on-tor")
    with translation.override("en"):
        counted = places.view(toronto)
    # no directory service at all: both needs are gaps; 2 people is under the minimum of 3
    assert counted.gaps == [
        ["Food", "4", "None in the directory", "0", "No service within reach"],
        ["Housing", "—", "None in the directory", "0", "No service within reach"],
    ]
    assert counted.gap_counts == [("food", 4, 0), ("housing", None, 0)]
    # a food bank serving Toronto: food is met there, housing is still a gap (listed first)
    taxonomy = Taxonomy.objects.create(name="Needs", description="")
    food_term = TaxonomyTerm.objects.create(
        taxonomy=taxonomy,
        code="food",
        name="Food",
        description="",
        translations={"fr": {"name": "Alimentation"}},
    )
    TaxonomyTerm.objects.create(
        taxonomy=taxonomy,
        code="housing",
        name="Housing and shelter",
        description="",
        translations={"fr": {"name": "Logement et hébergement"}},
    )
    bank = CareService.objects.create(
        organization=Organization.objects.create(name="Pantry", description="Food"),
        name="Food bank",
        status="active",
    )
    ServiceArea.objects.create(service=bank, jurisdiction=world.toronto.jurisdiction)
    Attribute.objects.create(link_id=bank.id, link_entity="service", taxonomy_term=food_term)
    with CaptureQueriesContext(connection) as small:
        response = client.get("/en/funding/places/ca-on-tor/")
    page = response.content.decode()
    with translation.override("en"):
        counted = places.view(toronto)
    assert counted.gaps == [
        ["Housing", "—", "Housing and shelter", "0", "No service within reach"],
        ["Food", "4", "Food", "1", "No gap"],
    ]
    assert "Gaps: needs with no service within reach" in page and "No service within reach" in page
    # Ottawa's five food needs: no service reaches Ottawa
    with translation.override("en"):
        assert places.view(Place.objects.get(key="ca-on-ott")).gaps == [
            ["Food", "5", "Food", "0", "No service within reach"]
        ]
    # the service area counts the people of its postal area only (the four with food needs)
    with translation.override("en"):
        assert places.view(Place.objects.get(key="downtown")).gaps == [
            ["Food", "4", "Food", "1", "No gap"]
        ]
    # a province counts every place under it, and sees the food bank within reach inside it
    with translation.override("en"):
        ontario = places.view(Place.objects.get(key="ca-on")).gaps
    assert [row[:2] for row in ontario] == [["Housing", "—"], ["Food", "9"]]
    # a service no longer active is not within reach
    bank.status = "inactive"
    bank.save()
    with translation.override("en"):
        assert places.view(toronto).gaps[1][3:] == ["0", "No service within reach"]
    bank.status = "active"
    bank.save()
    # in French, and the number of queries does not grow with the screens
    french = client.get("/fr/funding/places/ca-on-tor/").content.decode()
    assert "Lacunes : des besoins sans service à portée" in french
    assert "Aucun service à portée" in french and "Logement et hébergement" in french
    _screened(world, 2, food=20, housing=10, elsewhere=3)
    with CaptureQueriesContext(connection) as large:
        assert client.get("/en/funding/places/ca-on-tor/").status_code == 200
    assert len(large) == len(small)
    with translation.override("en"):
        assert [row[:2] for row in places.view(toronto).gaps] == [["Housing", "12"], ["Food", "24"]]
    # the same figures in the API and the exported data package (figures, not sentences)
    answered = client.get("/api/v1/funding/places/ca-on-tor")
    assert answered.status_code == 200
    assert answered.json()["gaps"] == [
        {
            "domain": "housing",
            "label": "Housing",
            "people": 12,
            "services_within_reach": 0,
            "gap": True,
        },
        {"domain": "food", "label": "Food", "people": 24, "services_within_reach": 1, "gap": False},
    ]
    exported = client.get("/en/funding/places/ca-on-tor/export/")
    with zipfile.ZipFile(io.BytesIO(exported.content)) as archive:
        descriptor = json.loads(archive.read("datapackage.json"))
        gaps = list(csv.DictReader(io.StringIO(archive.read("gaps.csv").decode())))
    (resource,) = [r for r in descriptor["resources"] if r["name"] == "gaps"]
    assert {f["name"]: f["type"] for f in resource["schema"]["fields"]}["people"] == "integer"
    assert gaps == [
        {"domain": "housing", "people": "12", "services_within_reach": "0", "gap": "True"},
        {"domain": "food", "people": "24", "services_within_reach": "1", "gap": "False"},
    ]
    # a count under the publication minimum (None in the view) is left empty, never written
    counted = places.view(toronto)
    counted.gap_counts = [("housing", None, 0)]
    with zipfile.ZipFile(io.BytesIO(places.data_package(counted))) as archive:
        gaps = list(csv.DictReader(io.StringIO(archive.read("gaps.csv").decode())))
    assert gaps == [
        {"domain": "housing", "people": "", "services_within_reach": "0", "gap": "True"}
    ]
