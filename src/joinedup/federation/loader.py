"""Loading a federation from data files that a government can author and review.

A federation is one or more YAML or JSON files (a folder of them, read in name order), each
checked against the published schema (`schema/federation.schema.json`). References between
records use codes and keys, across files and to records already loaded, so a city can
publish its own file that extends a national one.

Loading is all or nothing: every problem in every file is collected and reported with the
file, the line and the path of the value, and then nothing at all is written. Loading is
additive and repeatable: records are created or updated by their code or key, never deleted.
"""

import datetime
import hashlib
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema
import jsonschema.protocols
import yaml
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from .localization import gap_message, language_gaps
from .models import (
    Agency,
    Agreement,
    AgreementParty,
    FederationLoad,
    Jurisdiction,
    LifeSituation,
    Offering,
    Office,
    PartnerRole,
    Program,
    Service,
)

SCHEMA_PATH = Path(__file__).parent / "schema" / "federation.schema.json"
SUFFIXES = {".yaml", ".yml", ".json"}
Path_ = tuple[str | int, ...]

# Where a model field's value sits in a data file, when the file nests or renames it.
FIELD_PATHS: dict[str, Path_] = {
    "holiday_country": ("holidays", "country"),
    "holiday_subdivision": ("holidays", "subdivision"),
    "street_address": ("address", "street"),
    "locality": ("address", "locality"),
    "region": ("address", "region"),
    "postal_code": ("address", "postal_code"),
    "country": ("address", "country"),
    "latitude": ("coordinates", "lat"),
    "longitude": ("coordinates", "lon"),
    "standard_days": ("standard", "days"),
    "standard_day_kind": ("standard", "count"),
    "standard_target": ("standard", "target"),
    "fee_amount": ("fee", "amount"),
    "fee_currency": ("fee", "currency"),
    "required_assurance": ("assurance",),
    "start_date": ("start",),
    "end_date": ("end",),
    "terminated_on": ("terminated",),
}


class _Yaml12Loader(yaml.SafeLoader):
    """YAML with YAML 1.2 booleans: only true and false are booleans.

    YAML 1.1 reads `ON`, `no`, `yes` and `off` as booleans, which turns Ontario's code into
    True; a data file about provinces must not depend on quoting it.
    """


_Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a data file, located as precisely as the file allows."""

    file: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.path or '(top)'}: {self.message}"


class FederationRejected(Exception):
    """The files were rejected whole; `problems` says why."""

    def __init__(self, problems: list[Problem]):
        super().__init__(
            _("The federation files were rejected (%(count)d problems); nothing was loaded.")
            % {"count": len(problems)}
        )
        self.problems = problems


@dataclass
class LoadResult:
    name: str
    files: list[str]
    checksum: str
    illustrative: bool
    counts: dict[str, int] = field(default_factory=dict)


@dataclass
class _Document:
    file: str
    data: dict[str, Any]
    lines: dict[Path_, int]

    def line(self, path: Path_) -> int | None:
        # The nearest enclosing value that has a known line.
        for cut in range(len(path), -1, -1):
            if path[:cut] in self.lines:
                return self.lines[path[:cut]]
        return None


def _node_lines(node: yaml.Node, path: Path_, lines: dict[Path_, int]) -> None:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            _node_lines(value_node, (*path, key_node.value), lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _node_lines(item, (*path, index), lines)


def _plain(value: Any) -> Any:
    """YAML dates become ISO strings so that files in YAML and JSON validate alike."""
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _read(path: Path, display: str) -> tuple[_Document | None, list[Problem]]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        return None, [Problem(display, None, "", _("cannot be read: %(e)s") % {"e": error})]
    try:
        # JSON is read by the YAML parser too, so both kinds of file get line numbers.
        loader = _Yaml12Loader(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as error:
        line = error.problem_mark.line + 1 if error.problem_mark else None
        return None, [
            Problem(display, line, "", _("is not valid YAML or JSON: %(e)s") % {"e": error.problem})
        ]
    except yaml.YAMLError as error:
        return None, [
            Problem(display, None, "", _("is not valid YAML or JSON: %(e)s") % {"e": error})
        ]
    if not isinstance(data, dict):
        return None, [
            Problem(
                display,
                1,
                "",
                _("must contain a mapping of sections (jurisdictions, agencies, services, …)."),
            )
        ]
    lines: dict[Path_, int] = {}
    _node_lines(node, (), lines)
    return _Document(display, _plain(data), lines), []


def _format_path(path: Iterable[str | int]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _schema_problems(
    document: _Document, validator: jsonschema.protocols.Validator
) -> list[Problem]:
    problems = []
    for error in sorted(validator.iter_errors(document.data), key=lambda e: list(e.path)):
        path = tuple(error.absolute_path)
        problems.append(
            Problem(document.file, document.line(path), _format_path(path), error.message)
        )
    return problems


def schema_text_keys(schema: dict[str, Any]) -> frozenset[str]:
    """The names of the properties a schema declares as text per language (`$defs/texts`)."""
    keys: set[str] = set()

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            for name, sub in (node.get("properties") or {}).items():
                if isinstance(sub, dict) and str(sub.get("$ref", "")).endswith("/texts"):
                    keys.add(name)
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    visit(schema)
    return frozenset(keys)


def _language_problems(document: _Document, text_keys: frozenset[str]) -> list[Problem]:
    """A data file is refused when a text people see lacks a language of the interface."""
    return [
        Problem(document.file, document.line(path), _format_path(path), gap_message(missing))
        for path, missing in language_gaps(document.data, text_keys)
    ]


def discover(paths: Iterable[str | Path]) -> list[Path]:
    """The data files named, with folders expanded to their files in name order."""
    found: list[Path] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.suffix in SUFFIXES))
        else:
            found.append(path)
    return found


class _Loader:
    """Writes the validated documents in dependency order, collecting every problem."""

    def __init__(self, documents: list[_Document]):
        self.documents = documents
        self.problems: list[Problem] = []
        self.counts: dict[str, int] = {}

    def problem(self, document: _Document, path: Path_, message: str) -> None:
        self.problems.append(
            Problem(document.file, document.line(path), _format_path(path), str(message))
        )

    def items(self, section: str) -> Iterator[tuple[_Document, Path_, dict[str, Any]]]:
        for document in self.documents:
            for index, item in enumerate(document.data.get(section, [])):
                yield document, (section, index), item

    def count(self, kind: str) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + 1

    def lookup(self, model, field_name, value, document, path, what):
        found = model.objects.filter(**{field_name: value}).first()
        if found is None:
            self.problem(
                document,
                path,
                _("refers to %(what)s “%(value)s”, which is not defined here or already loaded.")
                % {"what": what, "value": value},
            )
        return found

    def save(self, instance, document: _Document, path: Path_, exclude=()) -> bool:
        """Validate with the model's own rules, reporting at the place in the file."""
        try:
            instance.full_clean(exclude=list(exclude), validate_unique=False)
        except ValidationError as error:
            for name, messages in error.message_dict.items():
                in_file = FIELD_PATHS.get(name, (name,))
                location = path if name == "__all__" else (*path, *in_file)
                for message in messages:
                    self.problem(document, location, message)
            return False
        instance.save()
        return True

    def check_unique(self, section: str, key_field: str) -> None:
        seen: dict[str, tuple[_Document, Path_]] = {}
        for document, path, item in self.items(section):
            key = item[key_field]
            if key in seen:
                first_doc, first_path = seen[key]
                self.problem(
                    document,
                    (*path, key_field),
                    _("“%(key)s” is defined twice; first at %(where)s.")
                    % {
                        "key": key,
                        "where": f"{first_doc.file}:{first_doc.line(first_path)}",
                    },
                )
            else:
                seen[key] = (document, path)

    def run(self) -> None:
        for section, key_field in (
            ("jurisdictions", "code"),
            ("agencies", "key"),
            ("programs", "key"),
            ("life_situations", "key"),
            ("services", "key"),
            ("agreements", "key"),
        ):
            self.check_unique(section, key_field)
        self.load_jurisdictions()
        self.load_agencies()
        self.load_programs()
        self.load_life_situations()
        self.load_services()
        self.load_agreements()

    def illustrative(self) -> bool:
        return any(doc.data.get("federation", {}).get("illustrative") for doc in self.documents)

    def load_jurisdictions(self) -> None:
        pending = list(self.items("jurisdictions"))
        in_files = {item["code"] for _doc, _path, item in pending}
        done: set[str] = set()
        illustrative = self.illustrative()
        # Parents before children; whatever is left when nothing is ready forms a cycle.
        while pending:
            ready = [
                entry
                for entry in pending
                if entry[2].get("parent") not in in_files or entry[2]["parent"] in done
            ]
            if not ready:
                for document, path, item in pending:
                    self.problem(
                        document,
                        (*path, "parent"),
                        _("the parents of %(code)s never reach a root (a cycle).")
                        % {"code": item["code"]},
                    )
                return
            for document, path, item in ready:
                self.load_jurisdiction(document, path, item, illustrative)
                done.add(item["code"])
            pending = [entry for entry in pending if entry[2]["code"] not in done]

    def load_jurisdiction(self, document, path, item, illustrative: bool) -> None:
        parent = None
        if item.get("parent"):
            parent = self.lookup(
                Jurisdiction, "code", item["parent"], document, (*path, "parent"), _("jurisdiction")
            )
            if parent is None:
                return
        jurisdiction = Jurisdiction.objects.filter(code=item["code"]).first() or Jurisdiction(
            code=item["code"]
        )
        calendar = item.get("holidays", {})
        jurisdiction.level = item["level"]
        jurisdiction.parent = parent
        jurisdiction.names = item["names"]
        jurisdiction.official_languages = item.get("official_languages", [])
        jurisdiction.time_zone = item["time_zone"]
        jurisdiction.holiday_country = calendar.get("country", "")
        jurisdiction.holiday_subdivision = calendar.get("subdivision", "")
        jurisdiction.currency = item.get("currency", "")
        jurisdiction.fiscal_year_first_month = item.get("fiscal_year_first_month")
        jurisdiction.illustrative = illustrative
        if self.save(jurisdiction, document, path, exclude=["path"]):
            self.count("jurisdictions")

    def load_agencies(self) -> None:
        for document, path, item in self.items("agencies"):
            jurisdiction = None
            if item.get("jurisdiction"):
                jurisdiction = self.lookup(
                    Jurisdiction,
                    "code",
                    item["jurisdiction"],
                    document,
                    (*path, "jurisdiction"),
                    _("jurisdiction"),
                )
                if jurisdiction is None:
                    continue
            agency = Agency.objects.filter(key=item["key"]).first() or Agency(key=item["key"])
            agency.kind = item["kind"]
            agency.jurisdiction = jurisdiction
            agency.names = item["names"]
            agency.short_names = item.get("short_names", {})
            agency.website = item.get("website", "")
            agency.email = item.get("email", "")
            agency.phone = item.get("phone", "")
            if not self.save(agency, document, path):
                continue
            self.count("agencies")
            for index, office_item in enumerate(item.get("offices", [])):
                self.load_office(agency, document, (*path, "offices", index), office_item)

    def load_office(self, agency, document, path, item) -> None:
        place = self.lookup(
            Jurisdiction,
            "code",
            item["jurisdiction"],
            document,
            (*path, "jurisdiction"),
            _("jurisdiction"),
        )
        if place is None:
            return
        office = Office.objects.filter(key=item["key"]).first() or Office(key=item["key"])
        if office.pk and office.agency_id != agency.pk:
            self.problem(
                document,
                (*path, "key"),
                _("office “%(key)s” already belongs to another agency.") % {"key": item["key"]},
            )
            return
        address = item.get("address", {})
        office.agency = agency
        office.names = item["names"]
        office.jurisdiction = place
        office.street_address = address.get("street", "")
        office.locality = address.get("locality", "")
        office.region = address.get("region", "")
        office.postal_code = address.get("postal_code", "")
        office.country = address.get("country", "")
        office.hours = item.get("hours", {})
        office.channels = item.get("channels", [])
        office.phone = item.get("phone", "")
        office.email = item.get("email", "")
        coordinates = item.get("coordinates") or {}
        office.latitude = _degrees(coordinates.get("lat"))
        office.longitude = _degrees(coordinates.get("lon"))
        if self.save(office, document, path):
            self.count("offices")

    def load_programs(self) -> None:
        for document, path, item in self.items("programs"):
            agency = self.lookup(
                Agency, "key", item["agency"], document, (*path, "agency"), _("agency")
            )
            if agency is None:
                continue
            program = Program.objects.filter(key=item["key"]).first() or Program(key=item["key"])
            program.agency = agency
            program.names = item["names"]
            program.descriptions = item.get("descriptions", {})
            if self.save(program, document, path):
                self.count("programs")

    def load_life_situations(self) -> None:
        for document, path, item in self.items("life_situations"):
            situation = LifeSituation.objects.filter(key=item["key"]).first() or LifeSituation(
                key=item["key"]
            )
            situation.names = item["names"]
            situation.descriptions = item.get("descriptions", {})
            situation.position = item.get("position", 0)
            if self.save(situation, document, path):
                self.count("life_situations")

    def load_services(self) -> None:
        for document, path, item in self.items("services"):
            scope = self.lookup(
                Jurisdiction, "code", item["scope"], document, (*path, "scope"), _("jurisdiction")
            )
            program = None
            if item.get("program"):
                program = self.lookup(
                    Program, "key", item["program"], document, (*path, "program"), _("program")
                )
            situations = [
                self.lookup(
                    LifeSituation,
                    "key",
                    key,
                    document,
                    (*path, "life_situations", i),
                    _("life situation"),
                )
                for i, key in enumerate(item.get("life_situations", []))
            ]
            if scope is None or (item.get("program") and program is None) or None in situations:
                continue
            standard = item.get("standard", {})
            fee = item.get("fee", {})
            service = Service.objects.filter(key=item["key"]).first() or Service(key=item["key"])
            service.scope = scope
            service.program = program
            service.names = item["names"]
            service.descriptions = item.get("descriptions", {})
            service.frame = item["frame"]
            service.client_type = item["client_type"]
            service.channels = item["channels"]
            service.standard_days = standard.get("days")
            service.standard_day_kind = standard.get("count", Service.DayKind.BUSINESS)
            target = standard.get("target")
            service.standard_target = None if target is None else Decimal(str(target))
            service.fee_amount = Decimal(str(fee.get("amount", "0")))
            service.fee_currency = fee.get("currency", "")
            service.required_assurance = item.get("assurance", 1)
            service.evidence = item.get("evidence", [])
            service.keywords = item.get("keywords", [])
            if not self.save(service, document, path):
                continue
            self.count("services")
            service.life_situations.add(*situations)
            for index, offering in enumerate(item.get("offerings", [])):
                self.load_offering(service, document, (*path, "offerings", index), offering)
            for index, partner in enumerate(item.get("partners", [])):
                self.load_partner(service, document, (*path, "partners", index), partner)

    def load_offering(self, service, document, path, item) -> None:
        area = self.lookup(
            Jurisdiction, "code", item["area"], document, (*path, "area"), _("jurisdiction")
        )
        agency = self.lookup(
            Agency, "key", item["agency"], document, (*path, "agency"), _("agency")
        )
        program = None
        if item.get("program"):
            program = self.lookup(
                Program, "key", item["program"], document, (*path, "program"), _("program")
            )
        offices = [
            self.lookup(Office, "key", key, document, (*path, "offices", i), _("office"))
            for i, key in enumerate(item.get("offices", []))
        ]
        if (
            area is None
            or agency is None
            or None in offices
            or (item.get("program") and program is None)
        ):
            return
        for index, office in enumerate(offices):
            if office.agency_id != agency.pk:
                self.problem(
                    document,
                    (*path, "offices", index),
                    _("office “%(office)s” does not belong to agency “%(agency)s”.")
                    % {"office": office.key, "agency": agency.key},
                )
                return
        offering = Offering.objects.filter(service=service, area=area).first() or Offering(
            service=service, area=area
        )
        offering.agency = agency
        offering.program = program
        offering.channels = item.get("channels", [])
        offering.standard_days = item.get("standard_days")
        fee = item.get("fee")
        offering.fee_amount = None if fee is None else Decimal(str(fee))
        offering.url = item.get("url", "")
        if self.save(offering, document, path):
            offering.offices.set(offices)
            self.count("offerings")

    def load_partner(self, service, document, path, item) -> None:
        agency = self.lookup(
            Agency, "key", item["agency"], document, (*path, "agency"), _("agency")
        )
        if agency is None:
            return
        PartnerRole.objects.get_or_create(service=service, agency=agency, role=item["role"])
        self.count("partner_roles")

    def load_agreements(self) -> None:
        for document, path, item in self.items("agreements"):
            services = [
                self.lookup(Service, "key", key, document, (*path, "services", i), _("service"))
                for i, key in enumerate(item.get("services", []))
            ]
            parties = [
                (
                    index,
                    party,
                    self.lookup(
                        Agency,
                        "key",
                        party["agency"],
                        document,
                        (*path, "parties", index, "agency"),
                        _("agency"),
                    ),
                )
                for index, party in enumerate(item["parties"])
            ]
            if None in services or any(agency is None for _i, _p, agency in parties):
                continue
            agencies = [agency.key for _i, _p, agency in parties]
            if len(set(agencies)) != len(agencies):
                self.problem(
                    document,
                    (*path, "parties"),
                    _("an agency appears more than once among the parties."),
                )
                continue
            agreement = Agreement.objects.filter(key=item["key"]).first() or Agreement(
                key=item["key"]
            )
            agreement.kind = item["kind"]
            agreement.names = item["names"]
            agreement.descriptions = item.get("descriptions", {})
            agreement.start_date = datetime.date.fromisoformat(item["start"])
            agreement.end_date = _date(item.get("end"))
            agreement.terminated_on = _date(item.get("terminated"))
            agreement.terms = item.get("terms", {})
            if not self.save(agreement, document, path):
                continue
            self.count("agreements")
            agreement.services.set(services)
            for index, party, agency in parties:
                signed_on = _date(party.get("signed_on"))
                if signed_on and signed_on > datetime.date.today():
                    self.problem(
                        document,
                        (*path, "parties", index, "signed_on"),
                        _("a sign-off cannot be dated in the future."),
                    )
                    continue
                AgreementParty.objects.update_or_create(
                    agreement=agreement,
                    agency=agency,
                    defaults={
                        "role": party.get("role", ""),
                        "signed_on": signed_on,
                        "signed_by": party.get("signed_by", ""),
                    },
                )
            agreement.parties.exclude(agency__key__in=agencies).delete()


