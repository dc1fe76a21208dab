"""Cannot-link constraints in clustering: "not the same person" holds even when a chain of
other links would join the two records.

Connected components join everything a chain of links reaches: if A–B and B–C are linked,
A and C are one person even if a steward said they are not. Here each component holding a
pair kept apart is rebuilt from its links, strongest first (a steward's "same person" before
any score), skipping every link that would put a kept-apart pair together: the component is
cut at its weakest link(s) only. Components with no such pair are left as they are, so the
stable ids (`stable_ids`) see no change there. Pure functions, no Splink.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence

#: The weight of a link a steward decided (stronger than any score).
DECIDED = float("inf")


def enforce(
    components: Mapping[int, int],
    links: Mapping[tuple[int, int], float],
    apart: Iterable[tuple[int, int]],
) -> dict[int, int]:
    """`components`: record → component; `links`: (a, b) → weight of each link clustered;
    `apart`: pairs that must not share a cluster. Returns record → cluster, splitting only the
    components that held a pair kept apart (new clusters are numbered past the largest)."""
    result = dict(components)
    partners: dict[int, set[int]] = defaultdict(set)
    for a, b in apart:
        if a != b:
            partners[a].add(b)
            partners[b].add(a)
    broken = {
        components[a]
        for a, others in partners.items()
        if a in components
        for b in others
        if components.get(b) == components[a]
    }
    if not broken:
        return result
    members: dict[int, list[int]] = defaultdict(list)
    for record, component in components.items():
        if component in broken:
            members[component].append(record)
    inside: dict[int, list[tuple[float, int, int]]] = defaultdict(list)
    for (a, b), weight in links.items():
        component = components.get(a)
        if component in broken and components.get(b) == component:
            inside[component].append((weight, min(a, b), max(a, b)))
    following = max(components.values(), default=0) + 1
    for component in sorted(broken):
        groups = _rebuild(members[component], inside[component], partners)
        # The group holding the component's smallest record keeps its number.
        for index, group in enumerate(sorted(groups, key=min)):
            number = component if index == 0 else following
            if index:
                following += 1
            for record in group:
                result[record] = number
    return result


def personal_conflicts(
    components: Mapping[int, int],
    personal: Mapping[int, Sequence[str | None]],
    together: Iterable[Iterable[int]] = (),
    held: Iterable[int] = (),
) -> list[tuple[int, int]]:
    """Pairs of records that a component put together although they hold different values of
    something only one person has (an identifier's blind index, a phone, an e-mail address,
    in `personal`: record → values, None when missing): two namesakes joined by a chain of
    links whose records, compared one pair at a time, had nothing of that kind in common.
    Kept apart like a steward's "not the same person", so `enforce` cuts the chain at its
    weakest link. Records in one group of `together` (an existing person) are never set apart
    here, nor is any record in `held` (one a steward linked: a person's word outweighs a
    rule, and a steward's merge holds records with two phones together)."""
    held = set(held)
    group_of: dict[int, int] = {}
    for number, group in enumerate(together):
        for record in group:
            group_of[record] = number
    members: dict[int, list[int]] = defaultdict(list)
    for record, component in components.items():
        if record in personal:
            members[component].append(record)
    pairs: list[tuple[int, int]] = []
    for records in members.values():
        if len(records) < 2:
            continue
        width = len(personal[records[0]])
        for field in range(width):
            by_value: dict[str, list[int]] = defaultdict(list)
            for record in records:
                value = personal[record][field]
                if value:
                    by_value[value].append(record)
            if len(by_value) < 2:
                continue
            groups = list(by_value.values())
            for index, first in enumerate(groups):
                for second in groups[index + 1 :]:
                    pairs.extend(
                        (min(a, b), max(a, b))
                        for a in first
                        for b in second
                        if a not in held
                        and b not in held
                        and (a not in group_of or group_of[a] != group_of.get(b))
                    )
    return pairs


def _rebuild(
    records: list[int], links: list[tuple[float, int, int]], partners: Mapping[int, set[int]]
) -> list[set[int]]:
    """Union the records along their links, strongest first, never joining a kept-apart pair."""
    parent = {r: r for r in records}
    group = {r: {r} for r in records}

    def root(r: int) -> int:
        while parent[r] != r:
            parent[r] = parent[parent[r]]
            r = parent[r]
        return r

    for _weight, a, b in sorted(links, key=lambda link: (-link[0], link[1], link[2])):
        ra, rb = root(a), root(b)
        if ra == rb:
            continue
        small, large = (ra, rb) if len(group[ra]) < len(group[rb]) else (rb, ra)
        if any(partners.get(r, set()) & group[large] for r in group[small]):
            continue
        parent[small] = large
        group[large] |= group.pop(small)
    return [members for r, members in group.items() if root(r) == r]
