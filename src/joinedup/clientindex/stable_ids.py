"""Stable client index ids: a new clustering keeps every existing person's id.

Splink's clustering numbers its clusters afresh on every run. The index keeps its own ids:
each new cluster takes the id that most of its already-known records had (the oldest id on a
tie); a cluster of only new records gets a new id; the records of an old id that now sit in
a cluster which took another id are said to have moved, and why: two people found to be one
(merged), one found to be two (split), or a new record joining someone. Pure functions.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Change:
    record: int
    old_key: str
    new_key: str
    reason: str  # new, joined, merged, split


@dataclass
class Assignment:
    keys: dict[int, str] = field(default_factory=dict)
    changes: list[Change] = field(default_factory=list)
    new_keys: set[str] = field(default_factory=set)
    #: old keys no record carries any more (their people were merged into another).
    retired: set[str] = field(default_factory=set)


def assign(
    previous: Mapping[int, str],
    clusters: Mapping[int, int],
    new_key: Callable[[], str],
    key_order: Callable[[str], object] = lambda key: key,
) -> Assignment:
    """`previous`: record → old id (records never clustered are absent); `clusters`: record →
    this run's cluster number. Returns each record's id and every change, with its reason."""
    members: dict[int, list[int]] = defaultdict(list)
    for record, number in clusters.items():
        members[number].append(record)
    # Largest claims first, so that an old id goes to the cluster holding most of its records.
    claims: list[tuple[int, object, str, int]] = []
    for number, records in members.items():
        counts = Counter(previous[r] for r in records if r in previous)
        for key, count in counts.items():
            claims.append((-count, key_order(key), key, number))
    claims.sort()
    taken_keys: set[str] = set()
    cluster_key: dict[int, str] = {}
    for _neg, _order, key, number in claims:
        if key in taken_keys or number in cluster_key:
            continue
        cluster_key[number] = key
        taken_keys.add(key)
    result = Assignment()
    for number in sorted(members):
        if number not in cluster_key:
            key = new_key()
            cluster_key[number] = key
            result.new_keys.add(key)
    old_keys_per_cluster = {
        number: {previous[r] for r in records if r in previous}
        for number, records in members.items()
    }
    clusters_per_old_key: dict[str, set[int]] = defaultdict(set)
    for number, keys in old_keys_per_cluster.items():
        for key in keys:
            clusters_per_old_key[key].add(number)
    for number, records in members.items():
        key = cluster_key[number]
        for record in sorted(records):
            result.keys[record] = key
            old = previous.get(record)
            if old == key:
                continue
            if old is None:
                reason = "new" if key in result.new_keys else "joined"
            elif len(clusters_per_old_key[old]) > 1:
                reason = "split"
            else:
                reason = "merged"
            result.changes.append(Change(record, old or "", key, reason))
    result.retired = set(previous.values()) - set(result.keys.values())
    return result
