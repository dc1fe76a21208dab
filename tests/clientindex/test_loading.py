"""Loading agencies' client lists: errors by line and field, all or nothing, idempotence,
identifiers never in clear, the command's CSV and Parquet files."""

from __future__ import annotations

import logging

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from joinedup.clientindex.loading import LoadRefused, load, read_csv_text
from joinedup.clientindex.models import Load, SourceRecord

from .conftest import HEADER, SIN_A

GOOD = [
    "E-1,Marie,Tremblay,1980-03-04,F,10 Queen St,Toronto,M5H 2N2,416 555 0101,m@example.org,,",
    f"E-2,Robert,Côté,1975-11-30,M,,Montréal,H2X 1Y4,,,ca-sin,{SIN_A}",
]
BAD = [
    "E-3,Jean,,1990-02-30,Q,,,,,not-an-email,,",
    "E-4,Jos,Roy,1970-01-01,M,,,,,,ca-sin,123456789",
]


def rows(*lines: str) -> list[dict]:
    return read_csv_text(HEADER + "\n".join(lines) + "\n")


def test_bad_rows_refuse_the_whole_load_with_line_and_field(agencies):
    with pytest.raises(LoadRefused) as refused:
        load(agencies["esdc"], rows(*GOOD, *BAD), channel="file")
    found = {(e.line, e.field) for e in refused.value.errors}
    assert found == {
        (4, "family_name"),
        (4, "birth_date"),
        (4, "sex"),
        (4, "email"),
        (5, "identifier"),
    }
    assert SourceRecord.objects.count() == 0
    assert Load.objects.count() == 0
    # The message about a bad identifier never repeats it.
    assert all("123456789" not in e.message for e in refused.value.errors)


def test_a_partial_load_keeps_the_good_rows_and_reports_the_bad(agencies):
    outcome = load(agencies["esdc"], rows(*GOOD, *BAD), channel="file", partial=True)
    assert outcome.load.created == 2
    assert outcome.load.rejected == 2
    assert {e["line"] for e in outcome.load.errors} == {4, 5}
    assert set(SourceRecord.objects.values_list("record_id", flat=True)) == {"E-1", "E-2"}


def test_loading_is_idempotent_per_agency_record_id(agencies):
    load(agencies["esdc"], rows(*GOOD), channel="api")
    again = load(agencies["esdc"], rows(*GOOD), channel="api")
    assert (again.load.created, again.load.updated, again.load.unchanged) == (0, 0, 2)
    changed = GOOD[0].replace("Tremblay", "Tremblay-Roy")
    third = load(agencies["esdc"], rows(changed, GOOD[1]), channel="api")
    assert (third.load.created, third.load.updated, third.load.unchanged) == (0, 1, 1)
    assert SourceRecord.objects.get(record_id="E-1").family_name == "Tremblay-Roy"
    # Another agency's record with the same id is another record.
    load(agencies["serviceontario"], rows(GOOD[0]), channel="api")
    assert SourceRecord.objects.filter(record_id="E-1").count() == 2


def test_a_record_id_twice_in_one_load_is_an_error(agencies):
    with pytest.raises(LoadRefused) as refused:
        load(agencies["esdc"], rows(GOOD[0], GOOD[0]), channel="file")
    assert [(e.line, e.field) for e in refused.value.errors] == [(3, "record_id")]


def test_identifiers_are_never_stored_or_logged_in_clear(agencies, caplog):
    caplog.set_level(logging.DEBUG)
    load(agencies["esdc"], rows(*GOOD), channel="file")
    record = SourceRecord.objects.get(record_id="E-2")
    assert record.identifier_index and record.identifier_ciphertext
    assert SIN_A not in record.identifier_ciphertext
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM clientindex_sourcerecord")
        dump = repr(cursor.fetchall())
    assert SIN_A not in dump
    assert SIN_A not in caplog.text


def test_the_command_loads_csv_and_parquet(agencies, tmp_path, capsys):
    csv_file = tmp_path / "esdc.csv"
    csv_file.write_text(HEADER + "\n".join(GOOD) + "\n", encoding="utf-8")
    call_command("import_clients", "esdc", str(csv_file))
    assert SourceRecord.objects.filter(agency__key="esdc").count() == 2
    parquet_file = tmp_path / "toronto.parquet"
    pq.write_table(pa.Table.from_pylist(rows(*GOOD)), parquet_file)
    call_command("import_clients", "toronto", str(parquet_file))
    assert SourceRecord.objects.filter(agency__key="toronto").count() == 2
    bad_file = tmp_path / "bad.csv"
    bad_file.write_text(HEADER + "\n".join(BAD) + "\n", encoding="utf-8")
    with pytest.raises(CommandError, match="Nothing was loaded"):
        call_command("import_clients", "esdc", str(bad_file))
    assert "line 2, family_name" in capsys.readouterr().err
