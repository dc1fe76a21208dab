"""The stewards' console and a person's own page, through real requests: who may open them,
what they show, decisions taken from them, the ledger, and query counts that do not grow."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from joinedup import kept
from joinedup.clientindex import runs
from joinedup.clientindex.loading import load
from joinedup.clientindex.models import (
    Cluster,
    CorrectionRequest,
    Decision,
    LinkageModel,
    ReviewPair,
    SourceRecord,
)
from joinedup.identity.client_registry import register_person
from joinedup.sharing.models import AccessEvent, OutboxEvent


def _records(agencies, count: int, prefix: str = "R") -> list[SourceRecord]:
    rows = [
        {
            "record_id": f"{prefix}-{i}",
            "given_names": "Marie",
            "family_name": f"Tremblay{i}",
            "birth_date": "1980-01-02",
        }
        for i in range(count)
    ]
    load(agencies["esdc"], rows, channel="api")
    return list(SourceRecord.objects.filter(record_id__startswith=f"{prefix}-").order_by("pk"))


def _pairs(agencies, count: int, prefix: str) -> None:
    records = _records(agencies, count * 2, prefix)
    for i in range(count):
        a, b = records[2 * i], records[2 * i + 1]
        ReviewPair.objects.create(left=a, right=b, match_weight=8 + i / 10, match_probability=0.9)


def _clustered(agencies, count: int, prefix: str) -> list[Cluster]:
    clusters = []
    for record in _records(agencies, count, prefix):
        person = register_person(given_names=record.given_names, family_name=record.family_name)
        cluster = Cluster.objects.create(key=f"CI-{prefix}{record.pk:08d}"[:13], person=person)
        record.cluster = cluster
        record.save(update_fields=["cluster"])
        clusters.append(cluster)
    return clusters


@pytest.mark.parametrize("url_name", ["console", "review", "model"])
def test_only_data_stewards_open_the_console(client, signed_in, url_name):
    signed_in("caseworker")
    assert client.get(reverse(f"clientindex:{url_name}")).status_code == 403


def test_the_review_queue_costs_the_same_queries_for_more_pairs(client, agencies, signed_in):
    signed_in("data_steward")
    _pairs(agencies, 2, "A")
    # Each measured cold: an answer kept per process would be read in one measurement only.
    kept.forget_all()
    with CaptureQueriesContext(connection) as small:
        response = client.get(reverse("clientindex:review"))
    assert response.status_code == 200
    _pairs(agencies, 8, "B")
    kept.forget_all()
    with CaptureQueriesContext(connection) as large:
        response = client.get(reverse("clientindex:review"))
    assert response.content.decode().count("/review/") >= 10
    assert len(large.captured_queries) == len(small.captured_queries)


def test_a_steward_decides_a_pair_side_by_side_and_it_is_in_the_ledger(client, agencies, signed_in):
    signed_in("data_steward")
    a, b = _clustered(agencies, 2, "P")
    left, right = a.records.get(), b.records.get()
    pair = ReviewPair.objects.create(
        left=left,
        right=right,
        match_weight=9.5,
        match_probability=0.99,
        contributions=[{"comparison": "family", "level": "Jaro-Winkler >= 0.92", "weight": 4.1}],
    )
    page = client.get(reverse("clientindex:pair", args=[pair.pk]))
    text = page.content.decode()
    assert "Tremblay0" in text and "Tremblay1" in text and "Jaro-Winkler" in text
    assert AccessEvent.objects.filter(subject_id=a.person_id, purpose="client-index").exists()
    response = client.post(reverse("clientindex:decide", args=[pair.pk]), {"status": "match"})
    assert response.status_code == 302
    pair.refresh_from_db()
    assert pair.status == "match" and pair.decided_by is not None
    assert SourceRecord.objects.get(pk=right.pk).cluster_id == a.pk
    # The merge is undone from the person's page.
    decision = Decision.objects.get()
    undone = client.post(reverse("clientindex:undo", args=[decision.pk]), {"reason": "Twins."})
    assert undone.status_code == 302
    assert SourceRecord.objects.get(pk=right.pk).cluster_id == b.pk
    # A merged-away id still opens, on the person it became.
    client.post(reverse("clientindex:merge", args=[a.key]), {"other": b.key, "reason": "Same."})
    followed = client.get(reverse("clientindex:person", args=[b.key]))
    assert followed.status_code == 302 and a.key in followed["Location"]


def test_a_decision_without_a_reason_is_refused_and_changes_nothing(client, agencies, signed_in):
    signed_in("data_steward")
    a, b = _clustered(agencies, 2, "Q")
    response = client.post(
        reverse("clientindex:merge", args=[a.key]), {"other": b.key}, follow=True
    )
    assert response.status_code == 200
    assert "Say why." in response.content.decode()
    assert not Decision.objects.exists()


def test_the_model_page_shows_charts_with_their_data_tables(client, agencies, signed_in):
    from joinedup.clientindex import synthetic

    population = synthetic.generate(150, ["esdc", "toronto"], seed=3)
    for key, rows in population.lists.items():
        load(agencies[key], rows, channel="file")
    runs.train_model()
    signed_in("data_steward")
    text = client.get(reverse("clientindex:model")).content.decode()
    assert LinkageModel.objects.count() == 1
    assert text.count("<table") == 2 and "Day and month swapped" in text
    assert 'id="match-weights-data"' in text


def test_a_person_sees_the_agencies_holding_their_records_and_asks_a_correction(
    client, agencies, signed_in
):
    user = signed_in(None)
    record = _records(agencies, 1, "M")[0]
    cluster = Cluster.objects.create(key="CI-MINE000001", person=user.person)
    record.cluster = cluster
    record.save(update_fields=["cluster"])
    page = client.get(reverse("clientindex:my-records"))
    assert agencies["esdc"].name in page.content.decode()
    assert agencies["toronto"].name not in page.content.decode()
    empty = client.post(reverse("clientindex:my-records"), {"message": ""})
    assert empty.status_code == 200 and not CorrectionRequest.objects.exists()
    sent = client.post(
        reverse("clientindex:my-records"),
        {"message": "I never lived in Toronto.", "agency": agencies["esdc"].pk},
    )
    assert sent.status_code == 302
    assert CorrectionRequest.objects.get().agency == agencies["esdc"]
    assert OutboxEvent.objects.filter(type="org.joinedup.clientindex.correction.requested").exists()


def test_staff_do_not_use_the_persons_page(client, signed_in):
    signed_in("data_steward")
    assert client.get(reverse("clientindex:my-records")).status_code == 403


def test_stewards_and_people_reach_the_pages_by_following_links(client, agencies, signed_in):
    import re

    signed_in("data_steward", username="walker@example.org")
    home = client.get(reverse("identity-staff:home")).content.decode()
    console = re.search(r'href="([^"]*/staff/client-index/)"', home).group(1)
    page = client.get(console).content.decode()
    assert client.get(re.search(r'href="([^"]*/review/)"', page).group(1)).status_code == 200
    client.logout()
    signed_in(None, username="walking.person@example.org")
    mine = client.get(reverse("bundles:my-services")).content.decode()
    link = re.search(r'href="([^"]*/my-data/linked-records/)"', mine).group(1)
    assert client.get(link).status_code == 200


def test_the_pages_speak_french(client, agencies, signed_in):
    signed_in("data_steward", username="fr.steward@example.org")
    text = client.get("/fr/staff/client-index/").content.decode()
    assert "Index des clients" in text and "Intendant des données" in text
    assert "paires en attente de révision" in text or "paire en attente de révision" in text
