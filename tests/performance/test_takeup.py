"""Take-up of proactive offers of entitlements: acted on / offered, per service and place,
in one query at any size."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from joinedup.bundles.models import Bundle, Offer
from joinedup.federation.models import Jurisdiction, Service
from joinedup.identity.models import Person
from joinedup.performance.takeup import take_up

pytestmark = pytest.mark.django_db


@pytest.fixture
def offer(small_federation):
    service = Service.objects.create(
        key="ca.child-benefit",
        names={"en": "Canada Child Benefit", "fr": "ACE"},
        scope=Jurisdiction.objects.get(code="CA"),
        frame="transactional",
        client_type="person",
    )
    bundle = Bundle.objects.create(key="newborn", names={"en": "Newborn"}, checksum="x")

    def make(status: str, place: str = "CA-ON-TOR", period: str = "2026-07", trigger=None):
        person = Person.objects.create(given_names="P", family_name=str(Person.objects.count()))
        return Offer.objects.create(
            person=person,
            bundle=bundle,
            leg="child-benefit",
            service=service,
            trigger=trigger or Offer.Trigger.ENTITLEMENT_FOUND,
            event_id=f"rules:ca_child_benefit:{period}",
            place=place,
            period=period,
            status=status,
        )

    return make


def test_take_up_is_offers_acted_on_over_offers_per_service_and_place(offer):
    for status in ("accepted", "accepted", "declined", "open"):
        offer(status)
    offer("accepted", place="CA-ON-OTT")
    offer("open", period="2026-08")
    offer("accepted", trigger=Offer.Trigger.BIRTH_REGISTERED)  # not an entitlement's offer
    rows = {(r.service, r.place): r for r in take_up("2026-07")}
    toronto = rows[("ca.child-benefit", "CA-ON-TOR")]
    assert (toronto.offers, toronto.acted_on, toronto.declined, toronto.open) == (4, 2, 1, 1)
    assert toronto.rate == 0.5
    assert rows[("ca.child-benefit", "CA-ON-OTT")].rate == 1.0
    assert sum(r.offers for r in take_up()) == 6


@pytest.mark.parametrize("size", [10, 200])
def test_one_query_at_any_size(offer, size):
    for index in range(size):
        offer("accepted" if index % 3 == 0 else "open", place=f"CA-ON-{index % 7}")
    with CaptureQueriesContext(connection) as queries:
        rows = take_up("2026-07")
    assert sum(r.offers for r in rows) == size
    assert len(queries) == 1
