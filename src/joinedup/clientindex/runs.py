"""Linking runs: train and store a model, link the whole index, link new records at load.

With `linkage` the only module importing Splink (through it). A run reads the standardised
records, scores pairs with the stored model, keeps the stewards' word (a pair judged not a
match is never linked; one judged a match always is; merges and splits decided stay decided),
clusters, and gives each cluster its stable id (`stable_ids`). Pairs in the band between the
two thresholds go to clerical review and are not linked until a steward says so.
"""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Any

import pyarrow as pa
from django.db import transaction
from django.utils import timezone

from . import clusters as cluster_store
from . import constraints, linkage, stable_ids, standardise, weights
from .models import (
    Cluster,
    ClusterChange,
    Decision,
    LinkageModel,
    LinkRun,
    PersonAlias,
    ReviewPair,
    SourceRecord,
)

#: Default thresholds (match weights): linked at 0.5 and above, reviewed from 0 (and any pair
#: at or above 0 whose given names differ beyond a typo or a nickname with nothing personal
#: to compare). See docs/client-index.md for how they were chosen and how to set them from
#: the review's results.
MATCH_WEIGHT = 0.5
REVIEW_WEIGHT = 0.0
#: The weight of the link holding an existing person's records together in an incremental run.
KEPT = 1e9

_VALUES = (
    "pk",
    "agency__key",
    "given_names",
    "family_name",
    "birth_date",
    "sex",
    "street_address",
    "postal_code",
    "phone",
    "email",
    "identifier_index",
)


#: Standardised rows by record, with the digest they were made from: a worker linking loads
#: one after another standardises only what changed (a record changed has a new digest).
_STANDARDISED: dict[int, tuple[str, dict[str, object]]] = {}


def records_table(queryset=None) -> pa.Table:
    """The records as the model reads them (no identifier in clear: the blind index only)."""
    rows = []
    queryset = queryset if queryset is not None else SourceRecord.objects.all()
    for values in queryset.values_list(*_VALUES, "digest").iterator(chunk_size=5000):
        pk, agency, given, family, birth, sex, street, postal, phone, email, index, digest = values
        digest = f"{agency}:{digest}"
        cached = _STANDARDISED.get(pk)
        if cached is not None and cached[0] == digest:
            rows.append(cached[1])
            continue
        row = standardise.linkage_row(
            pk,
            agency=agency,
            given_names=given,
            family_name=family,
            birth_date=birth.isoformat() if birth else "",
            sex=sex,
            street_address=street,
            postal_code=postal,
            phone=phone,
            email=email,
            identifier_index=index,
        )
        _STANDARDISED[pk] = (digest, row)
        rows.append(row)
    return pa.Table.from_pylist(rows, schema=linkage.SCHEMA)


def current_model() -> LinkageModel | None:
    return LinkageModel.objects.order_by("-version").first()


def train_model(
    *, user=None, match_weight: float | None = None, review_weight: float | None = None
) -> LinkageModel:
    """Train on the whole index and store the model as the next version."""
    table = records_table()
    if table.num_rows < 2:
        raise ValueError("at least two records are needed to train a model")
    labels = list(
        ReviewPair.objects.filter(status=ReviewPair.Status.MATCH).values_list("left_id", "right_id")
    )
    trained = linkage.train(table, labels=labels)
    previous = current_model()
    return LinkageModel.objects.create(
        version=(previous.version + 1) if previous else 1,
        splink_version=linkage.SPLINK_VERSION,
        settings_json=trained,
        match_weight=match_weight
        if match_weight is not None
        else (previous.match_weight if previous else MATCH_WEIGHT),
        review_weight=review_weight
        if review_weight is not None
        else (previous.review_weight if previous else REVIEW_WEIGHT),
        records_used=table.num_rows,
        labels_used=len(labels) if len(labels) >= linkage.MIN_LABELS else 0,
        trained_by=user if getattr(user, "pk", None) else None,
    )


