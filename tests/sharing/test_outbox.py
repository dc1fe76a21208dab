"""The outbox: events written with the change, delivered at least once to subscribers and
webhooks, retried with backoff, given up after the last attempt, retried from the admin."""

import datetime
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from joinedup.sharing import dispatch, outbox, subscribers, webhooks
from joinedup.sharing.models import Delivery, OutboxEvent, PeriodicRun

pytestmark = pytest.mark.django_db

TYPE = "org.joinedup.test.thing.happened"


@pytest.fixture
def received():
    """A subscriber that records what it receives; it fails while `fail` holds a count."""
    calls: list[str] = []
    state = {"fail": 0}

    @subscribers.subscriber(TYPE, name="test.recorder")
    def record(event: subscribers.Event) -> None:
        calls.append(event.id)
        if state["fail"]:
            state["fail"] -= 1
            raise RuntimeError("not now")

    yield calls, state
    subscribers.unregister("test.recorder")


def emit(n: int = 1, **data) -> list[OutboxEvent]:
    with transaction.atomic():
        return [outbox.emit(TYPE, subject=f"thing/{i}", data={"n": i, **data}) for i in range(n)]


def make_due(*events: OutboxEvent) -> None:
    OutboxEvent.objects.filter(pk__in=[e.pk for e in events]).update(next_attempt_at=timezone.now())


@pytest.mark.django_db(transaction=True)
def test_emit_needs_the_callers_transaction():
    with pytest.raises(outbox.OutsideTransaction):
        outbox.emit(TYPE)


def test_an_event_rolled_back_with_its_change_is_never_sent():
    with pytest.raises(RuntimeError), transaction.atomic():
        outbox.emit(TYPE)
        raise RuntimeError("the change failed")
    assert not OutboxEvent.objects.exists()
    assert dispatch_tasks() == 0


def test_the_envelope_is_cloudevents_1_0():
    (event,) = emit()
    envelope = event.envelope()
    assert envelope["specversion"] == "1.0"
    assert set(envelope) == {
        "specversion",
        "id",
        "source",
        "type",
        "subject",
        "time",
        "datacontenttype",
        "data",
    }
    assert envelope["time"].endswith("Z")
    assert envelope["datacontenttype"] == "application/json"


def dispatch_tasks() -> int:
    return DBTaskResult.objects.filter(task_path=dispatch.dispatch_outbox.module_path).count()


