"""Loading engagement's data files: the ombudsmen of the jurisdictions (agencies of kind
`ombudsman` in the federation registry), consultations and change initiatives. All or
nothing; loading the same file again updates what it names and adds nothing twice.

    ombudsmen:
      - {key: ombudsman-on, jurisdiction: CA-ON, names: {en: ..., fr: ...}}
    consultations:
      - key: newborn-online
        titles: {en: ..., fr: ...}
        questions: {en: ..., fr: ...}
        owner: serviceontario
        bundle: newborn            # or service: <catalogue key>, program: <key>, place: <code>
        place: CA-ON-TOR
        audiences: [residents, partners]
        phases:                    # days from the day of loading
          - {kind: proposals, from: -5, until: 25}
        survey:
          - {key: ease, kind: scale, texts: {en: ..., fr: ...}}
    initiatives:
      - key: ..., names: {...}, owner: ..., organisations: [...], service: ...,
        go_live: -30, target_channel: online,
        roles: [{role: caseworker, changes: {en: ..., fr: ...}}],
        modules: [{key: intro, names: {...}, role: ""}]
"""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import yaml
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from joinedup.bundles.models import Bundle
from joinedup.federation.models import Agency, Jurisdiction, Program, Service

from .models import (
    AffectedRole,
    Audience,
    Consultation,
    Initiative,
    Phase,
    SurveyQuestion,
    TrainingModule,
)


class LoadError(ValueError):
    """A data file that cannot be loaded; the message says where and why."""


def _get(model, where: str, **lookup):
    found = model.objects.filter(**lookup).first()
    if found is None:
        raise LoadError(f"{where}: no {model.__name__.lower()} {lookup}")
    return found


def _day(offset: Any, where: str) -> datetime.date:
    if not isinstance(offset, int):
        raise LoadError(f"{where}: dates are whole days from today (e.g. -5, 30)")
    return timezone.localdate() + datetime.timedelta(days=offset)


def load(path: Path) -> dict[str, int]:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as error:
        raise LoadError(f"{path}: {error}") from None
    counts = {"ombudsmen": 0, "consultations": 0, "initiatives": 0}
    with transaction.atomic():
        for item in raw.get("ombudsmen") or []:
            where = f"{path.name}: ombudsman {item.get('key')}"
            Agency.objects.update_or_create(
                key=item["key"],
                defaults={
                    "kind": Agency.Kind.OMBUDSMAN,
                    "jurisdiction": _get(Jurisdiction, where, code=item["jurisdiction"]),
                    "names": item["names"],
                },
            )
            counts["ombudsmen"] += 1
        for item in raw.get("consultations") or []:
            _consultation(item, f"{path.name}: consultation {item.get('key')}")
            counts["consultations"] += 1
        for item in raw.get("initiatives") or []:
            _initiative(item, f"{path.name}: initiative {item.get('key')}")
            counts["initiatives"] += 1
    return counts


def _consultation(item: dict, where: str) -> Consultation:
    audiences = item.get("audiences") or []
    if not audiences or set(audiences) - set(Audience.values):
        raise LoadError(f"{where}: audiences among {', '.join(Audience.values)}")
    subject = {
        "service": _get(Service, where, key=item["service"]) if item.get("service") else None,
        "bundle": _get(Bundle, where, key=item["bundle"]) if item.get("bundle") else None,
        "program": _get(Program, where, key=item["program"]) if item.get("program") else None,
        "place": _get(Jurisdiction, where, code=item["place"]) if item.get("place") else None,
    }
    if not any(subject.values()):
        raise LoadError(f"{where}: say what it is about (service, bundle, program or place)")
    consultation, _created = Consultation.objects.update_or_create(
        key=item["key"],
        defaults={
            "titles": item["titles"],
            "questions": item["questions"],
            "backgrounds": item.get("backgrounds") or {},
            "documents": item.get("documents") or [],
            "owner": _get(Agency, where, key=item["owner"]),
            "audiences": audiences,
            **subject,
        },
    )
    consultation.phases.all().delete()
    for phase in item.get("phases") or []:
        if phase.get("kind") not in Phase.Kind.values:
            raise LoadError(f"{where}: phase kind among {', '.join(Phase.Kind.values)}")
        Phase.objects.create(
            consultation=consultation,
            kind=phase["kind"],
            starts_on=_day(phase.get("from"), where),
            ends_on=_day(phase.get("until"), where),
        )
    for position, question in enumerate(item.get("survey") or []):
        SurveyQuestion.objects.update_or_create(
            consultation=consultation,
            key=question["key"],
            defaults={
                "position": position,
                "kind": question["kind"],
                "texts": question["texts"],
                "options": question.get("options") or [],
            },
        )
    return consultation


def _initiative(item: dict, where: str) -> Initiative:
    initiative, _created = Initiative.objects.update_or_create(
        key=item["key"],
        defaults={
            "names": item["names"],
            "descriptions": item.get("descriptions") or {},
            "owner": _get(Agency, where, key=item["owner"]),
            "service": _get(Service, where, key=item["service"]) if item.get("service") else None,
            "target_channel": item.get("target_channel", ""),
            "go_live": _day(item.get("go_live"), where),
        },
    )
    initiative.organisations.set(
        [_get(Agency, where, key=key) for key in item.get("organisations") or []]
    )
    for role in item.get("roles") or []:
        AffectedRole.objects.update_or_create(
            initiative=initiative, role=role["role"], defaults={"changes": role["changes"]}
        )
    for module in item.get("modules") or []:
        TrainingModule.objects.update_or_create(
            initiative=initiative,
            key=module["key"],
            defaults={"names": module["names"], "role": module.get("role", "")},
        )
    return initiative


def load_paths(paths: list[Path]) -> str:
    """Load every file; a line saying what was loaded."""
    totals = {"ombudsmen": 0, "consultations": 0, "initiatives": 0}
    for path in paths:
        for key, n in load(path).items():
            totals[key] += n
    return (
        _(
            "Engagement: %(ombudsmen)s ombudsmen, %(consultations)s consultations, "
            "%(initiatives)s change initiatives."
        )
        % totals
    )
