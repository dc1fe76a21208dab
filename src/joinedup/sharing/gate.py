"""The data gate: the one way anyone other than the person reads or changes a person's data.

    disclosure = disclose(context, person, ["identity", "birth_date"], "sin-issuance",
                          holder=serviceontario)
    disclosure.fields   # only what may be disclosed: {"given_names": ..., "birth_date": ...}

It answers, in this order:
1. Who acts? The person themselves needs no gate. Someone holding a mandate from the person
   may see (scope "view") or change (scope "manage") the person's data. Otherwise only staff
   (or an agency's API client) of an agency may, within the area their agency serves.
2. Whose data? The agency holding it (`holder`, default: the actor's own agency). An agency
   uses its own records within its staff's roles. Another agency's records flow only under a
   sharing rule in force (from a data-sharing agreement) for this purpose, on its legal basis:
   a statute or a public task, or the person's consent in force.
3. Need to know: the actor's role must be one the rule names, or (when the rule names none)
   a role whose usual reach covers the sensitivity of the data.
4. Emergency access (break-glass) opened by the actor for this person stands in for 2 and 3.
5. Platform administrators, in the admin site only (purpose "platform-administration"), see
   records whole; it is recorded on that basis, in the person's ledger like any other use.

Only the fields that pass are read and returned; what was asked but withheld is listed.
Every decision — disclosed or refused — is written to the access ledger.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import BigIntegerField, CharField, IntegerField, Q, QuerySet, Value
from django.utils import timezone
from django.utils.translation import gettext as _

from joinedup import prepared
from joinedup.federation.models import Agency
from joinedup.identity import acting, mandates
from joinedup.identity import disclosure as identity_disclosure
from joinedup.identity.acting import ActingContext
from joinedup.identity.models import Address, Person, StaffMembership
from joinedup.identity.policy import PERSON_FACING, within_staff_scope

from . import breakglass, ledger, sharing_rules
from . import categories as data_categories
from . import consent as consents
from .models import (
    AccessEvent,
    BreakGlass,
    ConsentRecord,
    DataCategory,
    LegalBasis,
    Sensitivity,
)

Role = StaffMembership.Role

#: How far each role reaches in its own agency's records, by sensitivity.
OWN_AGENCY_REACH = {
    Role.FRONT_LINE: Sensitivity.MODERATE,
    Role.CASEWORKER: Sensitivity.SPECIAL,
    Role.CASE_MANAGER: Sensitivity.SPECIAL,
    Role.SUPERVISOR: Sensitivity.HIGH,
}
#: How far each role reaches in another agency's records under a rule that names no roles.
#: Special categories (health, justice) flow only to roles a rule names.
SHARED_REACH = {
    Role.FRONT_LINE: Sensitivity.MODERATE,
    Role.CASEWORKER: Sensitivity.HIGH,
    Role.CASE_MANAGER: Sensitivity.HIGH,
    Role.SUPERVISOR: Sensitivity.HIGH,
}
BASIS_ORDER = (LegalBasis.STATUTE, LegalBasis.PUBLIC_TASK, LegalBasis.CONSENT)

#: Staff roles keeping a register for a purpose of its own (the client index's data
#: stewards): (role, purpose) → (legal basis, categories reached). An app higher up fills
#: it in `ready()` with `register_stewardship`; the gate then decides and records such a read
#: like any other, holder = the agency whose record is read.
STEWARDSHIP: dict[tuple[str, str], tuple[str, frozenset[str]]] = {}


def register_stewardship(
    role: str, purpose: str, categories: Iterable[str], basis: str = LegalBasis.PUBLIC_TASK
) -> None:
    """Let staff in `role` read these categories for `purpose` (never another purpose)."""
    STEWARDSHIP[(role, purpose)] = (basis, frozenset(categories))


class DisclosureRefused(identity_disclosure.Refused):
    """The gate said no. `code` is for machines, the message for people (translated).
    (A kind of identity's `Refused`, so that identity's pages, which reach the gate through
    `identity.disclosure`, catch it without importing sharing.)"""

    def __init__(self, code: str, message: str, event: AccessEvent | None = None):
        super().__init__(code, message)
        self.event = event


@dataclass(frozen=True)
class Disclosure:
    subject_id: int
    fields: dict[str, Any]
    withheld: list[str]
    basis: str
    event: AccessEvent | None = None


@dataclass
class _Decision:
    allowed: set[str] = field(default_factory=set)
    basis: str = ""
    agreement_key: str = ""
    consent_id: str = ""
    break_glass_id: int | None = None
    refusal: tuple[str, str] | None = None  # (code, message) when nothing may be disclosed


def _recipient(context: ActingContext) -> Agency:
    """The actor's agency: the row the request's context already holds, else read by key."""
    return acting.agency_of(context) or Agency.objects.get(key=context.agency_key)


def _refuse(code: str, message: str) -> _Decision:
    return _Decision(refusal=(code, message))


def _role_reaches(
    role: str | None, category: str, reach: dict, lookups: _Lookups | None = None
) -> bool:
    level = lookups.sensitivity(category) if lookups else data_categories.sensitivity(category)
    return role in reach and level <= reach[role]


def _by_mandate(context: ActingContext, subject: Person, wanted: list[str], action: str):
    scope = "manage" if action == AccessEvent.Action.WRITE else "view"
    mandate = mandates.mandate_for(context.person_id, subject.pk)
    if mandate is None or scope not in mandate.scopes:
        return _refuse("mandate", _("Your mandate for this person does not cover this."))
    return _Decision(allowed=set(wanted), basis=LegalBasis.MANDATE)


def _own_agency(
    context: ActingContext, wanted: list[str], lookups: _Lookups | None = None
) -> _Decision:
    allowed = {
        f
        for f in wanted
        if _role_reaches(context.role, data_categories.category_of(f), OWN_AGENCY_REACH, lookups)
    }
    if not allowed:
        return _refuse(
            "need_to_know",
            _("Your role has no need to know this kind of data about the person."),
        )
    return _Decision(allowed=allowed, basis=LegalBasis.OWN_AGENCY)


def _shared(
    context: ActingContext,
    subject: Person,
    holder: Agency,
    recipient: Agency,
    wanted: list[str],
    purpose: str,
    lookups: _Lookups | None = None,
) -> _Decision:
    candidates = (
        lookups.rules(holder, recipient, purpose)
        if lookups
        else sharing_rules.in_force(holder, recipient, purpose)
    )
    if not candidates:
        return _refuse(
            "no_agreement",
            _(
                "No data-sharing agreement in force lets %(holder)s share this data with "
                "%(recipient)s for this purpose."
            )
            % {"holder": holder.name, "recipient": recipient.name},
        )
    decision = _Decision()
    role_blocked = consent_missing = False
    for rule in sorted(candidates, key=lambda r: BASIS_ORDER.index(r.legal_basis)):
        fields = [f for f in wanted if f in sharing_rules.permitted_fields(rule)]
        if rule.roles:
            fields_for_role = fields if context.role in rule.roles else []
        else:
            fields_for_role = [
                f
                for f in fields
                if _role_reaches(
                    context.role, data_categories.category_of(f), SHARED_REACH, lookups
                )
            ]
        if fields and not fields_for_role:
            role_blocked = True
        fields = [f for f in fields_for_role if f not in decision.allowed]
        if not fields:
            continue
        consent_id = ""
        if rule.legal_basis == LegalBasis.CONSENT:
            wanted_categories = {data_categories.category_of(f) for f in fields}
            covering = (
                lookups.covering(holder, recipient, purpose, wanted_categories)
                if lookups
                else consents.covering(
                    subject.pk, holder, recipient, purpose, wanted_categories, lock=True
                )
            )
            if covering is None:
                consent_missing = True
                continue
            consent_id = str(covering.pk)
        decision.allowed.update(fields)
        if not decision.basis:
            decision.basis = rule.legal_basis
            decision.agreement_key = rule.agreement.key if rule.agreement_id else ""
        if consent_id and not decision.consent_id:
            decision.consent_id = consent_id
    if decision.allowed:
        return decision
    if consent_missing:
        return _refuse(
            "no_consent",
            _(
                "This sharing needs the person's consent, and there is none in force "
                "(never given, withdrawn or expired)."
            ),
        )
    if role_blocked:
        return _refuse(
            "need_to_know",
            _("Your role has no need to know this kind of data about the person."),
        )
    return _refuse(
        "no_agreement",
        _("No data-sharing agreement in force covers the data asked for."),
    )


def _decide(
    context: ActingContext,
    subject: Person,
    wanted: list[str],
    purpose: str,
    holder: Agency | None,
    action: str,
    lookups: _Lookups | None = None,
) -> tuple[_Decision, Agency | None]:
    if context.is_anonymous or not context.verified:
        return _refuse("sign_in", _("Sign in to continue.")), holder
    if (
        context.platform_admin
        and context.token_id is None
        and purpose == identity_disclosure.ADMINISTRATION
    ):
        # The admin site (platform administrators with their second factor only) shows
        # records whole; each one shown is recorded as the administration it is.
        return _Decision(allowed=set(wanted), basis=LegalBasis.ADMINISTRATION), holder
    stewardship = STEWARDSHIP.get((context.role or "", purpose))
    if stewardship is not None and context.is_staff and context.api_client_id is None:
        # A register's keepers (data stewards) read what the register holds, for its purpose
        # only, whichever agency holds the record; what lies outside is withheld.
        basis, reached = stewardship
        allowed = {f for f in wanted if data_categories.category_of(f) in reached}
        if not allowed:
            return _refuse(
                "need_to_know",
                _("Your role has no need to know this kind of data about the person."),
            ), holder
        return _Decision(allowed=allowed, basis=basis), holder
    if context.person_id is not None and context.role is None and context.api_client_id is None:
        # A person acting for someone else (never for themselves: that needs no gate).
        return _by_mandate(context, subject, wanted, action), holder
    if not (context.agency_key and context.role in PERSON_FACING):
        return _refuse(
            "not_allowed",
            _(
                "Only the person, someone they gave a mandate to, or front-line and case staff "
                "of an agency serving them may see this data."
            ),
        ), holder
    recipient = lookups.recipient() if lookups else _recipient(context)
    holder = holder or recipient
    wanted_categories = {data_categories.category_of(f) for f in wanted}
    grant = (
        lookups.grant(wanted_categories)
        if lookups
        else breakglass.open_grant(context, subject.pk, wanted_categories)
    )
    if grant is not None:
        return _Decision(
            allowed=set(wanted), basis=LegalBasis.BREAK_GLASS, break_glass_id=grant.pk
        ), holder
    if not (lookups.in_scope() if lookups else within_staff_scope(context, subject)):
        return _refuse(
            "out_of_scope", _("This person is outside the area your agency serves.")
        ), holder
    if holder.pk == recipient.pk:
        return _own_agency(context, wanted, lookups), holder
    return _shared(context, subject, holder, recipient, wanted, purpose, lookups), holder


def disclose(
    context: ActingContext,
    subject: Person,
    requested: Iterable[str],
    purpose: str,
    *,
    holder: Agency | None = None,
    action: str = AccessEvent.Action.READ,
    partial: bool = True,
) -> Disclosure:
    """Decide, record, and return only the permitted fields (see the module's description).

    `requested` mixes category keys ("identity") and field keys ("birth_date"). With
    `partial=False` the request is all or nothing. Raises DisclosureRefused.
    """
    wanted = data_categories.expand(requested)
    unknown = [f for f in wanted if data_categories.field(f) is None]
    if unknown:
        raise DisclosureRefused(
            "unknown_field",
            _("These are not data the platform can share: %(names)s.")
            % {"names": ", ".join(unknown)},
        )
    if not wanted:
        raise DisclosureRefused("nothing_asked", _("Say which data is needed."))
    if not sharing_rules.PURPOSE.match(purpose or ""):
        raise DisclosureRefused(
            "no_purpose", _("Say for which purpose the data is needed (e.g. sin-issuance).")
        )
    if context.person_id is not None and context.person_id == subject.pk and not context.role:
        # The person's own data: no gate, no ledger entry (it is not a use by someone else).
        return Disclosure(
            subject.pk, {f: data_categories.field(f).read(subject) for f in wanted}, [], "self"
        )

    with transaction.atomic():
        decision, holder = _decide(context, subject, wanted, purpose, holder, action)
        if decision.refusal is None and not partial and set(wanted) - decision.allowed:
            decision = _refuse(
                "partial", _("Not all of the data asked for may be disclosed to you.")
            )
        if decision.refusal is None:
            granted = [f for f in wanted if f in decision.allowed]
            event = _record(context, subject, holder, action, granted, purpose, decision)
            values = {f: data_categories.field(f).read(subject) for f in granted}
            return Disclosure(
                subject.pk,
                values,
                [f for f in wanted if f not in decision.allowed],
                decision.basis,
                event,
            )
    code, message = decision.refusal
    event = _record(context, subject, holder, action, wanted, purpose, decision, refused=code)
    raise DisclosureRefused(code, message, event)


# --- Many requests at once ---------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """One request of `disclose_many`: what is asked, for which purpose, held by whom."""

    requested: tuple[str, ...]
    purpose: str
    holder: Agency | None = None


def _open_grants(a: prepared.Stand) -> QuerySet:
    return BreakGlass.objects.filter(
        user_id=a.number("user"),
        agency__key=a.text("agency"),
        subject_id=a.number("subject"),
        closed_at__isnull=True,
        expires_at__gt=a.moment("now"),
    )


def _build_grants_and_levels(a: prepared.Stand) -> QuerySet:
    levels = DataCategory.objects.order_by().values_list(
        "key", "sensitivity", Value(None, output_field=BigIntegerField())
    )
    grants = (
        _open_grants(a)
        .order_by()
        .values_list(
            Value(None, output_field=CharField()),
            Value(None, output_field=IntegerField()),
            "pk",
        )
    )
    return levels.union(grants, all=True)


#: The categories' sensitivities and the actor's open emergency access to the person, one
#: statement compiled once per process (`joinedup.prepared`): every staff read of a person
#: sends it, and building the UNION cost the ORM more than the database spends on it.
_GRANTS_AND_LEVELS = prepared.Instances("gate.grants_and_levels", _build_grants_and_levels)


class _Lookups:
    """What deciding needs, read once for all the requests of one call (one subject, one
    actor): the categories' sensitivities, the actor's agency, open emergency access, the
    person's place, the rules in force and the consents in force (locked, as `covering`
    locks them). Each decision is then made as `disclose` makes it, in memory."""

    def __init__(self, context: ActingContext, subject: Person):
        self.context = context
        self.subject = subject
        self._levels: dict[str, int] | None = None
        self._recipient: Agency | None = None
        self._grants: list | None = None
        self._scope: bool | None = None
        self._rules: dict[tuple[int, int, str], list] = {}
        self._consents: dict[tuple[int, int], list[ConsentRecord]] = {}

    def sensitivity(self, category: str) -> int:
        if self._levels is None:
            if self._grants is None and self._may_hold_grants():
                self._read_grants_and_levels()
            else:
                self._levels = dict(DataCategory.objects.values_list("key", "sensitivity"))
        level = self._levels.get(category)
        return level if level is not None else data_categories.sensitivity(category)

    def recipient(self) -> Agency:
        if self._recipient is None:
            self._recipient = _recipient(self.context)
        return self._recipient

    def _may_hold_grants(self) -> bool:
        return bool(self.context.user_id and self.context.agency_key)

    def _open_grants(self):
        return BreakGlass.objects.filter(
            user_id=self.context.user_id,
            agency__key=self.context.agency_key,
            subject_id=self.subject.pk,
            closed_at__isnull=True,
            expires_at__gt=timezone.now(),
        )

    def _read_grants_and_levels(self) -> None:
        """The actor's open emergency access to the person and the categories' sensitivities
        in one statement (a UNION ALL): a staff member's decision needs both, and each was a
        round trip of its own. Both are read from the database now, as before, so a
        sensitivity raised or a grant closed counts at once. The grants themselves (their
        categories) are read only when there is one, which is rare."""
        self._levels, grant_ids = {}, []
        rows = _GRANTS_AND_LEVELS.rows(
            user=self.context.user_id,
            agency=self.context.agency_key,
            subject=self.subject.pk,
            now=timezone.now(),
        )
        for key, level, grant_id in rows:
            if grant_id is None:
                self._levels[key] = level
            else:
                grant_ids.append(grant_id)
        self._grants = (
            list(BreakGlass.objects.filter(pk__in=grant_ids).order_by("-opened_at"))
            if grant_ids
            else []
        )

    def grant(self, categories: set[str]):
        if not self._may_hold_grants():
            return None
        if self._grants is None:
            if self._levels is None:
                self._read_grants_and_levels()
            else:
                self._grants = list(self._open_grants().order_by("-opened_at"))
        return next((g for g in self._grants if categories <= set(g.categories)), None)

    def in_scope(self) -> bool:
        if self._scope is None:
            self._scope = within_staff_scope(self.context, self.subject)
        return self._scope

    def rules(self, holder: Agency, recipient: Agency, purpose: str) -> list:
        key = (holder.pk, recipient.pk, purpose)
        if key not in self._rules:
            self._rules[key] = sharing_rules.in_force(holder, recipient, purpose)
        return self._rules[key]

    def covering(
        self, holder: Agency, recipient: Agency, purpose: str, categories: set[str]
    ) -> ConsentRecord | None:
        key = (holder.pk, recipient.pk)
        if key not in self._consents:
            ids = list(
                consents.active(self.subject.pk)
                .filter(recipients=recipient)
                .filter(Q(provider__isnull=True) | Q(provider=holder))
                .values_list("pk", flat=True)
            )
            self._consents[key] = list(
                ConsentRecord.objects.select_for_update()
                .filter(pk__in=ids)
                .order_by("given_at", "pk")
            )
        for consent in self._consents[key]:
            if (
                purpose in consent.purposes
                and categories <= set(consent.categories)
                and consent.status == ConsentRecord.Status.ACTIVE
            ):
                return consent
        return None


def disclose_many(
    context: ActingContext,
    subject: Person,
    requests: Iterable[Request],
    *,
    action: str = AccessEvent.Action.READ,
) -> list[Disclosure | DisclosureRefused]:
    """Decide several requests about one person in one pass, as `disclose` decides each (with
    `partial=True`), and write their ledger entries in one bulk insert. Answers, in the order
    of the requests, a Disclosure or the DisclosureRefused that `disclose` would raise.

    Why: a page that shows a person's data by category (a case page) asks about many
    categories at once; asked one by one, each reads the same rules, consents and
    sensitivities again and appends its own row to the ledger's chain."""
    answers: list[Disclosure | DisclosureRefused | None] = []
    pending: list[_Pending] = []
    own = context.person_id is not None and context.person_id == subject.pk and not context.role
    lookups = _Lookups(context, subject)
    with transaction.atomic():
        for request in requests:
            wanted = data_categories.expand(request.requested)
            unknown = [f for f in wanted if data_categories.field(f) is None]
            if unknown:
                answers.append(
                    DisclosureRefused(
                        "unknown_field",
                        _("These are not data the platform can share: %(names)s.")
                        % {"names": ", ".join(unknown)},
                    )
                )
                continue
            if not wanted:
                answers.append(DisclosureRefused("nothing_asked", _("Say which data is needed.")))
                continue
            if not sharing_rules.PURPOSE.match(request.purpose or ""):
                answers.append(
                    DisclosureRefused(
                        "no_purpose",
                        _("Say for which purpose the data is needed (e.g. sin-issuance)."),
                    )
                )
                continue
            if own:
                values = {f: data_categories.field(f).read(subject) for f in wanted}
                answers.append(Disclosure(subject.pk, values, [], "self"))
                continue
            decision, holder = _decide(
                context, subject, wanted, request.purpose, request.holder, action, lookups
            )
            pending.append(
                _Pending(len(answers), subject, wanted, holder, request.purpose, decision)
            )
            answers.append(None)
        return _settle(context, action, answers, pending)


