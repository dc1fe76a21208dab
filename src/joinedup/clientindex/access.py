"""The ledger entries of the client index: every steward's read and decision lands in the
ledger of each person it touches.

The gate's `disclose` serves people-facing roles reading a person's registry fields; a data
steward reads agency records to keep the index, a public task no agreement needs to name.
So these reads and decisions are written with the ledger's own `append`, with the purpose
`client-index` and the basis public task, holder = the agency whose record was read.
"""

from __future__ import annotations

from collections.abc import Iterable

from joinedup.identity.acting import ActingContext
from joinedup.sharing import ledger
from joinedup.sharing.models import AccessEvent, LegalBasis

from .models import SourceRecord

PURPOSE = "client-index"
READ_FIELDS = ["given_names", "family_name", "birth_date", "address", "email", "phone"]


def record_use(
    context: ActingContext,
    records: Iterable[SourceRecord],
    *,
    action: str = AccessEvent.Action.READ,
    fields: list[str] | None = None,
) -> int:
    """One ledger row per (person, holding agency) among the records; how many were written."""
    seen: set[tuple[int, str]] = set()
    for record in records:
        cluster = record.cluster
        if cluster is None or cluster.person_id is None:
            continue
        key = (cluster.person_id, record.agency.key)
        if key in seen:
            continue
        seen.add(key)
        ledger.append(
            subject_id=cluster.person_id,
            actor_user_id=context.user_id,
            actor_person_id=None,
            api_client_id=context.api_client_id,
            actor_agency=context.agency_key or "",
            actor_role=context.role or "",
            holder_agency=record.agency.key,
            action=action,
            categories=["identity", "birth", "address", "contact"],
            fields=fields or READ_FIELDS,
            purpose=PURPOSE,
            legal_basis=LegalBasis.PUBLIC_TASK,
            agreement_key="",
            consent_id="",
            break_glass_id=None,
            outcome=AccessEvent.Outcome.DISCLOSED,
            reason="",
            channel=context.channel or "",
        )
    return len(seen)
