"""Events offer services: a birth registered (with the child's record and the parents'
mandates), an address changed, a death registered. Accepting is one step."""

from __future__ import annotations

import datetime

import pytest

from joinedup.bundles import offers, submission
from joinedup.bundles.models import Offer, RegisteredBirth
from joinedup.delivery import applications, queues
from joinedup.delivery.models import Application, Notification, WorkItem
from joinedup.identity import acting, mandates, policy
from joinedup.identity.models import Person
from joinedup.sharing import dispatch
from joinedup.sharing.models import ConsentRecord

from .conftest import NEWBORN_LEGS, newborn_answers, newborn_screening, run_workers, staff

pytestmark = pytest.mark.django_db


def register_birth_with_benefit_left_out(world):
    made, _created = submission.submit_bundle(
        world.context(world.amara),
        "newborn",
        newborn_answers(),
        [leg for leg in NEWBORN_LEGS if leg != "child-benefit"],
        ["child-benefit"],
        "newborn-1",
        screening=newborn_screening(),
    )
    run_workers()  # the legs' applications are made by the task workers
    return made, made.legs.get(key="birth-registration").application


def registrar_approves(application: Application, agency: str = "serviceontario") -> None:
    item = WorkItem.objects.get(application=application, status="open")
    queues.complete(staff(agency), item, "approve")
    dispatch.dispatch_pending()


def test_a_registered_birth_gives_the_child_a_record_and_the_parents_a_mandate(world):
    _made, registration = register_birth_with_benefit_left_out(world)
    dispatch.dispatch_pending()
    assert not RegisteredBirth.objects.exists()  # not before the registrar decides
    registrar_approves(registration)
    birth = RegisteredBirth.objects.get(registration=registration)
    child = birth.child
    assert (child.given_names, child.family_name) == ("Noor", "Okafor")
    assert child.birth_date == datetime.date.fromisoformat(newborn_answers()["birth_date"])
    assert child.current_address().jurisdiction.code == "CA-ON-TOR"
    assert set(birth.parents.all()) == {world.amara.person, world.david.person}
    for parent in (world.amara, world.david):
        mandate = mandates.mandate_for(parent.person_id, child.pk)
        assert mandate is not None and set(mandate.scopes) == {"view", "apply", "manage"}
        assert mandate.valid_to == datetime.date(
            child.birth_date.year + 18, child.birth_date.month, child.birth_date.day
        ) - datetime.timedelta(days=1)
    # A parent now acts for the newborn under that mandate.
    context = world.context(world.amara, child)
    assert context.subject_id == child.pk and "apply" in context.mandate_scopes
    assert policy.decide(context, "bundles.view").allowed
    # Replaying the event changes nothing.
    from joinedup.bundles import births

    assert births.record_birth(registration).pk == birth.pk
    assert Person.objects.filter(given_names="Noor").count() == 1


def test_acting_for_a_child_without_a_mandate_is_refused(world):
    _made, registration = register_birth_with_benefit_left_out(world)
    registrar_approves(registration)
    child = RegisteredBirth.objects.get(registration=registration).child
    with pytest.raises(acting.ActingError):
        world.context(world.jordan, child)
    # Without the strict check, the context falls back to Jordan acting for himself.
    fallback = acting.for_user(world.jordan, subject_id=child.pk)
    assert fallback.subject_id == world.jordan.person_id


def test_the_birth_offers_the_benefits_not_applied_for(world):
    _made, registration = register_birth_with_benefit_left_out(world)
    registrar_approves(registration)
    amara_offers = Offer.objects.filter(person=world.amara.person)
    # Amara left the federal benefit out and applied for the provincial one.
    assert [o.service.key for o in amara_offers] == ["ca.child-benefit"]
    offer = amara_offers.get()
    assert offer.trigger == "birth_registered" and offer.status == "open"
    assert offer.about.given_names == "Noor"
    assert offer.answers["marital_status"] == "married"  # from the bundle, asked once
    # David applied for nothing: both benefits are offered to him too.
    assert sorted(
        Offer.objects.filter(person=world.david.person).values_list("service__key", flat=True)
    ) == [
        "ca.child-benefit",
        "ca.provincial-child-benefit",
    ]
    # And Amara is told, by e-mail.
    notice = Notification.objects.get(person=world.amara.person, event="offer")
    assert "Canada Child Benefit" in notice.subject
    assert f"/en/my/offers/{offer.pk}/" in notice.body
    # A replayed event offers nothing new.
    assert (
        offers.make_offers(
            world.amara.person,
            "birth_registered",
            offer.event_id,
            place=registration.place,
            since=registration.submitted_at,
        )
        == []
    )


