"""/metrics: what an operator watches at scale (queue depth, outbox lag, ledger checkpoint
age), answered only to the monitor holding the metrics token."""

import datetime

import pytest
from django.db import transaction
from django.utils import timezone
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from joinedup.sharing import ledger, outbox
from joinedup.sharing.models import AccessEvent, OutboxEvent

pytestmark = pytest.mark.django_db

TOKEN = "a-long-random-metrics-token"


@pytest.fixture
def token(settings):
    settings.METRICS_TOKEN = TOKEN
    settings.TASK_BACKEND = "database"
    return {"HTTP_AUTHORIZATION": f"Bearer {TOKEN}"}


def _figures(client, token) -> dict:
    response = client.get("/metrics", **token)
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    return response.json()


def test_without_a_token_configured_there_is_no_endpoint(client, settings):
    settings.METRICS_TOKEN = ""
    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer ")
    assert response.status_code == 404
    assert response.json()["detail"]


@pytest.mark.parametrize("header", [None, "Bearer wrong", f"Basic {TOKEN}", TOKEN])
def test_a_missing_or_wrong_token_is_refused(client, token, header):
    extra = {"HTTP_AUTHORIZATION": header} if header else {}
    response = client.get("/metrics", **extra)
    assert response.status_code == 401
    assert "metrics token" in response.json()["detail"]
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_nothing_waiting_reads_zero(client, token):
    figures = _figures(client, token)
    assert figures["task_backend"] == "database"
    assert figures["queue_depth"] == {"default": 0}
    assert figures["outbox_due"] == 0 and figures["outbox_lag_seconds"] == 0
    assert figures["ledger_unsigned_chains"] == 0
    assert figures["ledger_checkpoint_age_seconds"] == 0


def test_tasks_waiting_are_counted_per_queue(client, token):
    for queue, status in [
        ("default", TaskResultStatus.READY),
        ("default", TaskResultStatus.READY),
        ("default", TaskResultStatus.SUCCESSFUL),
        ("bundles", TaskResultStatus.READY),
    ]:
        DBTaskResult.objects.create(
            status=status,
            queue_name=queue,
            task_path="joinedup.sharing.schedule.apply_retention",
            args_kwargs={"args": [], "kwargs": {}},
            backend_name="default",
            priority=0,
        )
    assert _figures(client, token)["queue_depth"] == {"default": 2, "bundles": 1}


def test_outbox_lag_is_the_wait_of_the_oldest_due_event(client, token):
    now = timezone.now()
    with transaction.atomic():
        late = outbox.emit("org.joinedup.test.late", data={})
        recent = outbox.emit("org.joinedup.test.recent", data={})
        later = outbox.emit("org.joinedup.test.later", data={})
        dead = outbox.emit("org.joinedup.test.dead", data={})
    OutboxEvent.objects.filter(pk=late.pk).update(next_attempt_at=now - datetime.timedelta(90))
    OutboxEvent.objects.filter(pk=recent.pk).update(
        next_attempt_at=now - datetime.timedelta(seconds=5)
    )
    OutboxEvent.objects.filter(pk=later.pk).update(next_attempt_at=now + datetime.timedelta(1))
    OutboxEvent.objects.filter(pk=dead.pk).update(
        status=OutboxEvent.Status.DEAD, next_attempt_at=now - datetime.timedelta(900)
    )
    figures = _figures(client, token)
    assert figures["outbox_due"] == 2, "due and pending only: not the later one, not the dead"
    assert figures["outbox_dead"] == 1
    assert 90 * 86400 <= figures["outbox_lag_seconds"] < 90 * 86400 + 60


def test_ledger_checkpoint_age_is_the_wait_of_the_oldest_unsigned_row(
    client, token, settings, tmp_path
):
    settings.LEDGER_WITNESSES = [f"file:{tmp_path / 'witness'}"]
    row = {
        "subject_id": 7,
        "actor_user_id": 1,
        "actor_agency": "esdc",
        "actor_role": "caseworker",
        "action": "read",
        "categories": ["identity"],
        "fields": ["given_names"],
        "purpose": "eligibility",
        "legal_basis": "statute",
        "outcome": "disclosed",
    }
    ledger.append(**row)
    ledger.checkpoint()
    assert _figures(client, token)["ledger_checkpoint_age_seconds"] == 0, "all signed"

    waiting = ledger.append(**row)
    ledger.append(**row)
    # The first row after the checkpoint has waited two minutes (the signing stopped).
    AccessEvent.objects.filter(pk=waiting.pk).update(
        occurred_at=timezone.now() - datetime.timedelta(minutes=2)
    )
    figures = _figures(client, token)
    assert figures["ledger_unsigned_chains"] >= 1
    assert 120 <= figures["ledger_checkpoint_age_seconds"] < 180
    assert figures["ledger_checkpoint_limit_seconds"] == (
        settings.LEDGER_CHECKPOINT_SECONDS + settings.LEDGER_CHECKPOINT_SLACK_SECONDS
    )

    ledger.checkpoint()
    figures = _figures(client, token)
    assert figures["ledger_unsigned_chains"] == 0
    assert figures["ledger_checkpoint_age_seconds"] == 0


def test_the_figures_take_the_same_queries_however_much_waits(
    client, token, django_assert_max_num_queries
):
    with transaction.atomic():
        for n in range(50):
            outbox.emit("org.joinedup.test.many", data={"n": n})
    with django_assert_max_num_queries(8 + 2 * 8):
        _figures(client, token)


def test_the_refusal_is_in_the_reader_s_language(client, token):
    response = client.get("/metrics", HTTP_ACCEPT_LANGUAGE="fr")
    assert response.status_code == 401
    assert "jeton des métriques" in response.json()["detail"]
