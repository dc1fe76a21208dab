"""The portal's pages and the API: a requester orders and follows, staff of other agencies
are refused, a client answers its statement (and reads it as a PDF), the provider sees its
clients' requests and its dashboard; an agency's API client orders in its agency's name."""

from __future__ import annotations

import datetime
import json

from django.test import Client

from joinedup.backoffice import statements
from joinedup.backoffice.models import Request, StatementLine
from joinedup.backoffice.requests import submit_request
from joinedup.delivery.models import Application, WorkItem
from joinedup.identity import tokens

MARCH = datetime.date(2026, 3, 1)


def _march_request(context, client):
    request, _ = submit_request(
        context,
        client,
        "on.onboarding",
        {"details": "Accounts"},
        at=datetime.datetime(2026, 3, 3, 15, tzinfo=datetime.UTC),
    )
    Application.objects.filter(pk=request.pk).update(status="approved", met_standard=True)
    return request


def test_a_requester_orders_in_the_portal_and_follows_it(shared, staff_client):
    browser, _context = staff_client(shared["ministry"], "service_requester")
    home = browser.get("/en/backoffice/")
    assert home.status_code == 200
    assert "New employee onboarding" in home.content.decode()
    refused = browser.post("/en/backoffice/order/on.onboarding/", {"details": ""})
    assert refused.status_code == 400
    assert not Request.objects.exists()
    sent = browser.post(
        "/en/backoffice/order/on.onboarding/", {"details": "Accounts for Mo", "quantity": "1"}
    )
    assert sent.status_code == 302
    request = Request.objects.get()
    page = browser.get(sent.url)
    assert page.status_code == 200
    assert request.application.reference in page.content.decode()
    assert "Ontario Shared Services" in page.content.decode()
    french = browser.get(f"/fr/backoffice/requests/{request.pk}/")
    assert "Fournisseur" in french.content.decode()


def test_other_agencies_staff_are_refused(shared, staff_client, make_staff):
    request = _march_request(
        make_staff(shared["ministry"], "service_requester"), shared["ministry"]
    )
    city, _ = staff_client(shared["city"], "service_requester")
    assert city.get(f"/en/backoffice/requests/{request.pk}/").status_code == 403
    assert city.post("/en/backoffice/order/ca.hosting/", {"details": "x"}).status_code == 404
    federal, _ = staff_client(shared["federal"], "caseworker")
    assert federal.get(f"/en/backoffice/requests/{request.pk}/").status_code == 403
    page = federal.get("/en/backoffice/provider/")
    assert page.status_code == 200
    assert request.application.reference not in page.content.decode()
    provincial, _ = staff_client(shared["provincial"], "caseworker")
    page = provincial.get("/en/backoffice/provider/")
    assert request.application.reference in page.content.decode()
    assert provincial.get("/en/backoffice/provider/dashboard/").status_code == 403
    clerk, _ = staff_client(shared["ministry"], "caseworker")
    assert clerk.get("/en/backoffice/").status_code == 403


def test_the_client_answers_its_statement_and_reads_the_pdf(shared, staff_client):
    browser, context = staff_client(shared["ministry"], "service_requester")
    _march_request(context, shared["ministry"])
    _march_request(context, shared["ministry"])
    statement = statements.issue_statements(shared["provincial"], MARCH)[0]
    line = statement.lines.get()
    page = browser.get(f"/en/backoffice/statements/{statement.pk}/")
    assert page.status_code == 200
    assert "$500.00" in page.content.decode()
    pdf = browser.get(f"/en/backoffice/statements/{statement.pk}/pdf/")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    empty = browser.post(
        f"/en/backoffice/statements/{statement.pk}/lines/{line.pk}/",
        {"answer": "dispute", "reason": ""},
    )
    assert empty.status_code == 400
    sent = browser.post(
        f"/en/backoffice/statements/{statement.pk}/lines/{line.pk}/",
        {"answer": "dispute", "reason": "One was cancelled"},
    )
    assert sent.status_code == 302
    assert StatementLine.objects.get(pk=line.pk).status == "disputed"
    dispute = Request.objects.get(disputes=line)
    told = browser.get(sent["Location"]).content.decode()
    assert (
        "Your dispute of the line “New employee onboarding” is sent to Ontario Shared Services "
        f"as request {dispute.application.reference}." in told
    )
    city, _ = staff_client(shared["city"], "supervisor")
    assert city.get(f"/en/backoffice/statements/{statement.pk}/").status_code == 403


