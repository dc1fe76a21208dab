"""Each demo service, end to end on the Canadian demo federation: submitted online, routed,
worked through its process (payments, gateways, the more-information loop), decided, and
its document issued and verifiable."""

from __future__ import annotations

import datetime

import pytest

from joinedup.delivery import documents, queues
from joinedup.delivery.applications import submit_application
from joinedup.delivery.models import Application, WorkItem
from joinedup.delivery.payments import flows
from joinedup.delivery.payments.contrib.sandbox import SUCCEEDING_CARD, SandboxProvider
from joinedup.federation.models import Agency

from .conftest import person_context

pytestmark = pytest.mark.django_db
PAST = (datetime.date.today() - datetime.timedelta(days=400)).isoformat()


@pytest.fixture
def canada(canada_loaded, db):
    assert len(canada_loaded) == 6  # the six demo services, each with its process
    return {a.key: a for a in Agency.objects.select_related("jurisdiction")}


def work(make_staff, agency: Agency, role: str, decision: str, reasons: str = "") -> WorkItem:
    context = make_staff(agency, role, username=f"{role}.{agency.key}.{decision}@example.org")
    item = queues.queue(context, agency).get()
    assert item.role == role
    queues.claim(context, item)
    return queues.complete(context, item, decision, reasons)


def pay(application: Application) -> None:
    payment = application.payments.get()
    provider = SandboxProvider()
    intent = provider.pay(payment.intent_id, SUCCEEDING_CARD)
    body, headers = provider.webhook(intent, "payment.succeeded")
    assert flows.handle_webhook("sandbox", body, headers) == "applied"


def finished(application: Application, template: str) -> None:
    application.refresh_from_db()
    assert application.status == "approved", application.process_error
    document = application.documents.get()
    assert document.template == template
    assert documents.verify(document.pk).status == "valid"
    assert not application.work_items.filter(status__in=["open", "claimed"]).exists()


def test_birth_registration(canada, make_applicant, make_staff):
    user = make_applicant()
    answers = {
        "child_given_names": "Noor",
        "child_family_name": "Okafor",
        "birth_date": datetime.date.today().isoformat(),
        "sex": "female",
        "birth_province": "CA-BC",
        "birth_place": "BC Women's Hospital",
        "parents": [{"given_names": "Amara", "family_name": "Okafor"}],
        "mailing_address": {
            "street_address": "1 Main St",
            "locality": "Vancouver",
            "postal_code": "V6B 1A1",
        },
    }
    application, _ = submit_application(person_context(user), "ca.birth-registration", answers)
    assert application.agency.key == "bc-vsa"
    work(make_staff, canada["bc-vsa"], "caseworker", "request_information", "Which hospital?")
    queues.respond(person_context(user), application, "BC Women's Hospital, Vancouver")
    work(make_staff, canada["bc-vsa"], "caseworker", "approve")
    finished(application, "birth-registration")


def test_birth_certificate_with_fee(canada, make_applicant, make_staff):
    user = make_applicant()
    answers = {
        "given_names": "Amara",
        "family_name": "Okafor",
        "birth_date": "1990-01-02",
        "birth_province": "CA-QC",
        "birth_place": "Montréal",
        "reason": "other",
        "reason_other": "A visa",
    }
    application, _ = submit_application(person_context(user), "ca.birth-certificate", answers)
    assert (application.agency.key, application.fee_amount) == ("dec-qc", 35)
    application.refresh_from_db()
    assert application.status == "waiting_for_applicant"
    pay(application)
    application.refresh_from_db()
    assert application.status == "in_progress"
    work(make_staff, canada["dec-qc"], "front_line", "approve")
    finished(application, "birth-certificate")


