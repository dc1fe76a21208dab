"""Integration candidates: people shared by agencies, counted from the client index."""

from __future__ import annotations

import itertools

import pytest
from django.test import Client

from joinedup.clientindex.models import Cluster, SourceRecord
from joinedup.federation.models import Agency, Jurisdiction
from joinedup.performance import integration

from .test_pages_and_api import _staff_client

pytestmark = pytest.mark.django_db

_serial = itertools.count(1)


def linked(*agency_keys: str, merged_into: Cluster | None = None) -> Cluster:
    """One linked person holding one record in each agency named (a key twice: two records
    of the same agency)."""
    number = next(_serial)
    cluster = Cluster.objects.create(key=f"CI-T{number:06d}", merged_into=merged_into)
    agencies = {a.key: a for a in Agency.objects.filter(key__in=agency_keys)}
    SourceRecord.objects.bulk_create(
        SourceRecord(
            agency=agencies[key],
            record_id=f"r{number}-{index}",
            family_name="Tremblay",
            digest=f"{number}-{index}",
            cluster=cluster,
        )
        for index, key in enumerate(agency_keys)
    )
    return cluster


@pytest.fixture
def linked_set(federation):
    """The hand-built set (Ontario's people are the 12 clusters holding an ON record)."""
    for _ in range(4):
        linked("esdc", "serviceontario", "toronto")
    linked("esdc", "serviceontario", "serviceontario", "toronto")  # two SO records, once
    for _ in range(2):
        linked("serviceontario", "toronto")
    for _ in range(4):
        linked("serviceontario")
    for _ in range(3):
        linked("esdc", "dgeq")  # people of Quebec only
    linked("esdc", "helping-hands", "toronto")
    survivor = linked("serviceontario")
    linked("serviceontario", "toronto", merged_into=survivor)  # merged: not counted twice
    SourceRecord.objects.create(
        agency=federation["toronto"], record_id="alone", family_name="Roy", digest="x"
    )  # not linked yet: no person
    return federation


def _by_key(totals, pairs):
    keys = dict(Agency.objects.values_list("pk", "key"))
    return (
        {keys[pk]: n for pk, n in totals.items()},
        {tuple(sorted((keys[a], keys[b]))): n for (a, b), n in pairs.items()},
    )


def test_shared_people_are_counted_by_pair_and_agency(linked_set):
    ontario = Jurisdiction.objects.get(code="CA-ON")
    totals, pairs = _by_key(*integration.counts(ontario))
    assert totals == {"esdc": 6, "serviceontario": 12, "toronto": 8, "helping-hands": 1}
    assert pairs == {
        ("esdc", "serviceontario"): 5,
        ("esdc", "toronto"): 6,
        ("serviceontario", "toronto"): 7,
        ("esdc", "helping-hands"): 1,
        ("helping-hands", "toronto"): 1,
    }
    # Toronto is within Ontario: its people are those Toronto's agency holds.
    totals, pairs = _by_key(*integration.counts(Jurisdiction.objects.get(code="CA-ON-TOR")))
    assert totals == {"esdc": 6, "serviceontario": 7, "toronto": 8, "helping-hands": 1}
    assert pairs[("serviceontario", "toronto")] == 7
    # Quebec: DGEQ's people, shared with the federal agency only.
    totals, pairs = _by_key(*integration.counts(Jurisdiction.objects.get(code="CA-QC")))
    assert totals == {"esdc": 3, "dgeq": 3} and pairs == {("dgeq", "esdc"): 3}


def test_small_counts_are_not_published(linked_set):
    found = integration.shared(Jurisdiction.objects.get(code="CA-ON"), min_count=3)
    keys = {a.key: a.pk for a in found.agencies}
    assert [a.key for a in found.agencies] == ["serviceontario", "toronto", "esdc", "helping-hands"]
    assert found.people[keys["helping-hands"]] is None
    assert integration.pair_count(found, keys["esdc"], keys["helping-hands"]) is None
    assert integration.pair_count(found, keys["toronto"], keys["helping-hands"]) is None
    assert integration.pair_count(found, keys["toronto"], keys["esdc"]) == 6
    # Sharing nobody is not a secret.
    assert integration.pair_count(found, keys["serviceontario"], keys["helping-hands"]) == 0
    chart = integration.network_chart(found)
    rows = {row[0]: row[1:] for row in chart.rows}
    assert rows["City of Toronto — Helping Hands"] == ["—", "—", "—"]
    # Helping Hands' own count is hidden, so its share is too; ServiceOntario's is 0 %.
    assert rows["ServiceOntario — Helping Hands"] == [0, "0", "—"]
    assert rows["ServiceOntario — City of Toronto"] == [7, "58", "88"]
    # A line only for the published pairs that share people.
    lines = [trace for trace in chart.figure["data"] if trace["mode"] == "lines"]
    assert len(lines) == 3


@pytest.mark.parametrize("language", ["en", "fr"])
def test_the_integration_candidates_page_in_both_languages(linked_set, settings, language):
    settings.PERFORMANCE_MIN_COUNT = 3
    planner = _staff_client("serviceontario", "analyst")
    page = planner.get(f"/{language}/performance/jurisdictions/ca-on/integration/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "chart-shared" in text and "<table" in text and "<script>" not in text
    assert "CI-T" not in text and "Tremblay" not in text  # no person, no id
    if language == "en":
        assert "Integration candidates in Ontario" in text
        assert "ServiceOntario and City of Toronto: 7 people served by both" in text
    else:
        assert "Pistes d’intégration en Ontario" in text
        assert "ServiceOntario et Ville de Toronto : 7 personnes servies par les deux" in text
    assert planner.get(f"/{language}/performance/jurisdictions/XX/integration/").status_code == 404


def test_the_integration_candidates_are_for_the_staff_who_plan_services(linked_set):
    url = "/en/performance/jurisdictions/CA-ON/integration/"
    # Not public: the anonymous reader is sent to sign in, a caseworker is refused.
    anonymous = Client().get(url)
    assert anonymous.status_code == 302 and "sign-in" in anonymous["Location"]
    refused = _staff_client("serviceontario", "caseworker").get(url)
    assert refused.status_code == 403
    assert "plan services" in refused.content.decode()
    # Analysts, supervisors and administrators of any agency plan services.
    for agency, role in (("esdc", "analyst"), ("toronto", "supervisor")):
        assert _staff_client(agency, role).get(url).status_code == 200
    assert _staff_client("serviceontario", "administrator").get(url).status_code == 200


def test_a_jurisdiction_without_linked_records_says_so(federation):
    page = _staff_client("esdc", "analyst").get("/en/performance/jurisdictions/CA-QC/integration/")
    assert page.status_code == 200
    assert "shared clients cannot be counted" in page.content.decode()


def test_the_page_does_not_query_per_person_or_agency(federation, queries_at_10_and_200):
    keys = ["esdc", "serviceontario", "toronto", "helping-hands"]

    def add(count: int) -> None:
        for index in range(count):
            linked(*keys[: 1 + index % len(keys)], "serviceontario")

    planner = _staff_client("esdc", "analyst")

    def read():
        assert planner.get("/en/performance/jurisdictions/CA-ON/integration/").status_code == 200

    at_10, at_200 = queries_at_10_and_200(add, read)
    assert at_10 == at_200