def test_the_provider_issues_statements_and_reads_its_dashboard(shared, staff_client, make_staff):
    _march_request(make_staff(shared["ministry"], "service_requester"), shared["ministry"])
    browser, _ = staff_client(shared["provincial"], "supervisor")
    issued = browser.post("/en/backoffice/provider/statements/", {"month": "2026-03"})
    assert issued.status_code == 302
    assert "1 statement issued for March 2026." in browser.get(issued["Location"]).content.decode()
    again = browser.post("/en/backoffice/provider/statements/", {"month": "2026-03"})
    assert "0 statements issued for March 2026." in browser.get(again["Location"]).content.decode()
    assert shared["ministry"].statements.count() == 1
    bad = browser.post("/en/backoffice/provider/statements/", {"month": "March"})
    assert bad.status_code == 400
    page = browser.get("/en/backoffice/provider/dashboard/?month=2026-03")
    assert page.status_code == 200
    body = page.content.decode()
    assert "Service levels met per client" in body and "ServiceOntario" in body
    assert 'type="application/json"' in body  # the chart's figure, beside its table
    assert "Cost recovery" in body and "$250.00" in body


def _bearer(secret: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def test_an_agency_api_client_orders_in_its_agencys_name(shared):
    _client, secret = tokens.create_api_client(
        shared["city"], name="HR system", role="service_requester", scopes=("read", "write")
    )
    api = Client()
    body = {"service": "on.onboarding", "answers": {"details": "New clerk"}, "idempotency_key": "a"}
    made = api.post(
        "/api/v1/backoffice/requests", json.dumps(body), "application/json", **_bearer(secret)
    )
    assert made.status_code == 201, made.content
    assert made.json()["client"] == "toronto" and made.json()["provider"] == "on-shared"
    again = api.post(
        "/api/v1/backoffice/requests", json.dumps(body), "application/json", **_bearer(secret)
    )
    assert again.status_code == 200 and again.json()["id"] == made.json()["id"]
    bad = api.post(
        "/api/v1/backoffice/requests",
        json.dumps({"service": "ca.hosting", "answers": {"details": "x"}}),
        "application/json",
        **_bearer(secret),
    )
    assert bad.status_code == 422 and bad.json()["code"] == "no_agreement"
    listed = api.get("/api/v1/backoffice/requests", **_bearer(secret))
    assert listed.status_code == 200 and listed.json()["count"] == 1
    _reader, read_only = tokens.create_api_client(
        shared["city"], name="Reports", role="service_requester", scopes=("read",)
    )
    refused = api.post(
        "/api/v1/backoffice/requests", json.dumps(body), "application/json", **_bearer(read_only)
    )
    assert refused.status_code == 403
    _analyst, analyst = tokens.create_api_client(
        shared["city"], name="BI", role="analyst", scopes=("read", "write")
    )
    assert (
        api.post(
            "/api/v1/backoffice/requests",
            json.dumps(body),
            "application/json",
            **_bearer(analyst),
        ).status_code
        == 403
    )


def test_lists_send_the_same_queries_at_10_and_200(
    shared, make_staff, staff_client, queries_at_10_and_200
):
    from tests.delivery.conftest import copies_of

    requester = make_staff(shared["ministry"], "service_requester")
    first = _march_request(requester, shared["ministry"])
    browser, _ = staff_client(shared["ministry"], "supervisor")
    provider, _ = staff_client(shared["provincial"], "caseworker")
    manager, _ = staff_client(shared["provincial"], "supervisor", "manager@example.org")

    def add(count: int) -> None:
        for application in copies_of(first.application, count):
            Request.objects.create(
                application=application,
                client=first.client,
                provider=first.provider,
                level=first.level,
                unit_price=first.unit_price,
                submitted_at=application.submitted_at,
            )
        # Every task done: the dashboard prices their staff time.
        WorkItem.objects.filter(agency=shared["provincial"]).update(
            status=WorkItem.Status.COMPLETED,
            claimed_at=datetime.datetime(2026, 3, 4, 14, tzinfo=datetime.UTC),
            completed_at=datetime.datetime(2026, 3, 4, 16, tzinfo=datetime.UTC),
        )

    _api_client, secret = tokens.create_api_client(
        shared["ministry"], name="HR", role="service_requester", scopes=("read",)
    )
    api = Client()

    def read() -> None:
        assert browser.get("/en/backoffice/").status_code == 200
        assert provider.get("/en/backoffice/provider/").status_code == 200
        # The dashboard, its cost recovery included, at the same cost whatever the volume.
        assert manager.get("/en/backoffice/provider/dashboard/?month=2026-03").status_code == 200
        listed = api.get("/api/v1/backoffice/requests?limit=50", **_bearer(secret))
        assert listed.status_code == 200 and len(listed.json()["items"]) <= 50

    at_10, at_200 = queries_at_10_and_200(add, read, start=1)
    assert at_10 == at_200
