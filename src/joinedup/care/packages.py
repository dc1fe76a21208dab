"""HSDS 3 data packages: load a directory from one, export the directory as one.

A package is a folder with `datapackage.json` and one CSV file per table, named as the standard
publishes them (organizations.csv, services.csv, locations.csv, service_at_location.csv, ...);
HSDS 3.1's live capacity comes in `service_capacities.csv` with its `units.csv`. Every file is
optional but `services.csv` and `organizations.csv`.

Loading checks everything first — each row's identifiers (UUIDs), required fields, numbers,
dates, times, enumerations, and every reference to another table (in the package or already in
the directory) — and writes nothing unless all is right: a bad package is refused whole, with
one message per problem naming the file, the row (as a spreadsheet numbers it, the header
being row 1) and the field. A record already present (same id) is updated.

Beyond the standard, columns `<field>_fr` carry the French text of a text field, and `x_…`
columns link records to the platform's registry (an agency, a catalogue service, a place,
an office). Exports write them too, and the nested JSON of every service (`services.json`).
"""

from __future__ import annotations

import csv
import datetime
import decimal
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import transaction
from django.db.models import Model
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from joinedup.federation.models import Agency, Jurisdiction, Office
from joinedup.federation.models import Service as CatalogueService

from . import directory
from . import models as m

TRANSLATED_LANGUAGES = ("fr",)


