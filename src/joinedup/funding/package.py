"""Funding as a Fiscal Data Package: a folder of CSV files described by `datapackage.json`
(a Frictionless tabular data package whose fields carry Fiscal Data Package column types).

    results.csv             a program's logic model, one result per row
    indicators.csv          indicators of the results
    indicator-values.csv    reported values per period
    pools.csv               pooled funds
    allocations.csv         appropriations and allocations, funder → recipient
    expenditures.csv        recipients' spending per month, category and phase
    outcome-agreements.csv  payment by results

Loading is all or nothing: every file, row and rule is checked, every problem is reported
with its file, row and column, and nothing is written unless there is none. Rows are
matched by key, so loading the same package twice changes nothing. Exporting writes the
same files, so an export loads back as it was.
"""

from __future__ import annotations

import csv
import datetime
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext

from joinedup.federation.models import Agency, Jurisdiction, Program

from . import expenditures, fiscal, flows, indicators
from .models import (
    Allocation,
    Expenditure,
    Indicator,
    IndicatorValue,
    OutcomeAgreement,
    Pool,
    Result,
)

PROFILE = "fiscal-data-package"

# (name, Frictionless type, Fiscal Data Package column type or "", required)
Column = tuple[str, str, str, bool]
NAMES: list[Column] = [("name_en", "string", "", False), ("name_fr", "string", "", False)]
RESOURCES: dict[str, list[Column]] = {
    "results": [
        ("key", "string", "", True),
        ("program", "string", "activity:generic:program:code", True),
        ("level", "string", "", True),
        ("position", "integer", "", False),
        ("leads_to", "string", "", False),
        *NAMES,
    ],
    "indicators": [
        ("key", "string", "", True),
        ("result", "string", "", True),
        ("unit", "string", "", True),
        ("direction", "string", "", True),
        ("target_type", "string", "", True),
        ("target_min", "number", "", False),
        ("target_max", "number", "", False),
        ("baseline", "number", "", False),
        ("frequency", "string", "", True),
        ("data_owner", "string", "administrative-classification:generic:level1:code", True),
        ("source", "string", "", True),
        ("bound_measure", "string", "", False),
        ("bound_service", "string", "", False),
        ("bound_jurisdiction", "string", "", False),
        ("counts_outcomes", "boolean", "", False),
        *NAMES,
        ("methodology_en", "string", "", False),
        ("methodology_fr", "string", "", False),
    ],
    "indicator-values": [
        ("indicator", "string", "", True),
        ("period_start", "date", "date:generic", True),
        ("period_end", "date", "date:generic", True),
        ("value", "number", "", False),
        ("note", "string", "", False),
    ],
    "pools": [
        ("key", "string", "", True),
        ("manager", "string", "administrative-classification:generic:level1:code", True),
        ("place", "string", "geo:generic", False),
        *NAMES,
    ],
    "allocations": [
        ("key", "string", "", True),
        ("kind", "string", "", True),
        ("funder", "string", "administrative-classification:generic:level1:code", True),
        ("recipient", "string", "administrative-classification:generic:level2:code", True),
        ("program", "string", "activity:generic:program:code", True),
        ("fiscal_year", "integer", "date:fiscal-year", True),
        ("calendar", "string", "geo:generic", True),
        ("currency", "string", "", True),
        ("amount", "number", "value", True),
        ("instrument", "string", "economic-classification:generic:level1:code", True),
        ("condition", "string", "", True),
        ("source", "string", "", False),
        ("into_pool", "string", "", False),
        ("from_pool", "string", "", False),
        ("place", "string", "geo:generic", False),
        ("published", "boolean", "", False),
    ],
    "expenditures": [
        ("allocation", "string", "", True),
        ("period", "yearmonth", "date:generic", True),
        ("category", "string", "economic-classification:generic:level2:code", True),
        ("phase", "string", "phase:id", True),
        ("amount", "number", "value", True),
        ("ftes", "number", "", False),
    ],
    "outcome-agreements": [
        ("key", "string", "", True),
        ("allocation", "string", "", True),
        ("indicator", "string", "", True),
        ("rate_per_outcome", "number", "value", True),
        ("floor", "number", "value", False),
        ("cap", "number", "value", False),
        ("bonus_share", "number", "", False),
        *NAMES,
    ],
}


