"""Requests on behalf of an agency: only its requesters order, under an agreement in force;
the provider's staff see only their clients' requests; the engine works them on the
provider's calendar, and breaches alert the provider's supervisors."""

from __future__ import annotations

import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import IntegrityError, transaction

from joinedup.backoffice import levels
from joinedup.backoffice.models import BreachAlert, Request
from joinedup.backoffice.requests import SubmissionError, of_client, of_provider, submit_request
from joinedup.delivery import clock, queues
from joinedup.delivery.models import Application, Notification, WorkItem
from joinedup.delivery.party import applicant_name, party_of
from joinedup.federation.calendars import calendar_for
from joinedup.federation.models import Jurisdiction
from joinedup.identity.models import Person, User
from joinedup.identity.policy import PolicyDenied, decide
from joinedup.sharing import dispatch

TORONTO = ZoneInfo("America/Toronto")


def at(day: str, hour: int = 10, minute: int = 0) -> datetime.datetime:
    return datetime.datetime.fromisoformat(day).replace(hour=hour, minute=minute, tzinfo=TORONTO)


def order(context, client, key="on.onboarding", details="Accounts for a new analyst", **kw):
    return submit_request(context, client, key, {"details": details}, **kw)


def test_a_requester_orders_for_their_agency_on_the_engine(shared, make_staff):
    requester = make_staff(shared["ministry"], "service_requester")
    request, created = order(requester, shared["ministry"], at=at("2026-03-06", 15, 30))
    assert created
    application = request.application
    assert application.applicant_id is None
    assert application.applicant_agency == shared["ministry"]
    assert party_of(application).kind == "agency"
    assert applicant_name(application) == "ServiceOntario"
    assert application.agency == shared["provincial"]  # the provider's queues work it
    assert request.unit_price == Decimal("250.00")
    # Five business days of Ontario from Friday 6 March 2026: due Friday 13 March.
    assert application.due_date == datetime.date(2026, 3, 13)
    # Four working hours from Friday 15:30: one on Friday, three on Monday from 08:30.
    assert request.response_due == at("2026-03-09", 11, 30)
    assert WorkItem.objects.filter(
        application=application, agency=shared["provincial"], role="caseworker"
    ).exists()


def test_the_same_key_gives_the_same_request(shared, make_staff):
    requester = make_staff(shared["ministry"], "service_requester")
    first, created = order(requester, shared["ministry"], idempotency_key="k1")
    again, created_again = order(requester, shared["ministry"], idempotency_key="k1")
    assert created and not created_again and first.pk == again.pk
    with pytest.raises(SubmissionError) as refused:
        order(requester, shared["ministry"], idempotency_key="k1", details="Other")
    assert refused.value.code == "idempotency_conflict"


@pytest.mark.parametrize("role", ["caseworker", "supervisor", "analyst"])
def test_only_requesters_order(shared, make_staff, role):
    staff = make_staff(shared["ministry"], role)
    with pytest.raises(PolicyDenied):
        order(staff, shared["ministry"])
    assert not Request.objects.exists()


def test_a_requester_orders_only_for_their_own_agency(shared, make_staff):
    requester = make_staff(shared["city"], "service_requester")
    with pytest.raises(PolicyDenied):
        order(requester, shared["ministry"])


def test_no_agreement_no_request(shared, make_staff):
    requester = make_staff(shared["department"], "service_requester")
    with pytest.raises(SubmissionError) as refused:
        order(requester, shared["department"])  # ESDC's agreement is with the federal one
    assert refused.value.code == "no_agreement"
    assert not Application.objects.exists()


def test_bad_answers_are_refused_and_nothing_is_written(shared, make_staff):
    requester = make_staff(shared["ministry"], "service_requester")
    with pytest.raises(SubmissionError) as refused:
        submit_request(requester, shared["ministry"], "on.onboarding", {"details": ""})
    assert refused.value.code == "invalid"
    assert not Application.objects.exists() and not Request.objects.exists()


def test_the_provider_sees_only_its_clients_requests(shared, make_staff):
    order(make_staff(shared["ministry"], "service_requester"), shared["ministry"])
    order(make_staff(shared["city"], "service_requester"), shared["city"])
    order(
        make_staff(shared["department"], "service_requester"),
        shared["department"],
        key="ca.hosting",
    )
    provincial = {r.client.key for r in of_provider(shared["provincial"])}
    federal = {r.client.key for r in of_provider(shared["federal"])}
    assert provincial == {"serviceontario", "toronto"}
    assert federal == {"esdc"}
    assert {r.client.key for r in of_client(shared["city"])} == {"toronto"}
    caseworker = make_staff(shared["federal"], "caseworker")
    assert not decide(caseworker, "backoffice.provider", shared["provincial"]).allowed
    assert decide(caseworker, "backoffice.provider", shared["federal"]).allowed
    # A client's staff never see another client's requests.
    city = make_staff(shared["city"], "supervisor")
    assert not decide(city, "backoffice.client", shared["ministry"]).allowed