def disclose_each(
    context: ActingContext,
    subjects: Iterable[tuple[Person, Agency | None]],
    requested: Iterable[str],
    purpose: str,
    *,
    action: str = AccessEvent.Action.READ,
) -> list[Disclosure | DisclosureRefused]:
    """Decide one request about each of several people (a list page that shows them), as
    `disclose` decides each (with `partial=True`), and write every ledger entry in one bulk
    insert. `subjects` are (person, holder) pairs (holder None: the actor's agency).
    Answers, in their order, a Disclosure or the DisclosureRefused `disclose` would raise.

    What depends on the person is read for all of them at once (open emergency access, where
    they live), so the statements sent do not grow with the people; only a rule on the basis
    of consent reads each person's consents."""
    people = list(subjects)
    wanted = data_categories.expand(requested)
    if not wanted or any(data_categories.field(f) is None for f in wanted):
        raise DisclosureRefused("unknown_field", _("Say which data is needed."))
    if not sharing_rules.PURPOSE.match(purpose or ""):
        raise DisclosureRefused(
            "no_purpose", _("Say for which purpose the data is needed (e.g. sin-issuance).")
        )
    answers: list[Disclosure | DisclosureRefused | None] = []
    if not people:
        return []
    ids = [p.pk for p, _holder in people]
    today = timezone.localdate()
    places: dict[int, list[str] | None] = dict.fromkeys(ids)
    for address in (
        Address.objects.filter(person_id__in=ids, valid_from__lte=today)
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=today))
        .select_related("jurisdiction")
        .order_by("person_id", "valid_from")
    ):  # the latest address in force wins, as Person.current_address
        places[address.person_id] = (
            address.jurisdiction.ancestor_codes if address.jurisdiction_id else None
        )
    grants: dict[int, list] = {pk: [] for pk in ids}
    if context.user_id and context.agency_key:
        for grant in BreakGlass.objects.filter(
            user_id=context.user_id,
            agency__key=context.agency_key,
            subject_id__in=ids,
            closed_at__isnull=True,
            expires_at__gt=timezone.now(),
        ).order_by("-opened_at"):
            grants[grant.subject_id].append(grant)
    own = context.person_id is not None and not context.role
    shared: _Lookups | None = None
    pending: list[_Pending] = []
    with transaction.atomic():
        for subject, asked_holder in people:
            lookups = _Lookups(context, subject)
            if shared is not None:  # what does not depend on the person, read once
                lookups._levels, lookups._recipient = shared._levels, shared._recipient
                lookups._rules = shared._rules
            shared = shared or lookups
            lookups._grants = grants[subject.pk]
            lookups._scope = _in_scope(context, places[subject.pk])
            if own and context.person_id == subject.pk:
                values = {f: data_categories.field(f).read(subject) for f in wanted}
                answers.append(Disclosure(subject.pk, values, [], "self"))
                continue
            decision, holder = _decide(
                context, subject, wanted, purpose, asked_holder, action, lookups
            )
            shared._levels = shared._levels or lookups._levels
            shared._recipient = shared._recipient or lookups._recipient
            pending.append(_Pending(len(answers), subject, wanted, holder, purpose, decision))
            answers.append(None)
        return _settle(context, action, answers, pending)


