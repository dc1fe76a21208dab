"""Delivery's list pages and API lists send as many SQL statements with 200 rows as with 10:
the agency's queue (page and API), the supervisor's view, My applications (page and API).
A statement per row makes a busy agency's queue slow exactly when it matters."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from joinedup.delivery.applications import submit_application
from joinedup.delivery.models import Application, StatusChange, WorkItem
from joinedup.identity import tokens
from joinedup.identity.models import User

from .conftest import birth_answers, copies_of, person_context, sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def submitted(birth_registration, applicant) -> Application:
    """One application waiting in ServiceOntario's queue; the tests copy it."""
    application, _ = submit_application(
        person_context(applicant), "ca.birth-registration", birth_answers(), "online", "first"
    )
    return application


def bearer(user: User) -> dict:
    _token, secret = tokens.create_personal_token(user, name="test", scopes=["read"])
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def test_the_queue_page_does_not_query_per_row(
    submitted, federation, staff_client, queries_at_10_and_200
):
    browser, _context = staff_client(federation["serviceontario"], "caseworker")

    def read():
        html = browser.get("/en/staff/queue/").content.decode()
        rows = WorkItem.objects.filter(agency__key="serviceontario", status="open").count()
        assert html.count('href="/en/staff/work-items/') == rows
        assert "On track" in html

    at_10, at_200 = queries_at_10_and_200(lambda n: copies_of(submitted, n), read, start=1)
    assert at_200 == at_10


def test_the_queue_api_does_not_query_per_row(
    client, submitted, federation, make_staff, queries_at_10_and_200
):
    context = make_staff(federation["serviceontario"], "caseworker")
    auth = bearer(User.objects.get(pk=context.user_id))

    def read():
        body = client.get("/api/v1/queues/serviceontario?limit=500", **auth).json()
        assert len(body["items"]) == body["count"] == Application.objects.count()

    at_10, at_200 = queries_at_10_and_200(lambda n: copies_of(submitted, n), read, start=1)
    assert at_200 == at_10
    assert_one_page_read(client, "/api/v1/queues/serviceontario?limit=5&offset=3", auth)


def test_the_supervisor_view_counts_with_aggregates(
    submitted, federation, staff_client, queries_at_10_and_200
):
    browser, _context = staff_client(federation["serviceontario"], "supervisor")

    def read():
        response = browser.get("/en/staff/supervisor/")
        rows = [row for group in response.context["groups"].values() for row in group]
        assert len(rows) == Application.objects.count()
        assert {row.open_items for row in rows} == {1}  # each copy has its one open task

    at_10, at_200 = queries_at_10_and_200(lambda n: copies_of(submitted, n), read, start=1)
    assert at_200 == at_10
    with CaptureQueriesContext(connection) as captured:
        read()
    reads_of_items = [
        q["sql"] for q in captured if "delivery_workitem" in q["sql"] and "COUNT(" not in q["sql"]
    ]
    assert reads_of_items == []  # the open tasks are counted, not read


def test_my_applications_page_does_not_query_per_row(submitted, applicant, queries_at_10_and_200):
    browser = sign_in(Client(), applicant)

    def read():
        html = browser.get("/en/applications/").content.decode()
        assert html.count('href="/en/applications/') >= Application.objects.count()

    at_10, at_200 = queries_at_10_and_200(lambda n: copies_of(submitted, n), read, start=1)
    assert at_200 == at_10


def test_my_applications_api_does_not_query_per_row(
    client, submitted, applicant, queries_at_10_and_200
):
    auth = bearer(applicant)

    def read():
        body = client.get("/api/v1/me/applications?limit=500", **auth).json()
        assert len(body["items"]) == body["count"] == Application.objects.count()

    at_10, at_200 = queries_at_10_and_200(lambda n: copies_of(submitted, n), read, start=1)
    assert at_200 == at_10
    assert_one_page_read(client, "/api/v1/me/applications?limit=5&offset=3", auth)


def assert_one_page_read(client, path: str, auth: dict) -> None:
    """A page of an API list reads that page of rows (and counts them all), never every
    row to cut the page from them; the page is the full list's rows at its offset."""
    everything = client.get(path.replace("limit=5&offset=3", "limit=500"), **auth).json()
    with CaptureQueriesContext(connection) as captured:
        page = client.get(path, **auth).json()
    assert page["count"] == everything["count"] == 200
    assert page["items"] == everything["items"][3:8]
    reads = [
        q["sql"]
        for q in captured
        if 'FROM "delivery_application"' in q["sql"] or 'FROM "delivery_workitem"' in q["sql"]
    ]
    assert reads and all("COUNT(" in sql or "LIMIT 5" in sql for sql in reads), reads


def test_an_applications_page_and_api_do_not_query_per_timeline_entry(
    client, submitted, applicant, queries_at_10_and_200
):
    """A long-running case gathers status changes; its page and API answer read them once."""
    browser = sign_in(Client(), applicant)
    auth = bearer(applicant)
    last = submitted.timeline.order_by("at").last()

    def add(count: int) -> None:
        StatusChange.objects.bulk_create(
            StatusChange(
                application=submitted,
                from_status=last.to_status,
                to_status=last.to_status,
                reason=f"Note {n}",
            )
            for n in range(count)
        )

    def read():
        entries = StatusChange.objects.filter(application=submitted).count()
        page = browser.get(f"/en/applications/{submitted.pk}/")
        assert len(page.context["timeline"]) == entries
        body = client.get(f"/api/v1/applications/{submitted.pk}", **auth).json()
        assert len(body["timeline"]) == entries

    start = StatusChange.objects.filter(application=submitted).count()
    at_10, at_200 = queries_at_10_and_200(add, read, start=start)
    assert at_200 == at_10
