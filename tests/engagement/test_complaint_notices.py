"""The person hears of a complaint once per step of the complaint, not once per agency's
part: received, answered (every agency's finding in one message), closed, reopened — by
e-mail and text message, in their language, and never twice for one event."""

from __future__ import annotations

import pytest

from joinedup.delivery import queues
from joinedup.delivery.models import Application, ApplicationStatus, Notification, WorkItem
from joinedup.engagement import complaints
from joinedup.federation.models import Service
from joinedup.sharing import dispatch

from .conftest import context_of

pytestmark = pytest.mark.django_db


def _work(make_staff, application, task, decision, reasons="Looked into it."):
    item = application.work_items.get(task_name=task, status=WorkItem.Status.OPEN)
    context = make_staff(application.agency, item.role, f"{task}.{application.pk}@example.org")
    queues.complete(context, item, decision, reasons)


def _two_agency_submission(federation, user):
    """A life-event request with legs at ServiceOntario and at the federal agency."""
    from joinedup.bundles.models import Bundle, BundleLeg, BundleSubmission
    from joinedup.delivery import versions
    from joinedup.delivery.applications import submit_application
    from joinedup.demo import loading
    from joinedup.identity import acting
    from tests.delivery.conftest import birth_answers

    person = user.person
    versions.load_file(loading.SERVICE_VERSIONS / "birth-registration.json")
    bundle = Bundle.objects.create(key="newborn", names={"en": "New baby"}, checksum="0" * 64)
    submission = BundleSubmission.objects.create(
        reference="B-NOTICE01", bundle=bundle, subject=person, definition_checksum="0"
    )
    context = acting.for_user(user)
    first, _created = submit_application(context, "ca.birth-registration", birth_answers())
    BundleLeg.objects.create(
        submission=submission,
        key="birth",
        position=0,
        service=first.service,
        agency=first.agency,
        application=first,
    )
    sin = Service.objects.get(key="ca.social-insurance-number")
    other = Application.objects.create(
        reference="A-NOTICE02",
        service=sin,
        version=first.version,
        applicant=person,
        channel="online",
        place=first.place,
        agency=federation["esdc"],
        status=ApplicationStatus.SUBMITTED,
    )
    BundleLeg.objects.create(
        submission=submission,
        key="sin",
        position=1,
        service=sin,
        agency=federation["esdc"],
        application=other,
    )
    return submission


def _complaint_notices():
    return list(
        Notification.objects.filter(event__startswith="complaint_")
        .order_by("pk")
        .values_list("event", "channel")
    )


def test_a_two_agency_complaint_is_told_once_per_step_not_once_per_agency(
    federation, make_applicant, make_staff
):
    user = make_applicant(mobile="+1 416 555 0123")
    person = user.person
    submission = _two_agency_submission(federation, user)
    dispatch.dispatch_pending()
    before = Notification.objects.count()  # the legs' own notices

    complaint = complaints.file_complaint(
        context_of(user), person, "Two agencies, one mess.", submission=submission
    )
    assert complaint.parts.count() == 2
    dispatch.dispatch_pending()
    # One message (e-mail and text) that the complaint was received, naming both agencies;
    # none of delivery's "application received" for the two parts.
    assert _complaint_notices() == [("complaint_received", "email"), ("complaint_received", "sms")]
    assert Notification.objects.count() == before + 2
    email = Notification.objects.get(event="complaint_received", channel="email")
    assert email.subject == f"We received your complaint {complaint.reference}"
    assert "ServiceOntario" in email.body and "Employment" in email.body
    assert f"/en/complaints/{complaint.reference}/" in email.body

    parts = {p.agency.key: p.application for p in complaint.parts.select_related("agency")}
    for key, finding, reasons in (
        ("serviceontario", "uphold", "Our delay."),
        ("esdc", "not_uphold", "On time."),
    ):
        _work(make_staff, parts[key], "acknowledge", "acknowledge")
        _work(make_staff, parts[key], "respond", finding, reasons)
        dispatch.dispatch_pending()
    answered = Notification.objects.filter(event="complaint_answered")
    assert answered.count() == 2  # one e-mail and one text message, for both agencies
    body = answered.get(channel="email").body
    assert "Our delay." in body and "On time." in body

    complaints.reply(context_of(user), complaint, "accept")
    dispatch.dispatch_pending()
    assert Notification.objects.filter(event="complaint_closed").count() == 2
    # Nothing of delivery's per-application notices for the complaint's applications.
    assert not Notification.objects.filter(
        application__service__key__startswith="complaints."
    ).exists()

    complaint.refresh_from_db()
    complaints.reopen(context_of(user), complaint, "The letter still has not come.")
    dispatch.dispatch_pending()
    dispatch.dispatch_pending()  # a second delivery pass sends nothing again
    assert [e for e, _c in _complaint_notices()] == [
        "complaint_received",
        "complaint_received",
        "complaint_answered",
        "complaint_answered",
        "complaint_closed",
        "complaint_closed",
        "complaint_reopened",
        "complaint_reopened",
    ]


def test_the_notices_are_in_the_persons_language_and_name_the_ombudsman(
    federation, ombudsmen, make_applicant, make_staff
):
    user = make_applicant(language="fr")
    parking = Service.objects.get(key="ca.parking-permit")
    complaint = complaints.file_complaint(
        context_of(user), user.person, "La page du permis plantait.", service=parking
    )
    dispatch.dispatch_pending()
    received = Notification.objects.get(event="complaint_received")
    assert received.language == "fr"
    assert received.subject == f"Nous avons reçu votre plainte {complaint.reference}"
    assert f"/fr/complaints/{complaint.reference}/" in received.body

    application = complaint.parts.get().application
    _work(make_staff, application, "acknowledge", "acknowledge")
    _work(make_staff, application, "respond", "not_uphold", "Rien d'anormal.")
    complaints.reply(context_of(user), complaint, "escalate")
    _work(make_staff, application, "second_tier", "not_uphold", "Toujours rien d'anormal.")
    complaints.reply(context_of(user), complaint, "escalate")
    dispatch.dispatch_pending()
    # Two answers (first and second tier), each told once; then the referral, once.
    assert Notification.objects.filter(event="complaint_answered").count() == 2
    closed = Notification.objects.get(event="complaint_closed")
    assert closed.subject == f"Votre plainte {complaint.reference} est close"
    assert "Ombudsman Ontario" in closed.body
