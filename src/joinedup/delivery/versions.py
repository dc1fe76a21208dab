"""Deploying service versions: a form definition and a BPMN process for a catalogue service.

`joinedup load-service-versions PATH…` reads JSON files like

    {"service": "ca.birth-certificate", "process": "../processes/birth-certificate.bpmn",
     "place_field": "birth_province", "money_back_guarantee": false,
     "form": {...}, "documents": {...}, "notifications": {...}}

A file whose content (form, process and settings) is unchanged deploys nothing; a changed one
becomes the next version number, and new applications use it while applications in flight
stay on the version they started with.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import transaction

from joinedup.federation.loader import format_path
from joinedup.federation.localization import gap_message, language_gaps
from joinedup.federation.models import Service

from . import formdefs
from .models import ServiceVersion
from .workflows import engine, names


class VersionError(ValueError):
    """A service version that cannot be deployed; the message says where and why."""


@dataclass(frozen=True)
class Deployed:
    version: ServiceVersion
    created: bool


def deploy(
    service_key: str,
    bpmn: str,
    form: dict[str, Any],
    *,
    process_id: str | None = None,
    place_field: str = "",
    money_back_guarantee: bool = False,
    notifications: dict | None = None,
    documents: dict | None = None,
    source: str = "",
) -> Deployed:
    """Deploy a version (or find the identical latest one)."""
    service = Service.objects.filter(key=service_key).first()
    if service is None:
        raise VersionError(f"there is no service {service_key!r} in the catalogue")
    try:
        formdefs.check_definition(form)
    except formdefs.DefinitionError as error:
        raise VersionError(f"{service_key}: form: {error}") from None
    try:
        spec, process_id = engine.compile_process(bpmn, process_id)
    except engine.ProcessError as error:
        raise VersionError(f"{service_key}: process: {error}") from None
    checksum = engine.checksum(
        bpmn, process_id, form, place_field, money_back_guarantee, notifications, documents
    )
    with transaction.atomic():
        latest = (
            ServiceVersion.objects.select_for_update()
            .filter(service=service)
            .order_by("-number")
            .first()
        )
        if latest is not None and latest.checksum == checksum:
            changed = []
            if not latest.active:
                latest.active = True
                changed.append("active")
            if json.dumps(latest.form) != json.dumps(form):
                # The same definition, read back in another order (stored before the form
                # kept its order): put the questions back in the order they were written.
                latest.form = form
                changed.append("form")
            if changed:
                latest.save(update_fields=changed)
            return Deployed(latest, False)
        ServiceVersion.objects.filter(service=service, active=True).update(active=False)
        version = ServiceVersion.objects.create(
            service=service,
            number=(latest.number + 1) if latest else 1,
            form=form,
            bpmn=bpmn,
            process_id=process_id,
            spec=spec,
            checksum=checksum,
            place_field=place_field,
            money_back_guarantee=money_back_guarantee,
            notifications=notifications or {},
            documents=documents or {},
            source=source[:300],
        )
    return Deployed(version, True)


def load_file(path: Path) -> Deployed:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise VersionError(f"{path}: {error}") from None
    if not isinstance(raw, dict) or "service" not in raw or "process" not in raw:
        raise VersionError(f'{path}: needs at least "service" and "process"')
    gaps = [
        f"{path}: {format_path(where)}: {gap_message(missing)}"
        for where, missing in language_gaps(raw)
    ]
    if gaps:
        raise VersionError("\n".join(gaps))
    process_path = (path.parent / raw["process"]).resolve()
    try:
        bpmn = process_path.read_text(encoding="utf-8")
    except OSError as error:
        raise VersionError(f"{path}: process: {error}") from None
    try:
        unnamed = names.gaps(bpmn)
    except names.ParseError as error:
        raise VersionError(f"{path}: process: {error}") from None
    if unnamed:
        raise VersionError(
            "\n".join(
                f"{path}: process {raw['process']}: task {task}: {gap_message(missing)}"
                for task, missing in unnamed
            )
        )
    try:
        return deploy(
            raw["service"],
            bpmn,
            raw.get("form") or {},
            process_id=raw.get("process_id"),
            place_field=raw.get("place_field", ""),
            money_back_guarantee=bool(raw.get("money_back_guarantee", False)),
            notifications=raw.get("notifications") or {},
            documents=raw.get("documents") or {},
            source=path.name,
        )
    except VersionError as error:
        raise VersionError(f"{path}: {error}") from None


def load_paths(paths: list[Path], *, skip_missing_services: bool = False) -> list[Deployed]:
    """Deploy every `*.json` in the given files and folders, in name order."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(path.glob("*.json")))
        elif path.exists():
            files.append(path)
        else:
            raise VersionError(f"{path}: no such file or folder")
    results = []
    for file in files:
        if skip_missing_services:
            raw = json.loads(file.read_text(encoding="utf-8"))
            if not Service.objects.filter(key=raw.get("service")).exists():
                continue
        results.append(load_file(file))
    return results