def test_the_provider_works_it_within_its_level(shared, make_staff):
    request, _ = order(make_staff(shared["ministry"], "service_requester"), shared["ministry"])
    worker = make_staff(shared["provincial"], "caseworker")
    item = WorkItem.objects.get(application=request.application, status="open")
    queues.claim(worker, item)
    dispatch.dispatch_pending()
    request.refresh_from_db()
    assert request.responded_at is not None  # taken up: the response
    queues.complete(worker, WorkItem.objects.get(pk=item.pk), "approve", "Accounts created")
    application = Application.objects.get(pk=request.pk)
    assert application.status == "approved"
    assert application.met_standard is True


def test_a_breach_alerts_the_providers_supervisors_once(shared, make_staff):
    supervisor = make_staff(shared["provincial"], "supervisor")
    person = Person.objects.create(
        given_names="Sam", family_name="Lee", birth_date=datetime.date(1980, 5, 6)
    )
    User.objects.filter(pk=supervisor.user_id).update(person=person)
    make_staff(shared["federal"], "supervisor")  # another provider's: not alerted
    request, _ = order(
        make_staff(shared["ministry"], "service_requester"),
        shared["ministry"],
        at=at("2026-03-02"),
    )
    assert request.application.due_date == datetime.date(2026, 3, 9)
    assert clock.find_breaches(at("2026-03-09", 20)) == []  # still due that day
    assert len(clock.find_breaches(at("2026-03-10", 9))) == 1
    dispatch.dispatch_pending()
    dispatch.dispatch_pending()
    alerts = BreachAlert.objects.filter(request=request)
    assert [a.supervisor_id for a in alerts] == [supervisor.user_id]
    note = Notification.objects.get(event="sla_breached")
    assert request.application.reference in note.subject


def test_business_hours_skip_holidays_on_the_providers_calendar(shared):
    calendar = calendar_for(Jurisdiction.objects.get(code="CA-ON"))
    # Good Friday 2026 is 3 April: Thursday 16:00 + 2 h → half an hour on Thursday, an
    # hour and a half on Monday from 08:30.
    due = levels.add_business_hours(calendar, at("2026-04-02", 16), 2)
    assert due == at("2026-04-06", 10)
    # Received before opening: counted from 08:30.
    assert levels.add_business_hours(calendar, at("2026-04-07", 6), 1) == at("2026-04-07", 9, 30)


def test_an_application_has_exactly_one_party(shared, make_staff):
    request, _ = order(make_staff(shared["ministry"], "service_requester"), shared["ministry"])
    application = request.application
    with pytest.raises(IntegrityError), transaction.atomic():
        Application.objects.filter(pk=application.pk).update(applicant_agency=None)
    with pytest.raises(IntegrityError), transaction.atomic():
        Application.objects.filter(pk=application.pk).update(
            applicant_business_id=None, applicant_agency=None, applicant_id=None
        )


def test_a_business_is_a_party_the_engine_carries(shared, make_staff):
    """identity's Business as applicant: received and worked by the same engine, named in
    words, and (no person's data) neither read through the gate nor notified as a person."""
    from joinedup.delivery import applications
    from joinedup.delivery.models import StatusChange
    from joinedup.federation.models import Offering
    from joinedup.identity.models import Business
    from joinedup.sharing.models import AccessEvent

    business = Business.objects.create(
        legal_name="Maple Cleaning Ltd.",
        business_number="123456789",
        jurisdiction=Jurisdiction.objects.get(code="CA-ON"),
    )
    clerk = make_staff(shared["provincial"], "front_line")
    offering = Offering.objects.get(service=shared["onboarding"], agency=shared["provincial"])
    version = applications.current_version(shared["onboarding"])
    application = applications.received(
        clerk,
        version,
        None,
        {"details": "A supplier's account"},
        "counter",
        offering.area,
        offering,
        applicant_business=business,
    )
    applications.start(application, clerk)
    application.refresh_from_db()
    assert application.applicant_id is None and application.applicant_agency_id is None
    party = party_of(application)
    assert (party.kind, party.name, party.is_person) == ("business", "Maple Cleaning Ltd.", False)
    assert applicant_name(application) == "Maple Cleaning Ltd."
    assert StatusChange.objects.filter(application=application).exists()
    item = WorkItem.objects.get(application=application)
    assert item.agency == shared["provincial"]
    caseworker = make_staff(shared["provincial"], "caseworker")
    rows, refused = queues.applicant_facts(caseworker, application)
    assert refused is None and rows == [("Business", "Maple Cleaning Ltd.")]
    assert not AccessEvent.objects.exists()
    assert not Notification.objects.filter(application=application).exclude(person=None).exists()
