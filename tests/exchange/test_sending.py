"""The exchange outbox: a message is delivered over HTTP to the receiving node's endpoint and
acknowledged with a signed receipt; a peer that is down gets it once it is back; a refusal
is a dead letter; a conversation keeps its order.

This node sends to itself here (it is in its own trust list, at the live server's address):
the real endpoint, the real envelope, the real database. tests/exchange/test_two_nodes.py
runs two separate nodes."""

from __future__ import annotations

import datetime
import socket

import pytest
from django.db import connection
from django.utils import timezone

from joinedup.exchange import envelope, sending, trustlist
from joinedup.exchange.models import IncomingMessage, OutgoingMessage, PeerNode

from .conftest import NODE_A, own_entry

pytestmark = pytest.mark.django_db(transaction=True)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def self_at(governance, live_server):
    def load(url: str) -> PeerNode:
        trustlist.load(governance.signed([own_entry(url)]))
        return PeerNode.objects.get(node_id=NODE_A)

    return load


def make_due(message: OutgoingMessage) -> None:
    OutgoingMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())


def test_a_message_is_delivered_and_acknowledged(self_at, live_server):
    node = self_at(live_server.url)
    message = sending.send("evidence", node, {"note": "checked"}, purpose="benefit-eligibility")
    report = sending.deliver_due()
    assert (report.delivered, report.retrying, report.failed) == (1, 0, 0)
    message.refresh_from_db()
    assert message.status == "delivered" and message.receipt and message.attempts == 1
    assert IncomingMessage.objects.get(message_id=message.message_id).digest == message.digest
    assert sending.deliver_due().attempted == 0  # nothing left to do


def test_a_peer_that_was_down_gets_the_message_once_it_is_back(self_at, live_server):
    node = self_at(f"http://127.0.0.1:{closed_port()}")
    message = sending.send("evidence", node, {"note": "housing"}, purpose="referral")
    report = sending.deliver_due()
    assert (report.delivered, report.retrying) == (0, 1)
    message.refresh_from_db()
    assert message.status == "pending" and message.attempts == 1
    assert message.next_attempt_at > timezone.now()  # backing off
    assert "ConnectionError" in message.last_error
    assert sending.deliver_due().attempted == 0  # not due yet

    PeerNode.objects.filter(pk=node.pk).update(base_url=live_server.url)  # the peer is back
    make_due(message)
    assert sending.deliver_due().delivered == 1
    message.refresh_from_db()
    assert message.status == "delivered" and message.attempts == 2
    assert IncomingMessage.objects.filter(message_id=message.message_id).count() == 1


def test_a_message_delivered_twice_is_recorded_once(self_at, live_server):
    node = self_at(live_server.url)
    message = sending.send("evidence", node, {"note": "x"}, purpose="benefit-eligibility")
    sending.deliver_due()
    # the answer was lost: the sender posts again
    OutgoingMessage.objects.filter(pk=message.pk).update(status="pending")
    make_due(message)
    assert sending.deliver_due().delivered == 1
    assert IncomingMessage.objects.filter(message_id=message.message_id).count() == 1


def test_a_refused_message_is_a_dead_letter_with_the_reason(self_at, live_server):
    node = self_at(live_server.url)
    message = sending.send("no-such-kind", node, {}, purpose="benefit-eligibility")
    assert sending.deliver_due().failed == 1
    message.refresh_from_db()
    assert message.status == "failed" and message.last_error.startswith("422")
    assert "kind" in message.last_error
    # the receiver's refusal is kept signed, as its receipt
    claims = envelope.verify_receipt(message.receipt, node, message.message_id, message.digest)
    assert claims["status"] == "refused" and claims["code"] == "unknown_kind"


def test_retries_stop_when_the_message_expires(self_at, settings):
    node = self_at(f"http://127.0.0.1:{closed_port()}")
    message = sending.send("evidence", node, {}, purpose="benefit-eligibility")
    OutgoingMessage.objects.filter(pk=message.pk).update(
        expires_at=timezone.now() - datetime.timedelta(seconds=1)
    )
    assert sending.deliver_due().failed == 1
    assert OutgoingMessage.objects.get(pk=message.pk).status == "failed"


def test_a_conversation_keeps_its_order(self_at, live_server):
    node = self_at(f"http://127.0.0.1:{closed_port()}")
    first = sending.send("evidence", node, {"n": 1}, purpose="p", conversation="case-7")
    second = sending.send("evidence", node, {"n": 2}, purpose="p", conversation="case-7")
    other = sending.send("evidence", node, {"n": 3}, purpose="p", conversation="case-8")
    report = sending.deliver_due()
    assert report.retrying == 2  # the first of case-7 and case-8; the second waits
    assert OutgoingMessage.objects.get(pk=second.pk).attempts == 0

    PeerNode.objects.filter(pk=node.pk).update(base_url=live_server.url)
    for message in (first, other):
        make_due(message)
    assert sending.deliver_due().delivered == 2  # the second of case-7 waits for the first
    assert sending.deliver_due().delivered == 1
    received = list(
        IncomingMessage.objects.filter(conversation="case-7").values_list("message_id", flat=True)
    )
    assert received == [first.message_id, second.message_id]


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="SQLite takes one writer at a time (the deliverer posts one by one there), and the "
    "in-memory test database's shared cache refuses concurrent writers instead of waiting",
)
def test_many_conversations_are_posted_at_once_each_exactly_once(self_at, live_server):
    node = self_at(live_server.url)
    sent = [
        sending.send("evidence", node, {"n": n}, purpose="p", conversation=f"case-{n}")
        for n in range(12)
    ]
    report = sending.deliver_due(concurrency=4)
    assert (report.delivered, report.retrying, report.failed) == (12, 0, 0)
    assert set(
        OutgoingMessage.objects.filter(pk__in=[m.pk for m in sent]).values_list(
            "status", "attempts"
        )
    ) == {("delivered", 1)}
    assert IncomingMessage.objects.count() == 12
    assert sending.deliver_due(concurrency=4).attempted == 0


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="SQLite takes one writer at a time (the deliverer posts one by one there)",
)
def test_a_long_running_deliverer_keeps_its_posting_threads_from_round_to_round(
    self_at, live_server
):
    node = self_at(live_server.url)
    posters = sending.Posters(3)
    try:
        for batch in range(2):
            sent = [
                sending.send("evidence", node, {"n": n}, purpose="p", conversation=f"b{batch}-{n}")
                for n in range(5)
            ]
            report = sending.deliver_due(concurrency=3, posters=posters)
            assert (report.delivered, report.failed) == (5, 0)
            assert set(
                OutgoingMessage.objects.filter(pk__in=[m.pk for m in sent]).values_list(
                    "status", "attempts"
                )
            ) == {("delivered", 1)}
        threads = list(posters._threads)
        assert all(thread.is_alive() for thread in threads)  # the same three, both rounds
    finally:
        posters.close()
    assert not any(thread.is_alive() for thread in threads)
    assert IncomingMessage.objects.count() == 10


def test_backoff_grows_and_is_capped(settings):
    settings.EXCHANGE_RETRY_BASE_SECONDS = 2
    settings.EXCHANGE_RETRY_MAX_SECONDS = 60
    waits = [sending.backoff(n).total_seconds() for n in (1, 2, 3, 10)]
    assert waits[0] <= 2 < waits[2] <= 8 and waits[3] <= 60
    assert waits[1] < waits[2] < waits[3]
