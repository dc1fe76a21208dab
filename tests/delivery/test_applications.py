"""Submitting applications: idempotency, routing by place, validation, the timeline."""

from __future__ import annotations

import pytest
from django.db import transaction

from joinedup.delivery import applications, queues
from joinedup.delivery.applications import SubmissionError, submit_application
from joinedup.delivery.models import Application, StatusChange, WorkItem
from joinedup.sharing.models import OutboxEvent

from .conftest import DEMO, birth_answers, person_context

pytestmark = pytest.mark.django_db


def test_submission_routes_starts_the_process_and_announces_it(birth_registration, applicant):
    context = person_context(applicant)
    application, created = submit_application(
        context, "ca.birth-registration", birth_answers(), "online", "key-1"
    )
    assert created
    assert application.agency.key == "serviceontario"
    assert application.place.code == "CA-ON"
    assert application.status == "in_progress"
    assert application.due_date is not None
    item = WorkItem.objects.get(application=application)
    assert (item.role, item.task_name, item.status) == ("caseworker", "review", "open")
    assert item.decisions == ["approve", "refuse", "request_information"]
    types = list(OutboxEvent.objects.values_list("type", flat=True))
    assert "org.joinedup.application.submitted" in types
    assert "org.joinedup.workitem.created" in types
    timeline = [c.to_status for c in StatusChange.objects.filter(application=application)]
    assert timeline == ["submitted", "in_progress"]
    # The instance state does not carry the process definition.
    assert '"spec"' not in application.process_state[:200]
    assert len(application.process_state) < len(str(birth_registration.spec))


def test_the_same_submission_twice_makes_one_application(birth_registration, applicant):
    context = person_context(applicant)
    first, created = submit_application(
        context, "ca.birth-registration", birth_answers(), "online", "same-key"
    )
    second, created_again = submit_application(
        context, "ca.birth-registration", birth_answers(), "online", "same-key"
    )
    assert created and not created_again
    assert first.pk == second.pk
    assert Application.objects.count() == 1
    assert WorkItem.objects.count() == 1
    with pytest.raises(SubmissionError) as error:
        submit_application(
            context,
            "ca.birth-registration",
            birth_answers(child_given_names="Other"),
            "online",
            "same-key",
        )
    assert error.value.code == "idempotency_conflict"


def test_routing_sends_each_place_to_its_own_agency(birth_registration, applicant):
    context = person_context(applicant)
    ontario, _ = submit_application(
        context, "ca.birth-registration", birth_answers(birth_province="CA-ON"), "online", "on"
    )
    quebec, _ = submit_application(
        context, "ca.birth-registration", birth_answers(birth_province="CA-QC"), "online", "qc"
    )
    assert ontario.agency.key == "serviceontario"
    assert quebec.agency.key == "dgeq"
    # Quebec's offering sets its own standard (20 business days, not 15).
    assert (ontario.standard_days, quebec.standard_days) == (15, 20)


def test_bad_answers_are_refused_with_messages_naming_the_question(birth_registration, applicant):
    context = person_context(applicant)
    answers = birth_answers(sex="unknown", wants_certificate=True)
    del answers["child_family_name"]
    answers["mailing_address"]["postal_code"] = "12345"
    with pytest.raises(SubmissionError) as error:
        submit_application(context, "ca.birth-registration", answers, "online", "bad")
    messages = {e.path: e.message for e in error.value.errors}
    assert messages["child_family_name"] == "Enter “Child's family name”."
    assert "Sex at birth" in messages["sex"]
    assert messages["certificate_copies"] == "Enter “How many certificates?”."
    assert messages["mailing_address.postal_code"] == "Enter a postal code like K1A 0B1."
    assert Application.objects.count() == 0