def test_one_dispatch_is_enqueued_per_transaction(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        emit(3)
    assert len(callbacks) == 1
    # With the database task backend the task row is written with the events themselves.
    assert dispatch.queue_shares_database()
    assert dispatch_tasks() == 1


@pytest.mark.django_db(transaction=True)
def test_one_waiting_dispatch_task_serves_every_commit_until_a_worker_takes_it():
    emit(2)
    emit(1)
    with transaction.atomic(), outbox.batch():
        outbox.emit(TYPE)
    assert dispatch_tasks() == 1
    # A worker takes it (as `db_worker` claims a task): the next commit needs a task of its own.
    DBTaskResult.objects.filter(task_path=dispatch.dispatch_outbox.module_path).update(
        status="RUNNING"
    )
    emit()
    assert dispatch.waiting_dispatch().count() == 1
    assert dispatch_tasks() == 2


def test_a_dispatch_task_deferred_to_later_does_not_count_as_waiting():
    later = timezone.now() + datetime.timedelta(minutes=5)
    dispatch.dispatch_outbox.using(run_after=later).enqueue()
    emit()
    assert dispatch.waiting_dispatch().count() == 1
    assert dispatch_tasks() == 2


def test_a_batch_writes_its_events_with_their_values():
    with transaction.atomic(), outbox.batch():
        first = outbox.emit(TYPE, source="/here", subject="thing/1", data={"n": 1, "x": "é%s"})
        second = outbox.emit(TYPE, subject="thing/2")
    stored = {e.pk: e for e in OutboxEvent.objects.all()}
    assert set(stored) == {first.pk, second.pk}
    got = stored[first.pk]
    assert (got.source, got.subject, got.data, got.time) == (
        "/here",
        "thing/1",
        {"n": 1, "x": "é%s"},
        first.time,
    )
    assert (got.status, got.attempts, got.locked_by, got.targets_resolved) == (
        "pending",
        0,
        "",
        False,
    )
    assert stored[second.pk].data == {}


def test_subscribers_receive_each_event_once(received):
    calls, _state = received
    events = emit(3)
    report = dispatch.dispatch_pending()
    assert report.delivered == 3
    assert calls == [str(e.pk) for e in events]
    assert dispatch.dispatch_pending().events == 0
    assert set(OutboxEvent.objects.values_list("status", flat=True)) == {"delivered"}
    assert len(calls) == 3


def test_a_failing_subscriber_is_retried_with_backoff(received, settings):
    calls, state = received
    state["fail"] = 2
    (event,) = emit()
    before = timezone.now()
    dispatch.dispatch_pending()
    event.refresh_from_db()
    assert event.status == "pending" and event.attempts == 1
    wait = event.next_attempt_at - before
    assert datetime.timedelta(seconds=settings.OUTBOX_RETRY_BASE_SECONDS / 2) <= wait
    assert dispatch.dispatch_pending().events == 0  # not due yet
    make_due(event)
    dispatch.dispatch_pending()
    event.refresh_from_db()
    second_wait = event.next_attempt_at - timezone.now()
    assert event.attempts == 2 and second_wait > datetime.timedelta(seconds=1.5)
    make_due(event)
    dispatch.dispatch_pending()
    event.refresh_from_db()
    assert event.status == "delivered"
    assert calls == [str(event.pk)] * 3


def test_backoff_doubles_with_jitter_and_is_capped(settings):
    settings.OUTBOX_RETRY_BASE_SECONDS = 2
    settings.OUTBOX_RETRY_MAX_SECONDS = 60
    for attempt, ceiling in [(1, 2), (2, 4), (3, 8), (10, 60)]:
        for _ in range(20):
            seconds = dispatch.backoff(attempt).total_seconds()
            assert ceiling / 2 <= seconds <= ceiling


def test_a_delivered_subscriber_is_not_run_again_when_another_fails(received):
    calls, _state = received
    other: list[str] = []

    @subscribers.subscriber(TYPE, name="test.flaky")
    def flaky(event):
        other.append(event.id)
        raise RuntimeError("down")

    try:
        (event,) = emit()
        dispatch.dispatch_pending()
        make_due(event)
        dispatch.dispatch_pending()
    finally:
        subscribers.unregister("test.flaky")
    assert calls == [str(event.pk)]
    assert other == [str(event.pk)] * 2


def test_dead_letter_after_the_last_attempt(received, settings):
    _calls, state = received
    settings.OUTBOX_MAX_ATTEMPTS = 3
    state["fail"] = 100
    (event,) = emit()
    for _ in range(3):
        make_due(event)
        dispatch.dispatch_pending()
    event.refresh_from_db()
    assert event.status == "dead"
    delivery = Delivery.objects.get(event=event)
    assert delivery.status == "dead" and delivery.attempts == 3
    assert "not now" in delivery.last_error
    # Retried from the admin: delivered once the subscriber works again.
    state["fail"] = 0
    assert dispatch.retry([delivery]) == 1
    dispatch.dispatch_pending()
    event.refresh_from_db()
    assert event.status == "delivered"


def test_a_crashed_dispatchers_lease_runs_out(received, settings):
    calls, _state = received
    (event,) = emit()
    assert dispatch.claim("dead-worker") == [event.pk]
    assert dispatch.dispatch_pending().events == 0  # still leased
    OutboxEvent.objects.filter(pk=event.pk).update(
        locked_until=timezone.now() - datetime.timedelta(seconds=1)
    )
    assert dispatch.dispatch_pending().delivered == 1
    assert calls == [str(event.pk)]


def test_a_failing_handler_does_not_undo_the_others_in_its_group():
    """Handlers of one subscriber share a transaction; each has its own savepoint."""
    seen: list[int] = []

    @subscribers.subscriber(TYPE, name="test.writer")
    def write(event):
        seen.append(event.data["n"])
        PeriodicRun.objects.create(name=f"handled-{event.data['n']}", last_run_at=timezone.now())
        if event.data["n"] == 2:
            raise RuntimeError("not this one")

    try:
        events = emit(5)
        report = dispatch.dispatch_pending()
    finally:
        subscribers.unregister("test.writer")
    assert seen == [0, 1, 2, 3, 4]
    assert (report.delivered, report.retrying) == (4, 1)
    handled = set(PeriodicRun.objects.values_list("name", flat=True))
    assert handled == {"handled-0", "handled-1", "handled-3", "handled-4"}  # 2 was undone
    failed = Delivery.objects.get(event=events[2])
    assert (failed.status, failed.attempts) == ("failed", 1)
    assert "not this one" in failed.last_error
    assert set(Delivery.objects.exclude(event=events[2]).values_list("status", "attempts")) == {
        ("delivered", 1)
    }


def test_a_delivery_finished_by_another_dispatcher_is_not_run_again(received):
    calls, _state = received
    (event,) = emit()
    assert dispatch.claim("slow-worker") == [event.pk]
    # The slow worker's lease ran out; another dispatcher delivered the event meanwhile.
    Delivery.objects.filter(event=event).update(status="delivered")
    OutboxEvent.objects.filter(pk=event.pk).update(
        locked_until=timezone.now() - datetime.timedelta(seconds=1)
    )
    assert dispatch.dispatch_pending().delivered == 1
    assert calls == []


def test_a_round_cut_short_leaves_its_events_free_at_once(received):
    """A dispatcher that dies in its first transaction (claim, first handlers, settle)
    leaves nothing behind: no lease to wait for, no handler write, no delivery record."""
    calls, _state = received
    state = {"die": True}

    @subscribers.subscriber(TYPE, name="test.dying")
    def dying(event):
        PeriodicRun.objects.create(name=f"dying-{event.id}", last_run_at=timezone.now())
        if state["die"]:
            raise SystemExit("the process ends here")

    try:
        events = emit(2)
        with pytest.raises(SystemExit):
            dispatch.dispatch_pending()
        assert set(OutboxEvent.objects.values_list("locked_by", "attempts")) == {("", 0)}
        assert not Delivery.objects.exists() and not PeriodicRun.objects.exists()
        state["die"] = False
        assert dispatch.dispatch_pending().delivered == 2
    finally:
        subscribers.unregister("test.dying")
    assert calls == [str(e.pk) for e in events]
    assert PeriodicRun.objects.count() == 2


def test_targets_are_decided_once_when_first_claimed(received):
    (event,) = emit()
    dispatch.claim("worker")
    assert list(Delivery.objects.filter(event=event).values_list("target", "status")) == [
        ("subscriber:test.recorder", "pending")
    ]
    event.refresh_from_db()
    assert event.targets_resolved


@pytest.mark.django_db(transaction=True)
def test_a_commit_wakes_a_waiting_dispatcher():
    if connection.vendor != "postgresql":
        pytest.skip("commits wake dispatchers on PostgreSQL (LISTEN/NOTIFY); SQLite polls")
    with dispatch.wait_for_events() as wait:
        assert wait(0.05) is False  # nothing committed: it waits the time out
        emit()
        started = time.monotonic()
        assert wait(10) is True
        assert time.monotonic() - started < 5


@pytest.mark.django_db(transaction=True)
def test_every_commit_is_followed_by_a_wake_up_even_in_a_burst():
    """Wake-ups are shared by the commits of a burst, never dropped: the last commit of a
    burst still wakes the dispatchers after it."""
    if connection.vendor != "postgresql":
        pytest.skip("commits wake dispatchers on PostgreSQL (LISTEN/NOTIFY); SQLite polls")
    with dispatch.wait_for_events() as wait:
        for _ in range(5):
            emit()
        assert wait(10) is True
        while wait(0.3):  # the burst's wake-ups, however many were sent
            pass
        emit()
        assert wait(10) is True


@pytest.mark.django_db(transaction=True)
def test_a_running_dispatcher_delivers_what_is_committed_after_it_started(received):
    calls, _state = received
    stop = threading.Event()
    errors: list[BaseException] = []

    def run() -> None:
        try:
            dispatch.run_dispatcher(poll_seconds=0.2, stop=stop)
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    try:
        time.sleep(0.3)
        events = emit(3)
        deadline = time.monotonic() + 20
        while len(calls) < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        stop.set()
        thread.join(timeout=30)
    assert not errors
    assert calls == [str(e.pk) for e in events]
    assert set(OutboxEvent.objects.values_list("status", flat=True)) == {"delivered"}


# --- Webhooks, against a real HTTP server on 127.0.0.1 -------------------------------------


class Receiver(BaseHTTPRequestHandler):
    requests: list = []
    statuses: list = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).requests.append((dict(self.headers), body))
        status = type(self).statuses.pop(0) if type(self).statuses else 204
        self.send_response(status)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    Receiver.requests = []
    Receiver.statuses = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", Receiver
    server.shutdown()
    server.server_close()