class PackageRefused(ValueError):
    """The package was refused whole; `problems` lists every reason, for people."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass
class Loaded:
    counts: dict[str, int] = field(default_factory=dict)


def _parse(kind: str, text: str) -> Any:
    if kind == "integer":
        return int(text)
    if kind == "number":
        value = Decimal(text)
        if not value.is_finite():
            raise InvalidOperation
        return value
    if kind == "date":
        return datetime.date.fromisoformat(text)
    if kind == "yearmonth":
        return datetime.date.fromisoformat(text + "-01")
    if kind == "boolean":
        if text.lower() not in {"true", "false"}:
            raise ValueError
        return text.lower() == "true"
    return text


KIND_WORDS = {
    "integer": "a whole number",
    "number": "a number",
    "date": "a date (YYYY-MM-DD)",
    "yearmonth": "a month (YYYY-MM)",
    "boolean": "true or false",
}


class Reader:
    """Reads and types the package's files, collecting every problem with where it is."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.problems: list[str] = []

    def problem(self, where: str, message: str) -> None:
        self.problems.append(f"{where}: {message}")

    def descriptor(self) -> dict[str, Any] | None:
        path = self.folder / "datapackage.json"
        if not path.is_file():
            self.problem(str(path), _("there is no datapackage.json in the folder."))
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as error:
            self.problem("datapackage.json", _("not valid JSON (%(error)s).") % {"error": error})
            return None
        if not isinstance(data, dict) or not isinstance(data.get("resources"), list):
            self.problem("datapackage.json", _("it must be an object with a list of resources."))
            return None
        return data

    def rows(self, resource: dict[str, Any]) -> list[tuple[int, dict[str, Any]]]:
        name = resource.get("name")
        columns = RESOURCES.get(name)
        if columns is None:
            known = ", ".join(RESOURCES)
            self.problem(
                "datapackage.json",
                _("unknown resource “%(name)s”; known: %(known)s.")
                % {"name": name, "known": known},
            )
            return []
        path = self.folder / str(resource.get("path") or f"{name}.csv")
        where = path.name
        if not path.is_file() or path.resolve().parent != self.folder.resolve():
            self.problem(where, _("the file is missing from the package folder."))
            return []
        try:
            with path.open(newline="", encoding="utf-8") as handle:
                table = list(csv.reader(handle))
        except (UnicodeDecodeError, csv.Error) as error:
            self.problem(where, _("not a UTF-8 CSV file (%(error)s).") % {"error": error})
            return []
        if not table:
            self.problem(where, _("the file is empty; it needs at least its header row."))
            return []
        header, expected = table[0], [c[0] for c in columns]
        missing = [c[0] for c in columns if c[3] and c[0] not in header]
        unknown = [h for h in header if h not in expected]
        if missing or unknown:
            if missing:
                self.problem(
                    where,
                    _("the header lacks the column(s) %(columns)s.")
                    % {"columns": ", ".join(missing)},
                )
            if unknown:
                self.problem(
                    where,
                    _("unknown column(s) %(columns)s; the columns are %(known)s.")
                    % {"columns": ", ".join(unknown), "known": ", ".join(expected)},
                )
            return []
        typed: list[tuple[int, dict[str, Any]]] = []
        kinds = {c[0]: c for c in columns}
        for number, cells in enumerate(table[1:], start=2):
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) != len(header):
                self.problem(
                    f"{where}, row {number}",
                    _("%(found)s cells where the header has %(expected)s.")
                    % {"found": len(cells), "expected": len(header)},
                )
                continue
            row: dict[str, Any] = {}
            for column, cell in zip(header, cells, strict=True):
                _name, kind, _fdp, required = kinds[column]
                cell = cell.strip()
                if not cell:
                    if required:
                        self.problem(f"{where}, row {number}, {column}", _("a value is required."))
                    row[column] = None
                    continue
                try:
                    row[column] = _parse(kind, cell)
                except (ValueError, InvalidOperation):
                    self.problem(
                        f"{where}, row {number}, {column}",
                        _("“%(cell)s” is not %(kind)s.") % {"cell": cell, "kind": KIND_WORDS[kind]},
                    )
            typed.append((number, row))
        return typed


def _unchanged(record: Any) -> bool:
    """Whether a record read from the package is the same as the one stored."""
    stored = type(record).objects.filter(pk=record.pk).first()
    if stored is None:
        return False
    fields = [f.attname for f in record._meta.concrete_fields]
    return all(getattr(stored, name) == getattr(record, name) for name in fields)


def _names(row: dict[str, Any], prefix: str = "name") -> dict[str, str]:
    return {lang: row[f"{prefix}_{lang}"] for lang in ("en", "fr") if row.get(f"{prefix}_{lang}")}


