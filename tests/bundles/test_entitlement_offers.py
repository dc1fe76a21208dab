"""Proactive offers of what the rules found: a population run's entitlement events become
one offer per person, benefit and month, with the estimated amount, shown in My services;
rerunning offers nothing twice."""

from __future__ import annotations

import datetime

import pytest

from joinedup.bundles.models import Offer
from joinedup.identity.client_registry import AddressInput, register_person
from joinedup.identity.models import Relationship
from joinedup.rules.entitlements import run_population
from joinedup.rules.models import Entitlement
from joinedup.sharing import dispatch

pytestmark = pytest.mark.django_db


@pytest.fixture
def child(world):
    kid = register_person(
        given_names="Zola",
        family_name="Okafor",
        birth_date=datetime.date(2024, 2, 1),
        address=AddressInput("40 Bay St", "Toronto", "", "M5J 2X2", "CA", "CA-ON-TOR"),
    )
    for parent in (world.amara.person, world.david.person):
        Relationship.objects.create(
            person=parent,
            kind=Relationship.Kind.PARENT_OF,
            related_person=kid,
            valid_from=datetime.date(2024, 2, 1),
        )
    return kid


def run(world) -> None:
    incomes = {world.amara.person.pk: {2025: 30000}, world.david.person.pk: {2025: 12000}}
    run_population("CA-ON-TOR", "2026-07", incomes)
    dispatch.dispatch_pending()


def test_an_entitlement_found_is_offered_once_with_its_amount(world, child, client):
    run(world)
    federal = Entitlement.objects.get(benefit="ca_child_benefit")
    offers = Offer.objects.filter(trigger=Offer.Trigger.ENTITLEMENT_FOUND)
    offer = offers.get(service__key="ca.child-benefit")
    assert offer.person_id == federal.person_id
    assert (offer.amount, offer.currency, offer.period) == (federal.amount, "CAD", "2026-07")
    assert offer.bundle.key == "newborn" and offer.status == Offer.Status.OPEN
    count = offers.count()

    # A rerun from scratch (the entitlements recomputed, new events) offers nothing new.
    Entitlement.objects.all().delete()
    run(world)
    assert Offer.objects.filter(trigger=Offer.Trigger.ENTITLEMENT_FOUND).count() == count

    # The person sees the offer and its estimated amount in My services.
    parent = world.amara if federal.person_id == world.amara.person.pk else world.david
    client.force_login(parent)
    page = client.get("/en/my/").content.decode()
    assert f"Estimated at ${federal.amount:,.2f} a month." in page


def test_no_offer_for_a_benefit_without_a_service(world, child):
    run(world)
    services = set(
        Offer.objects.filter(trigger=Offer.Trigger.ENTITLEMENT_FOUND).values_list(
            "service__key", flat=True
        )
    )
    assert services <= {"ca.child-benefit", "ca.provincial-child-benefit"}