def test_webhooks_get_signed_cloudevents(receiver):
    url, handler = receiver
    endpoint = webhooks.create_endpoint("partner", url, ["org.joinedup.test.*"])
    (event,) = emit(value="é")
    dispatch.dispatch_pending()
    assert len(handler.requests) == 1
    headers, body = handler.requests[0]
    assert headers["Content-Type"].startswith("application/cloudevents+json")
    assert headers["Webhook-Id"] == str(event.pk)
    assert webhooks.verify_signature(endpoint.secret, headers["Joinedup-Signature"], body)
    assert not webhooks.verify_signature("wrong", headers["Joinedup-Signature"], body)
    assert not webhooks.verify_signature(
        endpoint.secret, headers["Joinedup-Signature"], body + b" "
    )
    payload = json.loads(body)
    assert payload["id"] == str(event.pk) and payload["data"]["value"] == "é"
    delivery = Delivery.objects.get(event=event, webhook=endpoint)
    assert delivery.status == "delivered"
    assert delivery.log.get().status_code == 204


def test_webhook_failures_are_logged_and_retried(receiver):
    url, handler = receiver
    handler.statuses = [500]
    endpoint = webhooks.create_endpoint("partner", url, ["*"])
    (event,) = emit()
    dispatch.dispatch_pending()
    delivery = Delivery.objects.get(event=event, webhook=endpoint)
    assert delivery.status == "failed" and delivery.last_error == "HTTP 500"
    make_due(event)
    dispatch.dispatch_pending()
    delivery.refresh_from_db()
    assert delivery.status == "delivered"
    assert [a.status_code for a in delivery.log.order_by("at")] == [500, 204]
    assert len(handler.requests) == 2
    assert handler.requests[0][0]["Webhook-Id"] == handler.requests[1][0]["Webhook-Id"]


