"""Complaints: routed to the competent agency, carried by the engine (queue, clock on the
agency's calendar, escalation, ombudsman), one answer for a multi-agency complaint."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from joinedup.delivery import queues
from joinedup.delivery.models import Application, ApplicationStatus, WorkItem
from joinedup.engagement import complaints, escalation
from joinedup.engagement.complaints import ComplaintError, file_complaint
from joinedup.engagement.models import Complaint
from joinedup.federation.models import Service
from joinedup.identity.policy import PolicyDenied
from joinedup.sharing.models import OutboxEvent

from .conftest import context_of


def _item(application: Application, task: str) -> WorkItem:
    return application.work_items.get(task_name=task, status=WorkItem.Status.OPEN)


def _work(make_staff, application, task, decision, reasons="Looked into it.", role=None):
    item = _item(application, task)
    context = make_staff(application.agency, role or item.role)
    queues.complete(context, item, decision, reasons)


@pytest.fixture
def resident(make_applicant):
    return make_applicant(place="CA-ON-TOR")


def test_a_complaint_about_a_service_goes_to_the_competent_agency_as_an_application(
    federation, resident
):
    person = resident.person
    parking = Service.objects.get(key="ca.parking-permit")
    complaint = file_complaint(
        context_of(resident), person, "The permit page kept failing.", service=parking
    )
    part = complaint.parts.get()
    assert part.agency.key == "toronto"  # the competent authority for parking in Toronto
    application = part.application
    assert application.service.key == "complaints.toronto"
    assert application.agency.key == "toronto"
    assert application.applicant == person
    # The engine's clock on the agency's calendar: 20 business days from receipt.
    assert application.standard_days == 20
    assert application.due_date is not None
    assert application.due_date > timezone.localdate()
    # The engine's queue: the front line acknowledges first.
    assert _item(application, "acknowledge").role == "front_line"
    assert OutboxEvent.objects.filter(type="org.joinedup.application.submitted").exists()


def test_routing_follows_the_persons_place(federation, make_applicant):
    quebecer = make_applicant(email="q@example.org", place="CA-QC-MTL")
    registration = Service.objects.get(key="ca.birth-registration")
    complaint = file_complaint(
        context_of(quebecer), quebecer.person, "Too slow.", service=registration
    )
    assert complaint.parts.get().agency.key == "dgeq"


def test_the_whole_loop_answer_reply_second_tier_and_ombudsman(
    federation, resident, make_staff, ombudsmen
):
    person = resident.person
    context = context_of(resident)
    complaint = file_complaint(
        context, person, "Nobody answered.", service=Service.objects.get(key="ca.parking-permit")
    )
    application = complaint.parts.get().application
    _work(make_staff, application, "acknowledge", "acknowledge")
    _work(make_staff, application, "respond", "not_uphold", "The page works now.")
    complaint.refresh_from_db()
    assert complaint.answered_at is not None
    assert "Not upheld" in complaint.answer and "The page works now." in complaint.answer
    assert complaints.state_of(complaint) == "Answered: waiting for your reply"
    # The clock stands still while the person is asked to reply.
    application.refresh_from_db()
    assert application.status == ApplicationStatus.WAITING

    complaints.reply(context, complaint, "escalate")
    part = complaint.parts.get()
    assert part.tier == 2 and part.escalated_at is not None
    complaint.refresh_from_db()
    assert complaint.answered_at is None  # a new answer is awaited
    assert _item(application, "second_tier").role == "supervisor"

    _work(make_staff, application, "second_tier", "partly_uphold", "We refund the fee.")
    complaint.refresh_from_db()
    assert "Partly upheld" in complaint.answer
    complaints.reply(context, complaint, "escalate")
    part.refresh_from_db()
    complaint.refresh_from_db()
    # Toronto has no ombudsman: Ontario's, the nearest above it, takes it.
    assert part.ombudsman == ombudsmen["ombudsman-on"]
    assert complaint.closed_at is not None
    assert complaints.state_of(complaint) == "Referred to the ombudsman"
    application.refresh_from_db()
    assert application.status == ApplicationStatus.REFERRED
    assert OutboxEvent.objects.filter(type="org.joinedup.engagement.complaint.referred").exists()


def test_accepting_the_answer_closes_it_then_reopen_and_rate(federation, resident, make_staff):
    context = context_of(resident)
    complaint = file_complaint(
        context,
        resident.person,
        "Wrong fee.",
        service=Service.objects.get(key="ca.parking-permit"),
    )
    application = complaint.parts.get().application
    _work(make_staff, application, "acknowledge", "acknowledge")
    _work(make_staff, application, "respond", "uphold", "We will refund you.")
    complaint.refresh_from_db()
    complaints.reply(context, complaint, "accept")
    complaint.refresh_from_db()
    assert complaint.closed_at is not None
    application.refresh_from_db()
    assert application.status == ApplicationStatus.APPROVED
    complaints.rate(context, complaint, 4)
    complaint.refresh_from_db()
    assert complaint.rating == 4
    with pytest.raises(ComplaintError):
        complaints.rate(context, complaint, 9)

    reopened = complaints.reopen(context, complaint, "The refund never came.")
    part = reopened.parts.get()
    assert part.application != application
    assert str(application.pk) in part.earlier_applications
    assert reopened.closed_at is None and reopened.reopened == 1
    assert _item(part.application, "acknowledge")


def test_reopening_is_refused_after_the_window(federation, resident, make_staff, settings):
    settings.ENGAGEMENT_REOPEN_DAYS = 30
    context = context_of(resident)
    complaint = file_complaint(
        context, resident.person, "x", service=Service.objects.get(key="ca.parking-permit")
    )
    Complaint.objects.filter(pk=complaint.pk).update(
        closed_at=timezone.now() - datetime.timedelta(days=31)
    )
    complaint.refresh_from_db()
    with pytest.raises(ComplaintError) as error:
        complaints.reopen(context, complaint, "again")
    assert error.value.code == "too_late"


def test_missed_response_standard_escalates_then_missed_second_tier_refers(
    federation, resident, make_staff, ombudsmen
):
    complaint = file_complaint(
        context_of(resident),
        resident.person,
        "Silence.",
        service=Service.objects.get(key="ca.parking-permit"),
    )
    application = complaint.parts.get().application
    assert escalation.sweep() == {"escalated": 0, "referred": 0}  # nothing due yet
    later = timezone.now() + datetime.timedelta(days=40)  # 20 business days are past
    assert escalation.sweep(later)["escalated"] == 1
    part = complaint.parts.get()
    assert part.tier == 2
    assert _item(application, "second_tier")
    auto = application.work_items.get(task_name="acknowledge")
    assert auto.decision == "escalate" and auto.completed_by_label
    much_later = part.escalated_at + datetime.timedelta(days=40)
    assert escalation.sweep(much_later)["referred"] == 1
    part.refresh_from_db()
    assert part.ombudsman == ombudsmen["ombudsman-on"]


def test_the_response_standard_counts_the_agencys_holidays(federation, resident):
    """A complaint to an Ontario agency counts Ontario's business days (Family Day)."""
    complaint = file_complaint(
        context_of(resident),
        resident.person,
        "Slow.",
        service=Service.objects.get(key="ca.birth-registration"),
    )
    application = complaint.parts.get().application
    assert application.agency.key == "serviceontario"
    from joinedup.delivery import clock

    calendar = clock.calendar_of(application)
    assert application.due_date == calendar.add(application.submitted_at, 20)
    assert calendar.sources == (("CA", "ON"),)


