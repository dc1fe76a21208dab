"""A request that concerns an employee (a pay change) links the person; whoever reads them
afterwards (the provider's caseworker, the client's own staff) goes through the data gate,
and every reading or refusal lands in the employee's access ledger."""

from __future__ import annotations

import datetime
import json

from django.test import Client

from joinedup.backoffice.models import Request
from joinedup.backoffice.requests import EMPLOYEE_PURPOSE, employee_facts, submit_request
from joinedup.identity import tokens
from joinedup.identity.client_registry import AddressInput, register_person
from joinedup.sharing.models import AccessEvent, LegalBasis, SharingRule


def _employee():
    return register_person(
        given_names="Noor",
        family_name="Haddad",
        birth_date=datetime.date(1988, 6, 14),
        address=AddressInput(
            street_address="1 Yonge St", locality="Toronto", jurisdiction_code="CA-ON-TOR"
        ),
    )


def _pay_change(shared, make_staff, employee):
    requester = make_staff(shared["ministry"], "service_requester")
    request, _ = submit_request(
        requester,
        shared["ministry"],
        "on.onboarding",
        {"details": "Pay file for a new analyst"},
        employee=employee,
    )
    return request


def _rule(shared):
    """The ministry shares its employees' identity with its provider for shared services."""
    return SharingRule.objects.create(
        provider=shared["ministry"],
        recipient=shared["provincial"],
        categories=["identity", "birth"],
        purposes=[EMPLOYEE_PURPOSE],
        legal_basis=LegalBasis.PUBLIC_TASK,
        valid_from=datetime.date(2020, 1, 1),
    )


def test_the_provider_reads_the_employee_only_through_the_gate(shared, make_staff):
    employee = _employee()
    request = _pay_change(shared, make_staff, employee)
    assert request.employee == employee
    assert not AccessEvent.objects.filter(subject_id=employee.pk).exists()  # linked, not read
    caseworker = make_staff(shared["provincial"], "caseworker")

    rows, refused = employee_facts(caseworker, request)
    assert rows == [] and "No data-sharing agreement" in refused
    refusal = AccessEvent.objects.get(subject_id=employee.pk)
    assert refusal.outcome == AccessEvent.Outcome.REFUSED
    assert refusal.holder_agency == "serviceontario" and refusal.actor_agency == "on-shared"

    _rule(shared)
    rows, refused = employee_facts(caseworker, request)
    assert refused is None
    values = [value for _label, value in rows]
    assert "Noor" in values and "Haddad" in values
    read = AccessEvent.objects.filter(subject_id=employee.pk).order_by("seq").last()
    assert read.outcome == AccessEvent.Outcome.DISCLOSED
    assert read.purpose == EMPLOYEE_PURPOSE and read.legal_basis == LegalBasis.PUBLIC_TASK
    assert read.actor_role == "caseworker"


def test_a_request_that_concerns_nobody_reads_nobody(shared, make_staff):
    request = _pay_change(shared, make_staff, None)
    caseworker = make_staff(shared["provincial"], "caseworker")
    assert employee_facts(caseworker, request) == ([], None)
    assert not AccessEvent.objects.exists()


def test_the_request_page_shows_the_employee_through_the_gate(shared, make_staff, staff_client):
    employee = _employee()
    request = _pay_change(shared, make_staff, employee)
    provider, _ = staff_client(shared["provincial"], "caseworker")
    page = provider.get(f"/en/backoffice/requests/{request.pk}/").content.decode()
    assert "Haddad" not in page
    assert "The data gate did not disclose the employee to you" in page
    _rule(shared)
    page = provider.get(f"/en/backoffice/requests/{request.pk}/").content.decode()
    assert "Haddad" in page
    french = provider.get(f"/fr/backoffice/requests/{request.pk}/").content.decode()
    assert "Employé concerné" in french
    # The client's supervisor reads its own agency's record (own-agency basis, recorded).
    supervisor, _ = staff_client(shared["ministry"], "supervisor")
    assert "Haddad" in supervisor.get(f"/en/backoffice/requests/{request.pk}/").content.decode()
    assert AccessEvent.objects.filter(
        subject_id=employee.pk,
        actor_agency="serviceontario",
        legal_basis=LegalBasis.OWN_AGENCY,
        outcome=AccessEvent.Outcome.DISCLOSED,
    ).exists()
    # The requester (not a person-facing role) sees that it concerns someone, not who.
    requester, _ = staff_client(shared["ministry"], "service_requester", "hr@example.org")
    page = requester.get(f"/en/backoffice/requests/{request.pk}/").content.decode()
    assert "Employee concerned" in page and "Haddad" not in page
    # Another provider's staff do not even see the request.
    outsider, _ = staff_client(shared["federal"], "caseworker")
    assert outsider.get(f"/en/backoffice/requests/{request.pk}/").status_code == 403


def test_the_order_form_links_the_employee_by_registry_number(shared, staff_client):
    employee = _employee()
    browser, _ = staff_client(shared["ministry"], "service_requester")
    unknown = browser.post(
        "/en/backoffice/order/on.onboarding/", {"details": "Pay change", "employee": "999999"}
    )
    assert unknown.status_code == 400
    assert "no person with this number" in unknown.content.decode()
    assert not Request.objects.exists()
    french = browser.post(
        "/fr/backoffice/order/on.onboarding/", {"details": "Paye", "employee": "abc"}
    )
    assert french.status_code == 400
    assert "Aucune personne" in french.content.decode()
    sent = browser.post(
        "/en/backoffice/order/on.onboarding/",
        {"details": "Pay change", "employee": str(employee.pk)},
    )
    assert sent.status_code == 302
    assert Request.objects.get().employee == employee


def test_the_api_links_the_employee_and_never_returns_them(shared):
    employee = _employee()
    _client, secret = tokens.create_api_client(
        shared["ministry"], name="HR system", role="service_requester", scopes=("read", "write")
    )
    auth = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
    api = Client()
    body = {"service": "on.onboarding", "answers": {"details": "Pay change"}}
    bad = api.post(
        "/api/v1/backoffice/requests",
        json.dumps({**body, "employee": 999999}),
        "application/json",
        **auth,
    )
    assert bad.status_code == 422 and bad.json()["code"] == "unknown_employee"
    made = api.post(
        "/api/v1/backoffice/requests",
        json.dumps({**body, "employee": employee.pk}),
        "application/json",
        **auth,
    )
    assert made.status_code == 201, made.content
    assert "Haddad" not in made.content.decode() and "employee" not in made.json()
    assert Request.objects.get().employee == employee
