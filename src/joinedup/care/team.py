"""The team around an integrated case, and what each member may see.

Opening a case needs a lawful basis: the person's consent (recorded through sharing's consent
records) or a statute (child protection). Members are staff of several agencies with a role in
the team. Nothing is shown to anyone for being a member alone: every read of a case by a
member goes through the data gate, per data category of the case's content, and lands in the
person's ledger. The gate decides from

- the member's own agency: the agency that holds the case uses it within its roles' reach;
- another agency: a sharing rule from the holding agency to the member's agency for care
  coordination (written when the member joins), on the case's basis: consent — the consent the
  person gave for that agency's member, for the categories they chose — or statute;
- special categories (health, justice) flow only to case roles (caseworker and above).

A member who leaves, or whose agency's consent is withdrawn, loses access at the next read:
membership and consent are read at every request, never cached.
"""

from __future__ import annotations

import datetime
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from joinedup import prepared
from joinedup.delivery.models import Application
from joinedup.delivery.queues import APPLICATIONS_FIELD
from joinedup.federation.models import Agency
from joinedup.identity.acting import ActingContext
from joinedup.identity.models import Person, StaffMembership
from joinedup.identity.policy import CASE_ROLES, PERSON_FACING
from joinedup.sharing import consent as consents
from joinedup.sharing import gate
from joinedup.sharing.models import ConsentRecord, LegalBasis, SharingRule

from .fields import CARE_CATEGORIES, SPECIAL, domains_of, field_key
from .models import Action, Alert, Goal, IntegratedCase, Need, Note, Referral, TeamMember

#: The purpose every read of a case is made for (the ledger shows it).
PURPOSE = "care-coordination"


class NotOnTeam(PermissionDenied):
    """The actor is not (or no longer) a member of the case's team."""


def _today() -> datetime.date:
    return timezone.localdate()


def new_reference() -> str:
    return "C-" + secrets.token_hex(4).upper()


def membership_of(context: ActingContext) -> StaffMembership | None:
    if not (context.is_staff and context.membership_id):
        return None
    return StaffMembership.objects.select_related("agency").filter(pk=context.membership_id).first()


def _check_categories(categories: Iterable[str]) -> list[str]:
    """The care categories chosen, checked (a member always learns whom the case is about)."""
    chosen = [c for c in dict.fromkeys(categories) if c != "identity"]
    unknown = sorted(set(chosen) - set(CARE_CATEGORIES))
    if unknown:
        raise ValidationError(
            {"categories": _("Unknown kinds of data: %(names)s.") % {"names": ", ".join(unknown)}}
        )
    return chosen


def _ensure_rules(holder: Agency, recipient: Agency, basis: str) -> None:
    """The sharing rules that let the holding agency share a case with a member's agency for
    care coordination: one rule per category, so that the gate decides category by category
    (a consent that covers housing but not health lets housing through); special categories
    go only to case roles."""
    if holder.pk == recipient.pk:
        return
    existing = SharingRule.objects.filter(
        provider=holder, recipient=recipient, legal_basis=basis, active=True
    )
    have = {tuple(r.categories) for r in existing if PURPOSE in r.purposes}
    start = _today() - datetime.timedelta(days=1)
    SharingRule.objects.bulk_create(
        SharingRule(
            provider=holder,
            recipient=recipient,
            categories=[category],
            purposes=[PURPOSE],
            legal_basis=basis,
            roles=sorted(CASE_ROLES) if category in SPECIAL else [],
            valid_from=start,
        )
        for category in ("identity", *CARE_CATEGORIES)
        if (category,) not in have
    )