class Loader:
    """Writes the typed rows through the app's rules; every refusal becomes a problem."""

    def __init__(self, reader: Reader, reason: str):
        self.reader = reader
        self.reason = reason
        self.counts: dict[str, int] = {}
        self.agencies = {a.key: a for a in Agency.objects.all()}
        self.programs = {p.key: p for p in Program.objects.all()}
        self.places = {j.code: j for j in Jurisdiction.objects.all()}

    def find(self, table: dict, key: Any, where: str, what: str) -> Any:
        if key is None:
            return None
        found = table.get(key)
        if found is None:
            self.reader.problem(
                where, _("no %(what)s “%(key)s” is known.") % {"what": what, "key": key}
            )
        return found

    def save(
        self, record: Any, where: str, name: str, writer: Callable[[], Any] | None = None
    ) -> bool:
        if record is not None and record.pk and _unchanged(record):
            return True
        try:
            if writer is not None:
                writer()
            else:
                record.full_clean()
                record.save()
        except flows.FundingRefused as error:
            self.reader.problem(where, str(error))
            return False
        except ValidationError as error:
            for field_name, messages in error.message_dict.items():
                self.reader.problem(f"{where}, {field_name}", " ".join(messages))
            return False
        self.counts[name] = self.counts.get(name, 0) + 1
        return True

    def results(self, rows) -> None:
        links = []
        for number, row in rows:
            where = f"results.csv, row {number}"
            program = self.find(self.programs, row["program"], where, _("program"))
            if program is None:
                continue
            result = Result.objects.filter(key=row["key"]).first() or Result(key=row["key"])
            result.program, result.level = program, row["level"]
            result.position = row.get("position") or 0
            result.names = _names(row)
            if self.save(result, where, "results") and row.get("leads_to"):
                links.append((where, result, row["leads_to"].split(";")))
        for where, result, keys in links:
            targets = list(Result.objects.filter(key__in=[k.strip() for k in keys]))
            if len(targets) != len(keys):
                self.reader.problem(where, _("leads_to names a result that is not in the package."))
            result.leads_to.set(targets)

    def indicators(self, rows) -> None:
        results = {r.key: r for r in Result.objects.all()}
        for number, row in rows:
            where = f"indicators.csv, row {number}"
            result = self.find(results, row["result"], where, _("result"))
            owner = self.find(self.agencies, row["data_owner"], where, _("agency"))
            if result is None or owner is None:
                continue
            item = Indicator.objects.filter(key=row["key"]).first() or Indicator(key=row["key"])
            for name in ("unit", "direction", "target_type", "frequency", "source"):
                setattr(item, name, row[name])
            for name in ("target_min", "target_max", "baseline"):
                setattr(item, name, row.get(name))
            for name in ("bound_measure", "bound_service", "bound_jurisdiction"):
                setattr(item, name, row.get(name) or "")
            item.result, item.data_owner = result, owner
            item.is_outcome_count = bool(row.get("counts_outcomes"))
            item.names, item.methodology = _names(row), _names(row, "methodology")
            if item.source == Indicator.Source.PLATFORM and not item.bound_measure:
                self.reader.problem(where, _("a platform indicator names its bound_measure."))
                continue
            self.save(item, where, "indicators")

    def values(self, rows) -> None:
        known = {i.key: i for i in Indicator.objects.all()}
        for number, row in rows:
            where = f"indicator-values.csv, row {number}"
            indicator = self.find(known, row["indicator"], where, _("indicator"))
            if indicator is None:
                continue
            current = IndicatorValue.objects.filter(
                indicator=indicator, period_start=row["period_start"], current=True
            ).first()
            if current is not None and current.value == row.get("value"):
                continue
            self.save(
                None,
                where,
                "indicator values",
                lambda i=indicator, r=row: indicators.report_value(
                    i,
                    period_start=r["period_start"],
                    period_end=r["period_end"],
                    value=r.get("value"),
                    note=r.get("note") or "",
                    user_id=None,
                    agency=i.data_owner.key,
                    reason=self.reason,
                ),
            )

    def pools(self, rows) -> None:
        for number, row in rows:
            where = f"pools.csv, row {number}"
            manager = self.find(self.agencies, row["manager"], where, _("agency"))
            place = self.find(
                self.places, row.get("place"), where, pgettext("funding", "jurisdiction")
            )
            if manager is None:
                continue
            pool = Pool.objects.filter(key=row["key"]).first() or Pool(key=row["key"])
            pool.manager, pool.place, pool.names = manager, place, _names(row)
            self.save(pool, where, "pools")

    def allocations(self, rows) -> None:
        pools = {p.key: p for p in Pool.objects.all()}
        pending = list(rows)
        keys_here = {row["key"] for _n, row in pending}
        # Sources first: an allocation waits until the one it passes on is saved.
        while pending:
            ready = [
                (n, r)
                for n, r in pending
                if not r.get("source")
                or r["source"] not in keys_here
                or Allocation.objects.filter(key=r["source"]).exists()
            ]
            if not ready:
                for number, row in pending:
                    self.reader.problem(
                        f"allocations.csv, row {number}, source",
                        _("“%(source)s” was not loaded (a cycle or an error above).")
                        % {"source": row["source"]},
                    )
                return
            for number, row in ready:
                self.allocation(number, row, pools)
            pending = [item for item in pending if item not in ready]

    def allocation(self, number: int, row: dict[str, Any], pools: dict[str, Pool]) -> None:
        where = f"allocations.csv, row {number}"
        funder = self.find(self.agencies, row["funder"], where, _("agency"))
        recipient = self.find(self.agencies, row["recipient"], where, _("agency"))
        program = self.find(self.programs, row["program"], where, _("program"))
        calendar = self.find(
            self.places, row["calendar"], where, pgettext("funding", "jurisdiction")
        )
        place = self.find(self.places, row.get("place"), where, pgettext("funding", "jurisdiction"))
        into_pool = self.find(pools, row.get("into_pool"), where, _("pool"))
        from_pool = self.find(pools, row.get("from_pool"), where, _("pool"))
        source = None
        if row.get("source"):
            source = Allocation.objects.filter(key=row["source"]).first()
            if source is None:
                self.reader.problem(
                    f"{where}, source",
                    _("no allocation “%(key)s” is known.") % {"key": row["source"]},
                )
                return
        if None in (funder, recipient, program, calendar):
            return
        try:
            amount = fiscal.to_money(row["amount"])
        except fiscal.MoneyError as error:
            self.reader.problem(f"{where}, amount", str(error))
            return
        item = Allocation.objects.filter(key=row["key"]).first() or Allocation(key=row["key"])
        if item.pk and item.amount == amount and item.source_id == (source.pk if source else None):
            return
        item.kind, item.funder, item.recipient, item.program = (
            row["kind"],
            funder,
            recipient,
            program,
        )
        item.fiscal_year, item.calendar, item.currency = (
            row["fiscal_year"],
            calendar,
            row["currency"],
        )
        item.amount, item.instrument, item.condition = amount, row["instrument"], row["condition"]
        item.source, item.into_pool, item.from_pool, item.place = (
            source,
            into_pool,
            from_pool,
            place,
        )
        item.published = row.get("published") is not False
        self.save(
            None,
            where,
            "allocations",
            lambda: flows.save_allocation(
                item, user_id=None, agency=funder.key, reason=self.reason
            ),
        )

    def expenditures(self, rows) -> None:
        known = {a.key: a for a in Allocation.objects.select_related("calendar")}
        for number, row in rows:
            where = f"expenditures.csv, row {number}"
            allocation = self.find(known, row["allocation"], where, _("allocation"))
            if allocation is None:
                continue
            same = Expenditure.objects.filter(
                allocation=allocation,
                period=row["period"],
                category=row["category"],
                phase=row["phase"],
                amount=row["amount"],
                ftes=row.get("ftes") or Decimal("0"),
            )
            if same.exists():
                continue
            self.save(
                None,
                where,
                "expenditures",
                lambda a=allocation, r=row: expenditures.report_expenditure(
                    a,
                    period=r["period"],
                    category=r["category"],
                    phase=r["phase"],
                    amount=r["amount"],
                    ftes=r.get("ftes") or "0",
                    user_id=None,
                    agency=a.recipient.key,
                    reason=self.reason,
                ),
            )

    def agreements(self, rows) -> None:
        allocations = {a.key: a for a in Allocation.objects.all()}
        known = {i.key: i for i in Indicator.objects.all()}
        for number, row in rows:
            where = f"outcome-agreements.csv, row {number}"
            allocation = self.find(allocations, row["allocation"], where, _("allocation"))
            indicator = self.find(known, row["indicator"], where, _("indicator"))
            if allocation is None or indicator is None:
                continue
            item = OutcomeAgreement.objects.filter(key=row["key"]).first() or OutcomeAgreement(
                key=row["key"]
            )
            item.allocation, item.indicator, item.names = allocation, indicator, _names(row)
            item.rate_per_outcome = row["rate_per_outcome"]
            item.floor = row.get("floor") or Decimal("0")
            item.cap = row.get("cap")
            item.bonus_share = row.get("bonus_share") or Decimal("0")
            self.save(item, where, "outcome agreements")


