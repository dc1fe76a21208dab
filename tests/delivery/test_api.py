"""The delivery API over HTTP: submission with Idempotency-Key, reading, queues, completing
work items, document verification and the payment provider's signed webhooks."""

from __future__ import annotations

import json

import pytest

from joinedup.delivery.models import Application, Payment
from joinedup.delivery.payments.contrib.sandbox import SIGNATURE_HEADER, SandboxProvider, sign
from joinedup.identity import tokens

from .conftest import birth_answers

pytestmark = pytest.mark.django_db


def bearer(user, scopes=("read", "write")) -> dict:
    _token, secret = tokens.create_personal_token(user, name="test", scopes=list(scopes))
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def post(client, path, body, **headers):
    return client.post(path, json.dumps(body), content_type="application/json", **headers)


def test_submit_twice_with_one_key_makes_one_application(client, birth_registration, applicant):
    auth = bearer(applicant)
    body = {"service": "ca.birth-registration", "answers": birth_answers()}
    first = post(client, "/api/v1/applications", body, HTTP_IDEMPOTENCY_KEY="k-1", **auth)
    again = post(client, "/api/v1/applications", body, HTTP_IDEMPOTENCY_KEY="k-1", **auth)
    assert first.status_code == 201, first.content
    assert again.status_code == 200
    assert first.json()["id"] == again.json()["id"]
    assert first.json()["clock"]["due_date"]
    assert Application.objects.count() == 1
    other = dict(body, answers=birth_answers(child_given_names="Zoe"))
    conflict = post(client, "/api/v1/applications", other, HTTP_IDEMPOTENCY_KEY="k-1", **auth)
    assert conflict.status_code == 409
    mine = client.get("/api/v1/me/applications", **auth)
    assert [a["id"] for a in mine.json()["items"]] == [first.json()["id"]]
    detail = client.get(f"/api/v1/applications/{first.json()['id']}", **auth)
    assert detail.json()["timeline"][0]["status"] == "submitted"


def test_bad_answers_get_a_422_with_each_problem(client, birth_registration, applicant):
    body = {"service": "ca.birth-registration", "answers": {"sex": "?"}}
    response = post(client, "/api/v1/applications", body, **bearer(applicant))
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert {"sex", "child_given_names", "parents"} <= fields
    assert (
        post(
            client, "/api/v1/applications", {"service": "nope", "answers": {}}, **bearer(applicant)
        ).status_code
        == 404
    )
    assert (
        post(client, "/api/v1/applications", {"answers": {}}, **bearer(applicant)).status_code
        == 422
    )


def test_someone_else_cannot_read_an_application(
    client, birth_registration, applicant, make_applicant
):
    auth = bearer(applicant)
    created = post(
        client,
        "/api/v1/applications",
        {"service": "ca.birth-registration", "answers": birth_answers()},
        **auth,
    )
    stranger = make_applicant(email="someone@example.org")
    response = client.get(f"/api/v1/applications/{created.json()['id']}", **bearer(stranger))
    assert response.status_code == 403
    assert client.get(f"/api/v1/applications/{created.json()['id']}").status_code == 401


def test_staff_queue_and_completion_over_the_api(
    client, birth_registration, applicant, federation, make_staff
):
    from joinedup.identity.models import User

    created = post(
        client,
        "/api/v1/applications",
        {"service": "ca.birth-registration", "answers": birth_answers()},
        **bearer(applicant),
    )
    make_staff(federation["serviceontario"], "caseworker", username="clerk@example.org")
    clerk = User.objects.get(username="clerk@example.org")
    auth = bearer(clerk)
    items = client.get("/api/v1/queues/serviceontario", **auth).json()["items"]
    assert [i["application"] for i in items] == [created.json()["id"]]
    assert client.get("/api/v1/queues/dgeq", **auth).status_code == 403
    bad = post(
        client, f"/api/v1/work-items/{items[0]['id']}/complete", {"decision": "refuse"}, **auth
    )
    assert bad.status_code == 422  # a refusal needs reasons
    done = post(
        client, f"/api/v1/work-items/{items[0]['id']}/complete", {"decision": "approve"}, **auth
    )
    assert done.status_code == 200, done.content
    again = post(
        client, f"/api/v1/work-items/{items[0]['id']}/complete", {"decision": "approve"}, **auth
    )
    assert again.status_code == 409
    status = client.get(f"/api/v1/applications/{created.json()['id']}", **bearer(applicant)).json()
    assert status["status"] == "approved"
    document = status["documents"][0]
    check = client.get(f"/api/v1/documents/{document['id']}/verify")
    assert check.json()["status"] == "valid"
    assert client.get("/api/v1/documents/not-a-document/verify").status_code == 404


def test_payment_webhooks_are_verified_and_applied_once(client, federation, make_applicant):
    from joinedup.delivery import versions
    from joinedup.delivery.applications import submit_application
    from joinedup.federation.models import Offering
    from joinedup.identity import acting

    from .conftest import DEMO

    Offering.objects.filter(service__key="ca.birth-registration").update(fee_amount=25)
    data = json.loads((DEMO / "birth-certificate.json").read_text())
    version = versions.deploy(
        "ca.birth-registration",
        (DEMO / data["process"]).read_text(),
        data["form"],
        place_field="birth_province",
        documents=data["documents"],
    ).version
    user = make_applicant()
    answers = {
        "given_names": "A",
        "family_name": "B",
        "birth_date": "1990-01-01",
        "birth_province": "CA-ON",
        "birth_place": "Toronto",
        "reason": "school",
    }
    application, _ = submit_application(
        acting.for_user(user), "ca.birth-registration", answers, version=version
    )
    payment = Payment.objects.get(application=application)
    assert application.status == "waiting_for_applicant"
    provider = SandboxProvider()
    intent = provider.pay(payment.intent_id, "4000 0000 0000 0002")
    body, headers = provider.webhook(intent, "payment.failed", {"error": "card_declined"})
    url = "/api/v1/payments/sandbox/webhook"
    forged = client.post(
        url,
        body,
        content_type="application/json",
        HTTP_SANDBOX_SIGNATURE=sign(body, secret="not-the-secret-at-all"),
    )
    assert forged.status_code == 400
    stale = client.post(
        url,
        body,
        content_type="application/json",
        HTTP_SANDBOX_SIGNATURE=sign(body, timestamp=1_000_000),
    )
    assert stale.status_code == 400
    failed = client.post(
        url, body, content_type="application/json", HTTP_SANDBOX_SIGNATURE=headers[SIGNATURE_HEADER]
    )
    assert failed.json() == {"outcome": "applied"}
    payment.refresh_from_db()
    assert payment.status == "failed"
    intent = provider.pay(payment.intent_id, "4242 4242 4242 4242")
    body, headers = provider.webhook(intent, "payment.succeeded")
    ok = client.post(
        url, body, content_type="application/json", HTTP_SANDBOX_SIGNATURE=headers[SIGNATURE_HEADER]
    )
    replay = client.post(
        url, body, content_type="application/json", HTTP_SANDBOX_SIGNATURE=headers[SIGNATURE_HEADER]
    )
    assert (ok.json(), replay.json()) == ({"outcome": "applied"}, {"outcome": "duplicate"})
    payment.refresh_from_db()
    application.refresh_from_db()
    assert payment.status == "succeeded"
    assert application.status == "in_progress"
    assert application.work_items.filter(kind="payment", status="completed").count() == 1
