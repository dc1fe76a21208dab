"""PostgreSQL only: what lets the group rollup's page be summed in one hashed pass.

- Statistics of how many distinct combinations the group rollup's keys take, so that the
  planner expects hundreds of groups (not tens of thousands) for a page by service and
  client group, and adds them up in a hash table rather than sorting every row first.
- `perf_bytes_joined(bytea, bytea)`: `string_agg` over bytea under another name, declaring
  a small state (SSPACE), so that the planner may hash a grouping that joins histograms
  (it counts 8 kB for a state it knows nothing of, and sorts instead).

SQLite reads the same figures the portable way (`kpis._compute_groups`).
"""

from django.db import migrations

CREATE = [
    "CREATE STATISTICS IF NOT EXISTS perf_group_keys (ndistinct) "
    "ON dimension, service_key, jurisdiction, agency, channel, value "
    "FROM performance_grouprollup",
    "CREATE OR REPLACE AGGREGATE perf_bytes_joined(bytea, bytea) ("
    "SFUNC = bytea_string_agg_transfn, STYPE = internal, SSPACE = 64, "
    "FINALFUNC = bytea_string_agg_finalfn)",
    "ANALYZE performance_grouprollup",
]
DROP = [
    "DROP AGGREGATE IF EXISTS perf_bytes_joined(bytea, bytea)",
    "DROP STATISTICS IF EXISTS perf_group_keys",
]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for statement in statements:
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("performance", "0007_insight23d_transaction_casework"),
    ]

    operations = [
        migrations.RunPython(_run(CREATE), _run(DROP)),
    ]