def open_case(
    context: ActingContext,
    person: Person,
    *,
    basis: str,
    categories: Iterable[str] = (),
    method: str = ConsentRecord.Method.COUNTER,
    review_date: datetime.date | None = None,
) -> IntegratedCase:
    """Open the person's integrated case with the actor as lead professional.

    With basis consent, the person's consent to their case being held by the actor's agency
    for care coordination is recorded (the categories they agreed to); with basis statute,
    none is asked. A person has at most one open case.
    """
    membership = membership_of(context)
    if membership is None or membership.role not in CASE_ROLES:
        raise PermissionDenied(_("Only caseworkers, case managers and supervisors open cases."))
    if basis not in IntegratedCase.Basis.values:
        raise ValidationError({"basis": _("Say on which lawful basis the case is opened.")})
    chosen = _check_categories(categories)
    if basis == IntegratedCase.Basis.CONSENT and not chosen:
        raise ValidationError(
            {"categories": _("Say which kinds of data the person agreed to have in their case.")}
        )
    if review_date is not None and review_date < _today():
        raise ValidationError({"review_date": _("A review date cannot be in the past.")})
    with transaction.atomic():
        if IntegratedCase.objects.filter(person=person, status=IntegratedCase.Status.OPEN).exists():
            raise ValidationError({"person": _("This person already has an open case.")})
        case = IntegratedCase.objects.create(
            reference=new_reference(),
            person=person,
            agency=membership.agency,
            basis=basis,
            opened_by_id=context.user_id,
            review_date=review_date,
        )
        consent = None
        if basis == IntegratedCase.Basis.CONSENT:
            consent = consents.record_consent(
                person,
                recipients=[membership.agency],
                purposes=[PURPOSE],
                categories=["identity", *chosen],
                method=method,
                provider=membership.agency,
            )
        TeamMember.objects.create(
            case=case, membership=membership, role=TeamMember.Role.LEAD, consent=consent
        )
    return case


def active_member(context: ActingContext, case: IntegratedCase) -> TeamMember | None:
    """The actor's current place in the team, read afresh (never cached)."""
    if not context.is_staff or not context.membership_id:
        return None
    return (
        TeamMember.objects.filter(
            case=case, membership_id=context.membership_id, left_at__isnull=True
        )
        .select_related("membership__agency")
        .first()
    )


def _require_coordinator(context: ActingContext, case: IntegratedCase) -> TeamMember:
    member = active_member(context, case)
    if member is None or member.role not in (TeamMember.Role.LEAD, TeamMember.Role.NAVIGATOR):
        raise PermissionDenied(
            _("Only the lead professional or a navigator of the case does this.")
        )
    return member


def add_member(
    context: ActingContext,
    case: IntegratedCase,
    membership: StaffMembership,
    role: str,
    *,
    categories: Iterable[str] = (),
    method: str = ConsentRecord.Method.COUNTER,
) -> TeamMember:
    """Add a professional to the team. For another agency under consent, the person's consent
    to share the chosen categories with that agency is recorded now."""
    _require_coordinator(context, case)
    if role not in TeamMember.Role.values or role == TeamMember.Role.LEAD:
        raise ValidationError({"role": _("Choose the member's role in the team.")})
    if membership.role not in PERSON_FACING:
        raise ValidationError(
            {"membership": _("Only staff who serve people one by one join a team.")}
        )
    chosen = _check_categories(categories)
    other_agency = membership.agency_id != case.agency_id
    if other_agency and case.basis == IntegratedCase.Basis.CONSENT and not chosen:
        raise ValidationError(
            {"categories": _("Say which kinds of data the person agreed to share with them.")}
        )
    with transaction.atomic():
        if TeamMember.objects.filter(
            case=case, membership=membership, left_at__isnull=True
        ).exists():
            raise ValidationError({"membership": _("This person is already on the team.")})
        consent = None
        if other_agency:
            basis = (
                LegalBasis.CONSENT
                if case.basis == IntegratedCase.Basis.CONSENT
                else LegalBasis.STATUTE
            )
            _ensure_rules(case.agency, membership.agency, basis)
            if basis == LegalBasis.CONSENT:
                consent = _consent_for(case, membership.agency, chosen, method)
        return TeamMember.objects.create(
            case=case, membership=membership, role=role, consent=consent
        )


