"""The provider's staff who work requests (and a client agency's supervisors, for their own
agency) find an employee by name, whatever the case and accents, and the requests that
concern them; each name shown is read through the data gate and lands in the person's access
ledger; the page sends the same statements with 200 employees as with 10."""

from __future__ import annotations

import datetime

from joinedup.backoffice.models import Employee, fold, name_key_of
from joinedup.backoffice.requests import submit_request
from joinedup.federation.models import Jurisdiction
from joinedup.identity.client_registry import AddressInput, register_person
from joinedup.identity.models import Address, Person
from joinedup.sharing.models import AccessEvent

from .test_employee import _rule

URL = "/en/backoffice/employees/"


def _person(given: str, family: str):
    return register_person(
        given_names=given,
        family_name=family,
        birth_date=datetime.date(1985, 3, 9),
        address=AddressInput(
            street_address="1 Bay St", locality="Toronto", jurisdiction_code="CA-ON-TOR"
        ),
    )


def _named(shared, make_staff, client, person, details="Pay change"):
    requester = make_staff(client, "service_requester", f"hr.{client.key}.{person.pk}@example.org")
    request, _ = submit_request(
        requester, client, "on.onboarding", {"details": details}, employee=person
    )
    return request


def test_names_are_folded_without_case_or_accents():
    assert fold("  Côté-SMITH  ") == "cote smith"
    assert fold("Éloïse O'Brien") == "eloise o brien"


def test_the_provider_finds_an_employee_whatever_the_accents_and_case(
    shared, make_staff, staff_client
):
    josee = _person("Josée", "Côté")
    other = _person("Marc", "Tremblay")
    request = _named(shared, make_staff, shared["ministry"], josee)
    _named(shared, make_staff, shared["city"], other)
    _rule(shared)
    browser, _ = staff_client(shared["provincial"], "caseworker")
    for query in ("cote", "CÔTÉ", "josee cote", "Cote Jos"):
        page = browser.get(URL, {"q": query})
        assert page.status_code == 200
        body = page.content.decode()
        assert "Côté" in body and "Tremblay" not in body, query
        assert request.application.reference in body
        assert "1 employee found" in body
    # Each name shown was read through the gate, for shared services, held by the client.
    reads = AccessEvent.objects.filter(subject_id=josee.pk, outcome=AccessEvent.Outcome.DISCLOSED)
    assert reads.count() == 4
    assert {e.purpose for e in reads} == {"shared-services"}
    assert {e.holder_agency for e in reads} == {"serviceontario"}
    assert not AccessEvent.objects.filter(subject_id=other.pk).exists()  # not matched, not read
    french = browser.get("/fr/backoffice/employees/", {"q": "cote"}).content.decode()
    assert "Trouver un employé" in french and "1 employé trouvé" in french


def test_without_a_sharing_rule_the_gate_refuses_and_records_it(shared, make_staff, staff_client):
    person = _person("Noor", "Haddad")
    request = _named(shared, make_staff, shared["ministry"], person)
    browser, _ = staff_client(shared["provincial"], "caseworker")
    body = browser.get(URL, {"q": "haddad"}).content.decode()
    assert "Noor" not in body
    assert "The data gate did not disclose this employee to you" in body
    assert request.application.reference in body  # the provider already sees its requests
    refusal = AccessEvent.objects.get(subject_id=person.pk)
    assert refusal.outcome == AccessEvent.Outcome.REFUSED and refusal.reason == "no_agreement"


def test_a_client_agency_finds_only_its_own_employees(shared, make_staff, staff_client):
    mine = _person("Ana", "Lopez")
    theirs = _person("Ana", "Lopes")
    _named(shared, make_staff, shared["ministry"], mine)
    _named(shared, make_staff, shared["city"], theirs)
    supervisor, _ = staff_client(shared["ministry"], "supervisor")
    home = supervisor.get("/en/backoffice/").content.decode()
    assert 'href="/en/backoffice/employees/"' in home  # reached from the agency's page
    body = supervisor.get(URL, {"q": "ana"}).content.decode()
    assert "Lopez" in body and "Lopes" not in body and "1 employee found" in body
    assert not AccessEvent.objects.filter(subject_id=theirs.pk).exists()
    # Another provider's staff find nobody of Ontario's clients.
    federal, _ = staff_client(shared["federal"], "caseworker")
    body = federal.get(URL, {"q": "ana"}).content.decode()
    assert "0 employees found" in body and "Lopez" not in body