ORDER = (
    "results",
    "indicators",
    "indicator-values",
    "pools",
    "allocations",
    "expenditures",
    "outcome-agreements",
)


#: What a count of loaded rows is, in the reader's language (the keys are the loader's).
COUNT_WORDS = {
    "results": lambda n: ngettext("%(n)s result", "%(n)s results", n),
    "indicators": lambda n: ngettext("%(n)s indicator", "%(n)s indicators", n),
    "indicator values": lambda n: ngettext("%(n)s indicator value", "%(n)s indicator values", n),
    "pools": lambda n: ngettext("%(n)s pooled fund", "%(n)s pooled funds", n),
    "allocations": lambda n: ngettext("%(n)s allocation", "%(n)s allocations", n),
    "expenditures": lambda n: ngettext("%(n)s expenditure line", "%(n)s expenditure lines", n),
    "outcome agreements": lambda n: ngettext(
        "%(n)s outcome-based agreement", "%(n)s outcome-based agreements", n
    ),
}


def describe_counts(counts: dict[str, int]) -> str:
    """'12 allocations, 40 expenditure lines' in the reader's language; empty when none."""
    return ", ".join(
        COUNT_WORDS[kind](n) % {"n": n} if kind in COUNT_WORDS else f"{n} {kind}"
        for kind, n in counts.items()
    )