def _pair(a: int, b: int) -> tuple[int, int]:
    return (a, b) if a < b else (b, a)


def _steward_constraints() -> tuple[set[tuple[int, int]], set[tuple[int, int]], list]:
    """(pairs always linked, pairs never linked, groups kept apart) from the stewards' word."""
    always, never = set(), set()
    for left, right, status in ReviewPair.objects.exclude(
        status=ReviewPair.Status.OPEN
    ).values_list("left_id", "right_id", "status"):
        (always if status == ReviewPair.Status.MATCH else never).add(_pair(left, right))
    apart = []
    for decision in Decision.objects.filter(undone_at__isnull=True).order_by("decided_at", "pk"):
        moved = [int(r) for r in decision.moved]
        if decision.kind == Decision.Kind.MERGE and moved:
            anchor = (
                SourceRecord.objects.filter(cluster=decision.cluster)
                .exclude(pk__in=moved)
                .values_list("pk", flat=True)
                .first()
            )
            if anchor is not None:
                always.update(_pair(anchor, r) for r in moved)
        elif decision.kind == Decision.Kind.SPLIT:
            rest = set(
                SourceRecord.objects.filter(cluster=decision.cluster).values_list("pk", flat=True)
            )
            apart.append((set(moved), rest - set(moved)))
    return always, never, apart


def _apply(
    run: LinkRun,
    previous: dict[int, str],
    components: dict[int, int],
) -> stable_ids.Assignment:
    """Write the clusters, their ids and the changes (one transaction, the caller's)."""
    order = dict(Cluster.objects.values_list("key", "pk"))
    assignment = stable_ids.assign(
        previous, components, cluster_store.new_key, key_order=lambda k: order.get(k, 0)
    )
    by_key: dict[str, list[int]] = defaultdict(list)
    for record, key in assignment.keys.items():
        by_key[key].append(record)
    records = SourceRecord.objects.in_bulk(list(assignment.keys))
    for key in sorted(assignment.new_keys):
        members = [records[r] for r in sorted(by_key[key])]
        Cluster.objects.create(key=key, person=cluster_store.person_for(members))
    clusters = {c.key: c for c in Cluster.objects.filter(key__in=set(assignment.keys.values()))}
    changed = []
    for change in assignment.changes:
        record = records[change.record]
        record.cluster = clusters[change.new_key]
        changed.append(record)
    SourceRecord.objects.bulk_update(changed, ["cluster"], batch_size=2000)
    ClusterChange.objects.bulk_create(
        [
            ClusterChange(
                record_id=c.record, old_key=c.old_key, new_key=c.new_key, reason=c.reason, run=run
            )
            for c in assignment.changes
        ],
        batch_size=2000,
    )
    # An id no record carries any more: its person was found to be someone else.
    now = timezone.now()
    for key in assignment.retired:
        old = Cluster.objects.get(key=key)
        heirs = [clusters[c.new_key] for c in assignment.changes if c.old_key == key]
        heir = max(set(heirs), key=heirs.count) if heirs else None
        old.retired_at, old.merged_into = now, heir
        old.save(update_fields=["retired_at", "merged_into"])
        if heir and old.person_id and heir.person_id and old.person_id != heir.person_id:
            PersonAlias.objects.update_or_create(
                person_id=old.person_id, defaults={"resolves_to_id": heir.person_id, "run": run}
            )
    return assignment


def personal_values(table: pa.Table) -> dict[int, tuple[str | None, ...]]:
    """record → its values of what only one person has (`weights.PERSONAL`), None if missing."""
    columns = [table.column(name).to_pylist() for name in weights.PERSONAL]
    ids = table.column("unique_id").to_pylist()
    return {int(r): values for r, *values in zip(ids, *columns, strict=True)}


