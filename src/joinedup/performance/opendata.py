"""Open data: every published measure as CSV, described by a Frictionless data package.

`write_open_data(folder, period)` writes `kpis.csv` — one row per month × service ×
delivering jurisdiction, with the figures as published (suppressed ones left empty and named
in `suppressed`) —, `kpis-by-group.csv` — one row per service × delivering jurisdiction ×
client-group dimension × group over the whole period, with primary and secondary
suppression within each service, jurisdiction and dimension — and `datapackage.json`, a
Tabular Data Package whose schema gives each column's type, unit and meaning, so that tools
load it without guessing.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from . import groups, kpis
from .pages import service_names

FIELDS = [
    ("month", "string", "yearmonth", "The calendar month (YYYY-MM)."),
    ("service", "string", None, "The service's catalogue key."),
    ("service_name", "string", None, "The service's name."),
    ("jurisdiction", "string", None, "The delivering jurisdiction's code (ISO 3166-2 style)."),
    ("started", "integer", None, "Transactions started in the month."),
    ("completions", "integer", None, "Transactions completed (not eligible included)."),
    ("completion_rate", "number", None, "Completed ÷ ended (abandoned included), 0–1."),
    ("digital_take_up", "number", None, "Digital completions ÷ all completions, 0–1."),
    ("within_standard", "number", None, "Completions within the service standard, 0–1."),
    (
        "median_days",
        "integer",
        None,
        "Median days elapsed (business or calendar days, net of pauses); 101 means over 100.",
    ),
    ("p90_days", "integer", None, "90th percentile of days elapsed."),
    ("p95_days", "integer", None, "95th percentile of days elapsed."),
    ("cost_per_transaction", "number", None, "Total cost ÷ completions, in the currency."),
    (
        "digital_cost_per_transaction",
        "number",
        None,
        "Digital channels' cost ÷ digital completions.",
    ),
    ("currency", "string", None, "ISO 4217 code of the costs."),
    ("satisfaction", "number", None, "Mean answer 1–5 rescaled to 0–100."),
    ("trust", "number", None, "Mean trust answer 1–5 rescaled to 0–100."),
    ("responses", "integer", None, "Survey answers."),
    ("response_rate", "number", None, "Survey answers ÷ invitations, 0–1."),
    (
        "suppressed",
        "string",
        None,
        "Figures left empty because they rest on too few cases (separated by ;).",
    ),
]


def rows(period: kpis.Period) -> list[dict]:
    figures = kpis.compute(period, ("month", "service_key", "jurisdiction"))
    names = service_names(f.key["service_key"] for f in figures)
    found = []
    for item in figures:
        record = item.published()
        found.append(
            {
                "month": item.key["month"].strftime("%Y-%m"),
                "service": item.key["service_key"],
                "service_name": names.get(item.key["service_key"], ""),
                "jurisdiction": item.key["jurisdiction"],
                **{name: record.get(name) for name, *_rest in FIELDS[4:-1]},
                "suppressed": ";".join(record["suppressed"]),
            }
        )
    return found


#: The columns of kpis-by-group.csv: the period, the keys, then the measures of FIELDS.
GROUP_FIELDS = [
    ("period", "string", None, "The period: 12m (the twelve months to the export), a year …"),
    ("service", "string", None, "The service's catalogue key."),
    ("service_name", "string", None, "The service's name."),
    ("jurisdiction", "string", None, "The delivering jurisdiction's code (ISO 3166-2 style)."),
    (
        "dimension",
        "string",
        None,
        "The client-group dimension: age_band, language, area, mandate, accessibility, "
        "newcomer or business_size.",
    ),
    (
        "group",
        "string",
        None,
        "The group's value within the dimension; unknown: not known or not applicable.",
    ),
    ("group_name", "string", None, "The group's name."),
    *FIELDS[4:],
]


#: The group of those whose value is not known (blank in the rollups): a key cannot be empty.
UNKNOWN = "unknown"


def group_rows(period: kpis.Period) -> list[dict]:
    """The measures of each client group over the period, per service and delivering
    jurisdiction, one dimension at a time (one read of the group rollups per dimension)."""
    found: list[dict] = []
    names: dict[str, str] = {}
    for dimension in groups.DIMENSIONS:
        cells = kpis.compute(period, ("service_key", "jurisdiction", "group"), dimension=dimension)
        missing = {c.key["service_key"] for c in cells} - set(names)
        if missing:
            names.update(service_names(missing))
        for record in groups.publish_by_group(cells, dimension):
            found.append(
                {
                    "period": period.code,
                    "service": record["service_key"],
                    "service_name": names.get(record["service_key"], ""),
                    "jurisdiction": record["jurisdiction"],
                    "dimension": dimension,
                    "group": record["group"] or UNKNOWN,
                    "group_name": record["group_name"],
                    **{name: record.get(name) for name, *_rest in FIELDS[4:-1]},
                    "suppressed": ";".join(record["suppressed"]),
                }
            )
    return found


def _schema_fields(columns) -> list[dict]:
    return [
        {"name": name, "type": kind, "description": description}
        for name, kind, _fmt, description in columns
    ]


def datapackage(period: kpis.Period) -> dict:
    fields = []
    for name, kind, fmt, description in FIELDS:
        field = {"name": name, "type": kind, "description": description}
        if fmt == "yearmonth":
            field = {"name": name, "type": "yearmonth", "description": description}
        fields.append(field)
    return {
        "profile": "tabular-data-package",
        "name": "joinedup-service-performance",
        "title": "Service performance: completion, take-up, timeliness, cost and satisfaction",
        "description": (
            f"Monthly measures per service and delivering jurisdiction, {period.first:%Y-%m} to "
            f"{period.last:%Y-%m}. Figures resting on fewer than "
            f"{settings.PERFORMANCE_MIN_COUNT} cases are suppressed."
        ),
        "created": timezone.now().isoformat(timespec="seconds"),
        "licenses": [
            {
                "name": "CC-BY-4.0",
                "title": "Creative Commons Attribution 4.0",
                "path": "https://creativecommons.org/licenses/by/4.0/",
            }
        ],
        "resources": [
            {
                "name": "kpis",
                "path": "kpis.csv",
                "profile": "tabular-data-resource",
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8",
                "schema": {
                    "fields": fields,
                    "primaryKey": ["month", "service", "jurisdiction"],
                    "missingValues": [""],
                },
            },
            {
                "name": "kpis-by-group",
                "path": "kpis-by-group.csv",
                "title": "The same measures by client group, over the whole period",
                "profile": "tabular-data-resource",
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8",
                "schema": {
                    "fields": _schema_fields(GROUP_FIELDS),
                    "primaryKey": ["service", "jurisdiction", "dimension", "group"],
                    "missingValues": [""],
                },
            },
        ],
    }


#: Other apps' open data written beside the measures, each in its own sub-folder: apps
#: above performance register here (performance imports none of them).
EXPORTERS: dict[str, Callable[[Path, kpis.Period], int]] = {}


def register_exporter(name: str, write: Callable[[Path, kpis.Period], int]) -> None:
    """Have `export-open-data` call `write(folder / name, period)`; it returns its rows."""
    EXPORTERS[name] = write


def csv_text(found: list[dict], columns=FIELDS) -> str:
    """The rows as CSV, with the header the data package describes (empty for a figure
    not published); `columns` is FIELDS for kpis.csv, GROUP_FIELDS for kpis-by-group.csv."""
    handle = io.StringIO(newline="")
    writer = csv.DictWriter(handle, fieldnames=[name for name, *_rest in columns])
    writer.writeheader()
    for row in found:
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return handle.getvalue()


def datapackage_text(period: kpis.Period) -> str:
    return json.dumps(datapackage(period), indent=2, ensure_ascii=False) + "\n"


def zipped(period: kpis.Period) -> bytes:
    """The data package as one download: kpis.csv and kpis-by-group.csv beside
    datapackage.json, which names them."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("kpis.csv", csv_text(rows(period)))
        archive.writestr("kpis-by-group.csv", csv_text(group_rows(period), GROUP_FIELDS))
        archive.writestr("datapackage.json", datapackage_text(period))
    return buffer.getvalue()


def write_open_data(folder: Path, period: kpis.Period) -> int:
    """Write kpis.csv, kpis-by-group.csv and datapackage.json into `folder`; returns the
    number of rows of both files."""
    folder.mkdir(parents=True, exist_ok=True)
    found = rows(period)
    by_group = group_rows(period)
    (folder / "kpis.csv").write_text(csv_text(found), encoding="utf-8", newline="")
    (folder / "kpis-by-group.csv").write_text(
        csv_text(by_group, GROUP_FIELDS), encoding="utf-8", newline=""
    )
    (folder / "datapackage.json").write_text(datapackage_text(period), encoding="utf-8")
    return len(found) + len(by_group)
