"""The Splink model of the client index (Fellegi–Sunter, DuckDB backend): its blocking rules
and comparisons, training by EM, prediction over the whole index or between new and
existing records, and clustering at a threshold.

This is one of the two modules that import Splink (with `runs`); nothing the web process
loads at start-up imports either. Input and output are Arrow tables of the columns made by
`standardise`: identifiers are only ever identity's keyed blind index here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import splink
import splink.comparison_level_library as cll
import splink.comparison_library as cl
from django.conf import settings
from splink import DuckDBAPI, Linker, SettingsCreator, block_on
from splink.clustering import cluster_pairwise_predictions_at_threshold

#: The columns the model reads (made by `standardise.linkage_row`).
COLUMNS = (
    "unique_id",
    "agency",
    "given",
    "given_formal",
    "family",
    "birth_date",
    "sex",
    "street",
    "postcode",
    "phone",
    "email",
    "id_index",
)
SCHEMA = pa.schema([("unique_id", pa.int64())] + [(name, pa.string()) for name in COLUMNS[1:]])

#: The columns whose agreement is weighed by how common the value is.
TF_COLUMNS = ("given", "family")

_DAY_MONTH_SWAPPED = (
    "substr(birth_date_l, 1, 4) = substr(birth_date_r, 1, 4) "
    "AND substr(birth_date_l, 6, 2) = substr(birth_date_r, 9, 2) "
    "AND substr(birth_date_l, 9, 2) = substr(birth_date_r, 6, 2)"
)
_YEAR_OFF_BY_ONE = (
    "substr(birth_date_l, 6, 5) = substr(birth_date_r, 6, 5) AND "
    "abs(cast(substr(birth_date_l, 1, 4) AS INTEGER) "
    "- cast(substr(birth_date_r, 1, 4) AS INTEGER)) = 1"
)
_SWAPPED_AND_YEAR_OFF = (
    "substr(birth_date_l, 6, 2) = substr(birth_date_r, 9, 2) "
    "AND substr(birth_date_l, 9, 2) = substr(birth_date_r, 6, 2) AND "
    "abs(cast(substr(birth_date_l, 1, 4) AS INTEGER) "
    "- cast(substr(birth_date_r, 1, 4) AS INTEGER)) = 1"
)
#: Day and month in order of size: the same for a date and its day-month swap.
_DAY_MONTH_SORTED = (
    "least(substr(birth_date, 6, 2), substr(birth_date, 9, 2)) "
    "|| greatest(substr(birth_date, 6, 2), substr(birth_date, 9, 2))"
)


def blocking_rules() -> list:
    """Which pairs are compared at all: any one rule suffices. Broad enough that a person's
    records share at least one key despite the usual noise (a pair never compared is a link
    lost), narrow enough that no block grows with the square of a common name or of the
    index (a birth date alone gives 20 million pairs at 1,000,000 records)."""
    return [
        # The same birth date and given name's first letter: a typo never touches the first
        # letter here, a nickname has its formal name, a name change keeps the given name.
        block_on("birth_date", "substr(given_formal, 1, 1)"),
        block_on("family", "given_formal", "substr(birth_date, 1, 4)"),
        # The birth year off by one: same names, same day and month.
        block_on("family", "given_formal", "substr(birth_date, 6, 5)"),
        # Day and month swapped, with the year off by one or a name changed too.
        block_on("family", "given_formal", _DAY_MONTH_SORTED),
        block_on("given_formal", "substr(birth_date, 1, 4)", _DAY_MONTH_SORTED),
        block_on("postcode"),
        block_on("email"),
        block_on("phone"),
        block_on("id_index"),
    ]


def _exact(column: str, label: str, *, m: float | None = None) -> cl.CustomComparison:
    """Agreement or not on a value only one person has. With `m`, the share of one person's
    records that agree is fixed instead of estimated (an identifier is copied, not typed)."""
    agree = cll.ExactMatchLevel(column)
    other = cll.ElseLevel()
    if m is not None:
        agree = agree.configure(m_probability=m, fix_m_probability=True)
        other = other.configure(m_probability=1 - m, fix_m_probability=True)
    return cl.CustomComparison(
        output_column_name=column,
        comparison_description=label,
        comparison_levels=[cll.NullLevel(column), agree, other],
    )


def comparisons() -> list:
    """How two records are compared, field by field, from the most to the least alike."""
    return [
        cl.CustomComparison(
            output_column_name="given",
            comparison_description="Given name",
            comparison_levels=[
                cll.NullLevel("given"),
                # A common given name (Marie) agreeing says less than a rare one.
                cll.ExactMatchLevel("given", term_frequency_adjustments=True),
                cll.ExactMatchLevel("given_formal").configure(
                    label_for_charts="Same formal name (a nickname)"
                ),
                cll.JaroWinklerLevel("given", 0.92),
                cll.JaroWinklerLevel("given", 0.80),
                cll.ElseLevel(),
            ],
        ),
        cl.CustomComparison(
            output_column_name="family",
            comparison_description="Family name",
            comparison_levels=[
                cll.NullLevel("family"),
                # A shared rare family name weighs more than a shared Tremblay.
                cll.ExactMatchLevel("family", term_frequency_adjustments=True),
                cll.JaroWinklerLevel("family", 0.92),
                cll.JaroWinklerLevel("family", 0.80),
                # Names taken at marriage are mostly women's: a different family name between
                # two women's records says less against one person than between two men's.
                cll.CustomLevel("sex_l = 'F' AND sex_r = 'F'").configure(
                    label_for_charts="Different, both women (a name taken at marriage?)"
                ),
                cll.ElseLevel(),
            ],
        ),
        cl.CustomComparison(
            output_column_name="birth_date",
            comparison_description="Birth date",
            comparison_levels=[
                cll.NullLevel("birth_date"),
                cll.ExactMatchLevel("birth_date"),
                cll.CustomLevel(_DAY_MONTH_SWAPPED, label_for_charts="Day and month swapped"),
                # Before "one character apart": 1975 and 1976 are one character apart too,
                # and a year off by one is far likelier for one person than a random digit.
                cll.CustomLevel(_YEAR_OFF_BY_ONE, label_for_charts="Year off by one"),
                cll.CustomLevel(
                    _SWAPPED_AND_YEAR_OFF, label_for_charts="Day and month swapped, year off by one"
                ),
                cll.LevenshteinLevel("birth_date", 1),
                cll.ElseLevel(),
            ],
        ),
        # One comparison for the address: the postal code and the street move together (a
        # move changes both), so two comparisons would count one agreement twice — and
        # twins, who share a home, would look twice as alike as they are.
        cl.CustomComparison(
            output_column_name="address",
            comparison_description="Address",
            comparison_levels=[
                cll.NullLevel("postcode"),
                cll.And(cll.ExactMatchLevel("postcode"), cll.ExactMatchLevel("street")).configure(
                    label_for_charts="Same postal code and street"
                ),
                cll.ExactMatchLevel("postcode").configure(
                    label_for_charts="Same postal code (street missing or different)"
                ),
                cll.CustomLevel(
                    "substr(postcode_l, 1, 3) = substr(postcode_r, 1, 3)",
                    label_for_charts="Same area (first three characters)",
                ),
                cll.ElseLevel(),
            ],
        ),
        cl.ExactMatch("email"),
        cl.ExactMatch("phone"),
        # An identifier is copied from a document, not typed from memory: two records of one
        # person holding different ones is rarer than EM on unlabelled pairs can tell.
        _exact("id_index", "Identifier (keyed blind index)", m=0.9999),
        cl.ExactMatch("sex"),
    ]


def model_settings(record_count: int, people_estimate: float | None = None) -> SettingsCreator:
    """The model before training: a prior from the expected number of people."""
    people = people_estimate or max(record_count / 3, 1)
    pairs = max(record_count * (record_count - 1) / 2, 1)
    matches = max(record_count - people, 1)
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        probability_two_random_records_match=min(matches / pairs, 0.5),
        blocking_rules_to_generate_predictions=blocking_rules(),
        comparisons=comparisons(),
        retain_intermediate_calculation_columns=True,
        retain_matching_columns=False,
    )


class BackendUnavailable(RuntimeError):
    """The linkage backend asked for cannot run here (PySpark is not installed)."""


def backend() -> str:
    """`duckdb` (one machine, the default) or `spark` (JOINEDUP_LINKAGE_BACKEND)."""
    return (getattr(settings, "LINKAGE_BACKEND", "duckdb") or "duckdb").lower()


def _database() -> Any:
    """The Splink database API of the configured backend. The same model, blocking rules and
    comparisons run on both: the SQL they use is common to DuckDB and Spark."""
    if backend() != "spark":
        return DuckDBAPI()
    try:
        # PySpark is optional: only the Spark backend loads it.
        from pyspark.sql import SparkSession
        from splink import SparkAPI
        from splink.backends.spark import similarity_jar_location
    except ImportError as error:
        raise BackendUnavailable(
            "JOINEDUP_LINKAGE_BACKEND=spark needs PySpark (pip install pyspark)."
        ) from error
    session = (
        SparkSession.builder.master(settings.SPARK_MASTER)
        .appName("joinedup-client-index")
        .config("spark.sql.shuffle.partitions", "8")
        .config("spark.ui.enabled", "false")
        # Splink's string-similarity functions (Jaro-Winkler) for Spark.
        .config("spark.jars", similarity_jar_location())
        .getOrCreate()
    )
    return SparkAPI(spark_session=session, break_lineage_method="persist")


def _quiet() -> None:
    logging.getLogger("splink").setLevel(logging.WARNING)


#: Fewer pairs judged "same person" than this, and the labels are not used for m (too few
#: to estimate every level's share without distorting it).
MIN_LABELS = 20


def train(
    records: pa.Table,
    *,
    labels: list[tuple[int, int]] | None = None,
    seed: int = 1,
    max_pairs: float | None = None,
) -> dict[str, Any]:
    """Estimate u by random sampling, then m by EM in two sessions (each blocked on fields the
    other compares) and, when stewards judged enough pairs the same person, from those
    labels too (Splink averages the sessions' estimates). Returns Splink's model JSON."""
    _quiet()
    db = _database()
    linker = Linker(
        db.register(records.cast(SCHEMA)), model_settings(records.num_rows), log_level=None
    )
    # Enough random pairs that a shared phone, e-mail, identifier or postal code (about one
    # random pair in 300,000 at 1,000,000 records) is seen dozens of times: with 2 million
    # pairs at 1,000,000 records Splink saw too few and fell back to default u values.
    pairs = max_pairs or max(2e6, 20.0 * records.num_rows)
    linker.training.estimate_u_using_random_sampling(max_pairs=pairs, seed=seed)
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("birth_date"), estimate_without_term_frequencies=True
    )
    # Names and postal code: a block of common names alone grows with the square of the
    # index (a 1,000,000-record run exhausted memory there); with the postal code, every
    # level of the birth date can still be seen (with the birth year, "year off by one"
    # could not, and its m came out 0).
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("family", "given_formal", "postcode"),
        estimate_without_term_frequencies=True,
    )
    if labels and len(labels) >= MIN_LABELS:
        table = pa.table(
            {
                "unique_id_l": pa.array([min(a, b) for a, b in labels], pa.int64()),
                "unique_id_r": pa.array([max(a, b) for a, b in labels], pa.int64()),
            }
        )
        linker.training.estimate_m_from_pairwise_labels(db.register(table))
    return linker.misc.save_model_to_json()


@dataclass
class Prediction:
    """Scored pairs at or above the review weight, and how each comparison levelled."""

    pairs: pa.Table
    compared: int


def for_dialect(model: dict[str, Any], dialect: str) -> dict[str, Any]:
    """The stored model in another SQL dialect (DuckDB-trained, run on Spark): the comparisons
    are rebuilt from this module in that dialect and the trained m, u and prior copied in,
    level by level (the levels are the same, being built by the same code)."""
    if model.get("sql_dialect") == dialect:
        return model
    rebuilt = model_settings(2).create_settings_dict(dialect)
    rebuilt["probability_two_random_records_match"] = model["probability_two_random_records_match"]
    for fresh, trained in zip(rebuilt["comparisons"], model["comparisons"], strict=True):
        for level, stored in zip(
            fresh["comparison_levels"], trained["comparison_levels"], strict=True
        ):
            for key in ("m_probability", "u_probability"):
                if key in stored:
                    level[key] = stored[key]
    return rebuilt


def _linker(records: pa.Table, model: dict[str, Any]) -> tuple[Any, Linker, Any]:
    _quiet()
    db = _database()
    table = db.register(records.cast(SCHEMA))
    model = dict(
        for_dialect(model, db.sql_dialect.sql_dialect_str),
        retain_intermediate_calculation_columns=True,
    )
    return db, Linker(table, model, log_level=None), table


def predict(records: pa.Table, model: dict[str, Any], *, min_weight: float) -> Prediction:
    """Every blocked pair of the index scored (how many: `compared`); the pairs at or above
    `min_weight` returned."""
    _db, linker, _table = _linker(records, model)
    scored = linker.inference.predict()
    table = scored.physical_name
    compared = linker.misc.query_sql(f"SELECT count(*) AS n FROM {table}")  # noqa: S608
    count = int(compared.as_pyarrow_table().column("n")[0].as_py())
    kept = linker.misc.query_sql(
        f"SELECT * FROM {table} WHERE match_weight >= {float(min_weight)!r}"  # noqa: S608
    )
    return Prediction(pairs=kept.as_pyarrow_table(), compared=count)


def predict_new(
    existing: pa.Table, new: pa.Table, model: dict[str, Any], *, min_weight: float
) -> pa.Table:
    """New records scored against the existing ones and among themselves (incremental)."""
    _quiet()
    db = _database()
    everything = pa.concat_tables([existing.cast(SCHEMA), new.cast(SCHEMA)])
    all_table = db.register(everything)
    linker = Linker(
        all_table, dict(model, retain_intermediate_calculation_columns=True), log_level=None
    )
    # Term frequencies from the whole index, so a new record's names weigh as in a run.
    for column in TF_COLUMNS:
        linker.table_management.compute_tf_table(column)
    left = db.register(existing.cast(SCHEMA))
    right = db.register(new.cast(SCHEMA))
    between = linker.inference.predict_between(
        left, right, threshold_match_weight=min_weight
    ).as_pyarrow_table()
    within = linker.inference.predict_within(
        right, threshold_match_weight=min_weight
    ).as_pyarrow_table()
    keep = ["unique_id_l", "unique_id_r", "match_weight", "match_probability"]
    extra = [c for c in between.column_names if c.startswith("mw_")]
    return pa.concat_tables(
        [between.select(keep + extra), within.select(keep + extra)], promote_options="default"
    )


def components(nodes: list[int], edges: list[tuple[int, int]]) -> dict[int, int]:
    """Connected components of the linked pairs (Splink's clustering): record → component."""
    _quiet()
    db = _database()
    node_table = pa.table({"unique_id": pa.array(nodes, pa.int64())})
    edge_table = pa.table(
        {
            "unique_id_l": pa.array([a for a, _b in edges], pa.int64()),
            "unique_id_r": pa.array([b for _a, b in edges], pa.int64()),
        }
    )
    result = cluster_pairwise_predictions_at_threshold(
        node_table, edge_table, db_api=db, node_id_column_name="unique_id"
    ).as_pyarrow_table()
    ids = result.column("unique_id").to_pylist()
    clusters = result.column("cluster_id").to_pylist()
    return {int(u): int(c) for u, c in zip(ids, clusters, strict=True)}


SPLINK_VERSION = splink.__version__
