"""The same model on Splink's Spark backend (local mode, a small set), when PySpark is
installed here; skipped, saying so, when it is not."""

from __future__ import annotations

import importlib.util
import shutil

import pytest

from joinedup.clientindex import linkage, standardise, synthetic

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("pyspark") is None or shutil.which("java") is None,
    reason="PySpark (and Java) are not installed here: the Spark path is not exercised",
)


def _table(population):
    import pyarrow as pa

    rows = []
    uid = 0
    for agency, records in population.lists.items():
        for r in records:
            uid += 1
            rows.append(
                standardise.linkage_row(
                    uid,
                    agency=agency,
                    given_names=r["given_names"],
                    family_name=r["family_name"],
                    birth_date=r["birth_date"],
                    sex=r["sex"],
                    street_address=r["street_address"],
                    postal_code=r["postal_code"],
                    phone=r["phone"],
                    email=r["email"],
                    identifier_index="",
                )
            )
    return pa.Table.from_pylist(rows, schema=linkage.SCHEMA)


def test_the_duckdb_model_runs_on_spark_in_local_mode(settings):
    population = synthetic.generate(150, ["a", "b"], seed=11)
    table = _table(population)
    model = linkage.train(table)  # trained on DuckDB, stored, then used on Spark
    duck = linkage.predict(table, model, min_weight=3.0)
    settings.LINKAGE_BACKEND = "spark"
    settings.SPARK_MASTER = "local[1]"
    spark = linkage.predict(table, model, min_weight=3.0)
    pairs = lambda t: set(  # noqa: E731
        zip(t.column("unique_id_l").to_pylist(), t.column("unique_id_r").to_pylist(), strict=True)
    )
    assert spark.compared == duck.compared
    assert pairs(spark.pairs) == pairs(duck.pairs)