def _consent_for(
    case: IntegratedCase, agency: Agency, categories: list[str], method: str
) -> ConsentRecord:
    """The consent in force for this agency and these categories, or a new one."""
    categories = ["identity", *categories]
    current = consents.covering(case.person_id, case.agency, agency, PURPOSE, categories)
    if current is not None and set(current.categories) == set(categories):
        return current
    return consents.record_consent(
        case.person,
        recipients=[agency],
        purposes=[PURPOSE],
        categories=categories,
        method=method,
        provider=case.agency,
    )


def remove_member(context: ActingContext, member: TeamMember) -> TeamMember:
    """The member leaves the team now: their next read is refused."""
    _require_coordinator(context, member.case)
    if member.role == TeamMember.Role.LEAD:
        raise ValidationError({"member": _("Name another lead professional first.")})
    if member.left_at is None:
        member.left_at = timezone.now()
        member.save(update_fields=["left_at"])
    return member


def withdraw_agency(case: IntegratedCase, agency: Agency, *, method: str) -> int:
    """The person withdraws their consent for one member agency: every consent for care
    coordination with that agency ends now. Answers how many were withdrawn."""
    records = consents.active(case.person_id).filter(recipients=agency, provider=case.agency)
    count = 0
    for record in records:
        if PURPOSE in record.purposes:
            consents.withdraw_consent(record, method=method)
            count += 1
    return count


# --- What a member sees -------------------------------------------------------------------


@dataclass
class CaseView:
    """What the gate let one member see of a case, now."""

    case: IntegratedCase
    member: TeamMember
    person_name: str
    domains: list[str]
    withheld: list[str]
    needs: list[Need] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    team: list[TeamMember] = field(default_factory=list)
    referrals: list[Referral] = field(default_factory=list)
    #: The person's latest applications across agencies (links, nothing copied), when the
    #: gate disclosed them to this member; a bundle's parts are among them.
    applications: list[Application] = field(default_factory=list)


#: How many of the person's latest applications the case's timeline shows.
TIMELINE_APPLICATIONS = 20


def _disclose(context: ActingContext, case: IntegratedCase, wanted: list[str]) -> gate.Disclosure:
    """One pass of the gate for these fields and every care category (its rules, consents
    and sensitivities read once), one ledger entry. Raises NotOnTeam when it refuses."""
    wanted = [*wanted, *(field_key(c) for c in CARE_CATEGORIES)]
    (disclosure,) = gate.disclose_many(
        context, case.person, [gate.Request(tuple(wanted), PURPOSE, case.agency)]
    )
    if isinstance(disclosure, gate.DisclosureRefused):
        raise NotOnTeam(disclosure.message) from disclosure
    return disclosure


def _domains(disclosure: gate.Disclosure) -> list[str]:
    return sorted(
        {d for key, value in disclosure.fields.items() if key.startswith("care.") for d in value}
    )


def visible_domains(context: ActingContext, case: IntegratedCase) -> tuple[TeamMember, list[str]]:
    """The actor's place in the team and the life domains the gate lets them see of the case
    now (one ledger entry): what a form listing the plan's needs, goals, actions or alerts
    may show. Raises NotOnTeam for anyone not on the team now."""
    member = active_member(context, case)
    if member is None:
        raise NotOnTeam(_("You are not a member of this case's team."))
    return member, _domains(_disclose(context, case, []))


def _team_now():
    return (
        TeamMember.objects.filter(left_at__isnull=True)
        .select_related("membership__agency", "membership__user")
        .order_by("joined_at", "pk")
    )