def cluster(
    nodes: list[int],
    links: dict[tuple[int, int], float],
    kept_apart: set[tuple[int, int]],
    personal: dict[int, tuple[str | None, ...]],
    together: list[set[int]],
    held: set[int] | None = None,
) -> dict[int, int]:
    """Connected components of the links, then cut where they joined a pair kept apart: by a
    steward, or holding two different identifiers, phones or e-mail addresses (namesakes
    chained together by records that had none of those to compare). Records a steward linked
    (`held`) and records of one existing person (`together`) are not set apart by that rule."""
    found = linkage.components(nodes, sorted(links))
    conflicts = constraints.personal_conflicts(found, personal, together, held or set())
    return constraints.enforce(found, links, kept_apart | set(conflicts))


def _review_rows(
    pairs: pa.Table,
    model: LinkageModel,
    decided: set[tuple[int, int]],
    components: dict[int, int] | None = None,
) -> list[dict[str, Any]]:
    """The pairs for clerical review, with what each comparison contributed. A pair whose
    two records the clustering put in one person anyway (through stronger links) is not
    asked about: a decision on it would change nothing."""
    levels = weights.level_weights(model.settings_json)
    _linked, band = weights.sort_pairs(
        pairs,
        model.settings_json,
        match_weight=model.match_weight,
        review_weight=model.review_weight,
    )
    rows: list[dict[str, Any]] = []
    if not band:
        return rows
    for row in pairs.take(band).to_pylist():
        key = _pair(int(row["unique_id_l"]), int(row["unique_id_r"]))
        if key in decided:
            continue
        if components is not None:
            cluster_of = components.get(key[0])
            if cluster_of is not None and cluster_of == components.get(key[1]):
                continue
        rows.append(
            {
                "pair": key,
                "match_weight": float(row["match_weight"]),
                "match_probability": float(row["match_probability"]),
                "contributions": weights.contributions(row, levels),
            }
        )
    return rows


def _edges(
    pairs: pa.Table,
    model: LinkageModel,
    always: set[tuple[int, int]],
    never: set[tuple[int, int]],
    apart: list,
) -> tuple[dict[tuple[int, int], float], set[tuple[int, int]]]:
    """The links to cluster with their weights (a steward's "same person" above any score),
    and the pairs to keep apart: judged not a match, or split apart by a decision."""
    linked, _band = weights.sort_pairs(
        pairs,
        model.settings_json,
        match_weight=model.match_weight,
        review_weight=model.review_weight,
    )
    left = pairs.column("unique_id_l").to_pylist()
    right = pairs.column("unique_id_r").to_pylist()
    scores = pairs.column("match_weight").to_pylist()
    links = {_pair(int(left[i]), int(right[i])): float(scores[i]) for i in linked}
    links.update(dict.fromkeys(always, constraints.DECIDED))
    kept_apart = set(never)
    for moved, rest in apart:
        kept_apart.update(_pair(a, b) for a in moved for b in rest)
    for pair in kept_apart:
        links.pop(pair, None)
    return links, kept_apart


def _store_review(run: LinkRun, rows: list[dict[str, Any]], *, replace_open: bool) -> None:
    if replace_open:
        ReviewPair.objects.filter(status=ReviewPair.Status.OPEN).delete()
    existing = set(ReviewPair.objects.values_list("left_id", "right_id"))
    ReviewPair.objects.bulk_create(
        [
            ReviewPair(
                left_id=row["pair"][0],
                right_id=row["pair"][1],
                match_weight=row["match_weight"],
                match_probability=row["match_probability"],
                contributions=row["contributions"],
                run=run,
            )
            for row in rows
            if row["pair"] not in existing
        ],
        batch_size=2000,
    )


