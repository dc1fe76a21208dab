"""Reading a trained model without Splink: each level's m, u and match weight (the data of
the stewards' charts), the labels of the levels, and what each comparison contributed to a
pair's weight. Pure functions over Splink's saved-model JSON, so pages can use them without
loading Splink.
"""

from __future__ import annotations

import math
from typing import Any


def level_labels(model: dict[str, Any]) -> dict[str, dict[int, str]]:
    """comparison output column → {gamma value: the level's label}, from the stored model."""
    labels: dict[str, dict[int, str]] = {}
    for comparison in model.get("comparisons", []):
        name = comparison.get("output_column_name", "")
        levels = [lv for lv in comparison["comparison_levels"] if not lv.get("is_null_level")]
        count = len(levels)
        labels[name] = {
            count - 1 - i: lv.get("label_for_charts") or lv.get("sql_condition", "")
            for i, lv in enumerate(levels)
        }
        labels[name][-1] = "Missing on one side"
    return labels


def contributions(row: dict[str, Any], labels: dict[str, dict[int, str]]) -> list[dict]:
    """What each comparison contributed to one pair's weight (log2 of its Bayes factor)."""
    out = []
    for name, by_gamma in labels.items():
        gamma = row.get(f"gamma_{name}")
        if gamma is None:
            continue
        factor = row.get(f"bf_{name}") or 1.0
        tf = row.get(f"bf_tf_adj_{name}") or 1.0
        out.append(
            {
                "comparison": name,
                "level": by_gamma.get(int(gamma), str(gamma)),
                "weight": round(math.log2(factor * tf), 2) if factor * tf > 0 else None,
            }
        )
    return out


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
