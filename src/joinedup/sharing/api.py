"""The sharing part of the API: a person's own access log and consents.

`GET /me/access-log` answers "who used my data": which agency, which staff role, what, why,
on which basis, when. Consents can be listed, downloaded as receipts (JSON or PDF) and
withdrawn; withdrawal takes effect at once.
"""

from __future__ import annotations

import datetime
import uuid
from typing import Literal

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import get_language
from ninja import Field, Router, Schema
from ninja.pagination import paginate

from joinedup.apicontract import Pages
from joinedup.identity import policy
from joinedup.identity.acting import ActingContext
from joinedup.identity.api_auth import api_auth
from joinedup.identity.models import User

from . import consent as consents
from . import ledger, presentation
from .models import ConsentRecord

router = Router(tags=["my data"])


class AccessOut(Schema):
    seq: int = Field(description="Position in the tamper-evident ledger (within its chain)")
    at: datetime.datetime
    agency: str | None = Field(None, description="Key of the agency whose staff used the data")
    agency_name: str
    role: str | None = Field(None, description="The staff role of the person who used it")
    action: Literal["read", "write"]
    categories: list[str]
    fields: list[str]
    purpose: str
    legal_basis: str = Field(description="statute, public_task, consent, mandate, …")
    legal_basis_name: str
    outcome: Literal["disclosed", "refused"]
    emergency: bool = Field(description="Emergency (break-glass) access, reviewed afterwards")
    elsewhere: bool = Field(
        False,
        description="Made on another government's deployment, reported back by its signed receipt",
    )


class AgencyRef(Schema):
    key: str
    name: str


class ConsentOut(Schema):
    id: uuid.UUID
    status: Literal["active", "withdrawn", "expired"]
    data_from: AgencyRef | None = None
    recipients: list[AgencyRef]
    purposes: list[str]
    categories: list[str]
    method: str
    given_at: datetime.datetime
    expires_at: datetime.datetime | None = None
    withdrawn_at: datetime.datetime | None = None


def consent_out(consent: ConsentRecord) -> ConsentOut:
    return ConsentOut(
        id=consent.pk,
        status=str(consent.status),
        data_from=AgencyRef(key=consent.provider.key, name=consent.provider.name)
        if consent.provider_id
        else None,
        recipients=[AgencyRef(key=a.key, name=a.name) for a in consent.recipients.all()],
        purposes=consent.purposes,
        categories=consent.categories,
        method=consent.method,
        given_at=consent.given_at,
        expires_at=consent.expires_at,
        withdrawn_at=consent.withdrawn_at,
    )


def _own_consent(context: ActingContext, consent_id: uuid.UUID) -> ConsentRecord:
    return get_object_or_404(
        ConsentRecord.objects.select_related("provider", "subject"),
        pk=consent_id,
        subject_id=context.subject_id,
    )


@router.get(
    "/me/access-log",
    response=list[AccessOut],
    auth=api_auth("sharing.own_records"),
    summary="Who used my data",
)
@paginate(Pages)
def access_log(request) -> list:
    context: ActingContext = request.auth
    return _EntriesByPage(ledger.events_for(context.subject_id))


class _EntriesByPage:
    """A person's ledger as the paginator sees it: counted by the database, and only the
    page asked for read and explained (a long ledger is never read whole for one page)."""

    def __init__(self, events):
        self.events = events

    def __len__(self) -> int:
        return self.events.count()

    def __getitem__(self, page: slice) -> list:
        return presentation.access_entries(self.events[page])


@router.get("/me/consents", response=list[ConsentOut], auth=api_auth("sharing.own_records"))
@paginate(Pages)
def my_consents(request) -> list[ConsentOut]:
    context: ActingContext = request.auth
    records = (
        ConsentRecord.objects.filter(subject_id=context.subject_id)
        .select_related("provider")
        .prefetch_related("recipients")
    )
    return [consent_out(c) for c in records]


@router.get("/me/consents/{consent_id}", response=ConsentOut, auth=api_auth("sharing.own_records"))
def my_consent(request, consent_id: uuid.UUID) -> ConsentOut:
    return consent_out(_own_consent(request.auth, consent_id))


@router.get(
    "/me/consents/{consent_id}/receipt",
    auth=api_auth("sharing.own_records"),
    summary="Download a consent receipt (JSON, or PDF with format=pdf)",
)
def my_consent_receipt(request, consent_id: uuid.UUID, format: Literal["json", "pdf"] = "json"):
    consent = _own_consent(request.auth, consent_id)
    if format == "pdf":
        response = HttpResponse(
            consents.receipt_pdf(consent, get_language()), content_type="application/pdf"
        )
        response["Content-Disposition"] = f'attachment; filename="consent-{consent.pk}.pdf"'
        return response
    return consents.receipt(consent)


@router.post(
    "/me/consents/{consent_id}/withdraw",
    response=ConsentOut,
    auth=api_auth("sharing.consent.withdraw"),
    summary="Withdraw a consent (takes effect at once)",
)
def withdraw(request, consent_id: uuid.UUID) -> ConsentOut:
    context: ActingContext = request.auth
    consent = _own_consent(context, consent_id)
    policy.require(context, "sharing.consent.withdraw", consent)
    user = User.objects.filter(pk=context.user_id).first() if context.user_id else None
    return consent_out(consents.withdraw_consent(consent, method="online", by_user=user))