def link_all(model: LinkageModel | None = None) -> tuple[LinkRun, stable_ids.Assignment]:
    """Link the whole index with the stored model; every existing id kept unless the
    evidence or a steward's decision says otherwise, and every change recorded."""
    model = model or current_model()
    if model is None:
        raise ValueError("no linkage model is stored yet: train one first")
    started = time.monotonic()
    table = records_table()
    prediction = linkage.predict(table, model.settings_json, min_weight=model.review_weight)
    always, never, apart = _steward_constraints()
    links, kept_apart = _edges(prediction.pairs, model, always, never, apart)
    edges = sorted(links)
    nodes = table.column("unique_id").to_pylist()
    held = {record for pair in always for record in pair}
    components = cluster(nodes, links, kept_apart, personal_values(table), [], held)
    review = _review_rows(prediction.pairs, model, always | never, components)
    with transaction.atomic():
        previous = dict(
            SourceRecord.objects.filter(cluster__isnull=False).values_list("pk", "cluster__key")
        )
        run = LinkRun.objects.create(model=model, kind=LinkRun.Kind.FULL, records=len(nodes))
        assignment = _apply(run, previous, components)
        _store_review(run, review, replace_open=True)
        run.pairs = prediction.compared
        run.linked_pairs = len(edges)
        run.review_pairs = len(review)
        run.clusters = len(set(assignment.keys.values()))
        run.changes = len([c for c in assignment.changes if c.old_key])
        run.seconds = time.monotonic() - started
        run.save()
    return run, assignment


def link_new(record_ids: list[int], model: LinkageModel | None = None) -> LinkRun | None:
    """Link just-loaded records against the existing clusters with the stored model: each
    joins the person it matches (above the link weight), or becomes a new person; pairs in
    the band go to review. Existing people keep their ids (a new record linking two known
    people is a merge, recorded as such)."""
    model = model or current_model()
    if model is None or not record_ids:
        return None
    started = time.monotonic()
    new = records_table(SourceRecord.objects.filter(pk__in=record_ids))
    existing = records_table(SourceRecord.objects.exclude(pk__in=record_ids))
    if existing.num_rows == 0:
        pairs = linkage.predict(new, model.settings_json, min_weight=model.review_weight).pairs
    else:
        pairs = linkage.predict_new(
            existing, new, model.settings_json, min_weight=model.review_weight
        )
    always, never, apart = _steward_constraints()
    links, kept_apart = _edges(pairs, model, always, never, apart)
    with transaction.atomic():
        previous = dict(
            SourceRecord.objects.filter(cluster__isnull=False).values_list("pk", "cluster__key")
        )
        # Existing records keep their clusters: they are linked by their current id.
        by_key: dict[str, list[int]] = defaultdict(list)
        for record, key in previous.items():
            by_key[key].append(record)
        touched = set(record_ids)
        for a, b in links:
            touched.update((a, b))
        keys_touched = {previous[r] for r in touched if r in previous}
        nodes = sorted(touched | {r for k in keys_touched for r in by_key[k]})
        for key in keys_touched:
            # Existing people hold together (below a steward's word, above any score).
            members = by_key[key]
            for m in members[1:]:
                links.setdefault(_pair(members[0], m), KEPT)
        edges = sorted(links)
        personal = personal_values(new)
        if existing.num_rows:
            personal.update(personal_values(existing))
        together = [set(by_key[key]) for key in keys_touched]
        held = {record for pair in always for record in pair}
        components = cluster(nodes, links, kept_apart, personal, together, held)
        review = _review_rows(pairs, model, always | never, components)
        run = LinkRun.objects.create(
            model=model, kind=LinkRun.Kind.INCREMENTAL, records=len(record_ids)
        )
        scoped = {r: previous[r] for r in nodes if r in previous}
        assignment = _apply(run, scoped, components)
        _store_review(run, review, replace_open=False)
        run.pairs = pairs.num_rows
        run.linked_pairs = len(edges)
        run.review_pairs = len(review)
        run.clusters = len(set(assignment.keys.values()))
        run.changes = len([c for c in assignment.changes if c.old_key])
        run.seconds = time.monotonic() - started
        run.save()
    return run
