"""The acting context: who acts, for whom, under which mandate, at which level, in which role.

It is built once per request (by the policy's view decorator or the API authentication) and
handed to views, endpoints and background tasks as a plain value. Business code never looks
inside a request to find out who is acting: it is told. The context is frozen and turns into
JSON and back, so a background task receives exactly the context its request had.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any

from django.contrib.postgres.expressions import ArraySubquery
from django.db import connection
from django.db.models import OuterRef, QuerySet, Value
from django.http import HttpRequest
from django.utils.translation import gettext as _

from joinedup import prepared
from joinedup.federation.models import Agency

from . import assurance, mandates
from .models import Mandate, Person, StaffMembership, User

SESSION_ACTING_FOR = "identity.acting_for"
SESSION_MEMBERSHIP = "identity.membership"


@dataclass(frozen=True)
class ActingContext:
    """Everything the authorisation policy needs to know about the actor of a request."""

    user_id: int | None = None
    person_id: int | None = None
    subject_id: int | None = None
    mandate_id: int | None = None
    mandate_scopes: tuple[str, ...] = ()
    assurance: int = 0
    needs_second_factor: bool = False
    second_factor: bool = False
    platform_admin: bool = False
    membership_id: int | None = None
    agency_key: str | None = None
    agency_jurisdiction: str | None = None
    role: str | None = None
    office_keys: tuple[str, ...] = ()
    area_codes: tuple[str, ...] = ()
    api_client_id: int | None = None
    token_id: int | None = None
    scopes: tuple[str, ...] | None = None
    channel: str = "online"

    @property
    def is_anonymous(self) -> bool:
        return self.user_id is None and self.api_client_id is None

    @property
    def verified(self) -> bool:
        """Whether the account passed its second factor, when it needs one."""
        return self.second_factor or not self.needs_second_factor

    @property
    def is_staff(self) -> bool:
        return self.role is not None and self.verified

    @property
    def acting_for_other(self) -> bool:
        return self.subject_id is not None and self.subject_id != self.person_id

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, raw: str | dict[str, Any]) -> ActingContext:
        data = json.loads(raw) if isinstance(raw, str) else dict(raw)
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        for name in ("mandate_scopes", "office_keys", "area_codes"):
            values[name] = tuple(values.get(name) or ())
        if values.get("scopes") is not None:
            values["scopes"] = tuple(values["scopes"])
        return cls(**values)


ANONYMOUS = ActingContext()

#: Where a context keeps its agency once read (an attribute of that one object, not a field:
#: not compared, not turned into JSON; a context rebuilt from JSON reads it again).
_AGENCY = "_agency_row"


def agency_of(context: ActingContext) -> Agency | None:
    """The agency the context acts in (its staff membership's or API client's), as a row.

    Read once per context, which is built once per request: the gate's recipient, the
    header's tools and a page's own filters then share one row. `for_user` and
    `for_api_client` hand it over from the rows they already read (no statement at all)."""
    if _AGENCY in context.__dict__:
        return context.__dict__[_AGENCY]
    agency = None
    if context.agency_key:
        rows = Agency.objects.select_related("jurisdiction")
        agency = rows.filter(key=context.agency_key).first()
    _keep_agency(context, agency)
    return agency


#: Where a context keeps the person it acts for once read (as `_AGENCY`).
_SUBJECT = "_subject_row"


def subject_of(context: ActingContext) -> Person | None:
    """The person the context acts for, as a row: read once per context. `for_user` hands
    over the account's own person, read with the token or the session's user (no statement
    when the person acts for themself)."""
    if _SUBJECT in context.__dict__:
        return context.__dict__[_SUBJECT]
    subject = None
    if context.subject_id is not None:
        subject = Person.objects.filter(pk=context.subject_id).first()
    object.__setattr__(context, _SUBJECT, subject)  # frozen: the value's fields stay as built
    return subject


def _keep_agency(context: ActingContext, agency: Agency | None) -> ActingContext:
    if agency is None or agency.key == context.agency_key:
        object.__setattr__(context, _AGENCY, agency)  # frozen: the value's fields stay as built
    return context


def needs_second_factor(user: User) -> bool:
    """Staff accounts (any staff membership, admin access or superuser) need a second factor."""
    return bool(user.is_staff or user.is_superuser or user.memberships.exists())


def _membership_fields(membership: StaffMembership | None) -> dict[str, Any]:
    if membership is None:
        return {}
    agency = membership.agency
    if hasattr(membership, "office_keys_read"):  # read with the membership (PostgreSQL)
        office_keys = tuple(sorted(k for k in membership.office_keys_read if k))
        area_codes = tuple(sorted(c for c in membership.area_codes_read if c))
    else:
        # The offices and the areas in one statement (UNION ALL; every staff request asks).
        offices = membership.offices.order_by().annotate(kind=Value("o"))
        areas = membership.areas.order_by().annotate(kind=Value("a"))
        places = list(
            offices.values_list("kind", "key").union(areas.values_list("kind", "code"), all=True)
        )
        office_keys = tuple(sorted(key for kind, key in places if kind == "o"))
        area_codes = tuple(sorted(code for kind, code in places if kind == "a"))
    return {
        "membership_id": membership.pk,
        "agency_key": agency.key,
        "agency_jurisdiction": agency.jurisdiction.code if agency.jurisdiction_id else None,
        "role": membership.role,
        "office_keys": office_keys,
        "area_codes": area_codes,
    }


def _build_memberships(stand: prepared.Stand) -> QuerySet:
    found = (
        StaffMembership.objects.filter(user_id=stand.number("user"))
        .select_related("agency", "agency__jurisdiction")
        .order_by("agency__key", "role")
    )
    if connection.vendor == "postgresql":
        # Each membership's offices and areas as arrays on its own row: every staff request
        # needs those of the membership it acts in, and they were a second statement.
        offices = StaffMembership.offices.through.objects.filter(
            staffmembership_id=OuterRef("pk")
        ).values("office__key")
        areas = StaffMembership.areas.through.objects.filter(
            staffmembership_id=OuterRef("pk")
        ).values("jurisdiction__code")
        found = found.annotate(
            office_keys_read=ArraySubquery(offices), area_codes_read=ArraySubquery(areas)
        )
    return found


#: An account's memberships with their agencies (and, on PostgreSQL, places), compiled once
#: per process: every staff request reads them, and building the statement (two joins, two
#: array subqueries) cost the ORM several times what PostgreSQL spends running it.
_MEMBERSHIPS = prepared.Instances("acting.memberships", _build_memberships)


def _memberships(user: User) -> list[StaffMembership]:
    return _MEMBERSHIPS.all(user=user.pk)


def memberships_in_force(user: User) -> list[StaffMembership]:
    return [m for m in _memberships(user) if m.is_in_force()]


class ActingError(Exception):
    """The requested acting context is not allowed (no mandate in force, unknown role)."""


def for_user(
    user: User | None,
    *,
    second_factor: bool = False,
    subject_id: int | None = None,
    membership_id: int | None = None,
    channel: str = "online",
    token_id: int | None = None,
    scopes: tuple[str, ...] | None = None,
    strict: bool = False,
    level: int | None = None,
    holds_membership: bool | None = None,
) -> ActingContext:
    """The context of a signed-in account, acting for `subject_id` when given.

    With `strict`, asking to act for someone without a mandate in force, or in a staff role
    the account does not hold, raises ActingError; otherwise the context falls back to the
    account acting for itself (a mandate that expired while a session was open).

    `level` and `holds_membership`: the person's level of assurance and whether the account
    holds any staff membership, when the caller read them in this request (an API token's
    authentication reads both with the token); otherwise they are read here. An account
    known to hold none has its memberships not read at all.
    """
    if user is None or not user.is_authenticated or not user.is_active:
        return ANONYMOUS
    person = user.person
    if level is None:
        level = assurance.level_of(person) if person is not None else 0
    # One read of the account's memberships serves both questions: does it need a second
    # factor (any membership, in force or not), and in which role does it act (in force).
    held = [] if holds_membership is False else _memberships(user)
    fields: dict[str, Any] = {
        "user_id": user.pk,
        "person_id": person.pk if person else None,
        "subject_id": person.pk if person else None,
        "assurance": level,
        "needs_second_factor": bool(user.is_staff or user.is_superuser or held),
        "second_factor": second_factor,
        "platform_admin": bool(user.is_superuser and user.is_staff),
        "channel": channel,
        "token_id": token_id,
        "scopes": scopes,
    }
    if subject_id is not None and (person is None or subject_id != person.pk):
        mandate = mandates.mandate_for(person.pk if person else None, subject_id)
        if mandate is not None:
            fields.update(
                subject_id=subject_id,
                mandate_id=mandate.pk,
                mandate_scopes=tuple(mandate.scopes),
            )
        elif strict:
            raise ActingError(_("You have no mandate in force to act for this person."))
    memberships = [m for m in held if m.is_in_force()]
    chosen = next((m for m in memberships if m.pk == membership_id), None)
    if membership_id is not None and chosen is None and strict:
        raise ActingError(_("You do not hold this staff role."))
    acting_in = chosen or (memberships[0] if memberships else None)
    fields.update(_membership_fields(acting_in))
    context = ActingContext(**fields)
    if person is not None and context.subject_id == person.pk:
        object.__setattr__(context, _SUBJECT, person)  # the row in hand: no second read
    return _keep_agency(context, acting_in.agency) if acting_in else context


def for_api_client(client) -> ActingContext:
    """An agency's partner system: it acts in the agency's name, with the client's role."""
    agency = client.agency
    context = ActingContext(
        api_client_id=client.pk,
        agency_key=agency.key,
        agency_jurisdiction=agency.jurisdiction.code if agency.jurisdiction_id else None,
        role=client.role,
        second_factor=True,
        scopes=tuple(client.scopes),
        channel="partner",
    )
    return _keep_agency(context, agency)