class PackageRefused(Exception):
    """The package has problems; nothing was written. `problems` lists each one."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Column:
    name: str  # the CSV column (HSDS's field name)
    kind: str = "str"  # str, uuid, number, integer, date, time, datetime, enum, ref, xref
    required: bool = False
    attr: str = ""  # the model attribute, when it differs from the name
    choices: tuple[str, ...] = ()
    ref: str = ""  # for ref: the table referred to; for xref: the registry's kind
    translated: bool = False

    @property
    def target(self) -> str:
        return self.attr or (self.name[:-3] if self.kind == "ref" else self.name)


@dataclass(frozen=True)
class Table:
    file: str
    model: type[Model]
    columns: tuple[Column, ...]
    entity: str = ""
    extra: dict[str, str] = field(default_factory=dict)


def _c(name: str, kind: str = "str", **kw: Any) -> Column:
    return Column(name, kind, **kw)


ID = _c("id", "uuid", required=True)
TEXT = {"translated": True}

#: The tables in the order they load (a table refers only to tables before it).
TABLES: tuple[Table, ...] = (
    Table(
        "organizations.csv",
        m.Organization,
        (
            ID,
            _c("name", required=True, **TEXT),
            _c("alternate_name", **TEXT),
            _c("description", required=True, **TEXT),
            _c("email"),
            _c("website"),
            _c("x_agency", "xref", ref="agency", attr="agency"),
        ),
        entity="organization",
    ),
    Table(
        "taxonomies.csv",
        m.Taxonomy,
        (
            ID,
            _c("name", required=True, **TEXT),
            _c("description", required=True, **TEXT),
            _c("uri"),
            _c("version"),
        ),
    ),
    Table(
        "taxonomy_terms.csv",
        m.TaxonomyTerm,
        (
            ID,
            _c("code"),
            _c("name", required=True, **TEXT),
            _c("description", required=True, **TEXT),
            _c("parent_id", "ref", ref="taxonomy_terms.csv"),
            _c("taxonomy_id", "ref", ref="taxonomies.csv"),
            _c("language"),
            _c("term_uri"),
        ),
    ),
    Table(
        "services.csv",
        m.Service,
        (
            ID,
            _c("organization_id", "ref", required=True, ref="organizations.csv"),
            _c("name", required=True, **TEXT),
            _c("alternate_name", **TEXT),
            _c("description", **TEXT),
            _c("url"),
            _c("email"),
            _c("status", "enum", required=True, choices=tuple(m.Service.Status.values)),
            _c("interpretation_services", **TEXT),
            _c("application_process", **TEXT),
            _c("fees_description", **TEXT),
            _c("eligibility_description", **TEXT),
            _c("minimum_age", "number"),
            _c("maximum_age", "number"),
            _c("assured_date", "date"),
            _c("assurer_email"),
            _c("alert", **TEXT),
            _c("last_modified", "datetime"),
            _c("x_catalogue_service", "xref", ref="service", attr="catalogue_service"),
            _c("x_referral_email", attr="referral_email"),
        ),
        entity="service",
    ),
    Table(
        "locations.csv",
        m.Location,
        (
            ID,
            _c("location_type", "enum", required=True, choices=tuple(m.Location.Type.values)),
            _c("organization_id", "ref", ref="organizations.csv"),
            _c("name", **TEXT),
            _c("description", **TEXT),
            _c("transportation", **TEXT),
            _c("latitude", "number"),
            _c("longitude", "number"),
            _c("x_jurisdiction", "xref", ref="jurisdiction", attr="jurisdiction"),
            _c("x_office", "xref", ref="office", attr="office"),
        ),
        entity="location",
    ),
    Table(
        "addresses.csv",
        m.Location,
        (
            _c("id", "uuid", required=True, attr="address_id"),
            _c("location_id", "ref", required=True, ref="locations.csv", attr="id"),
            _c("address_1", required=True),
            _c("city", required=True),
            _c("state_province", required=True),
            _c("postal_code", required=True),
            _c("country", required=True),
            _c("address_type", "enum", required=True, choices=("physical", "postal", "virtual")),
        ),
    ),
    Table(
        "service_at_location.csv",
        m.ServiceAtLocation,
        (
            ID,
            _c("service_id", "ref", required=True, ref="services.csv"),
            _c("location_id", "ref", required=True, ref="locations.csv"),
            _c("description", **TEXT),
        ),
        entity="service_at_location",
    ),
    Table(
        "contacts.csv",
        m.Contact,
        (
            ID,
            _c("organization_id", "ref", ref="organizations.csv"),
            _c("service_id", "ref", ref="services.csv"),
            _c("location_id", "ref", ref="locations.csv"),
            _c("name"),
            _c("title"),
            _c("department"),
            _c("email"),
        ),
    ),
    Table(
        "phones.csv",
        m.Phone,
        (
            ID,
            _c("organization_id", "ref", ref="organizations.csv"),
            _c("service_id", "ref", ref="services.csv"),
            _c("location_id", "ref", ref="locations.csv"),
            _c("contact_id", "ref", ref="contacts.csv"),
            _c("number", required=True),
            _c("extension"),
            _c("type"),
            _c("description", **TEXT),
        ),
    ),
    Table(
        "schedules.csv",
        m.Schedule,
        (
            ID,
            _c("service_id", "ref", ref="services.csv"),
            _c("location_id", "ref", ref="locations.csv"),
            _c("service_at_location_id", "ref", ref="service_at_location.csv"),
            _c("valid_from", "date"),
            _c("valid_to", "date"),
            _c("dtstart", "date"),
            _c("until", "date"),
            _c("timezone", "number"),
            _c("freq", "enum", choices=tuple(m.Schedule.Freq.values)),
            _c("interval", "integer"),
            _c("byday"),
            _c("bymonthday"),
            _c("opens_at", "time"),
            _c("closes_at", "time"),
            _c("description", **TEXT),
            _c("attending_type"),
            _c("notes"),
        ),
    ),
    Table(
        "service_areas.csv",
        m.ServiceArea,
        (
            ID,
            _c("service_id", "ref", required=True, ref="services.csv"),
            _c("name", **TEXT),
            _c("description", **TEXT),
            _c("extent"),
            _c("extent_type"),
            _c("uri"),
            _c("x_jurisdiction", "xref", ref="jurisdiction", attr="jurisdiction"),
        ),
    ),
    Table(
        "languages.csv",
        m.Language,
        (
            ID,
            _c("service_id", "ref", ref="services.csv"),
            _c("location_id", "ref", ref="locations.csv"),
            _c("phone_id", "ref", ref="phones.csv"),
            _c("name"),
            _c("code"),
            _c("note"),
        ),
    ),
    Table(
        "cost_options.csv",
        m.CostOption,
        (
            ID,
            _c("service_id", "ref", required=True, ref="services.csv"),
            _c("valid_from", "date"),
            _c("valid_to", "date"),
            _c("option", **TEXT),
            _c("currency"),
            _c("amount", "number"),
            _c("amount_description", **TEXT),
        ),
    ),
    Table(
        "required_documents.csv",
        m.RequiredDocument,
        (
            ID,
            _c("service_id", "ref", required=True, ref="services.csv"),
            _c("document", **TEXT),
            _c("uri"),
        ),
    ),
    Table(
        "attributes.csv",
        m.Attribute,
        (
            ID,
            _c("link_id", "uuid", required=True),
            _c("taxonomy_term_id", "ref", required=True, ref="taxonomy_terms.csv"),
            _c("link_type"),
            _c(
                "link_entity",
                "enum",
                required=True,
                choices=("service", "organization", "location", "service_at_location"),
            ),
            _c("value"),
        ),
    ),
    Table(
        "units.csv",
        m.Unit,
        (ID, _c("name", required=True, **TEXT), _c("scheme"), _c("identifier"), _c("uri")),
    ),
    Table(
        "service_capacities.csv",
        m.ServiceCapacity,
        (
            ID,
            _c("service_id", "ref", required=True, ref="services.csv"),
            _c("unit_id", "ref", required=True, ref="units.csv"),
            _c("available", "number", required=True),
            _c("maximum", "number"),
            _c("description", **TEXT),
            _c("updated", "datetime", required=True),
        ),
    ),
)
REQUIRED_FILES = ("organizations.csv", "services.csv")
BY_FILE = {t.file: t for t in TABLES}


# --- Reading values -----------------------------------------------------------------------


def _parse(column: Column, raw: str) -> Any:
    """The value of one cell, or raise ValueError with a message for people."""
    if column.kind in ("str", "xref"):
        return raw
    if column.kind in ("uuid", "ref"):
        try:
            return uuid.UUID(raw)
        except ValueError:
            raise ValueError(_("“%(value)s” is not a UUID.") % {"value": raw}) from None
    if column.kind == "number":
        try:
            value = decimal.Decimal(raw)
        except decimal.InvalidOperation:
            raise ValueError(_("“%(value)s” is not a number.") % {"value": raw}) from None
        if not value.is_finite():
            raise ValueError(_("“%(value)s” is not a number.") % {"value": raw})
        return value
    if column.kind == "integer":
        if not raw.isdigit():
            raise ValueError(_("“%(value)s” is not a whole number.") % {"value": raw})
        return int(raw)
    if column.kind == "date":
        try:
            return datetime.date.fromisoformat(raw)
        except ValueError:
            raise ValueError(
                _("“%(value)s” is not a date (YYYY-MM-DD).") % {"value": raw}
            ) from None
    if column.kind == "time":
        try:
            return datetime.time.fromisoformat(raw.removesuffix("Z")).replace(tzinfo=None)
        except ValueError:
            raise ValueError(_("“%(value)s” is not a time (HH:MM).") % {"value": raw}) from None
    if column.kind == "datetime":
        value = parse_datetime(raw)
        if value is None:
            raise ValueError(_("“%(value)s” is not a date and time.") % {"value": raw})
        if timezone.is_naive(value):
            value = timezone.make_aware(value, datetime.UTC)
        return value
    if column.kind == "enum":
        if raw not in column.choices:
            raise ValueError(
                _("“%(value)s” is not one of: %(choices)s.")
                % {"value": raw, "choices": ", ".join(column.choices)}
            )
        return raw
    raise AssertionError(column.kind)


_REGISTRY: dict[str, Callable[[list[str]], dict[str, Any]]] = {
    "agency": lambda keys: Agency.objects.in_bulk(keys, field_name="key"),
    "service": lambda keys: CatalogueService.objects.in_bulk(keys, field_name="key"),
    "jurisdiction": lambda keys: Jurisdiction.objects.in_bulk(keys, field_name="code"),
    "office": lambda keys: Office.objects.in_bulk(keys, field_name="key"),
}


@dataclass
class _Parsed:
    table: Table
    rows: list[tuple[int, dict[str, Any], dict[str, dict[str, str]]]] = field(default_factory=list)


def _read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        rows = list(reader)
        return list(reader.fieldnames or []), rows


def read_package(folder: Path) -> dict[str, _Parsed]:
    """Every table of the package, parsed and checked; raises PackageRefused with every
    problem found."""
    problems: list[str] = []
    if not folder.is_dir():
        raise PackageRefused([_("%(path)s is not a folder.") % {"path": folder.name}])
    if not (folder / "datapackage.json").is_file():
        problems.append(_("datapackage.json: the package has no descriptor."))
    else:
        try:
            json.loads((folder / "datapackage.json").read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError):
            problems.append(_("datapackage.json: this is not valid JSON."))
    for name in REQUIRED_FILES:
        if not (folder / name).is_file():
            problems.append(_("%(file)s: the package has no such file.") % {"file": name})
    parsed: dict[str, _Parsed] = {}
    xrefs: dict[str, set[str]] = {}
    for table in TABLES:
        path = folder / table.file
        if not path.is_file():
            continue
        try:
            header, rows = _read_csv(path)
        except (UnicodeDecodeError, csv.Error) as error:
            problems.append(
                _("%(file)s: the file cannot be read as CSV in UTF-8 (%(error)s).")
                % {"file": table.file, "error": error}
            )
            continue
        missing = [c.name for c in table.columns if c.required and c.name not in header]
        if missing:
            problems.append(
                _("%(file)s: the columns %(names)s are missing.")
                % {"file": table.file, "names": ", ".join(missing)}
            )
            continue
        result = _Parsed(table)
        for index, row in enumerate(rows, start=2):
            values: dict[str, Any] = {}
            translations: dict[str, dict[str, str]] = {}
            for column in table.columns:
                raw = (row.get(column.name) or "").strip()
                if not raw:
                    if column.required:
                        problems.append(
                            _("%(file)s, row %(row)s, field %(field)s: a value is required.")
                            % {"file": table.file, "row": index, "field": column.name}
                        )
                    continue
                try:
                    values[column.name] = _parse(column, raw)
                except ValueError as error:
                    problems.append(
                        _("%(file)s, row %(row)s, field %(field)s: %(error)s")
                        % {"file": table.file, "row": index, "field": column.name, "error": error}
                    )
                    continue
                if column.kind == "xref":
                    xrefs.setdefault(column.ref, set()).add(raw)
                if column.translated:
                    for language in TRANSLATED_LANGUAGES:
                        text = (row.get(f"{column.name}_{language}") or "").strip()
                        if text:
                            translations.setdefault(language, {})[column.name] = text
            result.rows.append((index, values, translations))
        parsed[table.file] = result
    problems.extend(_check_references(parsed, xrefs))
    if problems:
        raise PackageRefused(problems)
    return parsed


def _check_references(parsed: dict[str, _Parsed], xrefs: dict[str, set[str]]) -> list[str]:
    problems: list[str] = []
    ids: dict[str, set[uuid.UUID]] = {}
    for name, result in parsed.items():
        seen: set[uuid.UUID] = set()
        for index, values, _t in result.rows:
            row_id = values.get("id")
            if row_id is None:
                continue
            if row_id in seen:
                problems.append(
                    _("%(file)s, row %(row)s, field id: the identifier %(id)s appears twice.")
                    % {"file": name, "row": index, "id": row_id}
                )
            seen.add(row_id)
        ids[name] = seen
    found = {kind: _REGISTRY[kind](sorted(keys)) for kind, keys in xrefs.items()}
    for name, result in parsed.items():
        for column in result.table.columns:
            if column.kind not in ("ref", "xref"):
                continue
            known: set = set()
            if column.kind == "ref":
                known = ids.get(column.ref, set())
                wanted = {v[column.name] for _i, v, _t in result.rows if column.name in v}
                known = known | set(
                    BY_FILE[column.ref]
                    .model.objects.filter(pk__in=wanted - known)
                    .values_list("pk", flat=True)
                )
            for index, values, _t in result.rows:
                value = values.get(column.name)
                if value is None:
                    continue
                if column.kind == "ref" and value not in known:
                    problems.append(
                        _(
                            "%(file)s, row %(row)s, field %(field)s: no record %(id)s in "
                            "%(target)s or in the directory."
                        )
                        % {
                            "file": name,
                            "row": index,
                            "field": column.name,
                            "id": value,
                            "target": column.ref,
                        }
                    )
                if column.kind == "xref" and value not in found.get(column.ref, {}):
                    values.pop(column.name)
                    problems.append(
                        _("%(file)s, row %(row)s, field %(field)s: the registry has no “%(key)s”.")
                        % {"file": name, "row": index, "field": column.name, "key": value}
                    )
                elif column.kind == "xref":
                    values[column.name] = found[column.ref][value]
    return problems


# --- Writing ------------------------------------------------------------------------------


def _model_values(table: Table, values: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for column in table.columns:
        if column.kind == "ref":
            out[column.target + ("" if column.attr else "_id")] = values.get(column.name)
        else:
            out[column.target] = values.get(column.name, _blank(table.model, column.target))
    return out


def _blank(model: type[Model], attr: str) -> Any:
    model_field = model._meta.get_field(attr)
    return "" if not model_field.null else None


@dataclass
class LoadReport:
    counts: dict[str, int]


def load_package(folder: Path) -> LoadReport:
    """Load (or update) the directory from a package, all or nothing."""
    parsed = read_package(folder)
    counts: dict[str, int] = {}
    with transaction.atomic():
        for table in TABLES:
            result = parsed.get(table.file)
            if result is None:
                continue
            if table.file == "addresses.csv":
                _load_addresses(result)
            else:
                _upsert(table, result)
            if table.file == "locations.csv":
                _coordinates_from_offices(result)
            counts[table.file] = len(result.rows)
        # The registry's offices the package does not name are placed beside its locations.
        directory.place_offices()
    return LoadReport(counts)


def _coordinates_from_offices(result: _Parsed) -> None:
    """A location that is an office of the registry (`x_office`) and whose row gives no
    coordinates is placed where the registry places the office (its data file's
    `coordinates`): no geocoding service is reachable, and the office is one place whichever
    file describes it. Coordinates the row gives win."""
    ids = [
        values["id"]
        for _index, values, _t in result.rows
        if "x_office" in values and "latitude" not in values and "longitude" not in values
    ]
    located = []
    for location in m.Location.objects.filter(
        pk__in=ids, office__latitude__isnull=False, office__longitude__isnull=False
    ).select_related("office"):
        location.latitude = location.office.latitude
        location.longitude = location.office.longitude
        located.append(location)
    m.Location.objects.bulk_update(located, ["latitude", "longitude"], batch_size=500)


def _upsert(table: Table, result: _Parsed) -> None:
    objects = []
    for _index, values, translations in result.rows:
        data = _model_values(table, values)
        if hasattr(table.model, "translations"):
            data["translations"] = translations
        objects.append(table.model(**data))
    if table.model is m.Service or table.model is m.Organization:
        now = timezone.now()
        for obj in objects:
            if getattr(obj, "last_modified", None) is None:
                obj.last_modified = now
    fields = [
        f.name
        for f in table.model._meta.concrete_fields
        if not f.primary_key and f.name not in _LOCATION_ADDRESS
    ]
    # Parent links to the same table (a term's parent) are set after every row exists.
    self_refs = [
        c.target for c in table.columns if c.kind == "ref" and BY_FILE[c.ref].model is table.model
    ]
    if self_refs:
        for obj in objects:
            for attr in self_refs:
                setattr(obj, f"{attr}_pending", getattr(obj, f"{attr}_id"))
                setattr(obj, f"{attr}_id", None)
    table.model.objects.bulk_create(
        objects, update_conflicts=True, unique_fields=["id"], update_fields=fields, batch_size=500
    )
    for attr in self_refs:
        for obj in objects:
            pending = getattr(obj, f"{attr}_pending")
            if pending:
                table.model.objects.filter(pk=obj.pk).update(**{f"{attr}_id": pending})


_LOCATION_ADDRESS = ("address_id", "address_1", "city", "state_province", "postal_code", "country")


def _load_addresses(result: _Parsed) -> None:
    for _index, values, _t in result.rows:
        m.Location.objects.filter(pk=values["location_id"]).update(
            address_id=values["id"],
            address_1=values["address_1"],
            city=values["city"],
            state_province=values["state_province"],
            postal_code=values["postal_code"],
            country=values["country"],
        )


# --- Export -------------------------------------------------------------------------------


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        return value.astimezone(datetime.UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, datetime.time):
        return value.strftime("%H:%M")
    if isinstance(value, Model):
        return getattr(value, "key", None) or getattr(value, "code", None) or str(value.pk)
    return str(value)


def _export_rows(table: Table) -> tuple[list[str], list[list[str]]]:
    header = [c.name for c in table.columns]
    translated = [c for c in table.columns if c.translated]
    header += [f"{c.name}_{lang}" for lang in TRANSLATED_LANGUAGES for c in translated]
    queryset = table.model.objects.all().order_by("pk")
    if table.file == "addresses.csv":
        queryset = queryset.exclude(address_id__isnull=True)
    related = [c.target for c in table.columns if c.kind == "xref"]
    if related:
        queryset = queryset.select_related(*related)
    rows = []
    for obj in queryset:
        row = []
        for column in table.columns:
            if table.file == "addresses.csv" and column.name == "address_type":
                row.append("physical")
            elif column.kind == "ref":
                row.append(_cell(getattr(obj, column.target + ("" if column.attr else "_id"))))
            else:
                row.append(_cell(getattr(obj, column.target)))
        for lang in TRANSLATED_LANGUAGES:
            texts = (getattr(obj, "translations", None) or {}).get(lang, {})
            row.extend(texts.get(c.name, "") for c in translated)
        rows.append(row)
    return header, rows


def export_package(folder: Path, *, nested: Callable[[], list[dict]] | None = None) -> dict:
    """Write the directory as a package in `folder` (created if needed); answers the counts.
    With `nested`, also writes `services.json`: the fully nested services it answers."""
    folder.mkdir(parents=True, exist_ok=True)
    resources = []
    counts = {}
    for table in TABLES:
        header, rows = _export_rows(table)
        with (folder / table.file).open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows(rows)
        counts[table.file] = len(rows)
        resources.append(
            {
                "name": table.file.removesuffix(".csv"),
                "path": table.file,
                "format": "csv",
                "mediatype": "text/csv",
                "profile": "tabular-data-resource",
            }
        )
    descriptor = {
        "name": "joinedup-directory",
        "title": "Joinedup service directory",
        "profile": "tabular-data-package",
        "description": "Human services directory in Open Referral HSDS 3.",
        "created": timezone.now().isoformat(),
        "resources": resources,
    }
    (folder / "datapackage.json").write_text(
        json.dumps(descriptor, indent=2, ensure_ascii=False), encoding="utf-8"
    )
    if nested is not None:
        (folder / "services.json").write_text(
            json.dumps(nested(), indent=1, ensure_ascii=False), encoding="utf-8"
        )
    return counts
