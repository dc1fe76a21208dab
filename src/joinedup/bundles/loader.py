"""Loading bundles (life events) from data files, all or nothing, with located problems.

    joinedup load-bundles src/joinedup/demo/data/bundles/bundles/

Files are read, located and reported exactly as federation files are (the pieces come from
`joinedup.federation.loader`): each file is checked against the published schema
(`schema/bundle.schema.json`), then every bundle against the catalogue — its services exist,
its conditions are in the restricted language and name only known variables, its mapping
reads fields the unified form has and writes fields the leg's form has, its consent names
known data categories. Every problem in every file is reported; if there is any, nothing is
written. Loading is additive and repeatable: a bundle is created or updated by its key, and
an unchanged bundle is left as it is.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
from django.db import transaction
from django.utils.translation import gettext as _

from joinedup.delivery import formdefs as forms
from joinedup.federation.loader import (
    Document,
    Problem,
    discover,
    format_path,
    language_problems,
    read_document,
    schema_problems,
    schema_text_keys,
)
from joinedup.federation.models import LifeSituation, Service
from joinedup.sharing import categories as data_categories

from . import mapping, screening
from .models import Bundle

SCHEMA_PATH = Path(__file__).parent / "schema" / "bundle.schema.json"
PERSON_FIELDS = frozenset(
    {"given_names", "family_name", "preferred_name", "birth_date", "address", "email", "phone"}
)


class BundlesRejected(Exception):
    """The files were rejected whole; `problems` says why."""

    def __init__(self, problems: list[Problem]):
        super().__init__(
            _("The bundle files were rejected (%(count)d problems); nothing was loaded.")
            % {"count": len(problems)}
        )
        self.problems = problems


@dataclass
class BundlesLoaded:
    files: list[str]
    counts: dict[str, int] = field(default_factory=dict)


class _Checker:
    """Checks each bundle against the catalogue and the delivery forms, collecting problems."""

    def __init__(self, documents: list[Document]):
        self.documents = documents
        self.problems: list[Problem] = []
        keys = {
            leg["service"]
            for document in documents
            for bundle in document.data.get("bundles", [])
            for leg in bundle.get("legs", [])
        }
        self.services = {s.key: s for s in Service.objects.filter(key__in=keys)}
        by_id = {s.pk: s for s in self.services.values()}
        self.versions = {
            by_id[service_id].key: version
            for service_id, version in screening.current_versions(by_id.values()).items()
        }
        self.categories = data_categories.known_categories()
        self.situations = set(LifeSituation.objects.values_list("key", flat=True))

    def problem(self, document: Document, path: tuple, message: str) -> None:
        self.problems.append(
            Problem(document.file, document.line(path), format_path(path), str(message))
        )

    def run(self) -> None:
        seen: dict[str, str] = {}
        for document in self.documents:
            for index, bundle in enumerate(document.data.get("bundles", [])):
                path = ("bundles", index)
                if bundle["key"] in seen:
                    self.problem(
                        document,
                        (*path, "key"),
                        _("bundle “%(key)s” is defined twice (also in %(file)s).")
                        % {"key": bundle["key"], "file": seen[bundle["key"]]},
                    )
                seen[bundle["key"]] = document.file
                self.check_bundle(document, path, bundle)

    def check_form(self, document: Document, path: tuple, definition: dict) -> dict:
        try:
            forms.check_definition(definition)
        except forms.DefinitionError as error:
            self.problem(document, path, str(error))
            return {}
        return forms.schema_of(definition).get("properties") or {}

    def check_bundle(self, document: Document, path: tuple, bundle: dict) -> None:
        screening_fields = self.check_form(document, (*path, "screening"), bundle["screening"])
        unified = self.check_form(document, (*path, "form"), bundle["form"])
        for name in sorted(set(unified) & mapping.RESERVED):
            self.problem(
                document,
                (*path, "form", "schema", "properties", name),
                _("“%(name)s” is reserved (it names screening answers, the place or today).")
                % {"name": name},
            )
        situation = bundle.get("life_situation")
        if situation and situation not in self.situations:
            self.problem(
                document,
                (*path, "life_situation"),
                _("refers to life situation “%(key)s”, which is not loaded.") % {"key": situation},
            )
        place_from = bundle.get("place_from")
        if place_from and place_from not in screening_fields:
            self.problem(
                document,
                (*path, "place_from"),
                _("“%(name)s” is not a screening question.") % {"name": place_from},
            )
        for name, source in (bundle.get("prefill") or {}).items():
            where = (*path, "prefill", name)
            if name not in unified:
                self.problem(
                    document, where, _("the unified form has no field “%(name)s”.") % {"name": name}
                )
            parts = source.split(".")
            if parts[0] == "person" and parts[1] not in PERSON_FIELDS:
                self.problem(
                    document,
                    where,
                    _("“%(field)s” is not a fact of the identity record; known: %(known)s.")
                    % {"field": parts[1], "known": ", ".join(sorted(PERSON_FIELDS))},
                )
        legs: dict[str, dict] = {}
        for index, leg in enumerate(bundle["legs"]):
            leg_path = (*path, "legs", index)
            if leg["key"] in legs:
                self.problem(
                    document,
                    (*leg_path, "key"),
                    _("leg “%(key)s” appears twice in this bundle.") % {"key": leg["key"]},
                )
            legs[leg["key"]] = leg
            self.check_leg(document, leg_path, leg, unified, screening_fields)
        for index, offer in enumerate(bundle.get("offers") or []):
            offer_path = (*path, "offers", index)
            for position, key in enumerate(offer["legs"]):
                if key not in legs:
                    self.problem(
                        document,
                        (*offer_path, "legs", position),
                        _("this bundle has no leg “%(key)s”.") % {"key": key},
                    )
            if offer.get("when"):
                self.check_condition(document, (*offer_path, "when"), offer["when"])

    def check_condition(self, document: Document, path: tuple, source: str) -> None:
        why = screening.check_expression(source)
        if why:
            self.problem(document, path, _("the condition cannot be used: %(why)s") % {"why": why})

    def check_leg(
        self, document: Document, path: tuple, leg: dict, unified: dict, screening_fields: dict
    ) -> None:
        service = self.services.get(leg["service"])
        if service is None:
            self.problem(
                document,
                (*path, "service"),
                _("refers to service “%(key)s”, which is not in the catalogue.")
                % {"key": leg["service"]},
            )
        if leg.get("when"):
            self.check_condition(document, (*path, "when"), leg["when"])
        version = self.versions.get(leg["service"])
        leg_fields = (
            set((forms.schema_of(version.form).get("properties") or {}).keys())
            if version is not None
            else None
        )
        for name, spec in leg["mapping"].items():
            where = (*path, "mapping", name)
            if leg_fields is not None and name not in leg_fields:
                self.problem(
                    document,
                    where,
                    _("the form of %(service)s (version %(version)s) has no field “%(name)s”.")
                    % {"service": leg["service"], "version": version.number, "name": name},
                )
            for source in mapping.paths(spec):
                head, _sep, rest = source.partition(".")
                if head == "screening":
                    known = rest.split(".")[0] in screening_fields
                elif head == "place":
                    known = rest in {"code", "country", "province", "municipality"}
                elif head == "today":
                    known = rest == ""
                else:
                    known = head in unified
                if not known:
                    self.problem(
                        document,
                        where,
                        _(
                            "reads “%(path)s”, which is neither a unified form field nor a "
                            "screening answer, the place or today."
                        )
                        % {"path": source},
                    )
        unknown = sorted(set(leg["consent"]["categories"]) - self.categories)
        if unknown:
            self.problem(
                document,
                (*path, "consent", "categories"),
                _("unknown data categories: %(names)s (known: %(known)s).")
                % {"names": ", ".join(unknown), "known": ", ".join(sorted(self.categories))},
            )


def checksum(item: Any) -> str:
    raw = json.dumps(item, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(raw.encode()).hexdigest()


def load_bundles(
    paths: Iterable[str | Path],
    *,
    base: Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> BundlesLoaded:
    """Validate and load the bundle data files at `paths`, all or nothing.

    Raises BundlesRejected, listing every problem found, when anything is wrong.
    """
    paths = list(paths)
    files = discover(paths)
    if not files:
        raise BundlesRejected(
            [
                Problem(
                    ", ".join(map(str, paths)), None, "", _("no .yaml, .yml or .json files found.")
                )
            ]
        )
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    text_keys = schema_text_keys(schema)
    problems: list[Problem] = []
    documents: list[Document] = []
    for path in files:
        display = str(path.relative_to(base)) if base and path.is_relative_to(base) else str(path)
        if progress:
            progress(display)
        document, read_problems = read_document(path, display)
        problems.extend(read_problems)
        if document is None:
            continue
        file_problems = schema_problems(document, validator) or language_problems(
            document, text_keys
        )
        problems.extend(file_problems)
        if not file_problems:
            documents.append(document)
    if problems:
        raise BundlesRejected(problems)
    checker = _Checker(documents)
    checker.run()
    if checker.problems:
        raise BundlesRejected(checker.problems)

    result = BundlesLoaded(files=[d.file for d in documents])
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    with transaction.atomic():
        for document in documents:
            illustrative = bool(document.data.get("illustrative", False))
            for item in document.data.get("bundles", []):
                digest = checksum(item)
                bundle = Bundle.objects.select_for_update().filter(key=item["key"]).first()
                if bundle is not None and bundle.checksum == digest and bundle.active:
                    counts["unchanged"] += 1
                    continue
                counts["updated" if bundle is not None else "created"] += 1
                bundle = bundle or Bundle(key=item["key"])
                bundle.names = item["names"]
                bundle.descriptions = item.get("descriptions", {})
                bundle.life_situation = item.get("life_situation", "")
                bundle.position = item.get("position", 100)
                bundle.definition = item
                bundle.checksum = digest
                bundle.source = document.file[:300]
                bundle.illustrative = illustrative
                bundle.active = True
                bundle.save()
    result.counts = counts
    return result
