"""Linking the index with Splink: quality on a synthetic population, stable ids across
reruns, incremental linking at load, the review band, the stewards' word kept by reruns,
merges and splits reversible with everything still resolving, the ledger, access."""

from __future__ import annotations

import logging

import pytest
from django.db import connection

from joinedup.clientindex import decisions, holdings, runs, synthetic
from joinedup.clientindex.clusters import resolve, resolve_key
from joinedup.clientindex.loading import load
from joinedup.clientindex.models import Cluster, ClusterChange, ReviewPair, SourceRecord
from joinedup.identity.policy import decide
from joinedup.sharing.models import AccessEvent

AGENCIES = ["esdc", "serviceontario", "toronto"]


@pytest.fixture
def population():
    return synthetic.generate(400, AGENCIES, seed=7, agencies_with_sin=2)


def _load_all(population, agencies, *, hold_back: int = 0) -> list[dict]:
    held = []
    for key, rows in population.lists.items():
        keep = rows[: len(rows) - hold_back] if key == "toronto" else rows
        held = rows[len(rows) - hold_back :] if key == "toronto" else held
        load(agencies[key], keep, channel="file", first_line=2)
    return held


def _pair_scores(population) -> tuple[float, float]:
    truth = {}
    for (agency, record_id), person in population.truth.items():
        truth[(agency, record_id)] = person
    records = list(SourceRecord.objects.values_list("agency__key", "record_id", "cluster__key"))
    by_cluster, by_person = {}, {}
    for agency, record_id, key in records:
        by_cluster.setdefault(key, []).append((agency, record_id))
        by_person.setdefault(truth[(agency, record_id)], []).append(key)
    true_pairs = sum(len(v) * (len(v) - 1) // 2 for v in by_person.values())
    found = correct = 0
    for members in by_cluster.values():
        for i, a in enumerate(members):
            for b in members[i + 1 :]:
                found += 1
                correct += truth[a] == truth[b]
    return correct / max(found, 1), correct / max(true_pairs, 1)


def test_a_run_links_the_silos_and_a_rerun_keeps_every_id(agencies, population, caplog):
    caplog.set_level(logging.DEBUG)
    _load_all(population, agencies)
    model = runs.train_model()
    assert model.version == 1 and model.records_used == population.record_count
    run, assignment = runs.link_all()
    precision, recall = _pair_scores(population)
    assert precision > 0.97 and recall > 0.9, (precision, recall)
    assert run.clusters == Cluster.objects.filter(retired_at__isnull=True).count()
    assert not [c for c in assignment.changes if c.old_key]
    # Every cluster maps to a person of the registry.
    assert not Cluster.objects.filter(person__isnull=True).exists()
    before = dict(SourceRecord.objects.values_list("pk", "cluster__key"))
    rerun, again = runs.link_all()
    assert dict(SourceRecord.objects.values_list("pk", "cluster__key")) == before
    assert again.changes == [] and rerun.changes == 0
    # No identifier in clear in the linkage tables, nor in the logs.
    sins = {p.sin for p in synthetic.people(400, seed=7)}
    with connection.cursor() as cursor:
        for table in (
            "clientindex_reviewpair",
            "clientindex_clusterchange",
            "clientindex_linkagemodel",
        ):
            cursor.execute(f"SELECT * FROM {table}")  # noqa: S608 (our own table names)
            dump = repr(cursor.fetchall())
            assert not any(sin in dump for sin in sins), table
    assert not any(sin in caplog.text for sin in sins)


def test_new_records_link_to_existing_people_at_load(agencies, population):
    held = _load_all(population, agencies, hold_back=20)
    runs.train_model()
    runs.link_all()
    before = dict(SourceRecord.objects.values_list("pk", "cluster__key"))
    outcome = load(agencies["toronto"], held, channel="api", first_line=1)
    run = runs.link_new(outcome.touched)
    assert run is not None and run.records == 20
    # Nobody already known changed id.
    after = dict(SourceRecord.objects.values_list("pk", "cluster__key"))
    assert {pk: after[pk] for pk in before} == before
    # Held-back records of people known elsewhere joined them.
    truth = population.truth
    joined = 0
    for record in SourceRecord.objects.filter(pk__in=outcome.touched):
        person = truth[("toronto", record.record_id)]
        others = [
            after[r.pk]
            for r in SourceRecord.objects.exclude(pk=record.pk).filter(
                record_id__in=[
                    rid for (a, rid), p in truth.items() if p == person and a != "toronto"
                ]
            )
            if truth.get((r.agency.key, r.record_id)) == person
        ]
        if others:
            joined += after[record.pk] in others
    assert joined >= 1
    reasons = set(
        ClusterChange.objects.filter(record_id__in=outcome.touched).values_list("reason", flat=True)
    )
    assert reasons <= {"new", "joined", "merged"}


def test_review_decisions_merge_split_and_undo(agencies, population, steward, caseworker):
    _load_all(population, agencies)
    runs.train_model()
    runs.link_all()
    a, b = (
        Cluster.objects.filter(retired_at__isnull=True)
        .exclude(person__isnull=True)
        .order_by("pk")[:2]
    )
    a_records = set(a.records.values_list("pk", flat=True))
    b_person = b.person
    ledger_before = AccessEvent.objects.count()

    merged = decisions.merge(steward, a, b, "Same person, confirmed by phone.")
    b.refresh_from_db()
    assert b.retired_at and resolve_key(b.key) == a
    assert resolve(b_person) == a.person
    assert set(holdings.agencies_holding(b_person)) == set(holdings.agencies_holding(a.person))
    assert AccessEvent.objects.count() > ledger_before
    assert ClusterChange.objects.filter(decision=merged, reason="merged").count() == len(
        merged.moved
    )

    # A rerun keeps the merge.
    runs.link_all()
    moved = SourceRecord.objects.filter(pk__in=merged.moved)
    assert {r.cluster.key for r in moved} == {a.key}

    decisions.undo(steward, merged, "Two people after all.")
    b.refresh_from_db()
    assert b.retired_at is None and resolve(b_person) == b_person
    assert set(
        SourceRecord.objects.filter(pk__in=merged.moved).values_list("cluster__key", flat=True)
    ) == {b.key}

    # Split a record off, then undo.
    a.refresh_from_db()
    if len(a_records) > 1:
        one = sorted(a_records)[:1]
        split = decisions.split(steward, a, one, "A twin, not the same person.")
        assert SourceRecord.objects.get(pk=one[0]).cluster == split.other
        runs.link_all()
        assert SourceRecord.objects.get(pk=one[0]).cluster.key != a.key
        decisions.undo(steward, split, "Wrong record chosen.")
        assert SourceRecord.objects.get(pk=one[0]).cluster.key == a.key

    # Review pairs: the steward's word is kept by the next run.
    pair = ReviewPair.objects.filter(status="open").first()
    if pair is not None:
        decisions.decide_pair(steward, pair, ReviewPair.Status.NOT_MATCH, "Different people.")
        runs.link_all()
        left, right = (
            SourceRecord.objects.get(pk=pair.left_id),
            SourceRecord.objects.get(pk=pair.right_id),
        )
        assert left.cluster_id != right.cluster_id or left.cluster.records.count() > 2

    # Access: a caseworker neither reviews nor decides.
    assert not decide(caseworker, "clientindex.steward").allowed
    assert not decide(caseworker, "clientindex.decide").allowed
    assert decide(steward, "clientindex.decide").allowed


def test_review_decisions_feed_the_next_training_as_labels(agencies, population, steward):
    _load_all(population, agencies)
    runs.train_model()
    runs.link_all()
    # Label pairs of records the truth says are one person (as a steward would).
    truth = population.truth
    by_person: dict[int, list[int]] = {}
    for pk, agency, record_id in SourceRecord.objects.values_list("pk", "agency__key", "record_id"):
        by_person.setdefault(truth[(agency, record_id)], []).append(pk)
    pairs = [tuple(sorted(v[:2])) for v in by_person.values() if len(v) > 1][:25]
    for left, right in pairs:
        pair, _ = ReviewPair.objects.get_or_create(
            left_id=left, right_id=right, defaults={"match_weight": 1.0, "match_probability": 0.7}
        )
        decisions.decide_pair(steward, pair, ReviewPair.Status.MATCH, "Checked.")
    model = runs.train_model()
    assert model.version == 2 and model.labels_used == 25
    assert (
        model.settings_json != runs.current_model().__class__.objects.get(version=1).settings_json
    )