def load_package(folder: Path) -> Loaded:
    """Load a funding package, all or nothing; raises PackageRefused with every problem."""
    reader = Reader(Path(folder))
    descriptor = reader.descriptor()
    if descriptor is None:
        raise PackageRefused(reader.problems)
    typed: dict[str, list] = {}
    for resource in descriptor["resources"]:
        if not isinstance(resource, dict):
            reader.problem("datapackage.json", _("each resource is an object."))
            continue
        typed[resource.get("name")] = reader.rows(resource)
    if reader.problems:
        raise PackageRefused(reader.problems)
    name = str(descriptor.get("name") or Path(folder).name)
    loader = Loader(reader, _("Loaded from the package %(name)s.") % {"name": name})
    steps = {
        "results": loader.results,
        "indicators": loader.indicators,
        "indicator-values": loader.values,
        "pools": loader.pools,
        "allocations": loader.allocations,
        "expenditures": loader.expenditures,
        "outcome-agreements": loader.agreements,
    }
    with transaction.atomic():
        for resource in ORDER:
            if resource in typed:
                steps[resource](typed[resource])
        if reader.problems:
            transaction.set_rollback(True)
    if reader.problems:
        raise PackageRefused(reader.problems)
    return Loaded(loader.counts)


# --- Export ----------------------------------------------------------------------------------


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def export_rows(*, published_only: bool = False) -> dict[str, list[dict[str, Any]]]:
    """Every funding record as the package's rows (published allocations only, if asked)."""
    allocations = Allocation.objects.select_related(
        "funder", "recipient", "program", "calendar", "source", "into_pool", "from_pool", "place"
    )
    if published_only:
        allocations = allocations.filter(published=True)
    chosen = list(allocations.order_by("fiscal_year", "pk"))
    chosen_pks = {a.pk for a in chosen}
    tables: dict[str, list[dict[str, Any]]] = {
        "results": [
            {
                "key": r.key,
                "program": r.program.key,
                "level": r.level,
                "position": r.position,
                "leads_to": ";".join(sorted(t.key for t in r.leads_to.all())),
                "name_en": r.names.get("en", ""),
                "name_fr": r.names.get("fr", ""),
            }
            for r in Result.objects.select_related("program").prefetch_related("leads_to")
        ],
        "indicators": [
            {
                "key": i.key,
                "result": i.result.key,
                "unit": i.unit,
                "direction": i.direction,
                "target_type": i.target_type,
                "target_min": i.target_min,
                "target_max": i.target_max,
                "baseline": i.baseline,
                "frequency": i.frequency,
                "data_owner": i.data_owner.key,
                "source": i.source,
                "bound_measure": i.bound_measure,
                "bound_service": i.bound_service,
                "bound_jurisdiction": i.bound_jurisdiction,
                "counts_outcomes": i.is_outcome_count,
                "name_en": i.names.get("en", ""),
                "name_fr": i.names.get("fr", ""),
                "methodology_en": i.methodology.get("en", ""),
                "methodology_fr": i.methodology.get("fr", ""),
            }
            for i in Indicator.objects.select_related("result", "data_owner")
        ],
        "indicator-values": [
            {
                "indicator": v.indicator.key,
                "period_start": v.period_start,
                "period_end": v.period_end,
                "value": v.value,
                "note": v.note,
            }
            for v in IndicatorValue.objects.filter(current=True).select_related("indicator")
        ],
        "pools": [
            {
                "key": p.key,
                "manager": p.manager.key,
                "place": p.place.code if p.place else "",
                "name_en": p.names.get("en", ""),
                "name_fr": p.names.get("fr", ""),
            }
            for p in Pool.objects.select_related("manager", "place")
        ],
        "allocations": [
            {
                "key": a.key,
                "kind": a.kind,
                "funder": a.funder.key,
                "recipient": a.recipient.key,
                "program": a.program.key,
                "fiscal_year": a.fiscal_year,
                "calendar": a.calendar.code,
                "currency": a.currency,
                "amount": a.amount,
                "instrument": a.instrument,
                "condition": a.condition,
                "source": a.source.key if a.source_id in chosen_pks else "",
                "into_pool": a.into_pool.key if a.into_pool else "",
                "from_pool": a.from_pool.key if a.from_pool else "",
                "place": a.place.code if a.place else "",
                "published": a.published,
            }
            for a in chosen
        ],
        "expenditures": [
            {
                "allocation": e.allocation.key,
                "period": e.period.strftime("%Y-%m"),
                "category": e.category,
                "phase": e.phase,
                "amount": e.amount,
                "ftes": e.ftes,
            }
            for e in Expenditure.objects.filter(allocation__in=chosen_pks)
            .select_related("allocation")
            .order_by("allocation__fiscal_year", "allocation__pk", "period", "category", "phase")
        ],
        "outcome-agreements": [
            {
                "key": o.key,
                "allocation": o.allocation.key,
                "indicator": o.indicator.key,
                "rate_per_outcome": o.rate_per_outcome,
                "floor": o.floor,
                "cap": o.cap,
                "bonus_share": o.bonus_share,
                "name_en": o.names.get("en", ""),
                "name_fr": o.names.get("fr", ""),
            }
            for o in OutcomeAgreement.objects.filter(allocation__in=chosen_pks).select_related(
                "allocation", "indicator"
            )
        ],
    }
    return tables


