"""Joint procurement: agencies (of any level) pool a need, the lead agency runs it, and each
participant's share and commitment is recorded and signed off by that participant.

The shares add up to one; a commitment is the participant's share of the estimated value,
to the cent, the last participant taking the rounding so that commitments add up exactly.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from joinedup.federation.models import Agency
from joinedup.identity.acting import ActingContext

from .models import JointProcurement, Participant

CENT = Decimal("0.01")


class ProcurementError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@transaction.atomic
def pool(
    names: dict[str, str],
    need: dict[str, str],
    lead: Agency,
    estimated_value: Decimal,
    shares: list[tuple[Agency, Decimal]],
    currency: str = "CAD",
) -> JointProcurement:
    """Record a pooled need and the participants' shares (the lead among them)."""
    if not shares:
        raise ProcurementError("no_participants", _("Name the agencies that pool the need."))
    if lead not in [agency for agency, _share in shares]:
        raise ProcurementError("lead_not_participant", _("The lead agency must take part."))
    if len({agency.pk for agency, _share in shares}) != len(shares):
        raise ProcurementError("twice", _("An agency takes part only once."))
    if any(share <= 0 or share > 1 for _agency, share in shares):
        raise ProcurementError("bad_share", _("Each share is more than 0 and at most 1."))
    if sum((share for _agency, share in shares), Decimal(0)) != Decimal(1):
        raise ProcurementError("shares_not_whole", _("The shares must add up to the whole need."))
    procurement = JointProcurement.objects.create(
        names=names, need=need, lead=lead, estimated_value=estimated_value, currency=currency
    )
    committed = Decimal("0.00")
    rows = []
    for index, (agency, share) in enumerate(shares):
        if index == len(shares) - 1:
            commitment = estimated_value - committed
        else:
            commitment = (estimated_value * share).quantize(CENT, rounding=ROUND_HALF_UP)
        committed += commitment
        rows.append(
            Participant(procurement=procurement, agency=agency, share=share, commitment=commitment)
        )
    Participant.objects.bulk_create(rows)
    return procurement


@transaction.atomic
def sign(context: ActingContext, procurement: JointProcurement) -> Participant:
    """The acting staff member signs their own agency's commitment (once)."""
    participant = (
        Participant.objects.select_for_update()
        .filter(procurement=procurement, agency__key=context.agency_key)
        .first()
    )
    if participant is None:
        raise ProcurementError("not_participant", _("Your agency does not take part."))
    if participant.signed_on is not None:
        raise ProcurementError("signed", _("Your agency has already signed its commitment."))
    participant.signed_on = timezone.localdate()
    participant.signed_by_id = context.user_id
    participant.save(update_fields=["signed_on", "signed_by"])
    return participant


def fully_signed(procurement: JointProcurement) -> bool:
    return not procurement.participants.filter(signed_on__isnull=True).exists()
