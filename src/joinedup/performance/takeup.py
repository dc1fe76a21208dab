"""Take-up of proactive offers of entitlements: of the people the rules found entitled and
offered a benefit's service, how many acted on it (accepted the offer, which submits the
application), per service and place.

Read from bundles' offers of trigger `entitlement_found` (one per person, benefit and month,
made from the rules' outbox events), so performance needs nothing of the rules themselves.
One aggregate query, whatever the number of offers.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Q

from joinedup.bundles.models import Offer


@dataclass(frozen=True)
class TakeUp:
    service: str
    place: str
    offers: int
    acted_on: int
    declined: int
    open: int

    @property
    def rate(self) -> float | None:
        """Offers acted on / offers; None when nothing was offered."""
        return self.acted_on / self.offers if self.offers else None


def take_up(period: str | None = None) -> list[TakeUp]:
    """Take-up per service and place, for one month of entitlements or for all."""
    offers = Offer.objects.filter(trigger=Offer.Trigger.ENTITLEMENT_FOUND)
    if period:
        offers = offers.filter(period=period)
    rows = (
        offers.values("service__key", "place")
        .annotate(
            offers=Count("pk"),
            acted_on=Count("pk", filter=Q(status=Offer.Status.ACCEPTED)),
            declined=Count("pk", filter=Q(status=Offer.Status.DECLINED)),
            open=Count("pk", filter=Q(status=Offer.Status.OPEN)),
        )
        .order_by("service__key", "place")
    )
    return [
        TakeUp(r["service__key"], r["place"], r["offers"], r["acted_on"], r["declined"], r["open"])
        for r in rows
    ]
