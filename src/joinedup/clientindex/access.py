"""The gate for the client index: every steward's read and decision goes through
`sharing.gate.disclose` and lands in the ledger of each person it touches.

A data steward reads agency records to keep the index: a public task, for the purpose
`client-index` only (registered with the gate in `apps.ready`), whichever agency holds the
record. The gate decides and records it like any other read, holder = the agency whose
record was read; a context the gate refuses (not a steward, another purpose) raises
`DisclosureRefused` and the refusal is in the ledger too.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.utils.translation import gettext_lazy as _

from joinedup.identity.acting import ActingContext
from joinedup.identity.models import Person
from joinedup.identity.policy import Role
from joinedup.sharing import gate, purposes
from joinedup.sharing.models import AccessEvent, LegalBasis

from .models import SourceRecord

PURPOSE = "client-index"
#: What a steward sees of a source record, as the gate's fields (their categories).
READ_FIELDS = ["given_names", "family_name", "birth_date", "address", "email", "phone"]
CATEGORIES = ("identity", "birth", "address", "contact")


def register() -> None:
    """Name the purpose and let data stewards read for it (called from `apps.ready`)."""
    purposes.register(PURPOSE, _("To keep the index linking your records across agencies"))
    gate.register_stewardship(Role.DATA_STEWARD, PURPOSE, CATEGORIES, basis=LegalBasis.PUBLIC_TASK)


def record_use(
    context: ActingContext,
    records: Iterable[SourceRecord],
    *,
    action: str = AccessEvent.Action.READ,
    fields: list[str] | None = None,
) -> int:
    """One gate decision (and ledger row) per (person, holding agency) among the records;
    how many were made. Raises `gate.DisclosureRefused` when the gate says no."""
    seen: set[tuple[int, int]] = set()
    subjects: dict[int, Person] = {}
    for record in records:
        cluster = record.cluster
        if cluster is None or cluster.person_id is None:
            continue
        key = (cluster.person_id, record.agency_id)
        if key in seen:
            continue
        seen.add(key)
        if cluster.person_id not in subjects:
            subjects[cluster.person_id] = Person.objects.get(pk=cluster.person_id)
        gate.disclose(
            context,
            subjects[cluster.person_id],
            fields or READ_FIELDS,
            PURPOSE,
            holder=record.agency,
            action=action,
        )
    return len(seen)
