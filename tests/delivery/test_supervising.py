"""A supervisor reaches the work itself: from the due and breached list to the work item (its
answers, tasks, assignee and history), reassigns it or escalates it, and finds the way back.
The work item shows the applicant's facts as people read them."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.utils import translation

from joinedup.delivery.applications import submit_application
from joinedup.delivery.models import Application, ApplicationStatus, WorkItem
from joinedup.identity.models import StaffMembership

from .conftest import birth_answers, person_context

pytestmark = pytest.mark.django_db
SUPERVISOR = "/en/staff/supervisor/"


@pytest.fixture
def waiting(birth_registration, applicant) -> Application:
    application, _ = submit_application(
        person_context(applicant), "ca.birth-registration", birth_answers(), "online", "one"
    )
    return application


def _open_item(application: Application) -> WorkItem:
    return WorkItem.objects.get(application=application, status__in=["open", "claimed"])


def test_the_supervisor_opens_the_work_item_from_the_due_list(waiting, federation, staff_client):
    browser, _context = staff_client(federation["serviceontario"], "supervisor")
    html = browser.get(SUPERVISOR).content.decode()
    item = _open_item(waiting)
    links = re.findall(r'href="([^"]+)">' + re.escape(waiting.reference), html)
    assert links == [f"/en/staff/work-items/{item.pk}/"]
    page = browser.get(links[0])
    assert page.status_code == 200
    text = page.content.decode()
    assert "Supervise this task" in text and "Escalate to a supervisor" in text
    assert 'href="/en/staff/queue/"' in text and f'href="{SUPERVISOR}"' in text  # a way back


def test_the_supervisor_reassigns_a_task_to_someone_who_works_it(
    waiting, federation, staff_client, make_staff
):
    agency = federation["serviceontario"]
    browser, _context = staff_client(agency, "supervisor")
    colleague = make_staff(agency, "caseworker", "sam@example.org")
    analyst = make_staff(agency, "analyst", "ana@example.org")
    item = _open_item(waiting)
    url = f"/en/staff/work-items/{item.pk}/"
    page = browser.get(url).content.decode()
    member = StaffMembership.objects.get(user_id=colleague.user_id)
    assert f'value="{member.pk}"' in page
    assert "ana@example.org" not in page  # an analyst does not work queues

    done = browser.post(url, {"action": "reassign", "membership": member.pk})
    assert done.status_code == 302
    item.refresh_from_db()
    assert (item.status, item.assignee_id) == ("claimed", colleague.user_id)
    assert "sam@example.org" in browser.get(url).content.decode()

    refused = browser.post(
        url,
        {
            "action": "reassign",
            "membership": StaffMembership.objects.get(user_id=analyst.user_id).pk,
        },
    )
    assert refused.status_code == 400
    assert "Choose someone of the agency who works this task." in refused.content.decode()
    assert browser.post(url, {"action": "reassign", "membership": "x"}).status_code == 400
    item.refresh_from_db()
    assert item.assignee_id == colleague.user_id


def test_escalating_moves_the_task_to_the_supervisors(waiting, federation, staff_client):
    agency = federation["serviceontario"]
    supervisor, _ = staff_client(agency, "supervisor")
    caseworker, _ = staff_client(agency, "caseworker")
    item = _open_item(waiting)
    url = f"/en/staff/work-items/{item.pk}/"
    assert caseworker.get(url).status_code == 200
    assert caseworker.post(url, {"action": "escalate"}).status_code == 403
    assert supervisor.post(url, {"action": "escalate"}).status_code == 302
    item.refresh_from_db()
    assert (item.role, item.status, item.assignee_id) == ("supervisor", "open", None)
    assert caseworker.get(url).status_code == 403  # no longer the caseworkers' task
    assert item.title in supervisor.get("/en/staff/queue/").content.decode()


def test_the_work_item_shows_the_applicants_facts_in_words(waiting, federation, staff_client):
    browser, _context = staff_client(federation["serviceontario"], "caseworker")
    html = browser.get(f"/en/staff/work-items/{_open_item(waiting).pk}/").content.decode()
    start = html.index('data-testid="applicant"')
    applicant = html[start : html.index("</dl>", start)]
    assert "<dt>Family name</dt>" in applicant
    assert "family name" not in applicant
    assert "<dd>en</dd>" not in applicant and "{" not in applicant
    assert "<dt>Preferred language</dt><dd>English</dd>" in applicant


def _status_and_history(html: str) -> tuple[str, list[str]]:
    shown = re.search(r'data-testid="application-status">([^<]*)<', html).group(1)
    block = html[html.index('data-testid="history"') :]
    rows = re.findall(r"<li>(.*?)</li>", block[: block.index("</ol>")], re.S)
    return unescape(shown), [unescape(row).split(" — ", 1)[1] for row in rows]


def _latest_status_in(history: list[str], labels: set[str]) -> str:
    said = [row.split(":")[0] for row in history if row.split(":")[0] in labels]
    assert said, history
    return said[-1]


@pytest.mark.parametrize("language", ["en", "fr"])
def test_the_status_agrees_with_the_history_and_the_page_leads_back_to_the_queue(
    waiting, federation, staff_client, language
):
    browser, _context = staff_client(federation["serviceontario"], "caseworker")
    item = _open_item(waiting)
    url = f"/{language}/staff/work-items/{item.pk}/"
    with translation.override(language):
        labels = {str(label) for _value, label in ApplicationStatus.choices}
    seen = []
    for step in ("arrived", "claimed", "decided"):
        if step == "claimed":
            assert browser.post(url, {"action": "claim"}).status_code == 302
        if step == "decided":
            decided = browser.post(
                url, {"action": "complete", "decision": "approve", "reasons": "All in order."}
            )
            assert decided["Location"] == f"/{language}/staff/queue/"
        html = browser.get(url).content.decode()
        status, history = _status_and_history(html)
        # The status shown is the one the history's latest status change names.
        assert status == _latest_status_in(history, labels), (step, status, history)
        # And the page leads back to the queue it came from (breadcrumb and link).
        assert html.count(f'href="/{language}/staff/queue/"') >= 2
        seen.append(status)
    waiting.refresh_from_db()
    with translation.override(language):
        assert seen[-1] == str(ApplicationStatus(waiting.status).label)
    assert seen[0] != seen[-1]  # the decision moved it on, and the page says so