def descriptor(name: str, title: str) -> dict[str, Any]:
    """The datapackage.json of a funding package."""
    resources = []
    for resource, columns in RESOURCES.items():
        fields = []
        for column, kind, fdp, required in columns:
            item: dict[str, Any] = {"name": column, "type": kind}
            if fdp:
                item["columnType"] = fdp
            if required:
                item["constraints"] = {"required": True}
            fields.append(item)
        resources.append(
            {
                "name": resource,
                "path": f"{resource}.csv",
                "profile": "tabular-data-resource",
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8",
                "schema": {"fields": fields, "missingValues": [""]},
            }
        )
    return {
        "profile": PROFILE,
        "name": name,
        "title": title,
        "created": timezone.now().isoformat(timespec="seconds"),
        "licenses": [
            {
                "name": "CC-BY-4.0",
                "title": "Creative Commons Attribution 4.0",
                "path": "https://creativecommons.org/licenses/by/4.0/",
            }
        ],
        "resources": resources,
    }


def export_package(folder: Path, *, published_only: bool = False) -> dict[str, int]:
    """Write the package into `folder`; returns the rows written per file."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    counts = {}
    for resource, rows in export_rows(published_only=published_only).items():
        columns = [c[0] for c in RESOURCES[resource]]
        with (folder / f"{resource}.csv").open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(columns)
            for row in rows:
                writer.writerow([_text(row[c]) for c in columns])
        counts[resource] = len(rows)
    meta = descriptor(
        "joinedup-funding" + ("-published" if published_only else ""),
        "Funding and results: allocations, expenditures, indicators",
    )
    (folder / "datapackage.json").write_text(
        json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return counts


def export_open_data(folder: Path, period: object) -> int:
    """What `export-open-data` publishes of funding: the published package (every fiscal
    year; the period of the performance measures does not narrow it)."""
    return sum(export_package(folder, published_only=True).values())