def test_only_roles_that_may_look_find_employees(shared, make_staff, staff_client):
    _named(shared, make_staff, shared["ministry"], _person("Ana", "Lopez"))
    requester, _ = staff_client(shared["ministry"], "service_requester", "req@example.org")
    assert requester.get(URL, {"q": "lopez"}).status_code == 403
    home = requester.get("/en/backoffice/").content.decode()
    assert 'href="/en/backoffice/employees/"' not in home
    for agency, role in (
        (shared["ministry"], "caseworker"),  # a client's caseworker: not from the back office
        (shared["ministry"], "administrator"),
        (shared["provincial"], "analyst"),
        (shared["provincial"], "auditor"),
    ):
        browser, _ = staff_client(agency, role, f"{role}.{agency.key}.x@example.org")
        assert browser.get(URL, {"q": "lopez"}).status_code == 403, (agency.key, role)
    assert not AccessEvent.objects.exists()
    worker, _ = staff_client(shared["provincial"], "front_line")
    provider_page = worker.get("/en/backoffice/provider/").content.decode()
    assert 'href="/en/backoffice/employees/"' in provider_page


def test_a_search_too_short_is_refused_with_a_message(shared, staff_client):
    browser, _ = staff_client(shared["provincial"], "caseworker")
    short = browser.get(URL, {"q": "é"})
    assert short.status_code == 400
    assert "at least two letters" in short.content.decode()
    french = browser.get("/fr/backoffice/employees/", {"q": "a"})
    assert french.status_code == 400 and "au moins deux lettres" in french.content.decode()
    assert browser.get(URL).status_code == 200  # the empty form


def _add_employees(shared, make_staff):
    """add(n): n more employees of the ministry named Tremblay, living in Toronto (bulk)."""
    toronto = Jurisdiction.objects.get(code="CA-ON-TOR")

    def add(count: int) -> None:
        start = Person.objects.count()
        people = Person.objects.bulk_create(
            Person(given_names=f"Employee {start + n}", family_name="Trémblay")
            for n in range(count)
        )
        Address.objects.bulk_create(
            Address(
                person=p,
                street_address="1 Bay St",
                locality="Toronto",
                jurisdiction=toronto,
                valid_from=datetime.date(2020, 1, 1),
            )
            for p in people
        )
        Employee.objects.bulk_create(
            Employee(client=shared["ministry"], person=p, name_key=name_key_of(p)) for p in people
        )

    return add


def test_the_search_pages_with_a_count_and_same_queries_at_10_and_200(
    shared, make_staff, staff_client, queries_at_10_and_200
):
    first = _person("Employee", "Tremblay")
    _named(shared, make_staff, shared["ministry"], first)
    _rule(shared)
    browser, _ = staff_client(shared["provincial"], "caseworker")

    def read():
        page = browser.get(URL, {"q": "tremblay"})
        assert page.status_code == 200
        assert len(page.context["found"]) == min(Employee.objects.count(), 25)

    at_10, at_200 = queries_at_10_and_200(_add_employees(shared, make_staff), read, start=1)
    assert at_200 == at_10
    body = browser.get(URL, {"q": "tremblay", "page": "8"}).content.decode()
    assert "200 employees found" in body and "Page 8 of 8" in body


def test_the_gate_in_one_pass_decides_each_person_as_one_at_a_time(shared, make_staff):
    from joinedup.sharing import gate

    here = _person("Lea", "Roy")
    away = register_person(
        given_names="Luc",
        family_name="Roy",
        address=AddressInput(
            street_address="1 rue Ste-Catherine", locality="Montréal", jurisdiction_code="CA-QC-MTL"
        ),
    )
    nowhere = Person.objects.create(given_names="Max", family_name="Roy")
    _rule(shared)
    caseworker = make_staff(shared["provincial"], "caseworker")
    people = [(here, shared["ministry"]), (away, shared["ministry"]), (nowhere, shared["city"])]
    fields = ["given_names", "family_name", "birth_date"]
    together = gate.disclose_each(caseworker, people, fields, "shared-services")
    one_by_one = []
    for person, holder in people:
        try:
            one_by_one.append(
                gate.disclose(caseworker, person, fields, "shared-services", holder=holder)
            )
        except gate.DisclosureRefused as refused:
            one_by_one.append(refused)
    assert [type(a) for a in together] == [type(a) for a in one_by_one]
    assert together[0].fields == one_by_one[0].fields and together[0].fields["family_name"] == "Roy"
    assert together[1].code == one_by_one[1].code == "out_of_scope"  # lives in Quebec
    assert together[2].code == one_by_one[2].code  # the city shares nothing with the provider
    events = AccessEvent.objects.order_by("pk")
    assert events.count() == 6
    pairs = [(e.subject_id, e.outcome, e.reason, e.holder_agency) for e in events]
    assert pairs[:3] == pairs[3:]