def test_social_insurance_number_without_primary_document(canada, make_applicant, make_staff):
    user = make_applicant()
    answers = {
        "given_names": "Amara",
        "family_name": "Okafor",
        "birth_date": "1990-01-02",
        "primary_document": "none",
    }
    # Level 3 is needed: the person applies at a Service Canada counter, with an officer.
    officer = make_staff(canada["esdc"], "front_line", username="counter@example.org")
    application, _ = submit_application(
        officer, "ca.social-insurance-number", answers, "counter", applicant=user.person
    )
    assert (application.agency.key, application.channel) == ("esdc", "counter")
    work(make_staff, canada["esdc"], "caseworker", "approve")
    work(make_staff, canada["esdc"], "front_line", "approve")
    finished(application, "sin-confirmation")


def test_child_benefit_refused_by_the_supervisor(canada, make_applicant, make_staff):
    user = make_applicant()
    answers = {
        "children": [{"given_names": "Noor", "birth_date": PAST}],
        "marital_status": "married",
        "spouse_name": "Chidi Okafor",
        "income_last_year": 52000,
    }
    application, _ = submit_application(person_context(user), "ca.child-benefit", answers)
    assert application.agency.key == "cra"
    assert application.standard_day_kind == "calendar"
    work(make_staff, canada["cra"], "caseworker", "approve")
    work(make_staff, canada["cra"], "supervisor", "refuse", "Income above the threshold.")
    application.refresh_from_db()
    assert application.status == "refused"
    assert application.outcome_reasons == "Income above the threshold."
    assert not application.documents.exists()


def test_child_benefit_approved(canada, make_applicant, make_staff):
    user = make_applicant()
    answers = {
        "children": [{"given_names": "Noor", "birth_date": PAST}],
        "marital_status": "single",
        "income_last_year": 30000,
    }
    application, _ = submit_application(person_context(user), "ca.child-benefit", answers)
    work(make_staff, canada["cra"], "caseworker", "approve")
    work(make_staff, canada["cra"], "supervisor", "approve")
    finished(application, "child-benefit-notice")
    assert application.documents.get().facts["children"] == 1


def test_change_of_address_within_a_province_is_confirmed_at_once(canada, make_applicant):
    user = make_applicant()
    answers = {
        "new_address": {
            "street_address": "5 King St",
            "locality": "Toronto",
            "postal_code": "M5H 1A1",
        },
        "old_province": "CA-ON",
        "new_province": "CA-ON",
        "moved_on": PAST,
    }
    application, _ = submit_application(person_context(user), "ca.change-of-address", answers)
    finished(application, "address-change-confirmation")


def test_change_of_address_to_another_province_is_reviewed(canada, make_applicant, make_staff):
    user = make_applicant()
    answers = {
        "new_address": {
            "street_address": "5 Rue Sainte-Catherine",
            "locality": "Montréal",
            "postal_code": "H2X 1Z4",
        },
        "old_province": "CA-ON",
        "new_province": "CA-QC",
        "moved_on": PAST,
    }
    application, _ = submit_application(person_context(user), "ca.change-of-address", answers)
    work(make_staff, canada["cra"], "caseworker", "approve")
    finished(application, "address-change-confirmation")


def test_municipal_business_licence(canada, make_applicant, make_staff):
    user = make_applicant()
    answers = {
        "business_name": "Okafor Bakery",
        "activity": "food",
        "municipality": "CA-ON-TOR",
        "premises": {"street_address": "12 Queen St E", "postal_code": "M5C 1R9"},
        "employees": 3,
    }
    application, _ = submit_application(
        person_context(user), "ca.municipal-business-licence", answers
    )
    assert (application.agency.key, application.fee_amount) == ("toronto", 350)
    pay(application)
    work(make_staff, canada["toronto"], "caseworker", "request_information", "Send the floor plan.")
    queues.respond(person_context(user), application, "Floor plan attached to my account.")
    work(make_staff, canada["toronto"], "caseworker", "approve")
    work(make_staff, canada["toronto"], "front_line", "approve")
    finished(application, "business-licence")
