"""The KPI API and the open data by client group: each group named, reconciling with the
figures without a dimension, and small cells hidden so that none can be recovered."""

from __future__ import annotations

import csv
import json
from collections import defaultdict

import pytest
from django.core.management import call_command
from django.test import Client

from joinedup.demo.history.run import generate_history
from joinedup.performance import kpis

pytestmark = pytest.mark.django_db


@pytest.fixture
def generated(small_federation):
    generate_history(3000, years=2, seed=7)
    return kpis.parse_period("12m")


def all_items(client: Client, **query) -> list[dict]:
    body = client.get("/api/v1/performance/kpis", {"limit": 500, **query}).json()
    assert body["count"] <= 500
    return body["items"]


def test_the_api_gives_each_group_by_name_and_the_groups_add_up(generated, settings):
    settings.PERFORMANCE_MIN_COUNT = 1
    client = Client()
    totals = {item["service"]: item for item in all_items(client, by="service")}
    items = all_items(client, by="service", dimension="age_band")
    started: dict[str, int] = defaultdict(int)
    for item in items:
        assert item["dimension"] == "age_band"
        started[item["service"]] += item["started"] or 0
    assert started == {key: item["started"] for key, item in totals.items() if item["started"]}
    names = {item["group"]: item["group_name"] for item in items}
    assert names["65_plus"] == "65 and over" and names["25_44"] == "25 to 44"
    french = client.get(
        "/api/v1/performance/kpis",
        {"by": "service", "dimension": "age_band", "limit": 500},
        HTTP_ACCEPT_LANGUAGE="fr",
    ).json()["items"]
    assert {i["group_name"] for i in french if i["group"] == "65_plus"} == {"65 ans et plus"}


def test_no_hidden_group_can_be_recovered_from_the_total(generated, settings):
    settings.PERFORMANCE_MIN_COUNT = 40
    items = all_items(Client(), by="service", dimension="age_band")
    hidden: dict[tuple, int] = defaultdict(int)
    for item in items:
        for measure in ("completions", "completion_rate", "within_standard"):
            hidden[(item["service"], measure)] += measure in item["suppressed"]
    assert any(hidden.values()), "the case needs some small cells"
    assert 1 not in hidden.values(), hidden


def test_a_dimension_not_offered_is_a_400_with_a_message(generated):
    client = Client()
    response = client.get("/api/v1/performance/kpis", {"dimension": "income"})
    assert response.status_code == 400
    assert "is not a client-group dimension" in response.json()["detail"]
    french = client.get(
        "/api/v1/performance/kpis", {"dimension": "income"}, HTTP_ACCEPT_LANGUAGE="fr"
    )
    assert french.status_code == 400
    assert "n’est pas une dimension" in french.json()["detail"]


def test_the_open_data_has_the_figures_by_group(generated, tmp_path, settings):
    settings.PERFORMANCE_MIN_COUNT = 1
    call_command("export_open_data", output=str(tmp_path), period="12m")
    package = json.loads((tmp_path / "datapackage.json").read_text())
    resource = next(r for r in package["resources"] if r["name"] == "kpis-by-group")
    fields = [f["name"] for f in resource["schema"]["fields"]]
    with (tmp_path / resource["path"]).open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert rows and list(rows[0]) == fields
    keys = [(r["service"], r["jurisdiction"], r["dimension"], r["group"]) for r in rows]
    assert len(set(keys)) == len(rows) and all(r["group"] for r in rows)
    assert {r["dimension"] for r in rows} >= {"age_band", "language", "area", "mandate"}
    totals = {
        (f.key["service_key"], f.key["jurisdiction"]): f.started
        for f in kpis.compute(kpis.parse_period("12m"), ("service_key", "jurisdiction"))
    }
    summed: dict[tuple, int] = defaultdict(int)
    for row in rows:
        if row["dimension"] == "language":
            summed[(row["service"], row["jurisdiction"])] += int(row["started"] or 0)
    assert summed == {key: n for key, n in totals.items() if key in summed}
    named = next(r for r in rows if r["group"] == "65_plus")
    assert named["group_name"] == "65 and over" and named["service_name"]


def test_the_open_data_by_group_suppresses_small_cells(generated, tmp_path, settings):
    settings.PERFORMANCE_MIN_COUNT = 40
    call_command("export_open_data", output=str(tmp_path), period="12m")
    with (tmp_path / "kpis-by-group.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    small = [r for r in rows if r["suppressed"]]
    assert small
    assert all(r[name] == "" for r in small for name in r["suppressed"].split(";"))
    hidden: dict[tuple, int] = defaultdict(int)
    for row in rows:
        key = (row["service"], row["jurisdiction"], row["dimension"])
        hidden[key] += "completions" in row["suppressed"].split(";")
    assert 1 not in hidden.values()
