"""Assessments defined as data: versioned question sets, answers scored 1 to 5 per question,
and the scores over time per domain (a chart with its data table).

Two sets ship in `assessment_sets/`: the general needs screen across life domains and the
child wellbeing assessment on the eight SHANARRI indicators. A set is read from its YAML file
the first time it is asked for; a new version of a file is a new set, and past assessments
keep the version they were taken with. Each question belongs to a life domain, so that what
a member sees of the scores is what the gate let them see of the case (`team.read_case`
gives the domains).
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
import yaml
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from joinedup import kept, prepared
from joinedup.identity.acting import ActingContext

from .models import Assessment, AssessmentSet, Domain, IntegratedCase
from .team import NotOnTeam, active_member

SETS = Path(__file__).resolve().parent / "assessment_sets"
SCALE = (1, 2, 3, 4, 5)


def _check(document: dict, name: str) -> None:
    if not isinstance(document, dict) or not document.get("key") or not document.get("version"):
        raise ValueError(f"{name}: a set needs a key and a version")
    for question in document.get("questions") or []:
        if question.get("domain") not in Domain.values:
            raise ValueError(f"{name}: question {question.get('key')} has no known domain")
        values = [o.get("value") for o in question.get("options") or []]
        if not values or set(values) - set(SCALE):
            raise ValueError(f"{name}: question {question.get('key')} needs options from 1 to 5")


def load_sets(folder: Path = SETS) -> list[AssessmentSet]:
    """Every set of the folder, each (key, version) written once."""
    loaded = []
    for path in sorted(folder.glob("*.yaml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        _check(document, path.name)
        found, _created = AssessmentSet.objects.get_or_create(
            key=document["key"],
            version=document["version"],
            defaults={
                "names": document.get("names", {}),
                "description": document.get("description", {}),
                "questions": document["questions"],
            },
        )
        loaded.append(found)
    return loaded


#: The latest sets, kept per process (`joinedup.kept`): every case page lists them, and they
#: change only when a set's new version is loaded (a save, which forgets them at once here;
#: other processes within a minute). Callers treat them as read-only.
SETS = kept.Kept("care.assessment-sets", (AssessmentSet,))


def current_sets() -> list[AssessmentSet]:
    """The latest version of each set (loading the shipped ones on first use)."""
    return list(SETS.get("latest", _read_sets))


def _read_sets() -> tuple[AssessmentSet, ...]:
    found = list(AssessmentSet.objects.order_by("key", "-version"))
    if not found:
        load_sets()
        found = list(AssessmentSet.objects.order_by("key", "-version"))
    latest: dict[str, AssessmentSet] = {}
    for one in found:
        latest.setdefault(one.key, one)
    return tuple(latest.values())


def text(mapping: dict[str, str]) -> str:
    language = (get_language() or "en").split("-")[0]
    return mapping.get(language) or mapping.get("en") or ""


def record(
    context: ActingContext,
    case: IntegratedCase,
    question_set: AssessmentSet,
    answers: dict[str, Any],
    taken_on: datetime.date | None = None,
) -> Assessment:
    """Record an assessment by a member of the team; every question needs an answer."""
    if active_member(context, case) is None:
        raise NotOnTeam(_("You are not a member of this case's team."))
    cleaned: dict[str, int] = {}
    missing = []
    for question in question_set.questions:
        raw = answers.get(question["key"])
        try:
            value = int(raw)
        except (TypeError, ValueError):
            value = None
        if value not in {o["value"] for o in question["options"]}:
            missing.append(text(question["text"]))
            continue
        cleaned[question["key"]] = value
    if missing:
        raise ValidationError(
            _("Answer every question: %(questions)s") % {"questions": "; ".join(missing)}
        )
    taken_on = taken_on or timezone.localdate()
    if taken_on > timezone.localdate():
        raise ValidationError(_("An assessment cannot be dated in the future."))
    return Assessment.objects.create(
        case=case,
        question_set=question_set,
        answers=cleaned,
        taken_on=taken_on,
        by_id=context.user_id,
    )


#: A case's assessments with their sets, compiled once per process (`joinedup.prepared`).
_ASSESSMENTS = prepared.Instances(
    "care.assessments",
    lambda a: (
        Assessment.objects.filter(case_id=a.number("case"))
        .select_related("question_set")
        .order_by("taken_on")
    ),
)


def history(case: IntegratedCase, domains: list[str]) -> list[dict[str, Any]]:
    """Per set, the scores over time of the questions whose domain the reader may see: a
    plotly figure and the same figures as a table (dates down, questions across)."""
    assessments = _ASSESSMENTS.all(case=case.pk)
    charts = []
    for question_set in {a.question_set_id: a.question_set for a in assessments}.values():
        questions = [q for q in question_set.questions if q["domain"] in domains]
        if not questions:
            continue
        taken = [a for a in assessments if a.question_set_id == question_set.pk]
        dates = [a.taken_on.isoformat() for a in taken]
        figure = go.Figure(
            [
                go.Scatter(
                    x=dates,
                    y=[a.answers.get(q["key"]) for a in taken],
                    mode="lines+markers",
                    name=text(q["text"]).split(":")[0].strip(),
                )
                for q in questions
            ]
        )
        figure.update_layout(
            yaxis={"range": [0.5, 5.5], "dtick": 1, "title": _("Score (1 in crisis – 5 thriving)")},
            xaxis={"title": _("Date")},
            margin={"l": 60, "r": 20, "t": 20, "b": 50},
            height=360,
        )
        charts.append(
            {
                "id": f"assessment-{question_set.key}",
                "data_id": f"assessment-{question_set.key}-data",
                "title": question_set.name,
                "summary": text(question_set.description),
                "figure": json.loads(figure.to_json()),
                "headers": [_("Date")] + [text(q["text"]).split(":")[0].strip() for q in questions],
                "rows": [
                    [a.taken_on.isoformat()] + [a.answers.get(q["key"], "") for q in questions]
                    for a in taken
                ],
            }
        )
    return charts