def test_webhooks_only_get_the_types_they_asked_for(receiver):
    url, handler = receiver
    webhooks.create_endpoint("partner", url, ["org.joinedup.consent.withdrawn"])
    emit()
    dispatch.dispatch_pending()
    assert handler.requests == []


def test_an_unreachable_webhook_is_an_error_not_a_crash():
    webhooks.create_endpoint("gone", "http://127.0.0.1:9/nothing", ["*"])
    (event,) = emit()
    report = dispatch.dispatch_pending()
    assert report.retrying == 1
    assert "ConnectionError" in Delivery.objects.get(event=event).last_error


def test_a_batch_writes_its_events_together_in_order():
    with transaction.atomic(), outbox.batch():
        for i in range(5):
            outbox.emit(TYPE, subject=f"thing/{i}", data={"n": i})
        assert not OutboxEvent.objects.exists()  # held until the block ends
    assert [e.data["n"] for e in OutboxEvent.objects.order_by("time", "pk")] == [0, 1, 2, 3, 4]
    assert sorted(e.subject for e in OutboxEvent.objects.all()) == [f"thing/{i}" for i in range(5)]


def test_a_batch_forgets_what_a_rolled_back_savepoint_emitted():
    with transaction.atomic(), outbox.batch():
        outbox.emit(TYPE, data={"n": "kept"})
        with pytest.raises(RuntimeError), transaction.atomic():
            outbox.emit(TYPE, data={"n": "undone"})
            raise RuntimeError("this step failed")
        with transaction.atomic():
            outbox.emit(TYPE, data={"n": "released"})
    assert sorted(e.data["n"] for e in OutboxEvent.objects.all()) == ["kept", "released"]


def test_a_batch_that_fails_writes_nothing():
    with pytest.raises(RuntimeError), transaction.atomic(), outbox.batch():
        outbox.emit(TYPE)
        raise RuntimeError("the change failed")
    assert not OutboxEvent.objects.exists()
    assert dispatch_tasks() == 0


def test_a_batch_inside_a_batch_joins_it():
    with transaction.atomic(), outbox.batch():
        outbox.emit(TYPE, data={"n": 1})
        with outbox.batch():
            outbox.emit(TYPE, data={"n": 2})
        assert not OutboxEvent.objects.exists()
    assert OutboxEvent.objects.count() == 2
    assert dispatch_tasks() == 1


@pytest.mark.django_db(transaction=True)
def test_a_batch_needs_the_callers_transaction():
    with pytest.raises(outbox.OutsideTransaction), outbox.batch():
        pass