def test_accepting_is_one_step_prefilled_and_consented(world):
    _made, registration = register_birth_with_benefit_left_out(world)
    registrar_approves(registration)
    offer = Offer.objects.get(person=world.amara.person)
    context = world.context(world.amara)
    seen = offers.preview_offer(context, offer)
    # Only what the bundle did not need is asked: the partner's name (the provincial benefit
    # Amara kept does not ask it); the rest was given once, in the bundle.
    assert seen.questions == ["spouse_name"]
    assert seen.agency.key == "cra"
    assert dict(seen.rows)["Marital status"] == "Married"
    with pytest.raises(submission.BundleError) as refused:
        offers.accept_offer(context, offer, {"spouse_name": "David Okafor"}, consent=False)
    assert refused.value.code == "consent_missing"
    with pytest.raises(submission.BundleError) as missing:
        offers.accept_offer(context, offer, consent=True)
    assert missing.value.errors[0]["field"] == "spouse_name"
    application, created = offers.accept_offer(
        context, offer, {"spouse_name": "David Okafor"}, consent=True
    )
    assert created and application.service.key == "ca.child-benefit"
    assert application.agency.key == "cra"
    assert application.data["children"] == [
        {"given_names": "Noor", "birth_date": newborn_answers()["birth_date"]}
    ]
    offer.refresh_from_db()
    assert offer.status == "accepted" and offer.application_id == application.pk
    assert ConsentRecord.objects.filter(pk=offer.consent_id, recipients__key="cra").exists()
    assert application.data["spouse_name"] == "David Okafor"
    again, created_again = offers.accept_offer(context, offer, consent=True)
    assert again.pk == application.pk and not created_again


def test_someone_else_cannot_accept_an_offer(world):
    _made, registration = register_birth_with_benefit_left_out(world)
    registrar_approves(registration)
    offer = Offer.objects.get(person=world.amara.person)
    with pytest.raises(policy.PolicyDenied):
        offers.accept_offer(world.context(world.jordan), offer, consent=True)
    with pytest.raises(policy.PolicyDenied):
        offers.accept_offer(world.context(world.david), offer, consent=True)


def test_declining_sends_nothing(world):
    _made, registration = register_birth_with_benefit_left_out(world)
    registrar_approves(registration)
    offer = Offer.objects.get(person=world.amara.person)
    before = Application.objects.count()
    offers.decline_offer(world.context(world.amara), offer)
    offer.refresh_from_db()
    assert offer.status == "declined" and Application.objects.count() == before
    with pytest.raises(submission.BundleError) as closed:
        offers.accept_offer(world.context(world.amara), offer, consent=True)
    assert closed.value.code == "offer_closed"


def test_an_address_changed_offers_the_moving_services(world):
    moved_on = (datetime.date.today() - datetime.timedelta(days=1)).isoformat()
    application, _created = applications.submit_application(
        world.context(world.jordan),
        "ca.change-of-address",
        {
            "new_address": {
                "street_address": "10 rue Saint-Jean",
                "locality": "Québec",
                "postal_code": "G1R 1N8",
            },
            "old_province": "CA-QC",
            "new_province": "CA-QC",
            "moved_on": moved_on,
        },
    )
    assert application.status == "approved"  # a move within Québec is confirmed at once
    dispatch.dispatch_pending()
    offered = Offer.objects.filter(person=world.jordan.person)
    assert sorted(offered.values_list("leg", flat=True)) == [
        "driver-licence",
        "health-card",
        "voters-list",
    ]
    health = offered.get(leg="health-card")
    assert health.trigger == "address_changed" and health.place == "CA-QC"
    seen = offers.preview_offer(world.context(world.jordan), health)
    assert seen.agency.key == "ramq"
    assert seen.data["new_address"]["street_address"] == "10 rue Saint-Jean"
    assert seen.data["moved_on"] == moved_on


def test_a_registered_death_offers_the_survivor_benefit(world):
    made, _created = submission.submit_bundle(
        world.context(world.amara),
        "death",
        {
            "deceased_given_names": "Grace",
            "deceased_family_name": "Okafor",
            "deceased_birth_date": "1950-02-01",
            "date_of_death": (datetime.date.today() - datetime.timedelta(days=2)).isoformat(),
            "place_of_death": "Toronto",
            "relationship": "child",
        },
        ["death-registration", "stop-pensions", "health-card"],
        [],
        "death-1",
        screening={
            "already_registered": False,
            "survivor": False,
            "had_driver_licence": False,
            "had_passport": False,
        },
    )
    assert sorted(made.legs.values_list("key", flat=True)) == [
        "death-registration",
        "health-card",
        "stop-pensions",
    ]
    run_workers()  # the legs' applications are made by the task workers
    registrar_approves(made.legs.get(key="death-registration").application)
    offer = Offer.objects.get(person=world.amara.person)
    assert offer.service.key == "ca.survivor-benefit" and offer.trigger == "death_registered"
    assert offer.answers["deceased_given_names"] == "Grace"
    seen = offers.preview_offer(world.context(world.amara), offer)
    assert seen.agency.key == "esdc" and not seen.errors
