"""The client index's part of the public API: agencies submit their client lists.

`POST /client-index/records`: a batch of an agency's records, idempotent per agency record
id. All or nothing unless `partial`; the errors come back by line (the record's position
in the batch, from 1) and field, never repeating an identifier's value.
"""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema

from joinedup.apicontract import Refusal
from joinedup.federation.models import Agency
from joinedup.identity.api_auth import api_auth
from joinedup.identity.policy import decide

from .loading import LoadRefused, load
from .tasks import link_soon

router = Router(tags=["client index"])
MAX_BATCH = 5000


class RecordIn(Schema):
    record_id: str = Field(description="The agency's own id of the client (idempotency key)")
    given_names: str = ""
    family_name: str = ""
    birth_date: str = Field("", description="YYYY-MM-DD")
    sex: str = Field("", description="F, M, X or blank")
    street_address: str = ""
    locality: str = ""
    postal_code: str = ""
    phone: str = ""
    email: str = ""
    identifier_kind: str = Field("", description="e.g. ca-sin, where the law allows")
    identifier: str = Field("", description="Encrypted at rest; compared only as a keyed hash")


class BatchIn(Schema):
    records: list[RecordIn]
    partial: bool = Field(False, description="Keep the good records when some are bad")


class RowErrorOut(Schema):
    line: int
    field: str
    message: str


class LoadOut(Schema):
    received: int
    created: int
    updated: int
    unchanged: int
    rejected: int
    errors: list[RowErrorOut]


@router.post(
    "/client-index/records",
    response={200: LoadOut, 400: Refusal, 403: Refusal, 422: Refusal},
    auth=api_auth("clientindex.submit"),
    summary="Submit a batch of the agency's client records to the client index",
)
def submit_records(request: HttpRequest, body: BatchIn):
    """Checks every record, then stores them (all or nothing unless `partial`)."""
    context = request.auth
    agency = Agency.objects.filter(key=context.agency_key or "").first()
    decision = decide(context, "clientindex.submit", agency)
    if agency is None or not decision.allowed:
        detail = decision.reason or _("Only an agency submits its client list.")
        return 403, {"detail": detail, "errors": []}
    if not body.records:
        return 400, {"detail": _("There are no records to load."), "errors": []}
    if len(body.records) > MAX_BATCH:
        return 400, {
            "detail": _("Send at most %(count)s records in one batch.") % {"count": MAX_BATCH},
            "errors": [],
        }
    try:
        outcome = load(
            agency,
            [r.dict() for r in body.records],
            channel="api",
            partial=body.partial,
            user=None,
            first_line=1,
        )
    except LoadRefused as refused:
        return 422, {
            "detail": _("Nothing was loaded: %(count)s errors.") % {"count": len(refused.errors)},
            "errors": [e.as_dict() for e in refused.errors],
        }
    record = outcome.load
    if outcome.touched:
        link_soon(outcome.touched)
    return 200, {
        "received": record.received,
        "created": record.created,
        "updated": record.updated,
        "unchanged": record.unchanged,
        "rejected": record.rejected,
        "errors": [e.as_dict() for e in outcome.errors],
    }