def test_a_multi_agency_complaint_is_one_complaint_with_one_answer(
    federation, resident, make_staff
):
    """A complaint about a bundle: a part per agency, one answer once all have answered."""
    from joinedup.bundles.models import Bundle, BundleLeg, BundleSubmission
    from joinedup.delivery import versions
    from joinedup.delivery.applications import submit_application
    from joinedup.demo import loading

    versions.load_file(loading.SERVICE_VERSIONS / "birth-registration.json")
    versions.load_file(loading.SERVICE_VERSIONS / "social-insurance-number.json")
    context = context_of(resident)
    bundle = Bundle.objects.create(key="newborn", names={"en": "New baby"}, checksum="0" * 64)
    submission = BundleSubmission.objects.create(
        reference="B-TEST0001", bundle=bundle, subject=resident.person, definition_checksum="0"
    )
    from tests.delivery.conftest import birth_answers

    for position, key in enumerate(["ca.birth-registration", "ca.social-insurance-number"]):
        data = birth_answers() if key == "ca.birth-registration" else None
        if data is None:
            continue
        app, _ = submit_application(context, key, data)
        BundleLeg.objects.create(
            submission=submission,
            key=f"leg-{position}",
            position=position,
            service=app.service,
            agency=app.agency,
            application=app,
        )
    # A second leg at another agency (the federal one), made the way a bundle makes legs.
    sin = Service.objects.get(key="ca.social-insurance-number")
    other = Application.objects.filter(service=sin).first()
    if other is None:
        first = submission.legs.get().application
        other = Application.objects.create(
            reference="A-TEST0002",
            service=sin,
            version=first.version,
            applicant=resident.person,
            channel="online",
            place=first.place,
            agency=federation["esdc"],
            status=ApplicationStatus.SUBMITTED,
        )
    BundleLeg.objects.create(
        submission=submission,
        key="sin",
        position=5,
        service=sin,
        agency=federation["esdc"],
        application=other,
    )

    complaint = complaints.file_complaint(
        context, resident.person, "Two agencies, one mess.", submission=submission
    )
    parts = {p.agency.key: p for p in complaint.parts.select_related("agency", "application")}
    assert set(parts) == {"serviceontario", "esdc"}
    assert Complaint.objects.count() == 1
    _work(make_staff, parts["serviceontario"].application, "acknowledge", "acknowledge")
    _work(make_staff, parts["serviceontario"].application, "respond", "uphold", "Our delay.")
    complaint.refresh_from_db()
    assert complaint.answered_at is None  # one agency has not answered yet
    _work(make_staff, parts["esdc"].application, "acknowledge", "acknowledge")
    _work(make_staff, parts["esdc"].application, "respond", "not_uphold", "On time.")
    complaint.refresh_from_db()
    assert complaint.answered_at is not None
    assert "Our delay." in complaint.answer and "On time." in complaint.answer
    answered = OutboxEvent.objects.filter(type="org.joinedup.engagement.complaint.answered")
    assert answered.count() == 1  # one answer to the person
    complaints.reply(context, complaint, "accept")
    complaint.refresh_from_db()
    assert complaint.closed_at is not None