#: The case page's reads, each compiled once per process (`joinedup.prepared`): building
#: these statements (their joins and columns) cost the ORM more than PostgreSQL spends
#: running them. The rows and instances are what the ORM's own reads give.
_CASE_WITH_TEAM = prepared.Instances(
    "care.case_with_team",
    lambda a: (
        _team_now()
        .filter(case__reference=a.text("reference"))
        .select_related("case__agency", "case__person")
    ),
)
_NOTES = prepared.Instances(
    "care.notes",
    lambda a, domains: Note.objects.filter(
        case_id=a.number("case"), domain__in=a.texts("domains", domains)
    ).select_related("agency")[:50],
)
_ALERTS = prepared.Instances(
    "care.alerts",
    lambda a, domains: Alert.objects.filter(
        case_id=a.number("case"),
        domain__in=a.texts("domains", domains),
        closed_at__isnull=True,
    ),
)
_REFERRALS = prepared.Instances(
    "care.referrals",
    lambda a: Referral.objects.filter(case_id=a.number("case")).select_related(
        "service", "to_agency"
    )[:50],
)


def case_with_team(reference: str) -> tuple[IntegratedCase, list[TeamMember]] | None:
    """The case by its reference (with its agency and person) and its team now, in one read:
    the case page needs both, and each was a round trip of its own. None when the case has
    no team now (or does not exist): the caller reads the case alone then."""
    members = _CASE_WITH_TEAM.all(reference=reference)
    if not members:
        return None
    case = members[0].case
    for member in members:
        member.case = case  # one case object for the page, as a read by key gives
    return case, members


def read_case(
    context: ActingContext, case: IntegratedCase, team: list[TeamMember] | None = None
) -> CaseView:
    """Everything of the case this member may see now, each read through the gate (one
    ledger entry for the request). Raises NotOnTeam for anyone not on the team now.
    `team`: the case's team now when the caller read it with the case (`case_with_team`)."""
    # The team now, read once: the actor's own place in it is one of its rows.
    members = team if team is not None else list(_team_now().filter(case=case))
    member = (
        next((m for m in members if m.membership_id == context.membership_id), None)
        if context.is_staff and context.membership_id
        else None
    )
    if member is None:
        raise NotOnTeam(_("You are not a member of this case's team."))
    disclosure = _disclose(context, case, ["given_names", "family_name", APPLICATIONS_FIELD])
    domains = _domains(disclosure)
    withheld = sorted(
        {key.removeprefix("care.") for key in disclosure.withheld if key.startswith("care.")}
    )
    name = " ".join(
        v for v in (disclosure.fields.get("given_names"), disclosure.fields.get("family_name")) if v
    )
    needs = plan_of(case, domains)
    return CaseView(
        case=case,
        member=member,
        person_name=name,
        domains=domains,
        withheld=withheld,
        needs=needs,
        notes=_NOTES.all(case=case.pk, domains=domains),
        alerts=_ALERTS.all(case=case.pk, domains=domains),
        team=members,
        referrals=_REFERRALS.all(case=case.pk),
        applications=_applications(disclosure.fields.get(APPLICATIONS_FIELD) or []),
    )


def plan_of(case: IntegratedCase, domains: list[str]) -> list[Need]:
    """The case's needs in these domains, each with its goals and each goal's actions (with
    the action's agency), as the page shows them: one LEFT JOIN read instead of one read per
    level (three statements, and the agencies' join, become one). `need.goals.all()` and
    `goal.actions.all()` answer from what was read, as after `prefetch_related`."""
    columns = _plan_columns()
    rows = _PLAN.rows(case=case.pk, domains=domains)
    db = connection.alias
    needs: dict[int, Need] = {}
    goals: dict[int, Goal] = {}
    seen: dict[tuple[type, int], object] = {}
    children: dict[tuple[type, int], list] = {}
    for row in rows:
        values = iter(row)
        made = []
        for _prefix, model, fields in columns:
            part = [next(values) for _f in fields]
            if part[0] is None:  # no goal, no action, or (never here) no agency
                made.append(None)
                continue
            key = (model, part[0])
            if key not in seen:
                seen[key] = model.from_db(db, [f.attname for f in fields], part)
            made.append(seen[key])
        need, goal, action, agency = made
        needs.setdefault(need.pk, need)
        children.setdefault((Need, need.pk), [])
        if goal is not None and goal.pk not in goals:
            goals[goal.pk] = goal
            children[(Need, need.pk)].append(goal)
            children[(Goal, goal.pk)] = []
        if action is not None:
            Action.agency.field.set_cached_value(action, agency)
            children[(Goal, goal.pk)].append(action)
    for need in needs.values():
        _prefetched(need, "goals", children[(Need, need.pk)])
    for goal in goals.values():
        _prefetched(goal, "actions", children[(Goal, goal.pk)])
    return list(needs.values())