@dataclass(frozen=True)
class _Pending:
    """A decision of a batch waiting for its ledger entry: where its answer goes, about whom."""

    at: int
    subject: Person
    wanted: list[str]
    holder: Agency | None
    purpose: str
    decision: _Decision


def _settle(
    context: ActingContext,
    action: str,
    answers: list[Disclosure | DisclosureRefused | None],
    pending: list[_Pending],
) -> list[Disclosure | DisclosureRefused]:
    """Write the ledger entries of a batch's decisions in one insert, then fill in their answers
    (refusals carry their entry; disclosures read only the granted fields). Shared by
    `disclose_many` and `disclose_each` so both record and answer exactly as `disclose` does.

    Called inside the batch's transaction: a failed insert leaves no half of the batch."""
    events = ledger.append_many(
        [
            _values(
                context,
                p.subject,
                p.holder,
                action,
                p.wanted
                if p.decision.refusal
                else [f for f in p.wanted if f in p.decision.allowed],
                p.purpose,
                p.decision,
                p.decision.refusal[0] if p.decision.refusal else "",
            )
            for p in pending
        ]
    )
    for p, event in zip(pending, events, strict=True):
        if p.decision.refusal is not None:
            code, message = p.decision.refusal
            answers[p.at] = DisclosureRefused(code, message, event)
            continue
        granted = [f for f in p.wanted if f in p.decision.allowed]
        answers[p.at] = Disclosure(
            p.subject.pk,
            {f: data_categories.field(f).read(p.subject) for f in granted},
            [f for f in p.wanted if f not in p.decision.allowed],
            p.decision.basis,
            event,
        )
    return [a for a in answers if a is not None]