def for_request(request: HttpRequest, *, strict: bool = False) -> ActingContext:
    """The only place that reads a browser request to learn who acts: the session's choices.

    The result is kept on the request so that it is built once, whoever asks first.
    """
    cached = getattr(request, "_acting_context", None)
    if cached is not None and not strict:
        return cached
    user = getattr(request, "user", None)
    is_verified = getattr(user, "is_verified", None)
    session = getattr(request, "session", {})
    context = for_user(
        user,
        second_factor=bool(is_verified and is_verified()),
        subject_id=session.get(SESSION_ACTING_FOR),
        membership_id=session.get(SESSION_MEMBERSHIP),
        strict=strict,
    )
    request._acting_context = context
    return context


def choose_subject(session, context: ActingContext, subject_id: int | None) -> Mandate | None:
    """Remember in the session whom the account acts for; refuse without a mandate in force."""
    if subject_id is None or subject_id == context.person_id:
        session.pop(SESSION_ACTING_FOR, None)
        return None
    mandate = mandates.mandate_for(context.person_id, subject_id)
    if mandate is None:
        raise ActingError(_("You have no mandate in force to act for this person."))
    session[SESSION_ACTING_FOR] = subject_id
    return mandate


def choose_membership(session, user: User, membership_id: int) -> StaffMembership:
    membership = next((m for m in memberships_in_force(user) if m.pk == membership_id), None)
    if membership is None:
        raise ActingError(_("You do not hold this staff role."))
    session[SESSION_MEMBERSHIP] = membership.pk
    return membership
