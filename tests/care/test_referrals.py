"""Closed-loop referrals: sent with consent to share, answered by the receiving organisation
step by step, idempotent, overdue ones in the sender's supervisors' queue."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from joinedup.care import referrals, team
from joinedup.care.models import IntegratedCase, Referral, Service
from joinedup.care.packages import load_package
from joinedup.delivery import clock, queues
from joinedup.delivery.models import ApplicationStatus, WorkItem
from joinedup.sharing.models import OutboxEvent

from .conftest import SMALL_DIRECTORY

pytestmark = pytest.mark.django_db


@pytest.fixture
def services(agencies):
    load_package(SMALL_DIRECTORY)
    return {s.name: s for s in Service.objects.select_related("organization__agency")}


@pytest.fixture
def lead(make_staff):
    return make_staff("toronto", "caseworker", "lead@toronto.example.org")


@pytest.fixture
def case(lead, person):
    return team.open_case(
        lead, person, basis=IntegratedCase.Basis.CONSENT, categories=["housing", "income"]
    )


@pytest.fixture
def food_bank_worker(make_staff):
    return make_staff("helping-hands", "caseworker", "intake@helping.example.org")


def _send(lead, case, service, key="", **overrides):
    values = {
        "reason": "Needs groceries this week.",
        "urgency": "soon",
        "categories": ["income"],
        "idempotency_key": key,
    }
    values.update(overrides)
    return referrals.send_referral(lead, case, service, **values)


def test_a_referral_records_consent_for_the_receiver_and_announces_itself(
    lead, case, services, agencies
):
    referral, created = _send(lead, case, services["Community food bank"])
    assert created
    assert referral.to_agency == agencies["helping-hands"]
    assert referral.status == Referral.Status.SENT
    assert referral.consent.categories == ["income"]
    assert list(referral.consent.recipients.all()) == [agencies["helping-hands"]]
    # Three business days on the receiver's calendar (weekends and holidays do not count),
    # from the day it is there: at 20:00 on a Sunday in Toronto it is Monday in UTC.
    calendar = clock.calendar_of(referral.application)
    received = calendar.local_date(referral.application.submitted_at)
    assert referral.due_date >= received + datetime.timedelta(days=3)
    assert calendar.count(received, referral.due_date) == 3
    assert referral.due_date.weekday() < 5
    assert OutboxEvent.objects.filter(type="org.joinedup.care.referral.sent").count() == 1


def test_a_referral_records_the_persons_place_not_their_address(lead, case, services, person):
    referral, _created = _send(lead, case, services["Community food bank"])
    referral.refresh_from_db()
    # the municipality of the person's address, so referrals can be counted by place
    assert referral.place.code == "CA-ON-TOR"
    assert "King" not in str(Referral.objects.filter(pk=referral.pk).values().get())
    person.addresses.all().delete()
    assert referrals.person_place(person) is None  # no address known: not placed


def test_the_same_idempotency_key_gives_back_the_same_referral(lead, case, services):
    first, created = _send(lead, case, services["Community food bank"], key="abc-1")
    again, created_again = _send(lead, case, services["Community food bank"], key="abc-1")
    assert created and not created_again
    assert first.pk == again.pk
    assert Referral.objects.count() == 1


def test_bad_referrals_are_refused_and_write_nothing(lead, case, services, make_staff):
    food = services["Community food bank"]
    with pytest.raises(ValidationError) as refused:
        _send(lead, case, food, reason="  ", urgency="whenever", categories=["gossip"])
    assert set(refused.value.message_dict) == {"reason", "urgency", "categories"}
    with pytest.raises(ValidationError):
        _send(lead, case, food, due_date=datetime.date(2020, 1, 1))
    stranger = make_staff("serviceontario", "caseworker")
    with pytest.raises(PermissionDenied):
        _send(stranger, case, food)
    assert not Referral.objects.exists()


def test_the_receiver_accepts_contacts_delivers_and_closes_with_an_outcome(
    lead, case, services, food_bank_worker
):
    referral, _created = _send(lead, case, services["Community food bank"])
    for step in ("accepted", "contacted", "delivered"):
        referral = referrals.move(food_bank_worker, referral, step)
    referral = referrals.move(food_bank_worker, referral, "closed", outcome="got_help")
    assert referral.outcome == "got_help" and referral.closed_at is not None
    assert [s.status for s in referral.steps.all()] == [
        "sent",
        "accepted",
        "contacted",
        "delivered",
        "closed",
    ]
    # The sender sees every step, through the case.
    view = team.read_case(lead, case)
    assert view.referrals[0].status == "closed"
    assert OutboxEvent.objects.filter(type="org.joinedup.care.referral.closed").exists()


def test_declining_needs_a_reason_and_ends_the_referral(lead, case, services, food_bank_worker):
    referral, _created = _send(lead, case, services["Community food bank"])
    with pytest.raises(ValidationError):
        referrals.move(food_bank_worker, referral, "declined")
    referral = referrals.move(food_bank_worker, referral, "declined", note="No capacity now.")
    assert referral.decline_reason == "No capacity now."
    with pytest.raises(ValidationError, match="does not follow"):
        referrals.move(food_bank_worker, referral, "accepted")


def test_steps_out_of_order_or_by_others_are_refused(lead, case, services, food_bank_worker):
    referral, _created = _send(lead, case, services["Community food bank"])
    with pytest.raises(ValidationError, match="does not follow"):
        referrals.move(food_bank_worker, referral, "delivered")
    with pytest.raises(ValidationError):
        referrals.move(food_bank_worker, referral, "accepted")  # then close without an outcome
        referrals.move(food_bank_worker, referral, "closed")
    with pytest.raises(PermissionDenied):
        referrals.move(lead, referral, "contacted")
    referral.refresh_from_db()
    assert referral.status == "accepted"


def test_incoming_and_overdue_queues(lead, case, services, food_bank_worker):
    late, _c = _send(lead, case, services["Community food bank"], key="late")
    Referral.objects.filter(pk=late.pk).update(
        due_date=datetime.date.today() - datetime.timedelta(1)
    )
    answered, _c = _send(lead, case, services["Community food bank"], key="answered")
    Referral.objects.filter(pk=answered.pk).update(
        due_date=datetime.date.today() - datetime.timedelta(1)
    )
    referrals.move(food_bank_worker, answered, "accepted")
    assert {r.pk for r in referrals.incoming(food_bank_worker)} == {late.pk, answered.pk}
    assert [r.pk for r in referrals.overdue(lead)] == [late.pk]


def test_a_service_off_the_platform_has_no_receiving_agency(lead, case, services):
    referral, _created = _send(lead, case, services["Walk-in counselling"])
    assert referral.to_agency is None
    assert referral.consent is None  # no agency to consent to: nothing shared on the platform


def test_a_receiver_off_the_platform_is_emailed_a_signed_link_and_answers_on_it(
    lead, case, services, client, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        referral, _created = _send(lead, case, services["Walk-in counselling"], categories=[])
    message = mailoutbox[0]
    assert message.to == ["referrals@calm.example.org"]
    assert "Jordan" not in message.body  # no personal data in the e-mail
    url = message.body.split("on this page: ")[1].strip()
    path = url.split("://", 1)[1].split("/", 1)[1]
    page = client.get(f"/{path}")
    assert page.status_code == 200 and "Needs groceries this week." in page.content.decode()
    assert client.post(f"/{path}", {"status": "closed"}).status_code == 400
    client.post(f"/{path}", {"status": "accepted"})
    client.post(f"/{path}", {"status": "closed", "outcome": "no_capacity"})
    referral.refresh_from_db()
    assert (referral.status, referral.outcome) == ("closed", "no_capacity")
    token = path.rstrip("/").rsplit("/", 1)[1]
    assert client.get(f"/en/referral-reply/{token[:-2]}xx/").status_code == 404
    # A link is no way into a referral to an organisation on the platform.
    other, _c = _send(lead, case, services["Community food bank"], key="k")
    with pytest.raises(PermissionDenied):
        referrals.referral_of_link(referrals.link_token(other))


def test_a_referral_on_the_platform_is_an_application_in_the_receivers_engine_queue(
    lead, case, services, food_bank_worker, agencies
):
    referral, _created = _send(lead, case, services["Community food bank"])
    application = referral.application
    assert application is not None
    assert application.channel == "referral"
    assert application.applicant_id == case.person_id
    assert application.agency == agencies["helping-hands"]
    assert application.service.key == "referrals.helping-hands"
    assert application.standard_day_kind == "business" and application.due_date is not None
    waiting = list(queues.queue(food_bank_worker, agencies["helping-hands"]))
    assert [(i.application_id, i.kind, i.decisions[:2]) for i in waiting] == [
        (application.pk, "referral", ["accepted", "declined"])
    ]
    # The sender's agency has no such work: the referral is the receiver's.
    assert not WorkItem.objects.filter(agency=agencies["toronto"]).exists()


def test_the_receivers_steps_run_the_process_and_close_the_application(
    lead, case, services, food_bank_worker
):
    referral, _created = _send(lead, case, services["Community food bank"])
    # Completing the engine's work item from delivery's queue is the same step.
    item = WorkItem.objects.get(application=referral.application, status="open")
    queues.complete(food_bank_worker, item, "accepted")
    referral.refresh_from_db()
    assert referral.status == "accepted" and referral.accepted_at is not None
    referral = referrals.move(food_bank_worker, referral, "contacted", note="Called her.")
    referral = referrals.move(food_bank_worker, referral, "closed", outcome="got_help")
    application = referral.application
    application.refresh_from_db()
    assert application.status == ApplicationStatus.APPROVED
    assert application.completed_at is not None
    assert not WorkItem.objects.filter(
        application=application, status__in=["open", "claimed"]
    ).exists()
    assert [s.status for s in referral.steps.all()] == ["sent", "accepted", "contacted", "closed"]


def test_a_declined_referral_ends_its_application(lead, case, services, food_bank_worker):
    referral, _created = _send(lead, case, services["Community food bank"])
    referral = referrals.move(food_bank_worker, referral, "declined", note="Full this month.")
    referral.application.refresh_from_db()
    assert referral.application.status == ApplicationStatus.REFUSED
    assert referral.decline_reason == "Full this month."


def test_the_persons_applications_are_in_the_case_timeline_for_whom_the_gate_allows(
    lead, case, services, make_staff
):
    referral, _created = _send(lead, case, services["Community food bank"])
    # The holding agency's caseworker: the gate discloses the person's applications.
    seen = team.read_case(lead, case)
    assert [a.pk for a in seen.applications] == [referral.application_id]
    # A member of another agency, consented for housing only: no applications.
    ontario = make_staff("serviceontario", "caseworker", "w@ontario.example.org")
    team.add_member(
        lead,
        case,
        team.StaffMembership.objects.get(pk=ontario.membership_id),
        "key_worker",
        categories=["housing"],
    )
    assert team.read_case(ontario, case).applications == []


def test_referral_measures_per_organisation_place_and_service(
    lead, case, services, food_bank_worker
):
    from joinedup.performance import referrals as referral_measures

    helped, _c = _send(lead, case, services["Community food bank"], key="a")
    referrals.move(food_bank_worker, helped, "accepted")
    referrals.move(food_bank_worker, helped, "closed", outcome="got_help")
    declined, _c = _send(lead, case, services["Community food bank"], key="b")
    referrals.move(food_bank_worker, declined, "declined", note="Full.")
    _send(lead, case, services["Community food bank"], key="c")  # still open
    rows = referral_measures.by_organisation_and_place()
    assert len(rows) == 1
    row = rows[0]
    assert (row.place, row.sent, row.accepted, row.ended, row.closed_with_outcome) == (
        "CA-ON-TOR",
        3,
        1,
        2,
        1,
    )
    assert row.closed_with_outcome_share == 0.5
    assert row.days_to_accept is not None and 0 <= row.days_to_accept < 1
    assert referral_measures.outcomes_by_service() == {"Community food bank": {"got_help": 1}}


def test_the_public_referrals_page_shows_the_measures_with_their_table(
    lead, case, services, food_bank_worker, client, settings
):
    settings.PERFORMANCE_MIN_COUNT = 1
    referral, _c = _send(lead, case, services["Community food bank"])
    referrals.move(food_bank_worker, referral, "accepted")
    referrals.move(food_bank_worker, referral, "closed", outcome="got_help")
    page = client.get("/en/performance/referrals/")
    assert page.status_code == 200
    text = page.content.decode()
    assert referral.service.organization.name in text and "Toronto" in text
    assert "100 %" in text and "Got help" in text
    settings.PERFORMANCE_MIN_COUNT = 5
    hidden = client.get("/en/performance/referrals/").content.decode()
    assert "100 %" not in hidden  # too few referrals to publish


def test_the_receivers_work_queue_shows_the_referral_in_words(
    lead, case, services, food_bank_worker
):
    from .test_pages import staff_client  # the signed-in, second-factor browser of the pages

    referral, _created = _send(lead, case, services["Community food bank"])
    item = WorkItem.objects.get(application=referral.application, status="open")
    browser = staff_client(food_bank_worker)
    page = browser.get(f"/en/staff/work-items/{item.pk}/").content.decode()
    assert "Community food bank" in page and "Needs groceries this week." in page
    assert "Within a few days" in page and "City of Toronto" in page
    assert "care plan: income and food" in page
    assert "Accept the referral" in page and "Decline the referral" in page
    # No identifier, field name or code where a person reads.
    assert str(referral.pk) not in page
    assert ">soon<" not in page and ">accepted<" not in page and ">declined<" not in page
    french = browser.get(f"/fr/staff/work-items/{item.pk}/").content.decode()
    assert "D&#x27;ici quelques jours" in french and "Accepter l&#x27;orientation" in french
    queues.complete(food_bank_worker, item, "accepted")
    follow_up = WorkItem.objects.get(application=referral.application, status="open")
    page = browser.get(f"/en/staff/work-items/{follow_up.pk}/").content.decode()
    assert "Record that contact was made" in page and "Close: Got help" in page
    assert ">got_help<" not in page
