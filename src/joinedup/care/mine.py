"""The person's side: their plan, team, referrals and consents, read as the person (no gate:
it is their own data), and what they may change — withdraw consent for a member agency, ask
for a review of the plan or complain about it (the request reaches the lead professional)."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Prefetch
from django.utils.translation import gettext as _

from joinedup.delivery.applications import SubmissionError, submit_application
from joinedup.federation.models import Agency
from joinedup.identity.acting import ActingContext

from . import team
from .fields import CARE_CATEGORIES, LABELS
from .models import Action, Goal, IntegratedCase, Need, PlanRequest, Referral, TeamMember
from .work import area_for, request_version


@dataclass
class MyAgency:
    """One member agency as the person sees it: who, and what it may see now."""

    agency: Agency
    members: list[TeamMember] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    own: bool = False

    @property
    def labels(self) -> list[str]:
        return [str(LABELS[c]) for c in self.categories]


@dataclass
class MyCase:
    case: IntegratedCase
    needs: list[Need]
    agencies: list[MyAgency]
    referrals: list[Referral]
    requests: list[PlanRequest]


def my_case(person_id: int) -> MyCase | None:
    case = (
        IntegratedCase.objects.filter(person_id=person_id, status=IntegratedCase.Status.OPEN)
        .select_related("agency", "person")
        .first()
    )
    if case is None:
        return None
    needs = list(
        Need.objects.filter(case=case)
        .prefetch_related(
            Prefetch(
                "goals",
                queryset=Goal.objects.prefetch_related(
                    Prefetch("actions", queryset=Action.objects.select_related("agency"))
                ),
            )
        )
        .order_by("pk")
    )
    members = (
        TeamMember.objects.filter(case=case, left_at__isnull=True)
        .select_related("membership__agency", "membership__user", "consent")
        .order_by("joined_at")
    )
    agencies: dict[int, MyAgency] = {}
    for member in members:
        agency = member.membership.agency
        entry = agencies.setdefault(
            agency.pk, MyAgency(agency=agency, own=agency.pk == case.agency_id)
        )
        entry.members.append(member)
    for entry in agencies.values():
        seen = team.member_may_see(entry.members[0], case)
        entry.categories = [c for c in seen if c in CARE_CATEGORIES]
    return MyCase(
        case=case,
        needs=needs,
        agencies=list(agencies.values()),
        referrals=list(Referral.objects.filter(case=case).select_related("service__organization")),
        requests=list(case.requests.all()),
    )


def withdraw(person_id: int, agency_id: int) -> int:
    """Withdraw consent for one member agency of the person's open case (not the holder's:
    that is closing the case, which the lead professional does with the person)."""
    case = IntegratedCase.objects.filter(
        person_id=person_id, status=IntegratedCase.Status.OPEN
    ).first()
    if case is None:
        raise ValidationError(_("You have no open plan."))
    agency = Agency.objects.filter(pk=agency_id).first()
    if agency is None or agency.pk == case.agency_id:
        raise ValidationError(_("Choose one of the other agencies of your team."))
    return team.withdraw_agency(case, agency, method="online")


def ask(context: ActingContext, kind: str, text: str) -> PlanRequest:
    """The person asks for a review of their plan, or complains about it. The request is an
    application of the lead agency's plan-review service: its task waits in that agency's
    queue of the engine (and in the lead professional's workspace), on its clock."""
    case = (
        IntegratedCase.objects.filter(
            person_id=context.subject_id, status=IntegratedCase.Status.OPEN
        )
        .select_related("person")
        .first()
    )
    if case is None:
        raise ValidationError(_("You have no open plan."))
    errors = {}
    if kind not in PlanRequest.PERSON_KINDS:
        errors["kind"] = _("Say whether you ask for a review or complain.")
    text = (text or "").strip()
    if not text:
        errors["text"] = _("Tell us what you would like to change.")
    elif len(text) > 4000:
        errors["text"] = _("Keep it under 4,000 characters.")
    if errors:
        raise ValidationError(errors)
    lead = (
        TeamMember.objects.filter(case=case, role=TeamMember.Role.LEAD, left_at__isnull=True)
        .select_related("membership__agency__jurisdiction")
        .first()
    )
    agency = lead.membership.agency if lead is not None else case.agency
    with transaction.atomic():
        request = PlanRequest.objects.create(case=case, kind=kind, text=text)
        try:
            version = request_version(agency, area_for(agency, case.person))
            application, _created = submit_application(
                context,
                version.service.key,
                {"request": str(request.pk), "kind": kind},
                channel="online",
                applicant=case.person,
                version=version,
                place=area_for(agency, case.person),
            )
        except (SubmissionError, ValueError) as error:
            raise ValidationError({"kind": str(error)}) from None
        request.application = application
        request.save(update_fields=["application"])
    return request