def test_bad_answers_are_refused_in_the_applicants_language(birth_registration, applicant):
    from django.utils import translation

    context = person_context(applicant)
    answers = birth_answers(sex="unknown", wants_certificate=True)
    del answers["child_family_name"]
    answers["mailing_address"]["postal_code"] = "12345"
    with translation.override("fr"), pytest.raises(SubmissionError) as error:
        submit_application(context, "ca.birth-registration", answers, "online", "bad-fr")
    messages = {e.path: e.message.replace("\xa0", " ") for e in error.value.errors}
    assert error.value.message == "Certaines réponses doivent être corrigées."
    assert messages["child_family_name"] == "Remplissez « Nom de famille de l'enfant »."
    assert messages["sex"] == "Choisissez l'une des options pour « Sexe à la naissance »."
    assert messages["certificate_copies"] == "Remplissez « Combien de certificats? »."
    assert messages["mailing_address.postal_code"] == "Entrez un code postal comme K1A 0B1."
    assert Application.objects.count() == 0


def test_a_place_nobody_serves_is_refused(birth_registration, applicant):
    from joinedup.federation.models import Offering

    Offering.objects.filter(service__key="ca.birth-registration", area__code="CA-QC").delete()
    with pytest.raises(SubmissionError) as error:
        submit_application(
            person_context(applicant),
            "ca.birth-registration",
            birth_answers(birth_province="CA-QC"),
            "online",
        )
    assert error.value.code == "not_delivered"


def test_submission_and_its_event_are_one_transaction(birth_registration, applicant):
    context = person_context(applicant)
    with pytest.raises(RuntimeError), transaction.atomic():
        submit_application(context, "ca.birth-registration", birth_answers(), "online", "tx")
        raise RuntimeError("the caller fails after submitting")
    assert Application.objects.count() == 0
    assert OutboxEvent.objects.count() == 0


def test_more_information_loop_then_registration(
    birth_registration, applicant, federation, make_staff
):
    context = person_context(applicant)
    application, _ = submit_application(
        context, "ca.birth-registration", birth_answers(), "online", "loop"
    )
    registrar = make_staff(federation["serviceontario"], "caseworker")
    item = queues.queue(registrar, federation["serviceontario"]).get()
    queues.claim(registrar, item)
    queues.complete(registrar, item, "request_information", "The hospital name is unclear.")
    application.refresh_from_db()
    assert application.status == "waiting_for_applicant"
    assert application.pauses.filter(ended_at__isnull=True).exists()
    asked = WorkItem.objects.get(application=application, role="applicant", status="open")
    assert asked.message == "The hospital name is unclear."
    queues.respond(context, application, "Toronto General Hospital, 200 Elizabeth St.")
    application.refresh_from_db()
    assert application.status == "in_progress"
    assert not application.pauses.filter(ended_at__isnull=True).exists()
    item = queues.queue(registrar, federation["serviceontario"]).get()
    queues.complete(registrar, item, "approve", "")
    application.refresh_from_db()
    assert application.status == "approved"
    assert application.met_standard is True
    document = application.documents.get()
    assert document.template == "birth-registration"
    assert document.facts["child_given_names"] == "Noor"
    types = set(OutboxEvent.objects.values_list("type", flat=True))
    assert {
        "org.joinedup.application.paused",
        "org.joinedup.application.approved",
        "org.joinedup.application.birth_registered",
        "org.joinedup.document.issued",
        "org.joinedup.workitem.completed",
    } <= types
    assert applications.STATUS_EVENTS


def test_a_form_definition_keeps_the_order_it_was_written_in(birth_registration):
    from joinedup.delivery import versions
    from joinedup.delivery.models import ServiceVersion

    stored = ServiceVersion.objects.get(pk=birth_registration.pk).form
    address = stored["schema"]["properties"]["mailing_address"]["properties"]
    assert list(address) == ["street_address", "locality", "region", "postal_code"]
    assert list(stored["schema"]["properties"])[:3] == [
        "child_given_names",
        "child_family_name",
        "birth_date",
    ]
    # Deploying the same file again changes nothing.
    again = versions.load_file(DEMO / "birth-registration.json")
    assert not again.created and again.version.pk == birth_registration.pk