def _in_scope(context: ActingContext, place: list[str] | None) -> bool:
    """`identity.policy.within_staff_scope` for a place already read."""
    if context.area_codes:
        return place is not None and any(code in place for code in context.area_codes)
    if context.agency_jurisdiction is None:
        return False
    if place is None:
        return "-" not in context.agency_jurisdiction
    return context.agency_jurisdiction in place


def _record(
    context: ActingContext,
    subject: Person,
    holder: Agency | None,
    action: str,
    fields: list[str],
    purpose: str,
    decision: _Decision,
    refused: str = "",
) -> AccessEvent:
    return ledger.append(
        **_values(context, subject, holder, action, fields, purpose, decision, refused)
    )


def _values(
    context: ActingContext,
    subject: Person,
    holder: Agency | None,
    action: str,
    fields: list[str],
    purpose: str,
    decision: _Decision,
    refused: str = "",
) -> dict[str, Any]:
    """The columns of one ledger entry for a decision."""
    return {
        "subject_id": subject.pk,
        "actor_user_id": context.user_id,
        "actor_person_id": context.person_id if not context.role else None,
        "api_client_id": context.api_client_id,
        "actor_agency": context.agency_key or "",
        "actor_role": context.role or "",
        "holder_agency": holder.key if holder else "",
        "action": action,
        "categories": sorted({data_categories.category_of(f) or "" for f in fields} - {""}),
        "fields": fields,
        "purpose": purpose[:80],
        "legal_basis": "" if refused else decision.basis,
        "agreement_key": decision.agreement_key,
        "consent_id": decision.consent_id,
        "break_glass_id": decision.break_glass_id,
        "outcome": AccessEvent.Outcome.REFUSED if refused else AccessEvent.Outcome.DISCLOSED,
        "reason": refused,
        "channel": context.channel or "",
    }