def test_counter_staff_record_a_complaint_for_the_person(federation, resident, make_staff):
    clerk = make_staff(federation["toronto"], "front_line")
    complaint = file_complaint(
        clerk,
        resident.person,
        "Told at the counter.",
        service=Service.objects.get(key="ca.parking-permit"),
    )
    assert complaint.channel == "counter"
    assert complaint.recorded_by_id == clerk.user_id
    assert complaint.parts.get().application.channel == "counter"


def test_someone_else_may_not_complain_for_a_person(federation, resident, make_applicant):
    stranger = make_applicant(email="s@example.org")
    with pytest.raises(PolicyDenied):
        file_complaint(
            context_of(stranger),
            resident.person,
            "Not mine.",
            service=Service.objects.get(key="ca.parking-permit"),
        )


def test_bad_input_is_refused_and_nothing_is_half_written(federation, resident):
    context = context_of(resident)
    with pytest.raises(ComplaintError):
        file_complaint(context, resident.person, "   ", service=None)
    with pytest.raises(ComplaintError) as error:
        file_complaint(context, resident.person, "About nothing.")
    assert error.value.code == "no_subject"
    helping = Service.objects.create(
        key="community.meals",
        scope=federation["toronto"].jurisdiction,
        names={"en": "Meals"},
        frame="human_services",
        client_type="person",
    )
    from joinedup.federation.models import Offering

    Offering.objects.create(
        service=helping, area=federation["toronto"].jurisdiction, agency=federation["helping-hands"]
    )
    with pytest.raises(ComplaintError) as error:
        file_complaint(context, resident.person, "Cold meals.", service=helping)
    assert error.value.code == "no_complaints_service"
    assert Complaint.objects.count() == 0
