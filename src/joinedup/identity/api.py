"""The identity part of the API: who am I, and a person's record for those allowed to see it.

Endpoints receive the acting context as `request.auth` (set by the policy's API auth) and
pass it on; they never look at the request to learn who acts.
"""

from __future__ import annotations

import datetime

from django.shortcuts import get_object_or_404
from ninja import Field, Router, Schema, Status

from . import acting, assurance, disclosure, mandates, policy, tokens
from .acting import ActingContext
from .api_auth import api_auth
from .models import Person, PersonalToken, User

router = Router(tags=["identity"])


class PersonRef(Schema):
    id: int
    name: str


class MandateOut(Schema):
    id: int
    kind: str
    person: PersonRef | None = None
    business: str | None = None
    scopes: list[str]
    valid_from: datetime.date
    valid_to: datetime.date | None = None


class MembershipOut(Schema):
    agency: str
    role: str
    offices: list[str]
    areas: list[str]


class MeOut(Schema):
    account: str | None = Field(None, description="The account's e-mail, or None for a client")
    person: PersonRef | None = None
    acting_for: PersonRef | None = None
    mandate: int | None = Field(None, description="The mandate the request acts under")
    level_of_assurance: int
    may_act_for: list[MandateOut]
    staff: list[MembershipOut]
    agency: str | None = Field(None, description="The agency an API client acts for")
    role: str | None = None
    channel: str
    scopes: list[str] | None = None


class ProofOut(Schema):
    level: int
    method: str
    verified_at: datetime.datetime
    valid_until: datetime.date | None = None
    office: str | None = None


class PersonOut(Schema):
    id: int
    given_names: str
    family_name: str
    birth_date: datetime.date | None = None
    preferred_language: str
    level_of_assurance: int
    identifiers: dict[str, str] = Field(description="Masked: only the last characters show")
    proofs: list[ProofOut]


#: What the person endpoint returns, read through the data gate, and why.
PERSON_FIELDS = (
    "given_names",
    "family_name",
    "birth_date",
    "preferred_language",
    "masked_identifiers",
)
PERSON_PURPOSE = "person-record"


def _ref(person: Person | None) -> PersonRef | None:
    return PersonRef(id=person.pk, name=person.full_name) if person else None


def _mandate_out(mandate) -> MandateOut:
    return MandateOut(
        id=mandate.pk,
        kind=mandate.kind,
        person=_ref(mandate.subject),
        business=mandate.business.legal_name if mandate.business_id else None,
        scopes=list(mandate.scopes),
        valid_from=mandate.valid_from,
        valid_to=mandate.valid_to,
    )


def describe(context: ActingContext) -> MeOut:
    """What the API says about the actor of a context."""
    user = User.objects.select_related("person").filter(pk=context.user_id).first()
    person = user.person if user else None
    subject = Person.objects.filter(pk=context.subject_id).first() if context.subject_id else None
    memberships = acting.memberships_in_force(user) if user else []
    return MeOut(
        account=user.email if user else None,
        person=_ref(person),
        acting_for=_ref(subject) if context.acting_for_other else None,
        mandate=context.mandate_id,
        level_of_assurance=context.assurance,
        may_act_for=[_mandate_out(m) for m in mandates.acting_for(person)],
        staff=[
            MembershipOut(
                agency=m.agency.key,
                role=m.role,
                offices=sorted(m.offices.values_list("key", flat=True)),
                areas=sorted(m.areas.values_list("code", flat=True)),
            )
            for m in memberships
        ],
        agency=context.agency_key if context.api_client_id else None,
        role=context.role if context.api_client_id else None,
        channel=context.channel,
        scopes=list(context.scopes) if context.scopes is not None else None,
    )


@router.get("/me", response=MeOut, auth=api_auth("identity.me"))
def me(request) -> MeOut:
    """Who am I: the account, the person, the level of assurance, whom I may act for."""
    return describe(request.auth)


@router.get("/people/{person_id}", response=PersonOut, auth=api_auth("person.view"))
def person(request, person_id: int) -> PersonOut:
    """One person's record (identifiers masked), for the person, a mandate holder or staff
    of an agency serving where the person lives."""
    context: ActingContext = request.auth
    record = get_object_or_404(Person, pk=person_id)
    policy.require(context, "person.view", record)
    # Read through the data gate: what it withholds is left out, and the read is in the
    # person's ledger (unless the caller is the person).
    shown = disclosure.disclose(context, record, PERSON_FIELDS, PERSON_PURPOSE).fields
    birth_date = shown.get("birth_date")
    return PersonOut(
        id=record.pk,
        given_names=shown.get("given_names") or "",
        family_name=shown.get("family_name") or "",
        birth_date=datetime.date.fromisoformat(birth_date) if birth_date else None,
        preferred_language=shown.get("preferred_language") or "",
        level_of_assurance=assurance.level_of(record),
        identifiers=shown.get("masked_identifiers") or {},
        proofs=[
            ProofOut(
                level=p.level,
                method=p.method,
                verified_at=p.verified_at,
                valid_until=p.valid_until,
                office=p.office.key if p.office_id else None,
            )
            for p in assurance.valid_proofings(record).select_related("office")
        ],
    )


class TokenIn(Schema):
    name: str = Field("", max_length=100)
    scopes: list[str] = Field(default_factory=lambda: ["read"])
    days: int = tokens.DEFAULT_DAYS


class TokenOut(Schema):
    key_id: str
    name: str
    scopes: list[str]
    expires_at: datetime.datetime
    token: str | None = Field(None, description="The secret value, shown this once only")


@router.post("/me/tokens", response={201: TokenOut}, auth=api_auth("token.manage"))
def create_token(request, payload: TokenIn):
    """A new personal API token for the signed-in account; its value is shown once."""
    context: ActingContext = request.auth
    user = User.objects.get(pk=context.user_id)
    token, value = tokens.create_personal_token(
        user, name=payload.name, scopes=payload.scopes, days=payload.days
    )
    return Status(
        201,
        TokenOut(
            key_id=token.key_id,
            name=token.name,
            scopes=token.scopes,
            expires_at=token.expires_at,
            token=value,
        ),
    )


@router.delete("/me/tokens/{key_id}", response={204: None}, auth=api_auth("token.manage"))
def revoke_token(request, key_id: str):
    """Revoke one of the account's personal tokens."""
    context: ActingContext = request.auth
    token = get_object_or_404(PersonalToken, key_id=key_id, user_id=context.user_id)
    policy.require(context, "token.manage", token)
    tokens.revoke(token)
    return Status(204, None)
