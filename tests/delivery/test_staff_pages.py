"""The staff pages: the agency's queue (filtered, claimed), the work item (the applicant's data
read through the data gate and logged; decided with reasons; completed) and the supervisor's
view of work due soon and past its due date. Staff of another agency, other roles, people
without a staff role and staff without their second factor are refused."""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo

import pytest
from django.test import Client

from joinedup.delivery import clock
from joinedup.delivery.applications import submit_application
from joinedup.delivery.models import Application, WorkItem
from joinedup.identity.models import StaffMembership, User
from joinedup.sharing.models import AccessEvent

from .conftest import birth_answers, person_context, sign_in

pytestmark = pytest.mark.django_db
TORONTO = ZoneInfo("America/Toronto")
QUEUE = "/en/staff/queue/"
SUPERVISOR = "/en/staff/supervisor/"


def apply(applicant, key: str, **answers) -> Application:
    application, _ = submit_application(
        person_context(applicant), "ca.birth-registration", birth_answers(**answers), "online", key
    )
    return application


@pytest.fixture
def waiting(birth_registration, applicant):
    """Two applications in ServiceOntario's queue, one in the Quebec registrar's."""
    return [
        apply(applicant, "one"),
        apply(applicant, "two", child_given_names="Zara"),
        apply(applicant, "qc", birth_province="CA-QC"),
    ]


def item_of(application: Application) -> WorkItem:
    return WorkItem.objects.get(application=application, status__in=["open", "claimed"])


def test_the_queue_lists_the_agencys_open_work_earliest_due_first(
    waiting, federation, staff_client
):
    browser, _context = staff_client(federation["serviceontario"], "caseworker")
    response = browser.get(QUEUE)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Work queue — ServiceOntario" in html
    for application in waiting[:2]:
        assert application.reference in html
        assert f'href="/en/staff/work-items/{item_of(application).pk}/"' in html
    assert waiting[2].reference not in html  # Quebec's case is in Quebec's queue
    assert "On track" in html
    french = browser.get("/fr/staff/queue/").content.decode()
    assert "File de travail — ServiceOntario" in french and "Dans les délais" in french


def test_the_queue_filters_by_status_and_by_who_claimed(waiting, federation, staff_client):
    browser, context = staff_client(federation["serviceontario"], "caseworker")
    first = item_of(waiting[0])
    claimed = browser.post(f"/en/staff/work-items/{first.pk}/", {"action": "claim"})
    assert claimed.status_code == 302
    first.refresh_from_db()
    assert (first.status, first.assignee_id) == ("claimed", context.user_id)

    mine = browser.get(QUEUE + "?mine=1").content.decode()
    assert waiting[0].reference in mine and waiting[1].reference not in mine
    only_claimed = browser.get(QUEUE + "?status=claimed").content.decode()
    assert waiting[0].reference in only_claimed and waiting[1].reference not in only_claimed
    done = browser.get(QUEUE + "?status=completed").content.decode()
    assert "Nothing is waiting." in done
    # An unknown status is no error: the open work is shown.
    unknown = browser.get(QUEUE + "?status=whatever")
    assert unknown.status_code == 200
    assert waiting[1].reference in unknown.content.decode()