_PLAN_LEVELS = (
    ("", Need),
    ("goals__", Goal),
    ("goals__actions__", Action),
    ("goals__actions__agency__", Agency),
)


def _plan_columns() -> list[tuple[str, type, list]]:
    return [(prefix, model, model._meta.concrete_fields) for prefix, model in _PLAN_LEVELS]


def _build_plan(a: prepared.Stand, domains: int):
    lookups = [f"{prefix}{f.name}" for prefix, _model, fields in _plan_columns() for f in fields]
    return (
        Need.objects.filter(case_id=a.number("case"), domain__in=a.texts("domains", domains))
        .order_by("pk", "goals__pk", "goals__actions__due_date", "goals__actions__pk")
        .values_list(*lookups)
    )


_PLAN = prepared.Instances("care.plan", _build_plan)


def _prefetched(instance, name: str, items: list) -> None:
    """`instance.<name>.all()` answers `items` without a statement, as `prefetch_related`
    leaves it (the same cache, set the way Django sets it)."""
    queryset = getattr(instance, name).all()
    queryset._result_cache = items
    queryset._prefetch_done = True
    instance.__dict__.setdefault("_prefetched_objects_cache", {})[name] = queryset


def _applications(references: list[str]) -> list[Application]:
    """The latest of the applications the gate disclosed (by reference), for the timeline."""
    if not references:
        return []
    return list(
        Application.objects.filter(reference__in=references[-TIMELINE_APPLICATIONS:])
        .select_related("service", "agency")
        .only(
            "reference",
            "status",
            "channel",
            "submitted_at",
            "service__key",
            "service__names",
            "agency__key",
            "agency__names",
        )
        .order_by("-submitted_at")
    )


def cases_of(context: ActingContext) -> QuerySet[IntegratedCase]:
    """The open cases the actor is on the team of now (their caseload), next review first.
    A semi-join on the team, not a join: no duplicates to remove, so counting the caseload
    for its pages is one plain COUNT."""
    on_team = TeamMember.objects.filter(
        case=OuterRef("pk"), membership_id=context.membership_id, left_at__isnull=True
    )
    return (
        IntegratedCase.objects.filter(status=IntegratedCase.Status.OPEN)
        .filter(Exists(on_team))
        .select_related("agency")
        .order_by("review_date", "pk")
    )


def member_may_see(member: TeamMember, case: IntegratedCase) -> list[str]:
    """What categories a member's agency may see, as the person reads it on their side
    (from the consents and rules; deciding stays with the gate at each read)."""
    if member.membership.agency_id == case.agency_id:
        base = (
            [c.categories for c in [member.consent] if c]
            if case.basis == IntegratedCase.Basis.CONSENT
            else [list(CARE_CATEGORIES)]
        )
        return sorted({c for cats in base for c in cats})
    if case.basis == IntegratedCase.Basis.STATUTE:
        return list(CARE_CATEGORIES)
    records = consents.active(case.person_id).filter(
        Q(provider=case.agency), recipients=member.membership.agency
    )
    return sorted({c for r in records if PURPOSE in r.purposes for c in r.categories})


def domains_for(categories: Iterable[str]) -> list[str]:
    return [d for c in categories for d in domains_of(c)]
