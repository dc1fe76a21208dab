"""Change initiatives (readiness, training, adoption from the platform) and complaint measures."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from joinedup.delivery import queues, versions
from joinedup.delivery.applications import submit_application
from joinedup.delivery.models import Application, WorkItem
from joinedup.demo import loading
from joinedup.engagement import change, measures
from joinedup.engagement.complaints import file_complaint
from joinedup.engagement.models import AffectedRole, Initiative, TrainingModule
from joinedup.federation.models import Service
from joinedup.identity.policy import PolicyDenied
from tests.delivery.conftest import birth_answers

from .conftest import context_of


@pytest.fixture
def initiative(federation):
    made = Initiative.objects.create(
        key="online-birth",
        names={"en": "Birth registration online", "fr": "Naissances en ligne"},
        owner=federation["serviceontario"],
        service=Service.objects.get(key="ca.birth-registration"),
        target_channel="online",
        go_live=timezone.localdate() - datetime.timedelta(days=5),
    )
    made.organisations.set([federation["serviceontario"], federation["dgeq"]])
    AffectedRole.objects.create(
        initiative=made,
        role="caseworker",
        changes={"en": "You review online registrations.", "fr": "Vous révisez en ligne."},
    )
    TrainingModule.objects.create(initiative=made, key="intro", names={"en": "Intro"}, role="")
    return made


def test_readiness_per_organisation_and_role(initiative, make_staff, federation):
    worker = make_staff(federation["serviceontario"], "caseworker")
    scores = {"awareness": 4, "desire": 2, "knowledge": 3, "ability": 3, "reinforcement": 5}
    change.record_readiness(worker, initiative, scores)
    change.record_readiness(worker, initiative, {**scores, "desire": 1})  # replaces
    found = change.readiness(initiative)
    assert len(found) == 1 and found[0].answers == 1
    assert found[0].scores["desire"] == 1.0 and found[0].weakest == "desire"
    with pytest.raises(change.ChangeError):
        change.record_readiness(worker, initiative, {**scores, "ability": 7})
    outsider = make_staff(federation["toronto"], "caseworker")
    with pytest.raises(change.ChangeError):
        change.record_readiness(outsider, initiative, scores)
    assert change.what_changes_for(initiative, "caseworker").what_changes.startswith("You review")


def test_training_completion_share(initiative, make_staff, federation):
    first = make_staff(federation["serviceontario"], "caseworker", "a@so.example")
    make_staff(federation["serviceontario"], "caseworker", "b@so.example")
    module = initiative.modules.get()
    change.complete_training(first, module)
    change.complete_training(first, module)  # once
    assert change.training(initiative)["serviceontario"] == (1, 2)


def test_adoption_is_measured_from_the_platform(initiative, make_applicant, make_staff, federation):
    old = versions.load_file(loading.SERVICE_VERSIONS / "birth-registration.json").version
    applicant = make_applicant()
    context = context_of(applicant)
    before = []
    for _n in range(2):
        app, _ = submit_application(context, "ca.birth-registration", birth_answers())
        before.append(app)
    Application.objects.filter(pk__in=[a.pk for a in before]).update(
        submitted_at=timezone.now() - datetime.timedelta(days=20), channel="mail"
    )
    # The new process goes live: a new version.
    initiative.new_version = versions.deploy(
        "ca.birth-registration", old.bpmn, {**old.form, "title": {"en": "v2"}}
    ).version
    initiative.save()
    after, _ = submit_application(context, "ca.birth-registration", birth_answers())
    item = after.work_items.filter(status=WorkItem.Status.OPEN).first()
    if item is not None and "request_information" in item.decisions:
        staff = make_staff(after.agency, item.role)
        queues.complete(staff, item, "request_information", "Which hospital?")
    found = {a.agency: a for a in change.adoption(initiative)}
    ontario = found["serviceontario"]
    assert (ontario.before, ontario.after) == (2, 1)
    assert ontario.new_process == 1.0
    assert ontario.channel_before == 0.0 and ontario.channel_after == 1.0
    assert found["dgeq"].after == 0 and found["dgeq"].new_process is None


def test_complaint_measures(federation, make_applicant, make_staff):
    person = make_applicant()
    context = context_of(person)
    parking = Service.objects.get(key="ca.parking-permit")
    complaint = file_complaint(context, person.person, "Slow.", service=parking)
    application = complaint.parts.get().application
    for task, decision in (("acknowledge", "acknowledge"), ("respond", "uphold")):
        item = application.work_items.get(task_name=task, status="open")
        queues.complete(make_staff(application.agency, item.role), item, decision, "Sorry.")
    from joinedup.engagement import complaints

    complaints.reply(context, complaint, "accept")
    file_complaint(context, person.person, "Again.", service=parking)
    start = timezone.now() - datetime.timedelta(days=1)
    end = timezone.now() + datetime.timedelta(days=1)
    by_service = {m.group: m for m in measures.complaint_measures("service", start, end)}
    assert by_service["ca.parking-permit"].complaints == 2
    assert by_service["ca.parking-permit"].upheld_share == 1.0
    assert by_service["ca.parking-permit"].resolved == 1
    by_agency = {m.group: m for m in measures.complaint_measures("agency", start, end)}
    assert by_agency["toronto"].complaints == 2
    clerk = make_staff(federation["toronto"], "caseworker", "tagger@toronto.example")
    assert complaints.tag(clerk, complaint, ["Delay ", "delay", "Fees"]) == ["delay", "fees"]
    month = timezone.now().strftime("%Y-%m")
    assert measures.themes_by_month(start, end)[month] == {"delay": 1, "fees": 1}
    quebec = make_staff(federation["dgeq"], "caseworker")
    with pytest.raises(PolicyDenied):
        complaints.tag(quebec, complaint, ["x"])
