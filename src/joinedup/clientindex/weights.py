"""Reading a trained model without Splink: each level's m, u and match weight (the data of
the stewards' charts), the labels of the levels, and what each comparison contributed to a
pair's weight. Pure functions over Splink's saved-model JSON, so pages can use them without
loading Splink.
"""

from __future__ import annotations

import math
from typing import Any

MISSING = "Missing on one side"


def level_weights(model: dict[str, Any]) -> dict[str, list[tuple[float, str]]]:
    """comparison output column → [(the level's match weight, its label)], from the model."""
    levels: dict[str, list[tuple[float, str]]] = {}
    for row in parameters(model):
        if row["weight"] is not None:
            levels.setdefault(row["comparison"], []).append((row["weight"], row["level"]))
    return levels


def contributions(row: dict[str, Any], levels: dict[str, list[tuple[float, str]]]) -> list[dict]:
    """What each comparison contributed to one pair's weight, and at which level.

    Splink returns each comparison's weight (`mw_<name>`, plus `mw_tf_adj_<name>` for a
    term-frequency adjustment); the level is the one whose weight that is (0 when a value is
    missing on one side)."""
    out = []
    for name, known in levels.items():
        weight = row.get(f"mw_{name}")
        if weight is None:
            continue
        adjustment = row.get(f"mw_tf_adj_{name}") or 0.0
        if abs(weight) < 1e-9:
            label = MISSING
        else:
            label = min(known, key=lambda level: abs(level[0] - weight))[1]
        out.append({"comparison": name, "level": label, "weight": round(weight + adjustment, 2)})
    return out


def conflict_weights(model: dict[str, Any], comparison: str = "given") -> list[float]:
    """The weights of a comparison's two lowest levels (given names that differ beyond a
    typo or a nickname: Jaro-Winkler under 0.92, or wholly)."""
    return [w for w, _label in level_weights(model).get(comparison, [])][-2:]


def conflicting(
    row: dict[str, Any], model_conflict: list[float], comparison: str = "given"
) -> bool:
    """Whether a pair's given names differ beyond a typo or a nickname: such a pair is never
    linked on its weight alone (twins and siblings share everything else)."""
    weight = row.get(f"mw_{comparison}")
    return weight is not None and any(abs(weight - w) < 0.01 for w in model_conflict)


def parameters(model: dict[str, Any]) -> list[dict[str, Any]]:
    """Each comparison level's m, u and match weight: the data of the model's charts."""
    rows = []
    for comparison in model.get("comparisons", []):
        for level in comparison["comparison_levels"]:
            if level.get("is_null_level"):
                continue
            m, u = level.get("m_probability"), level.get("u_probability")
            weight = math.log2(m / u) if m and u else None
            rows.append(
                {
                    "comparison": comparison.get("output_column_name", ""),
                    "level": level.get("label_for_charts") or level.get("sql_condition", ""),
                    "m": m,
                    "u": u,
                    "weight": round(weight, 2) if weight is not None else None,
                }
            )
    return rows


#: Comparisons of what only one person has (an identifier, an e-mail address, a phone): when
#: one agrees, given names that differ are a nickname or a typo, not a twin; when one
#: differs (and none agrees), they are two people.
PERSONAL = ("id_index", "email", "phone")


def sort_pairs(
    pairs: Any, model: dict[str, Any], *, match_weight: float, review_weight: float
) -> tuple[list[int], list[int]]:
    """Row positions of the scored pairs (an Arrow table) to link and to send to review.

    Linked: at or above the link weight, given names not in conflict (or in conflict, but an
    identifier, e-mail or phone agrees). Review: from the review weight up to the link
    weight, and above it when given names are in conflict with nothing personal to compare.
    Given names in conflict and something personal differing (a twin: same family name,
    birth date and home, another name, another phone): neither linked nor reviewed.
    """
    scores = pairs.column("match_weight").to_pylist()
    names = pairs.column_names
    empty = [None] * len(scores)
    given = pairs.column("mw_given").to_pylist() if "mw_given" in names else empty
    own = [
        pairs.column(f"mw_{name}").to_pylist() if f"mw_{name}" in names else empty
        for name in PERSONAL
    ]
    conflict = conflict_weights(model)
    linked, review = [], []
    for i, (score, weight) in enumerate(zip(scores, given, strict=True)):
        if score < review_weight:
            continue
        if conflicting({"mw_given": weight}, conflict):
            personal = [column[i] or 0.0 for column in own]
            if not any(w > 0 for w in personal):
                if not any(w < 0 for w in personal):
                    review.append(i)
                continue
        if score >= match_weight:
            linked.append(i)
        else:
            review.append(i)
    return linked, review
