"""Caseworkers record the minutes they spent on a request's task; cost recovery prices the
recorded minutes instead of the estimate from the task's times."""

from __future__ import annotations

import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from joinedup.backoffice import dashboard, statements
from joinedup.backoffice.models import TimeEntry
from joinedup.backoffice.requests import submit_request
from joinedup.delivery.models import WorkItem
from joinedup.performance.models import StaffCostRate

TORONTO = ZoneInfo("America/Toronto")
MARCH = datetime.date(2026, 3, 1)


def _order(shared, make_staff, day=2):
    requester = make_staff(
        shared["ministry"], "service_requester", f"requester-{day}@ministry.example.org"
    )
    request, _ = submit_request(
        requester,
        shared["ministry"],
        "on.onboarding",
        {"details": "A new analyst"},
        at=datetime.datetime(2026, 3, day, 11, tzinfo=TORONTO),
    )
    return request


def test_a_caseworker_records_minutes_on_the_task_with_clear_messages(
    shared, make_staff, staff_client
):
    request = _order(shared, make_staff)
    task = WorkItem.objects.get(application=request.application, agency=shared["provincial"])
    browser, _ = staff_client(shared["provincial"], "caseworker")
    page_url = f"/en/backoffice/requests/{request.pk}/"
    url = f"/en/backoffice/requests/{request.pk}/time/"
    page = browser.get(page_url).content.decode()
    assert "Time spent on the tasks" in page and "Record the time you spent" in page
    assert f"/staff/work-items/{task.pk}/" in page

    for minutes, message in (
        ("", "Give the time spent as a whole number of minutes."),
        ("forty", "Give the time spent as a whole number of minutes."),
        ("0", "Give between 1 and 480 minutes (a working day) at a time."),
        ("481", "Give between 1 and 480 minutes (a working day) at a time."),
    ):
        refused = browser.post(url, {"task": task.pk, "minutes": minutes})
        assert refused.status_code == 400
        assert message in refused.content.decode()
    other = WorkItem.objects.exclude(agency=shared["provincial"]).first()
    wrong = browser.post(url, {"task": other.pk if other else 999999, "minutes": "5"})
    assert wrong.status_code == 400
    assert "Choose one of the provider&#x27;s tasks on this request." in wrong.content.decode()
    french = browser.post(url.replace("/en/", "/fr/"), {"task": task.pk, "minutes": "x"})
    assert french.status_code == 400
    assert "nombre entier de minutes" in french.content.decode()
    assert not TimeEntry.objects.exists()

    assert browser.post(url, {"task": task.pk, "minutes": "45"}).status_code == 302
    assert browser.post(url, {"task": task.pk, "minutes": "30"}).status_code == 302
    assert sum(TimeEntry.objects.values_list("minutes", flat=True)) == 75
    page = browser.get(page_url).content.decode()
    assert "1 h 15 min" in page

    # The client's staff see the request but record no time; another provider's staff
    # neither.
    client, _ = staff_client(shared["ministry"], "supervisor")
    assert "Record the time you spent" not in client.get(page_url).content.decode()
    assert client.post(url, {"task": task.pk, "minutes": "5"}).status_code == 403
    federal, _ = staff_client(shared["federal"], "caseworker")
    assert federal.post(url, {"task": task.pk, "minutes": "5"}).status_code == 403
    analyst, _ = staff_client(shared["provincial"], "analyst")
    assert analyst.post(url, {"task": task.pk, "minutes": "5"}).status_code == 403
    assert TimeEntry.objects.count() == 2


def test_cost_recovery_prices_recorded_minutes_instead_of_the_estimate(
    shared, make_staff, staff_client
):
    StaffCostRate.objects.create(
        agency="on-shared", hourly=6000, valid_from=datetime.date(2020, 1, 1)
    )
    recorded, estimated = _order(shared, make_staff, 2), _order(shared, make_staff, 3)
    for request in (recorded, estimated):
        # Held a whole working day each: the estimate is 8 h.
        WorkItem.objects.filter(application=request.application).update(
            status=WorkItem.Status.COMPLETED,
            claimed_at=datetime.datetime(2026, 3, 4, 8, 30, tzinfo=TORONTO),
            completed_at=datetime.datetime(2026, 3, 4, 16, 30, tzinfo=TORONTO),
        )
    task = WorkItem.objects.get(application=recorded.application)
    browser, _ = staff_client(shared["provincial"], "caseworker")
    url = f"/en/backoffice/requests/{recorded.pk}/time/"
    assert browser.post(url, {"task": task.pk, "minutes": "50"}).status_code == 302
    assert browser.post(url, {"task": task.pk, "minutes": "40"}).status_code == 302

    start, end = statements.month_bounds(shared["provincial"], MARCH)
    (row,) = dashboard.recovery_by_service(shared["provincial"], start, end)
    # 1 h 30 min recorded on the first; the second keeps its estimate of 8 h.
    assert row.staff_seconds == int((1.5 + 8) * 3600)
    assert row.staff_cost == Decimal("90.00") + Decimal("480.00")


def test_the_work_item_page_shows_the_time_panel_and_records_on_its_task(
    shared, make_staff, staff_client
):
    request = _order(shared, make_staff)
    task = WorkItem.objects.get(application=request.application, agency=shared["provincial"])
    browser, _ = staff_client(shared["provincial"], "caseworker")
    url = f"/en/staff/work-items/{task.pk}/"
    page = browser.get(url).content.decode()
    assert "Time recorded on the request" in page and "(this task)" in page
    assert "None yet" in page and f"/backoffice/requests/{request.pk}/" in page
    form = {"action": "panel", "panel": "backoffice.time"}
    for minutes, message in (
        ("forty", "Give the time spent as a whole number of minutes."),
        ("481", "Give between 1 and 480 minutes (a working day) at a time."),
    ):
        refused = browser.post(url, {**form, "minutes": minutes})
        assert refused.status_code == 400
        body = refused.content.decode()
        assert message in body and 'data-testid="panel-time-error"' in body
        assert f'value="{minutes}"' in body  # what was entered, to correct
    french = browser.post(url.replace("/en/", "/fr/"), {**form, "minutes": "x"})
    assert french.status_code == 400 and "nombre entier de minutes" in french.content.decode()
    assert not TimeEntry.objects.exists()
    done = browser.post(url, {**form, "minutes": "40"})
    assert done.status_code == 302 and done["Location"].endswith(url)
    entry = TimeEntry.objects.get()
    assert (entry.task_id, entry.minutes, entry.request_id) == (task.pk, 40, request.pk)
    page = browser.get(url).content.decode()
    assert "Your time on the task is recorded." in page and "0 h 40 min" in page
    task.refresh_from_db()
    assert task.status == "open"  # recording time decides nothing

    # The client's staff do not work the provider's tasks; a provider's analyst reads the
    # request but has no work item page.
    client_staff, _ = staff_client(shared["ministry"], "caseworker", "cw@ministry.example.org")
    assert client_staff.get(url).status_code == 403
    assert client_staff.post(url, {**form, "minutes": "5"}).status_code == 403
    assert TimeEntry.objects.count() == 1
