"""The Fiscal Data Package: exported and loaded back unchanged, refused whole when bad."""

from __future__ import annotations

import csv
import datetime
import json
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from joinedup.funding import expenditures
from joinedup.funding.models import Allocation, ChangeRecord, Expenditure
from joinedup.funding.package import RESOURCES, PackageRefused, export_package, load_package

pytestmark = pytest.mark.django_db


def _rows(path):
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _write(path, rows):
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


@pytest.fixture
def exported(world, tmp_path):
    expenditures.report_expenditure(
        world.municipal,
        period=datetime.date(2025, 6, 1),
        category="staff",
        phase="executed",
        amount="12.34",
        ftes="0.5",
        user_id=None,
        agency="helping-hands",
        reason="june",
    )
    export_package(tmp_path)
    return tmp_path


def test_an_export_loads_back_unchanged(exported):
    descriptor = json.loads((exported / "datapackage.json").read_text())
    assert descriptor["profile"] == "fiscal-data-package"
    fields = {f["name"]: f for f in descriptor["resources"][4]["schema"]["fields"]}
    assert fields["amount"]["columnType"] == "value"
    assert fields["fiscal_year"]["columnType"] == "date:fiscal-year"
    assert _rows(exported / "allocations.csv")[1]["source"] == "fed-jobs"
    Expenditure.objects.all().delete()
    for allocation in Allocation.objects.filter(source__isnull=False).order_by("-pk"):
        allocation.delete()
    loaded = load_package(exported)
    assert loaded.counts == {"allocations": 2, "expenditures": 1}
    line = Expenditure.objects.get()
    assert (line.amount, line.ftes, line.allocation.source.source.key) == (
        Decimal("12.34"),
        Decimal("0.50"),
        "fed-jobs",
    )
    # Loading again changes nothing.
    assert load_package(exported).counts == {}
    assert Allocation.objects.count() == 4


def test_a_bad_package_is_refused_whole_with_each_place_named(exported):
    rows = _rows(exported / "allocations.csv")
    rows.append({**rows[0], "key": "new-one", "amount": "5.00"})  # would be fine alone
    rows[2] = {**rows[2], "amount": "40.001"}
    rows[1] = {**rows[1], "fiscal_year": "next"}
    _write(exported / "allocations.csv", rows)
    before = (Allocation.objects.count(), ChangeRecord.objects.count())
    with pytest.raises(PackageRefused) as refused:
        load_package(exported)
    assert (
        "allocations.csv, row 3, fiscal_year: “next” is not a whole number."
        in refused.value.problems
    )
    assert (Allocation.objects.count(), ChangeRecord.objects.count()) == before
    rows[1] = {**rows[1], "fiscal_year": "2025"}
    _write(exported / "allocations.csv", rows)
    with pytest.raises(PackageRefused) as refused:
        load_package(exported)
    assert refused.value.problems == [
        "allocations.csv, row 4, amount: 40.001 has more than two decimal places."
    ]
    rows[2] = {**rows[2], "amount": "100.00"}
    _write(exported / "allocations.csv", rows)
    with pytest.raises(PackageRefused) as refused:
        load_package(exported)
    assert "Over-allocated" in refused.value.problems[0]
    assert refused.value.problems[0].startswith("allocations.csv, row 4:")
    assert not Allocation.objects.filter(key="new-one").exists()
    assert (Allocation.objects.count(), ChangeRecord.objects.count()) == before


def test_missing_files_and_wrong_headers_are_named(exported):
    (exported / "pools.csv").unlink()
    header = [c[0] for c in RESOURCES["expenditures"]]
    (exported / "expenditures.csv").write_text(",".join([*header[:-2], "colour"]) + "\n")
    with pytest.raises(PackageRefused) as refused:
        load_package(exported)
    assert refused.value.problems == [
        "pools.csv: the file is missing from the package folder.",
        "expenditures.csv: the header lacks the column(s) amount.",
        "expenditures.csv: unknown column(s) colour; the columns are "
        "allocation, period, category, phase, amount, ftes.",
    ]
    (exported / "datapackage.json").write_text("{not json")
    with pytest.raises(CommandError, match="nothing was written"):
        call_command("load_funding", str(exported))


def test_the_command_loads_and_exports(exported, tmp_path, capsys):
    call_command("load_funding", str(exported / "datapackage.json"))
    assert "Loaded" in capsys.readouterr().out
    Allocation.objects.filter(key="fed-housing").update(published=False)
    out = tmp_path / "open"
    call_command("export_funding", "--output", str(out), "--published")
    keys = [row["key"] for row in _rows(out / "allocations.csv")]
    assert "fed-housing" not in keys and "fed-jobs" in keys


def test_export_open_data_adds_the_published_funding(exported, tmp_path):
    Allocation.objects.filter(key="fed-housing").update(published=False)
    out = tmp_path / "open-data"
    call_command("export_open_data", "--output", str(out))
    assert (out / "kpis.csv").exists()
    descriptor = json.loads((out / "funding" / "datapackage.json").read_text())
    assert descriptor["profile"] == "fiscal-data-package"
    keys = {row["key"] for row in _rows(out / "funding" / "allocations.csv")}
    assert keys == {"fed-jobs", "on-jobs", "tor-jobs"}


@pytest.mark.django_db
def test_loaded_counts_are_words_in_the_readers_language():
    from django.utils import translation

    from joinedup.demo.loading import load_demo_funding
    from joinedup.funding.package import describe_counts

    counts = {"allocations": 2, "expenditures": 1, "outcome agreements": 1}
    assert describe_counts(counts) == (
        "2 allocations, 1 expenditure line, 1 outcome-based agreement"
    )
    with translation.override("fr"):
        assert describe_counts(counts) == (
            "2 affectations, 1 ligne de dépense, 1 entente axée sur les résultats"
        )
        # Without the Canadian demo federation the demo loader says so, in French too.
        assert "rien n’a été chargé" in load_demo_funding()
