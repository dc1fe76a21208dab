"""Change initiatives: who they affect, what changes for each role, how ready staff say they
are, how much training is done, and adoption measured from the platform itself — per
organisation, so that resistance shows early.

Adoption compares the 90 days before the go-live with the days since (up to 90), from the
applications the engine recorded for the initiative's service at each organisation:
- new process: the share of applications since go-live on the initiative's new version;
- channel shift: the share received through the target channel, before and after;
- rework: the share sent back to the applicant for more information, before and after;
- errors: the share whose process stopped for staff attention, before and after.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Avg, Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from joinedup.delivery.models import Application, ApplicationStatus
from joinedup.federation.localization import pick
from joinedup.federation.models import Agency
from joinedup.identity import policy
from joinedup.identity.acting import ActingContext
from joinedup.identity.models import StaffMembership

from .models import AffectedRole, Initiative, ReadinessResponse, TrainingCompletion, TrainingModule

WINDOW = datetime.timedelta(days=90)
DIMENSION_LABELS = {
    "awareness": gettext_lazy("Awareness"),
    "desire": gettext_lazy("Desire"),
    "knowledge": gettext_lazy("Knowledge"),
    "ability": gettext_lazy("Ability"),
    "reinforcement": gettext_lazy("Reinforcement"),
}


def _names(keys) -> dict[str, str]:
    return {a.key: a.name for a in Agency.objects.filter(key__in=list(keys))}


class ChangeError(Exception):
    def __init__(self, code: str, message: str, status: int = 400):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def _member(context: ActingContext, initiative: Initiative) -> Agency:
    policy.require(context, "engagement.initiative.respond", initiative)
    agency = initiative.organisations.filter(key=context.agency_key).first()
    if agency is None:
        raise ChangeError(
            "not_affected", _("This initiative does not concern your organisation."), 403
        )
    return agency


def record_readiness(
    context: ActingContext, initiative: Initiative, scores: dict[str, int]
) -> ReadinessResponse:
    """A staff member's readiness, 1 to 5 on each dimension (answering again replaces it)."""
    agency = _member(context, initiative)
    cleaned = {}
    for dimension in ReadinessResponse.DIMENSIONS:
        value = scores.get(dimension)
        try:
            value = int(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            value = 0
        if not 1 <= value <= 5:
            raise ChangeError("score", _("Answer every question from 1 to 5."))
        cleaned[dimension] = value
    response, _created = ReadinessResponse.objects.update_or_create(
        initiative=initiative,
        user_id=context.user_id,
        defaults={**cleaned, "agency": agency, "role": context.role, "answered_at": timezone.now()},
    )
    return response


def complete_training(context: ActingContext, module: TrainingModule) -> TrainingCompletion:
    agency = _member(context, module.initiative)
    try:
        with transaction.atomic():
            return TrainingCompletion.objects.create(
                module=module, user_id=context.user_id, agency=agency
            )
    except IntegrityError:
        return TrainingCompletion.objects.get(module=module, user_id=context.user_id)


def what_changes_for(initiative: Initiative, role: str | None) -> AffectedRole | None:
    return initiative.roles.filter(role=role or "").first()


@dataclass
class Readiness:
    agency: str
    role: str
    answers: int
    scores: dict[str, float]
    agency_name: str = ""

    @property
    def role_label(self) -> str:
        return str(StaffMembership.Role(self.role).label)

    @property
    def weakest(self) -> str:
        return min(self.scores, key=lambda k: self.scores[k]) if self.scores else ""


def readiness(initiative: Initiative) -> list[Readiness]:
    """Average readiness per organisation and role (one query)."""
    rows = (
        ReadinessResponse.objects.filter(initiative=initiative)
        .values("agency__key", "role")
        .annotate(n=Count("id"), **{d: Avg(d) for d in ReadinessResponse.DIMENSIONS})
        .order_by("agency__key", "role")
    )
    rows = list(rows)
    names = _names(row["agency__key"] for row in rows)
    return [
        Readiness(
            row["agency__key"],
            row["role"],
            row["n"],
            {d: round(float(row[d]), 2) for d in ReadinessResponse.DIMENSIONS},
            names.get(row["agency__key"], ""),
        )
        for row in rows
    ]


def training(initiative: Initiative) -> dict[str, tuple[int, int]]:
    """Per organisation: (modules completed, modules due) by the staff in affected roles."""
    roles = list(initiative.roles.values_list("role", flat=True))
    modules = list(initiative.modules.values_list("pk", "role"))
    staff = (
        StaffMembership.objects.filter(agency__in=initiative.organisations.all(), role__in=roles)
        .values("agency__key", "role")
        .annotate(n=Count("user", distinct=True))
    )
    due: dict[str, int] = {}
    for row in staff:
        wanted = sum(1 for _pk, role in modules if role in ("", row["role"]))
        due[row["agency__key"]] = due.get(row["agency__key"], 0) + wanted * row["n"]
    done = dict(
        TrainingCompletion.objects.filter(module__initiative=initiative)
        .values("agency__key")
        .annotate(n=Count("id"))
        .values_list("agency__key", "n")
    )
    return {key: (done.get(key, 0), due.get(key, 0)) for key in sorted(set(due) | set(done))}


@dataclass
class Adoption:
    agency: str
    before: int
    after: int
    new_process: float | None
    channel_before: float | None
    channel_after: float | None
    rework_before: float | None
    rework_after: float | None
    errors_before: float | None
    errors_after: float | None
    agency_name: str = ""


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def adoption(initiative: Initiative, at: datetime.datetime | None = None) -> list[Adoption]:
    """Adoption per organisation, before and after the go-live (two aggregate queries)."""
    if initiative.service_id is None:
        return []
    at = at or timezone.now()
    go_live = datetime.datetime.combine(initiative.go_live, datetime.time.min, tzinfo=datetime.UTC)
    new_number = initiative.new_version.number if initiative.new_version_id else None
    base = Application.objects.filter(
        service_id=initiative.service_id, agency__in=initiative.organisations.all()
    )
    measures = {
        "n": Count("id", distinct=True),
        "target": Count("id", filter=Q(channel=initiative.target_channel or "-"), distinct=True),
        "rework": Count("id", filter=Q(work_items__decision="request_information"), distinct=True),
        "errors": Count(
            "id", filter=Q(timeline__to_status=ApplicationStatus.NEEDS_ATTENTION), distinct=True
        ),
    }
    if new_number is not None:
        measures["new"] = Count("id", filter=Q(version__number__gte=new_number), distinct=True)
    periods = {
        "before": base.filter(submitted_at__gte=go_live - WINDOW, submitted_at__lt=go_live),
        "after": base.filter(submitted_at__gte=go_live, submitted_at__lt=min(at, go_live + WINDOW)),
    }
    figures: dict[str, dict[str, dict]] = {}
    for name, qs in periods.items():
        for row in qs.values("agency__key").annotate(**measures).order_by():
            figures.setdefault(row["agency__key"], {})[name] = row
    out = []
    empty = {"n": 0, "target": 0, "rework": 0, "errors": 0, "new": 0}
    names = dict(initiative.organisations.values_list("key", "names"))
    for key in sorted(names):
        before = figures.get(key, {}).get("before", empty)
        after = figures.get(key, {}).get("after", empty)
        out.append(
            Adoption(
                agency=key,
                before=before["n"],
                after=after["n"],
                new_process=_share(after.get("new", 0), after["n"]) if new_number else None,
                channel_before=_share(before["target"], before["n"]),
                channel_after=_share(after["target"], after["n"]),
                rework_before=_share(before["rework"], before["n"]),
                rework_after=_share(after["rework"], after["n"]),
                errors_before=_share(before["errors"], before["n"]),
                errors_after=_share(after["errors"], after["n"]),
                agency_name=pick(names[key]),
            )
        )
    return out
