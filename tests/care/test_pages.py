"""The pages: find help near you, the staff workspace and case page, a referral for its
receiver, and the person's side — in the browser's terms (requests, statuses, what shows)."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from joinedup.care import plans, team
from joinedup.care.models import IntegratedCase, PlanRequest, Referral, Service
from joinedup.care.packages import load_package
from joinedup.delivery.models import WorkItem
from joinedup.identity import assurance
from joinedup.identity.models import IdentityProofing, StaffMembership, User

from .conftest import SMALL_DIRECTORY

pytestmark = pytest.mark.django_db


def staff_client(context) -> Client:
    client = Client()
    user = User.objects.get(pk=context.user_id)
    client.force_login(user)
    device = TOTPDevice.objects.create(user=user, name="phone")
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


@pytest.fixture
def services(agencies):
    load_package(SMALL_DIRECTORY)
    return {s.name: s for s in Service.objects.all()}


@pytest.fixture
def lead(make_staff):
    return make_staff("toronto", "caseworker", "lead@toronto.example.org")


@pytest.fixture
def ontario(make_staff):
    return make_staff("serviceontario", "caseworker", "worker@ontario.example.org")


@pytest.fixture
def person_client(person):
    user = User.objects.create_user("jordan@example.org", "jordan@example.org", "x" * 20)
    user.person = person
    user.save()
    assurance.record_proofing(person, level=2, method=IdentityProofing.Method.DOCUMENT_CHECK)
    client = Client()
    client.force_login(user)
    return client


def test_find_help_by_need_place_and_language_in_both_languages(services, client):
    page = client.get("/en/find-help/", {"need": "food", "place": "CA-ON-TOR"})
    assert page.status_code == 200
    text = page.content.decode()
    assert "Community food bank" in text and "Monday: 09:00–17:00" in text
    assert "Emergency shelter" not in text
    shelter = client.get("/en/find-help/", {"need": "housing"}).content.decode()
    assert "7 of 40 free (bed)" in shelter
    french = client.get("/fr/find-help/", {"need": "food", "language": "fr"}).content.decode()
    assert "Banque alimentaire communautaire" in french and "Repas communautaires" in french
    assert client.get("/en/find-help/", {"place": "ZZ"}).status_code == 400


def test_the_workspace_is_for_staff_only(person_client, client, lead):
    assert client.get("/en/staff/care/").status_code == 302  # sign in first
    assert person_client.get("/en/staff/care/").status_code == 403
    assert staff_client(lead).get("/en/staff/care/").status_code == 200


def test_a_case_opened_and_worked_through_the_pages(services, lead, ontario, person):
    browser = staff_client(lead)
    form = {
        "given_names": "Jordan",
        "family_name": "Mbeki",
        "birth_date": "1988-06-01",
        "basis": "consent",
        "categories": ["housing", "income", "health"],
    }
    refused = browser.post("/en/staff/care/cases/new/", {**form, "birth_date": "1988-06-02"})
    assert refused.status_code == 400
    assert "No single person" in refused.content.decode()
    assert not IntegratedCase.objects.exists()
    opened = browser.post("/en/staff/care/cases/new/", form)
    case = IntegratedCase.objects.get()
    assert opened.url == f"/en/staff/care/cases/{case.reference}/"
    base = opened.url
    browser.post(f"{base}note/", {"domain": "housing", "text": "Two months of rent arrears."})
    browser.post(f"{base}note/", {"domain": "health", "text": "Anxiety; on a waiting list."})
    bad = browser.post(f"{base}note/", {"domain": "housing", "text": ""})
    assert bad.status_code == 400 and "Write the note." in bad.content.decode()
    membership = StaffMembership.objects.get(pk=ontario.membership_id)
    browser.post(
        f"{base}member/",
        {"membership": membership.pk, "role": "key_worker", "categories": ["housing"]},
    )
    browser.post(f"{base}need/", {"domain": "housing", "description": "Keep the apartment"})
    need = case.needs.get()
    browser.post(f"{base}goal/", {"need": need.pk, "description": "Arrears cleared"})
    goal = need.goals.get()
    browser.post(
        f"{base}action/",
        {
            "goal": goal.pk,
            "description": "Apply to the rent bank",
            "agency": membership.agency_id,
            "due_date": "2027-01-15",
        },
    )
    assert goal.actions.count() == 1
    page = browser.get(base).content.decode()
    assert "Jordan Mbeki" in page and "Anxiety" in page and "Apply to the rent bank" in page

    province = staff_client(ontario)
    theirs = province.get(base)
    assert theirs.status_code == 200
    text = theirs.content.decode()
    assert "Two months of rent arrears." in text and "Anxiety" not in text
    assert "Some parts of this case are not shown to you" in text
    # Not a coordinator: the plan is not theirs to change.
    assert province.post(f"{base}need/", {"domain": "food", "description": "x"}).status_code == 403

    member = case.team.get(membership=membership)
    browser.post(f"{base}remove/", {"member": member.pk})
    assert province.get(base).status_code == 403


def test_the_receiver_answers_a_referral_and_the_sender_sees_it(services, lead, person, make_staff):
    case = team.open_case(lead, person, basis="consent", categories=["income"])
    browser = staff_client(lead)
    food = services["Community food bank"]
    payload = {
        "service": str(food.pk),
        "reason": "Food this week",
        "urgency": "soon",
        "categories": ["income"],
        "idempotency_key": "k-1",
    }
    browser.post(f"/en/staff/care/cases/{case.reference}/referral/", payload)
    browser.post(f"/en/staff/care/cases/{case.reference}/referral/", payload)
    referral = Referral.objects.get()
    receiver = staff_client(make_staff("helping-hands", "caseworker", areas=("CA-ON-TOR",)))
    assert "Community food bank" in receiver.get("/en/staff/care/").content.decode()
    url = f"/en/staff/care/referrals/{referral.pk}/"
    assert receiver.get(url).status_code == 200
    bad = receiver.post(f"{url}step/", {"status": "declined"})
    assert bad.status_code == 400
    receiver.post(f"{url}step/", {"status": "accepted"})
    receiver.post(f"{url}step/", {"status": "closed", "outcome": "got_help"})
    referral.refresh_from_db()
    assert (referral.status, referral.outcome) == ("closed", "got_help")
    assert browser.post(f"{url}step/", {"status": "contacted"}).status_code == 403
    assert "Got help" in browser.get(f"/en/staff/care/cases/{case.reference}/").content.decode()
    outsider = staff_client(make_staff("esdc", "caseworker"))
    assert outsider.get(url).status_code == 404


def test_the_person_sees_their_plan_and_withdraws_consent_for_one_agency(
    services, lead, ontario, person, person_client
):
    case = team.open_case(lead, person, basis="consent", categories=["housing", "income"])
    team.add_member(
        lead,
        case,
        StaffMembership.objects.get(pk=ontario.membership_id),
        "key_worker",
        categories=["housing"],
    )
    need = plans.add_need(lead, case, "housing", "Keep the apartment")
    goal = plans.add_goal(lead, need, "Arrears cleared", None)
    plans.add_action(
        lead, goal, "Apply to the rent bank", ontario_agency(ontario), datetime.date(2027, 1, 15)
    )
    page = person_client.get("/en/my/care/").content.decode()
    assert "Arrears cleared" in page and "Apply to the rent bank" in page
    assert "ServiceOntario" in page and "care plan: housing" in page
    assert staff_client(ontario).get(f"/en/staff/care/cases/{case.reference}/").status_code == 200
    answer = person_client.post("/en/my/care/withdraw/", {"agency": ontario_agency(ontario).pk})
    assert answer.status_code == 302
    assert staff_client(ontario).get(f"/en/staff/care/cases/{case.reference}/").status_code == 403
    assert person_client.post("/en/my/care/withdraw/", {"agency": "x"}).status_code == 400
    person_client.post("/en/my/care/request/", {"kind": "review", "text": "Too fast."})
    asked = PlanRequest.objects.get()
    assert asked.case == case
    assert "Too fast." in staff_client(lead).get("/en/staff/care/").content.decode()
    # The request is work of the engine: an application of the lead agency's plan-review
    # service, its task in that agency's queue, answered when a review is held.
    assert asked.application.applicant_id == case.person_id
    item = WorkItem.objects.get(application=asked.application, status="open")
    assert (item.agency_id, item.kind) == (case.agency_id, "plan_review")
    plans.record_review(
        lead,
        case,
        held_on=datetime.date.today(),
        attendee_ids=[case.team.get(role="lead").pk],
        decisions="Slower pace agreed.",
        next_review=None,
    )
    asked.refresh_from_db()
    assert asked.handled_at is not None
    assert "Too fast." not in staff_client(lead).get("/en/staff/care/").content.decode()
    assert person_client.post("/en/my/care/request/", {"kind": "x"}).status_code == 400


def ontario_agency(context):
    return StaffMembership.objects.get(pk=context.membership_id).agency


def test_the_workspace_reads_a_constant_number_of_statements(services, lead, make_staff):
    from joinedup.identity.client_registry import AddressInput, register_person

    browser = staff_client(lead)

    def add_cases(count: int, start: int) -> None:
        for n in range(start, start + count):
            someone = register_person(
                given_names=f"P{n}",
                family_name="Test",
                birth_date=datetime.date(1980, 1, 1),
                address=AddressInput(
                    street_address="1 Main St", locality="Toronto", jurisdiction_code="CA-ON-TOR"
                ),
            )
            case = team.open_case(lead, someone, basis="statute")
            need = plans.add_need(lead, case, "housing", "x")
            goal = plans.add_goal(lead, need, "y", None)
            plans.add_action(lead, goal, "z", ontario_agency(lead), datetime.date.today())

    def statements() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert browser.get("/en/staff/care/").status_code == 200
        return len(queries)

    add_cases(2, 0)
    statements()  # the first request of a session reads a few things once
    few = statements()
    add_cases(10, 2)
    assert statements() == few


FORMS = [
    "need",
    "goal",
    "action",
    "action-status",
    "outcome",
    "member",
    "remove",
    "referral",
    "note",
    "alert",
    "close-alert",
    "review",
]
COORDINATORS_ONLY = {
    "need",
    "goal",
    "action",
    "outcome",
    "member",
    "remove",
    "close-alert",
    "review",
}


def test_each_form_of_a_case_is_a_page_linked_from_the_case_and_asks_the_team(
    services, lead, ontario, person, make_staff
):
    import re

    case = team.open_case(lead, person, basis="consent", categories=["housing", "health"])
    team.add_member(
        lead,
        case,
        StaffMembership.objects.get(pk=ontario.membership_id),
        "key_worker",
        categories=["housing"],
    )
    province = ontario_agency(ontario)
    housing = plans.add_goal(lead, plans.add_need(lead, case, "housing", "Keep home"), "Rent", None)
    health = plans.add_goal(lead, plans.add_need(lead, case, "health", "Sleep"), "Therapy", None)
    plans.add_action(lead, housing, "Rent bank form", province, datetime.date(2027, 1, 15))
    plans.add_action(lead, health, "See a counsellor", province, datetime.date(2027, 1, 15))
    plans.raise_alert(lead, case, "housing", "Eviction notice served")
    base = f"/en/staff/care/cases/{case.reference}/"
    browser = staff_client(lead)
    page = browser.get(base).content.decode()
    # The case page carries no form: each is a page of its own, linked from it.
    assert "<form" not in page.split("<main", 1)[-1].split("</main>", 1)[0]
    linked = set(re.findall(rf'href="{re.escape(base)}([a-z-]+)/', page))
    assert linked - {"assessments"} == set(FORMS)  # and the assessment pages
    for what in FORMS:
        answer = browser.get(f"{base}{what}/")
        assert answer.status_code == 200, what
        assert "<form" in answer.content.decode()

    # A member of another agency: the forms any member uses, not the coordinators'.
    theirs = staff_client(ontario)
    for what in FORMS:
        expected = 403 if what in COORDINATORS_ONLY else 200
        assert theirs.get(f"{base}{what}/").status_code == expected, what
    # What a form lists is what the gate lets them see: their agency's housing action only.
    listed = theirs.get(f"{base}action-status/").content.decode()
    assert "Rent bank form" in listed and "See a counsellor" not in listed
    # Someone not on the team sees no form of the case.
    outsider = staff_client(make_staff("esdc", "caseworker"))
    assert all(outsider.get(f"{base}{what}/").status_code == 403 for what in FORMS)
    assert browser.get(f"{base}nothing-here/").status_code == 404


def test_the_form_pages_do_what_they_say_and_refuse_bad_input_on_the_form(services, lead, person):
    case = team.open_case(lead, person, basis="consent", categories=["housing"])
    base = f"/en/staff/care/cases/{case.reference}/"
    browser = staff_client(lead)
    refused = browser.post(f"{base}alert/", {"domain": "housing", "text": "  "})
    assert refused.status_code == 400
    text = refused.content.decode()
    assert "Describe the concern." in text and 'id="alert-text"' in text
    assert not case.alerts.exists()
    done = browser.post(f"{base}alert/", {"domain": "housing", "text": "Threats from landlord"})
    assert done.status_code == 302 and done.url == base
    alert = case.alerts.get()
    assert "Threats from landlord" in browser.get(base).content.decode()
    assert browser.get(f"{base}close-alert/", {"alert": alert.pk}).status_code == 200
    browser.post(f"{base}close-alert/", {"alert": alert.pk})
    alert.refresh_from_db()
    assert alert.closed_at is not None
    assert browser.post(f"{base}close-alert/", {"alert": alert.pk}).status_code == 400

    goal = plans.add_goal(lead, plans.add_need(lead, case, "housing", "Keep home"), "Rent", None)
    action = plans.add_action(
        lead, goal, "Rent bank form", ontario_agency(lead), datetime.date(2027, 1, 15)
    )
    form = browser.get(f"{base}action-status/", {"action": action.pk}).content.decode()
    assert f'<option value="{action.pk}" selected>' in form
    assert (
        browser.post(f"{base}action-status/", {"action": action.pk, "status": "x"}).status_code
        == 400
    )
    browser.post(f"{base}action-status/", {"action": action.pk, "status": "done"})
    browser.post(f"{base}outcome/", {"goal": goal.pk, "outcome": "attained"})
    action.refresh_from_db()
    goal.refresh_from_db()
    assert (action.status, goal.outcome) == ("done", "attained")
    assert "Attained" in browser.get(base).content.decode()

    lead_member = case.team.get(role="lead")
    bad = browser.post(
        f"{base}review/",
        {"held_on": "2026-12-01", "attendees": [lead_member.pk], "decisions": "Keep going"}
        | {"next_review": "2026-11-01"},
    )
    assert (
        bad.status_code == 400 and "The next review comes after this one." in bad.content.decode()
    )
    assert not case.reviews.exists()
    browser.post(
        f"{base}review/",
        {
            "held_on": "2026-12-01",
            "attendees": [lead_member.pk],
            "decisions": "Keep going",
            "next_review": "2027-03-01",
        },
    )
    case.refresh_from_db()
    assert case.reviews.get().decisions == "Keep going"
    assert case.review_date == datetime.date(2027, 3, 1)


def test_the_caseload_is_paged_by_fifty_with_one_count_whatever_its_size(lead, agencies):
    import re

    from joinedup.care.models import TeamMember
    from joinedup.identity.models import Person

    agency = agencies["toronto"]

    def add_cases(count: int, start: int) -> None:
        people = Person.objects.bulk_create(
            Person(given_names=f"P{n}", family_name="Load", birth_date=datetime.date(1980, 1, 1))
            for n in range(start, start + count)
        )
        cases = IntegratedCase.objects.bulk_create(
            IntegratedCase(
                reference=f"C-LOAD{start + i:04d}",
                person=p,
                agency=agency,
                basis="statute",
                opened_by_id=lead.user_id,
                review_date=datetime.date(2027, 1, 1) + datetime.timedelta(days=start + i),
            )
            for i, p in enumerate(people)
        )
        TeamMember.objects.bulk_create(
            TeamMember(case=c, membership_id=lead.membership_id, role="lead") for c in cases
        )

    browser = staff_client(lead)

    def statements(page: str = "1") -> tuple[int, str]:
        with CaptureQueriesContext(connection) as queries:
            answer = browser.get("/en/staff/care/", {"page": page})
        assert answer.status_code == 200
        counts = [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]
        assert len(counts) == 1  # the caseload's size, counted once
        return len(queries), answer.content.decode()

    def rows(html: str) -> list[str]:
        return re.findall(r'href="/en/staff/care/cases/(C-LOAD\d+)/"', html)

    add_cases(60, 0)
    statements()  # the first request of a session reads a few things once
    few, first = statements()
    assert len(rows(first)) == 50 and rows(first)[0] == "C-LOAD0000"
    assert "You are on the team of 60 open cases." in first and "Page 1 of 2" in first
    add_cases(90, 60)
    many, first = statements()
    assert many == few
    assert "You are on the team of 150 open cases." in first and "Page 1 of 3" in first
    _n, last = statements("3")
    assert rows(last) == [f"C-LOAD{n:04d}" for n in range(100, 150)]
    assert 'aria-label="Previous page"' in last and 'aria-label="Next page"' not in last
    # A bad or too-large page number gives the nearest page, never an error.
    assert rows(statements("x")[1]) == rows(first)
    assert rows(statements("99")[1]) == rows(last)
    # A case the lead has left is not in their caseload any more.
    TeamMember.objects.filter(case__reference="C-LOAD0000").update(
        left_at=datetime.datetime.now(datetime.UTC)
    )
    assert "C-LOAD0000" not in rows(statements()[1])


def test_a_form_may_name_only_what_the_gate_lets_the_member_see(services, lead, ontario, person):
    case = team.open_case(lead, person, basis="consent", categories=["housing", "health"])
    team.add_member(
        lead,
        case,
        StaffMembership.objects.get(pk=ontario.membership_id),
        "navigator",
        categories=["housing"],
    )
    province = ontario_agency(ontario)
    health = plans.add_goal(lead, plans.add_need(lead, case, "health", "Sleep"), "Therapy", None)
    counsellor = plans.add_action(lead, health, "Counsellor", province, datetime.date(2027, 1, 1))
    alert = plans.raise_alert(lead, case, "health", "Self-harm risk")
    base = f"/en/staff/care/cases/{case.reference}/"
    navigator = staff_client(ontario)
    # A navigator of another agency, shown nothing of health, cannot write to it by number.
    for what, form in [
        ("outcome", {"goal": health.pk, "outcome": "attained"}),
        ("action", {"goal": health.pk, "description": "x", "agency": province.pk}),
        ("action-status", {"action": counsellor.pk, "status": "done"}),
        ("close-alert", {"alert": alert.pk}),
    ]:
        assert (
            navigator.post(f"{base}{what}/", form | {"due_date": "2027-01-01"}).status_code == 400
        )
    health.refresh_from_db()
    counsellor.refresh_from_db()
    alert.refresh_from_db()
    assert (health.outcome, counsellor.status, alert.closed_at) == ("", "planned", None)
    assert health.actions.count() == 1
    # The lead, who sees health, can.
    staff_client(lead).post(f"{base}outcome/", {"goal": health.pk, "outcome": "attained"})
    health.refresh_from_db()
    assert health.outcome == "attained"