def test_the_work_item_shows_the_applicant_through_the_data_gate(
    waiting, federation, staff_client, applicant
):
    browser, context = staff_client(federation["serviceontario"], "caseworker")
    item = item_of(waiting[0])
    before = AccessEvent.objects.count()
    response = browser.get(f"/en/staff/work-items/{item.pk}/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Review the statement of live birth" in html
    assert waiting[0].reference in html
    # The applicant's data, labelled for people, as the gate disclosed it.
    assert "Amara" in html and "Okafor" in html
    assert "amara@example.org" in html
    assert "<dt>given_names</dt>" not in html
    # The answers to the form, with the questions as the applicant saw them.
    assert "Child&#x27;s given names" in html and "Noor" in html
    # The access is in the applicant's ledger: who, what, for which purpose.
    event = AccessEvent.objects.order_by("-pk").first()
    assert AccessEvent.objects.count() == before + 1
    assert event.subject_id == applicant.person_id
    assert event.actor_user_id == context.user_id
    assert event.actor_agency == "serviceontario" and "given_names" in event.fields
    assert event.purpose == "service-delivery"


def test_a_decision_needs_reasons_when_the_applicant_must_read_them(
    waiting, federation, staff_client
):
    browser, _context = staff_client(federation["serviceontario"], "caseworker")
    item = item_of(waiting[0])
    url = f"/en/staff/work-items/{item.pk}/"
    refused = browser.post(url, {"action": "complete", "decision": "refuse", "reasons": " "})
    assert refused.status_code == 400
    assert "Give the reasons for this decision." in refused.content.decode()
    invented = browser.post(url, {"action": "complete", "decision": "delete-everything"})
    assert invented.status_code == 400
    assert "Choose one of the decisions offered" in invented.content.decode()
    nothing = browser.post(url, {"action": "complete"})
    assert nothing.status_code == 400
    long = browser.post(url, {"action": "complete", "decision": "refuse", "reasons": "x" * 4001})
    assert long.status_code == 400
    assert "Reasons are limited to 4000 characters." in long.content.decode()
    item.refresh_from_db()
    waiting[0].refresh_from_db()
    assert item.status == "open" and waiting[0].status == "in_progress"


def test_staff_decide_and_the_application_is_completed(waiting, federation, staff_client):
    browser, context = staff_client(federation["serviceontario"], "caseworker")
    item = item_of(waiting[0])
    url = f"/en/staff/work-items/{item.pk}/"
    browser.post(url, {"action": "claim"})
    decided = browser.post(
        url, {"action": "complete", "decision": "approve", "reasons": "All in order."}
    )
    assert decided.status_code == 302 and decided["Location"] == QUEUE
    assert "The decision is recorded." in browser.get(QUEUE).content.decode()
    item.refresh_from_db()
    application = waiting[0]
    application.refresh_from_db()
    assert (item.status, item.decision, item.completed_by_id) == (
        "completed",
        "approve",
        context.user_id,
    )
    assert application.status == "approved"
    assert application.documents.count() == 1
    # Done is done: the page shows no form, and posting again is refused with a message.
    page = browser.get(url).content.decode()
    assert "Record the decision" not in page
    again = browser.post(url, {"action": "complete", "decision": "approve"})
    assert again.status_code == 400
    assert "This task is no longer waiting." in again.content.decode()


def test_a_task_claimed_by_someone_else_cannot_be_taken_or_decided(
    waiting, federation, staff_client
):
    first, _ = staff_client(federation["serviceontario"], "caseworker", "first@example.org")
    second, _ = staff_client(federation["serviceontario"], "caseworker", "second@example.org")
    item = item_of(waiting[0])
    url = f"/en/staff/work-items/{item.pk}/"
    first.post(url, {"action": "claim"})
    taken = second.post(url, {"action": "claim"})
    assert taken.status_code == 400
    assert "Someone else is working on this task." in taken.content.decode()
    decided = second.post(url, {"action": "complete", "decision": "approve"})
    assert decided.status_code == 400
    item.refresh_from_db()
    assert item.status == "claimed"
    # A supervisor may take over.
    boss, _ = staff_client(federation["serviceontario"], "supervisor")
    assert boss.post(url, {"action": "release"}).status_code == 302
    item.refresh_from_db()
    assert item.status == "open" and item.assignee_id is None


def test_other_agencies_roles_and_people_are_refused(
    waiting, federation, staff_client, applicant, settings
):
    item = item_of(waiting[0])
    url = f"/en/staff/work-items/{item.pk}/"
    quebec, _ = staff_client(federation["dgeq"], "caseworker")
    assert quebec.get(url).status_code == 403
    assert quebec.post(url, {"action": "complete", "decision": "approve"}).status_code == 403
    quebec_queue = quebec.get(QUEUE).content.decode()
    assert waiting[0].reference not in quebec_queue and waiting[2].reference in quebec_queue
    front_line, _ = staff_client(federation["serviceontario"], "front_line")
    assert front_line.get(url).status_code == 403  # the task is for caseworkers
    analyst, _ = staff_client(federation["serviceontario"], "analyst")
    assert analyst.get(QUEUE).status_code == 403
    assert analyst.get(url).status_code == 403
    citizen = sign_in(Client(), applicant)
    assert citizen.get(QUEUE).status_code == 403
    assert citizen.get(url).status_code == 403
    assert citizen.get(SUPERVISOR).status_code == 403
    anonymous = Client().get(QUEUE)
    assert anonymous.status_code == 302 and "/account/" in anonymous["Location"]
    # Staff who have not given their second factor are sent to give it.
    user = User.objects.create_user("nofactor@example.org", "nofactor@example.org", "x" * 20)
    StaffMembership.objects.create(
        user=user, agency=federation["serviceontario"], role="caseworker"
    )
    unconfirmed = sign_in(Client(), user).get(QUEUE)
    assert unconfirmed.status_code == 302 and "two-factor" in unconfirmed["Location"]
    assert Client().get("/en/staff/work-items/999999/").status_code == 302
    item.refresh_from_db()
    assert item.status == "open"


def test_a_missing_work_item_is_not_found(waiting, federation, staff_client):
    browser, _ = staff_client(federation["serviceontario"], "caseworker")
    assert browser.get("/en/staff/work-items/999999/").status_code == 404


def received_on(application: Application, day: str) -> None:
    application.submitted_at = datetime.datetime.fromisoformat(day).replace(hour=10, tzinfo=TORONTO)
    clock.start(application)
    application.save(update_fields=["submitted_at", "standard_days", "due_date", "paused_days"])


def test_supervisors_see_breached_due_soon_and_on_track_work(
    birth_registration, applicant, federation, staff_client
):
    today = datetime.date.today()
    late = apply(applicant, "late")
    soon = apply(applicant, "soon", child_given_names="Sami")
    fresh = apply(applicant, "fresh", child_given_names="Lea")
    quebec = apply(applicant, "quebec", birth_province="CA-QC")
    received_on(late, (today - datetime.timedelta(days=60)).isoformat())
    # Due within the at-risk window: 15 business days back is about three weeks.
    received_on(soon, (today - datetime.timedelta(days=20)).isoformat())
    assert clock.state(soon).code == "at_risk", clock.state(soon)
    assert clock.state(late).code == "breached"
    assert clock.state(fresh).code == "on_track"

    browser, _ = staff_client(federation["serviceontario"], "supervisor")
    response = browser.get(SUPERVISOR)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Due and breached work — ServiceOntario" in html
    breached = html.split("Past the due date", 1)[1].split("Due soon", 1)[0]
    due_soon = html.split("Due soon", 1)[1].split("On track", 1)[0]
    on_track = html.split("On track", 1)[1]
    assert late.reference in breached and "(1)" in html.split("Past the due date", 1)[1][:10]
    assert soon.reference in due_soon
    assert fresh.reference in on_track
    assert quebec.reference not in html  # another agency's work
    assert "days left" in html or "day left" in html

    caseworker, _ = staff_client(federation["serviceontario"], "caseworker")
    assert caseworker.get(SUPERVISOR).status_code == 403
    other, _ = staff_client(federation["dgeq"], "supervisor")
    other_view = other.get(SUPERVISOR).content.decode()
    assert quebec.reference in other_view and late.reference not in other_view
    # The supervisor opens an application of their agency; not another agency's.
    assert browser.get(f"/en/applications/{late.pk}/").status_code == 200
    assert browser.get(f"/en/applications/{quebec.pk}/").status_code == 403


def test_tasks_are_named_in_the_readers_language(waiting, federation, staff_client):
    browser, _context = staff_client(federation["serviceontario"], "caseworker")
    item = item_of(waiting[0])
    english, french = (
        "Review the statement of live birth",
        "Examiner la déclaration de naissance vivante",
    )
    assert item.title == english
    assert english in browser.get(QUEUE).content.decode()
    queue = browser.get("/fr/staff/queue/").content.decode()
    assert french in queue and english not in queue
    url = f"/fr/staff/work-items/{item.pk}/"
    page = browser.get(url).content.decode()
    assert f"<h1>{french}</h1>" in page and english not in page
    browser.post(url, {"action": "claim"})
    browser.post(
        url, {"action": "complete", "decision": "approve", "reasons": "Tout est en ordre."}
    )
    history = browser.get(url).content.decode().split('data-testid="history"')[1]
    assert french in history and english not in history  # the decision names the task
