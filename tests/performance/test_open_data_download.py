"""/performance/ offers its open data as downloads a person clicks — the figures as CSV and
the data package (the CSV with its Frictionless description, zipped) — for the period the
page shows, not as an API path written in the text."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile

import pytest
from django.test import Client

from joinedup.demo.history.run import generate_history
from joinedup.performance import kpis
from joinedup.performance.opendata import FIELDS

pytestmark = pytest.mark.django_db


@pytest.fixture
def generated(small_federation):
    generate_history(600, years=1, seed=11)
    return kpis.parse_period("12m")


def links(html: str) -> dict[str, str]:
    """The download links of the open data section: their words → their address."""
    section = html[html.index('id="open-data"') :]
    found = re.findall(r'<a class="usa-link" href="([^"]+)" download>([^<]+)</a>', section)
    return {text: href.replace("&amp;", "&") for href, text in found}


def test_the_page_offers_the_csv_and_the_data_package_for_its_period(generated):
    client = Client()
    quarter = kpis.recent_periods()[2]  # the quarter before this one: a whole quarter
    page = client.get(f"/en/performance/?period={quarter}").content.decode()
    assert "/api/v1/performance" not in page  # no address to type: links
    offered = links(page)
    csv_url = offered["Download the figures (CSV)"]
    zip_url = offered["Download the data package (ZIP: the CSV and the description of each column)"]
    assert csv_url.endswith(f"?period={quarter}") and zip_url.endswith(f"?period={quarter}")

    download = client.get(csv_url)
    assert download.status_code == 200
    assert download["Content-Type"].startswith("text/csv")
    assert download["Content-Disposition"] == f'attachment; filename="performance-{quarter}.csv"'
    table = list(csv.DictReader(io.StringIO(download.content.decode())))
    assert table, "the period has figures"
    assert list(table[0]) == [name for name, *_rest in FIELDS]
    months = {row["month"] for row in table}
    assert len(months) <= 3 and all(re.fullmatch(r"\d{4}-\d{2}", m) for m in months)
    # A figure resting on too few cases is empty, and named in `suppressed`.
    for row in table:
        for name in filter(None, row["suppressed"].split(";")):
            assert row[name] == ""

    package = client.get(zip_url)
    assert package.status_code == 200 and package["Content-Type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(package.content)) as archive:
        assert sorted(archive.namelist()) == ["datapackage.json", "kpis-by-group.csv", "kpis.csv"]
        described = json.loads(archive.read("datapackage.json"))
        inside = archive.read("kpis.csv").decode()
        by_group = list(csv.DictReader(io.StringIO(archive.read("kpis-by-group.csv").decode())))
    assert inside == download.content.decode()  # the same figures in both downloads
    resource, group_resource = described["resources"]
    assert resource["path"] == "kpis.csv" and resource["format"] == "csv"
    assert [f["name"] for f in resource["schema"]["fields"]] == list(table[0])
    # Every file in the package is described by it, column by column.
    assert group_resource["path"] == "kpis-by-group.csv" and by_group
    assert [f["name"] for f in group_resource["schema"]["fields"]] == list(by_group[0])


def test_the_links_are_in_french_too_and_a_bad_period_is_refused_in_words(generated):
    client = Client()
    french = client.get("/fr/performance/").content.decode()
    offered = links(french)
    assert "Télécharger les chiffres (CSV)" in offered
    assert offered["Télécharger les chiffres (CSV)"].endswith("?period=12m")
    assert "/api/v1/performance" not in french
    refused = client.get("/en/performance/open-data/kpis.csv?period=soon")
    assert refused.status_code == 400
    assert refused.content.decode().strip()  # a message in words, not a file
    assert client.get("/en/performance/open-data/package.zip?period=soon").status_code == 400
