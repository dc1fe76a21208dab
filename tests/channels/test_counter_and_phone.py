"""The counter and the phone centre, and their refusals: co-location without a joint-delivery
agreement, a caller who fails verification; interactions announced for measurement; no
overbooking of appointments."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from joinedup.channels import appointments, counter, interactions, phone, transfers
from joinedup.channels.colocation import NotCoLocated
from joinedup.channels.models import CallTask, Interaction
from joinedup.delivery.models import Application, SandboxSms
from joinedup.federation.models import Office
from joinedup.identity import assurance
from joinedup.identity.models import ContactPoint
from joinedup.sharing.models import AccessEvent, OutboxEvent
from tests.bundles.conftest import NEWBORN_LEGS, newborn_answers, newborn_screening

from .conftest import birth_registration

pytestmark = pytest.mark.django_db


def test_a_counter_visit_verifies_in_person_and_submits_a_bundle(world):
    clerk = world.staff(world.esdc_clerk)
    amara = world.amara.person
    visit = counter.start_visit(clerk, amara, topic="New baby")
    shown = counter.person_view(clerk, visit)
    assert shown.fields["family_name"] == "Okafor"
    proof = counter.verify_in_person(clerk, visit, ["passport", "driver's licence"])
    assert proof.level == 3 and proof.office.key == "sc-toronto-downtown"
    assert assurance.level_of(amara) == 3  # for every agency's services
    submission = counter.submit_bundle_for(
        clerk,
        visit,
        "newborn",
        newborn_answers(other_parent_given_names="", other_parent_family_name=""),
        NEWBORN_LEGS,
        screening=newborn_screening(),
    )
    assert {leg.status for leg in submission.legs.all()} == {"received"}
    from joinedup.sharing import dispatch

    dispatch.dispatch_pending()  # the task workers make the legs' applications
    legs = list(submission.legs.select_related("application__agency"))
    assert legs and all(leg.application.channel == "counter" for leg in legs)
    assert all(leg.application.submitted_by_id == world.esdc_clerk.pk for leg in legs)
    touched = set(visit.applications.values_list("pk", flat=True))
    assert {leg.application_id for leg in legs} <= touched
    # Each leg of another agency shows in the ledger with both agencies and the agreement.
    others = {leg.application.agency.key for leg in legs} - {"esdc"}
    assert others
    for agency in others:
        row = AccessEvent.objects.filter(
            subject_id=amara.pk, purpose="joint-delivery", holder_agency=agency
        ).first()
        assert row is not None and row.actor_agency == "esdc"
        assert row.agreement_key and row.outcome == "disclosed"
    ended = interactions.end(visit, Interaction.Outcome.SUBMITTED)
    event = OutboxEvent.objects.get(type="org.joinedup.interaction.recorded", subject=str(ended.pk))
    assert event.data["channel"] == "counter"
    assert event.data["agency"] == "esdc"
    assert event.data["office"] == "sc-toronto-downtown"
    assert set(event.data["applications"]) == {str(pk) for pk in touched}
    assert event.data["minutes"] >= 0 and event.data["outcome"] == "submitted"
    # Measurement counts it: its handle time is shared among the applications it touched.
    from joinedup.performance.models import Interaction as Counted

    dispatch.dispatch_pending()
    counted = Counted.objects.get(event_id=str(event.id))
    assert counted.channel == "counter" and counted.agency == "esdc"
    assert counted.shares.count() == len(touched)


def test_an_agent_without_a_joint_delivery_agreement_is_refused(world):
    city = world.staff(world.city_clerk)
    amara = world.amara.person
    visit = counter.start_visit(city, amara)
    with pytest.raises(NotCoLocated):
        counter.start_service(city, visit, "ca.birth-registration", birth_registration())
    assert not Application.objects.filter(applicant=amara).exists()
    refusal = AccessEvent.objects.get(
        subject_id=amara.pk, purpose="joint-delivery", actor_agency="toronto"
    )
    assert refusal.holder_agency == "serviceontario"
    assert refusal.outcome == "refused" and refusal.reason == "no_agreement"


def test_an_agent_under_an_agreement_serves_another_agencys_service(world):
    clerk = world.staff(world.esdc_clerk)
    amara = world.amara.person
    visit = counter.start_visit(clerk, amara)
    application = counter.start_service(clerk, visit, "ca.birth-registration", birth_registration())
    assert application.agency.key == "serviceontario"
    assert application.channel == "counter"
    visit.refresh_from_db()
    assert visit.served_for == ["serviceontario"]


def _call(world) -> Interaction:
    return phone.start_call(world.staff(world.esdc_clerk), world.amara.person, topic="Status")


def _mobile(world) -> ContactPoint:
    return world.amara.person.contact_points.get(kind="mobile")


def test_a_verified_caller_is_told_their_status_and_warm_transferred(world):
    agent = world.staff(world.esdc_clerk)
    from joinedup.delivery.applications import submit_application

    registration, _ = submit_application(
        world.person(world.amara), "ca.birth-registration", birth_registration()
    )
    call = _call(world)
    with pytest.raises(phone.NotVerified):
        phone.lookup(agent, call)
    phone.send_code(agent, call, _mobile(world).pk)
    sms = SandboxSms.objects.latest("created_at")
    code = "".join(ch for ch in sms.body if ch.isdigit())[:6]
    assert phone.verify(agent, call, {"birth_date": "1988-03-14", "postal_code": "m5j 2x2"}, code)
    found = phone.lookup(agent, call)
    assert registration in found
    assert AccessEvent.objects.filter(
        purpose="caller-status-enquiry", holder_agency="serviceontario", actor_agency="esdc"
    ).exists()
    interactions.touch(call, registration)
    task = transfers.warm_transfer(agent, call, "cra", "Asks about the child benefit")
    assert task.agency.key == "cra" and task.kind == CallTask.Kind.TRANSFER
    assert task.context["caller_verified_at"]
    assert task.context["applications"] == [str(registration.pk)]
    call.refresh_from_db()
    assert call.outcome == "transferred" and not call.is_open
    # The receiving agent takes the call with the context; the caller is not asked again.
    cra = world.staff(world.cra_agent)
    assert task in transfers.queue(cra)
    _taken, new_call = transfers.take(cra, task.pk)
    assert new_call.agency.key == "cra" and new_call.verified_at is not None
    assert registration in phone.lookup(cra, new_call)


def test_a_caller_who_fails_verification_is_refused_lookups(world):
    agent = world.staff(world.esdc_clerk)
    call = _call(world)
    phone.send_code(agent, call, _mobile(world).pk)
    for _ in range(phone.MAX_ATTEMPTS):
        assert not phone.verify(
            agent, call, {"birth_date": "1988-03-14", "postal_code": "M5J 2X2"}, "000000"
        )
        call.refresh_from_db()
    with pytest.raises(phone.NotVerified):
        phone.verify(agent, call, {"birth_date": "1988-03-14", "postal_code": "M5J 2X2"}, "1")
    with pytest.raises(phone.NotVerified):
        phone.lookup(agent, call)
    with pytest.raises(phone.NotVerified):
        phone.send_code(agent, call, _mobile(world).pk)
    with pytest.raises(phone.NotVerified):
        transfers.warm_transfer(agent, call, "cra", "anything")


def test_a_code_goes_only_to_a_verified_contact_point(world):
    agent = world.staff(world.esdc_clerk)
    amara = world.amara.person
    unverified = ContactPoint.objects.create(person=amara, kind="mobile", value="+1 416 555 0199")
    call = _call(world)
    with pytest.raises(interactions.InteractionError):
        phone.send_code(agent, call, unverified.pk)


def test_wrong_answers_fail_even_with_the_right_code(world):
    agent = world.staff(world.esdc_clerk)
    call = _call(world)
    phone.send_code(agent, call, _mobile(world).pk)
    sms = SandboxSms.objects.latest("created_at")
    code = "".join(ch for ch in sms.body if ch.isdigit())[:6]
    assert not phone.verify(
        agent, call, {"birth_date": "1990-01-01", "postal_code": "M5J 2X2"}, code
    )
    assert phone.attempts_left(Interaction.objects.get(pk=call.pk)) == phone.MAX_ATTEMPTS - 1


def test_slots_are_never_overbooked(world):
    office = Office.objects.get(key="sc-toronto-downtown")
    start = timezone.now() + datetime.timedelta(days=2)
    (slot,) = appointments.open_slots(office, [start], capacity=1)
    clerk = world.staff(world.esdc_clerk)
    first = appointments.book(clerk, slot.pk, world.amara.person, channel="counter")
    assert first.seat == 1
    from joinedup.identity.client_registry import register_person

    other = register_person(
        given_names="Lee", family_name="Chan", birth_date=datetime.date(1990, 1, 1)
    )
    with pytest.raises(appointments.BookingError) as refused:
        appointments.book(clerk, slot.pk, other, channel="counter")
    assert refused.value.code == "full"
    assert slot.appointments.filter(status="booked").count() == 1
    # A person books for themselves only.
    (later,) = appointments.open_slots(office, [start + datetime.timedelta(hours=1)], capacity=2)
    own = appointments.book(world.person(world.amara), later.pk, world.amara.person)
    assert own.seat == 1 and own.channel == "online"
    with pytest.raises(appointments.BookingError):
        appointments.book(world.person(world.amara), later.pk, other)