def _date(value: str | None) -> datetime.date | None:
    return datetime.date.fromisoformat(value) if value else None


def _degrees(value: float | None) -> Decimal | None:
    """A coordinate from a data file, to the micro-degree the model keeps (YAML gives a float:
    its shortest decimal text is what the file says)."""
    return None if value is None else Decimal(str(value)).quantize(Decimal("0.000001"))


def load_federation(
    paths: Iterable[str | Path],
    *,
    base: Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> LoadResult:
    """Validate and load the federation data files at `paths`, all or nothing.

    Raises FederationRejected, listing every problem found, when anything is wrong.
    """
    files = discover(paths)
    problems: list[Problem] = []
    if not files:
        raise FederationRejected(
            [
                Problem(
                    ", ".join(map(str, paths)), None, "", _("no .yaml, .yml or .json files found.")
                )
            ]
        )
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    text_keys = schema_text_keys(schema)
    documents: list[_Document] = []
    digest = hashlib.sha256()
    for path in files:
        display = str(path.relative_to(base)) if base and path.is_relative_to(base) else str(path)
        if progress:
            progress(display)
        document, read_problems = _read(path, display)
        problems.extend(read_problems)
        if document is None:
            continue
        digest.update(path.read_bytes())
        file_problems = _schema_problems(document, validator) or _language_problems(
            document, text_keys
        )
        problems.extend(file_problems)
        if not file_problems:
            documents.append(document)
    if problems:
        raise FederationRejected(problems)

    loader = _Loader(documents)
    names = [doc.data["federation"]["name"] for doc in documents if "federation" in doc.data]
    result = LoadResult(
        name=names[0] if names else files[0].stem,
        files=[doc.file for doc in documents],
        checksum=digest.hexdigest(),
        illustrative=loader.illustrative(),
    )
    with transaction.atomic():
        loader.run()
        if loader.problems:
            # Raising inside the atomic block rolls back everything written so far.
            raise FederationRejected(loader.problems)
        result.counts = loader.counts
        FederationLoad.objects.create(
            name=result.name,
            source=", ".join(result.files),
            checksum=result.checksum,
            illustrative=result.illustrative,
            counts=result.counts,
        )
    return result


# The reading and reporting pieces, public for other apps' data-file loaders (bundles), so
# that every data file of the platform is read, located and reported the same way.
Document = _Document
read_document = _read
format_path = _format_path
schema_problems = _schema_problems
language_problems = _language_problems
