"""Decision support recorded: a caseworker deciding a child benefit application says whether
the decision follows what the rules compute from its answers, and why not (a reason from a
short list and a note); the work item and the application's history show it. A departure
without its reason is refused with a message in the reader's language, and nothing is
decided."""

from __future__ import annotations

import datetime
import json
from decimal import Decimal

import pytest

from joinedup.delivery import queues
from joinedup.delivery.applications import submit_application
from joinedup.delivery.models import WorkItem
from joinedup.federation.models import Agency
from joinedup.identity import tokens
from joinedup.identity.models import User
from joinedup.sharing.models import OutboxEvent

from .conftest import person_context

pytestmark = pytest.mark.django_db
BIRTH = (datetime.date.today() - datetime.timedelta(days=400)).isoformat()
QUEUE = "/en/staff/queue/"


@pytest.fixture
def cra(canada_loaded, db):
    return Agency.objects.get(key="cra")


@pytest.fixture
def item(cra, make_applicant):
    """A single parent's child benefit application (one child of about one, 30,000 last
    year) waiting for a CRA caseworker."""
    answers = {
        "children": [{"given_names": "Noor", "birth_date": BIRTH}],
        "marital_status": "single",
        "income_last_year": 30000,
    }
    application, _ = submit_application(
        person_context(make_applicant()), "ca.child-benefit", answers
    )
    return WorkItem.objects.get(application=application, status="open", role="caseworker")


def test_a_departure_without_its_reason_is_refused_and_nothing_is_decided(item, cra, staff_client):
    browser, _context = staff_client(cra, "caseworker")
    url = f"/en/staff/work-items/{item.pk}/"
    page = browser.get(url).content.decode()
    assert "Does the decision follow what the rules compute?" in page
    unsaid = browser.post(url, {"action": "complete", "decision": "approve"})
    assert unsaid.status_code == 400
    assert "Say whether the decision follows what the rules compute." in unsaid.content.decode()
    no_reason = browser.post(
        url,
        {
            "action": "complete",
            "decision": "refuse",
            "reasons": "Income above the threshold.",
            "follows_rules": "no",
            "rules_note": "The notice of assessment shows 95,000.",
        },
    )
    assert no_reason.status_code == 400
    html = no_reason.content.decode()
    assert "Choose why the decision departs from what the rules compute." in html
    # What the caseworker wrote stays in the form.
    assert "The notice of assessment shows 95,000." in html and 'value="no" aria' in html
    no_note = browser.post(
        url,
        {
            "action": "complete",
            "decision": "refuse",
            "reasons": "Income above the threshold.",
            "follows_rules": "no",
            "rules_departure": "facts",
        },
    )
    assert "Write a note on why the decision departs" in no_note.content.decode()
    french = browser.post(
        f"/fr/staff/work-items/{item.pk}/",
        {"action": "complete", "decision": "refuse", "reasons": "x", "follows_rules": "no"},
    )
    assert french.status_code == 400
    assert (
        "Choisissez pourquoi la décision s’écarte de ce que calculent les règles."
        in french.content.decode()
    )
    item.refresh_from_db()
    assert item.status == "open" and item.decision == "" and item.follows_rules is None


def test_a_departure_is_recorded_with_its_reason_and_shown_in_the_history(item, cra, staff_client):
    browser, _context = staff_client(cra, "caseworker")
    url = f"/en/staff/work-items/{item.pk}/"
    decided = browser.post(
        url,
        {
            "action": "complete",
            "decision": "refuse",
            "reasons": "Income above the threshold.",
            "follows_rules": "no",
            "rules_departure": "facts",
            "rules_note": "The notice of assessment shows 95,000.",
        },
    )
    assert decided.status_code == 302 and decided["Location"] == QUEUE
    item.refresh_from_db()
    assert (item.decision, item.follows_rules, item.rules_departure) == ("refuse", False, "facts")
    assert item.rules_note == "The notice of assessment shows 95,000."
    # What the rules computed then is kept with the decision: 8,157 / 12 for a child under 6.
    assert item.rules_per_month == Decimal("679.75")
    # With the packages and versions that computed it, for the report of departures.
    assert item.rules_version == "ca 2026.7.0"
    event = OutboxEvent.objects.filter(type="org.joinedup.workitem.completed").latest("pk")
    assert event.data["follows_rules"] is False and event.data["rules_departure"] == "facts"
    html = browser.get(url).content.decode()
    record = (
        "It departs from what the rules compute (Facts the answers do not show (checked "
        "evidence)): The notice of assessment shows 95,000."
    )
    assert record in html and "The rules computed $679.75 a month." in html
    assert f"Decision on “{item.title}”: Refuse. {record}" in html
    french = browser.get(f"/fr/staff/work-items/{item.pk}/").content.decode()
    assert "Elle s’écarte de ce que calculent les règles" in french


def test_following_the_rules_and_asking_for_information(item, cra, staff_client):
    browser, _context = staff_client(cra, "caseworker")
    url = f"/en/staff/work-items/{item.pk}/"
    # Asking for more information decides nothing: the question is not asked.
    asked = browser.post(
        url,
        {"action": "complete", "decision": "request_information", "reasons": "Send the NOA."},
    )
    assert asked.status_code == 302
    item.refresh_from_db()
    assert item.decision == "request_information" and item.follows_rules is None
    # The applicant answers; the caseworker's next task follows the rules.
    user = User.objects.get(person_id=item.application.applicant_id)
    queues.respond(person_context(user), item.application, "Sent.")
    again = WorkItem.objects.get(application=item.application, status="open", role="caseworker")
    decided = browser.post(
        f"/en/staff/work-items/{again.pk}/",
        {"action": "complete", "decision": "approve", "follows_rules": "yes", "rules_note": "x"},
    )
    assert decided.status_code == 302
    again.refresh_from_db()
    assert (again.follows_rules, again.rules_departure, again.rules_note) == (True, "", "")
    history = browser.get(f"/en/staff/work-items/{again.pk}/").content.decode()
    assert f"Decision on “{again.title}”: Approve. It follows what the rules compute." in history


def bearer(user) -> dict:
    _token, secret = tokens.create_personal_token(user, name="test", scopes=["read", "write"])
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def test_the_api_records_it_when_given_and_refuses_a_departure_without_reason(
    client, item, cra, make_staff
):
    make_staff(cra, "caseworker", username="clerk@example.org")
    auth = bearer(User.objects.get(username="clerk@example.org"))
    url = f"/api/v1/work-items/{item.pk}/complete"
    body = {"decision": "approve", "follows_rules": False, "rules_note": "A note."}
    refused = client.post(url, json.dumps(body), content_type="application/json", **auth)
    assert refused.status_code == 422
    assert refused.json()["detail"] == (
        "Choose why the decision departs from what the rules compute."
    )
    assert refused.json()["code"] == "rules_departure"
    body["rules_departure"] = "discretion"
    done = client.post(url, json.dumps(body), content_type="application/json", **auth)
    assert done.status_code == 200, done.content
    assert done.json()["follows_rules"] is False
    assert done.json()["rules_departure"] == "discretion"
