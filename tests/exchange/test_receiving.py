"""POST /exchange/v1/messages: what is accepted, recorded once, and what is refused (4xx
JSON with a reason in the reader's language), each refusal logged without the body."""

from __future__ import annotations

import datetime
import json
import uuid

import pytest
from django.utils import timezone
from joserfc.jwk import OKPKey

from joinedup.exchange import envelope, trustlist
from joinedup.exchange.models import IncomingMessage, PeerNode, RefusedMessage
from joinedup.identity import client_registry
from joinedup.sharing import ledger
from joinedup.sharing.models import AccessEvent

from .conftest import NODE_B, Peer, own_entry

URL = "/exchange/v1/messages"
SIN = "046 454 286"


def post(client, token: str, language: str = "en"):
    return client.post(
        URL, data=token, content_type="application/jose", HTTP_ACCEPT_LANGUAGE=language
    )


def from_b(receiver: PeerNode, peer: Peer, body: dict | None = None, **kwargs) -> envelope.Sealed:
    kwargs.setdefault("signer", peer.signer)
    kwargs.setdefault("sender_id", peer.node_id)
    return envelope.seal(
        kwargs.pop("kind", "evidence"),
        receiver,
        body if body is not None else {"note": "proof of address checked"},
        purpose="benefit-eligibility",
        **kwargs,
    )


def refused(answer, status: int, code: str) -> str:
    assert answer.status_code == status, answer.content
    payload = answer.json()
    assert payload["code"] == code
    assert RefusedMessage.objects.filter(reason=code).exists()
    return payload["detail"]


def test_a_message_from_a_trusted_peer_is_accepted_with_a_signed_receipt(client, trusted, peer_b):
    sealed = from_b(trusted, peer_b)
    answer = post(client, sealed.token)
    assert answer.status_code == 201, answer.content
    record = IncomingMessage.objects.get(message_id=sealed.message_id)
    assert record.from_node.node_id == NODE_B and record.digest == sealed.digest
    assert record.outcome["recorded"] is True
    # the receipt is this node's signature over the message's id and digest
    claims = envelope.verify_receipt(
        answer.json()["receipt"], trusted, sealed.message_id, sealed.digest
    )
    assert claims["aud"] == NODE_B and claims["status"] == "accepted"


def test_the_same_message_twice_is_acknowledged_and_handled_once(client, trusted, peer_b):
    sealed = from_b(trusted, peer_b)
    assert post(client, sealed.token).status_code == 201
    again = post(client, sealed.token)
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    assert IncomingMessage.objects.filter(message_id=sealed.message_id).count() == 1


def test_a_replay_of_a_used_id_with_other_content_is_refused(client, trusted, peer_b):
    first = from_b(trusted, peer_b, {"note": "first"})
    assert post(client, first.token).status_code == 201
    replay = from_b(trusted, peer_b, {"note": "changed"}, message_id=first.message_id)
    refused(post(client, replay.token), 409, "replay")
    record = IncomingMessage.objects.get(message_id=first.message_id)
    assert record.digest == first.digest


def test_a_bad_signature_is_refused(client, trusted, peer_b):
    forger = OKPKey.generate_key("Ed25519")
    # B's key id, someone else's key
    sealed = from_b(trusted, peer_b, signer=(peer_b.sig.thumbprint(), forger))
    answer = post(client, sealed.token)
    refused(answer, 401, "bad_signature")
    assert not IncomingMessage.objects.exists()
    # nobody proved who they are: nothing is signed for them
    assert "receipt" not in answer.json()


def test_an_unknown_node_is_refused(client, trusted):
    stranger = Peer("XX/GOV/nobody/joinedup", "http://127.0.0.1:9")
    sealed = from_b(trusted, stranger)
    detail = refused(post(client, sealed.token), 403, "unknown_node")
    assert "trust list" in detail
    assert RefusedMessage.objects.get().claimed_sender == stranger.node_id


def test_a_peer_signing_as_another_node_is_refused(client, trusted, peer_b, governance):
    # C is in the list, but signs a message claiming to be B
    c = Peer("CA/GOV/QC/joinedup", "http://127.0.0.1:9")
    trustlist.load(governance.signed([own_entry(), peer_b.entry(), c.entry()]))
    sealed = from_b(trusted, peer_b, signer=c.signer)
    refused(post(client, sealed.token), 401, "unknown_key")


def test_a_revoked_key_is_refused_from_the_moment_the_list_says(
    client, trusted, peer_b, governance
):
    revoked = (timezone.now() - datetime.timedelta(minutes=1)).isoformat()
    trustlist.load(governance.signed([own_entry(), peer_b.entry(revoked_at=revoked)]))
    sealed = from_b(trusted, peer_b)
    refused(post(client, sealed.token), 401, "revoked_key")


def test_a_node_dropped_from_the_list_is_refused(client, trusted, peer_b, governance):
    trustlist.load(governance.signed([own_entry()]))
    assert PeerNode.objects.get(node_id=NODE_B).revoked_at is not None
    sealed = from_b(trusted, peer_b)
    refused(post(client, sealed.token), 403, "node_not_trusted")


def test_an_expired_message_is_refused(client, trusted, peer_b):
    long_ago = timezone.now() - datetime.timedelta(days=2)
    sealed = from_b(trusted, peer_b, now=long_ago, ttl_seconds=3600)
    refused(post(client, sealed.token), 400, "expired")


def test_a_message_for_another_node_is_refused(client, trusted, peer_b):
    now = int(timezone.now().timestamp())
    claims = {
        "iss": NODE_B,
        "aud": "CA/GOV/QC/joinedup",
        "jti": str(uuid.uuid4()),
        "iat": now,
        "exp": now + 600,
        "kind": "evidence",
        "cid": "c-1",
        "purpose": "benefit-eligibility",
        "body": {},
    }
    signed = envelope.sign(claims, signer=peer_b.signer)
    token = envelope.encrypt(signed, trusted)  # encrypted to us, addressed to someone else
    refused(post(client, token), 403, "wrong_audience")


def test_an_altered_envelope_is_refused(client, trusted, peer_b):
    token = from_b(trusted, peer_b).token
    head, key, iv, ciphertext, tag = token.split(".")
    flipped = ("A" if ciphertext[5] != "A" else "B").join([ciphertext[:5], ciphertext[6:]])
    refused(post(client, ".".join([head, key, iv, flipped, tag])), 400, "undecryptable")
    refused(post(client, "not a message"), 400, "malformed")


def test_a_kind_nobody_registered_is_refused(client, trusted, peer_b):
    sealed = from_b(trusted, peer_b, kind="no-such-kind")
    answer = post(client, sealed.token)
    refused(answer, 422, "unknown_kind")
    assert not IncomingMessage.objects.exists()
    # the verified sender gets the refusal signed by this node, for this message
    claims = envelope.verify_receipt(
        answer.json()["receipt"], trusted, sealed.message_id, sealed.digest
    )
    assert claims["status"] == "refused" and claims["code"] == "unknown_kind"
    assert claims["aud"] == NODE_B


def test_refusals_are_explained_in_french(client, trusted):
    stranger = Peer("XX/GOV/nobody/joinedup", "http://127.0.0.1:9")
    answer = post(client, from_b(trusted, stranger).token, language="fr")
    assert answer.status_code == 403
    assert "liste de confiance" in answer.json()["detail"]


def test_only_post_is_answered(client, trusted):
    assert client.get(URL).status_code == 405


def test_the_refusal_log_keeps_no_body(client, trusted):
    stranger = Peer("XX/GOV/nobody/joinedup", "http://127.0.0.1:9")
    sealed = from_b(trusted, stranger, {"fields": {"given_names": "Secretname"}})
    post(client, sealed.token)
    logged = RefusedMessage.objects.get()
    assert "Secretname" not in json.dumps(
        {f.name: str(getattr(logged, f.name)) for f in logged._meta.fields}
    )


@pytest.fixture
def known_person(trusted):
    return client_registry.register_person(
        given_names="Amélie", family_name="Tremblay", identifier_values={"ca-sin": SIN}
    )


def test_evidence_about_a_known_person_lands_in_their_ledger(client, trusted, peer_b, known_person):
    body = {
        "from_agency": "ca-esdc",
        "to_agency": "on-serviceontario",
        "legal_basis": "statute",
        "fields": {"given_names": "Amélie", "birth_date": "1990-04-02"},
    }
    sealed = from_b(
        trusted,
        peer_b,
        body,
        subject={"identifiers": {"ca-sin": SIN}, "level_of_assurance": 2},
    )
    before = AccessEvent.objects.filter(subject_id=known_person.pk).count()
    assert post(client, sealed.token).status_code == 201
    event = AccessEvent.objects.filter(subject_id=known_person.pk).latest("occurred_at")
    assert AccessEvent.objects.filter(subject_id=known_person.pk).count() == before + 1
    assert event.channel == "exchange" and event.holder_agency == "ca-esdc"
    assert event.actor_agency == "on-serviceontario" and event.purpose == "benefit-eligibility"
    assert set(event.fields) == {"given_names", "birth_date"}
    assert IncomingMessage.objects.get(message_id=sealed.message_id).subject_id == known_person.pk
    assert ledger.verify().ok
    # a second copy does not write a second read
    post(client, sealed.token)
    assert AccessEvent.objects.filter(subject_id=known_person.pk).count() == before + 1


def test_evidence_about_an_unknown_person_is_kept_for_the_stewards(client, trusted, peer_b):
    body = {"fields": {"given_names": "Nobody"}}
    sealed = from_b(trusted, peer_b, body, subject={"identifiers": {"ca-sin": SIN}})
    assert post(client, sealed.token).status_code == 201
    record = IncomingMessage.objects.get(message_id=sealed.message_id)
    assert record.outcome["person"] == "unknown" and record.subject_id is None


def test_signed_claims_that_are_not_an_object_are_refused(client, trusted, peer_b):
    signed = envelope.sign(["not", "claims"], signer=peer_b.signer)
    refused(post(client, envelope.encrypt(signed, trusted)), 400, "malformed")


def test_a_message_with_claims_missing_is_refused(client, trusted, peer_b):
    signed = envelope.sign({"iss": NODE_B, "jti": str(uuid.uuid4())}, signer=peer_b.signer)
    refused(post(client, envelope.encrypt(signed, trusted)), 400, "malformed")


def test_a_message_too_large_is_refused(client, trusted, settings):
    settings.EXCHANGE_MAX_MESSAGE_BYTES = 100
    answer = post(client, "x" * 101)
    assert answer.status_code == 413 and answer.json()["code"] == "too_large"


TRANSACTION_CONTROL = ("SAVEPOINT", "RELEASE SAVEPOINT", "BEGIN", "COMMIT")


def test_a_message_is_received_in_five_statements_and_a_copy_never_reaches_its_handler(
    trusted, peer_b
):
    """The sender and its key read at once, the message recorded, its outcome written after
    the handler ran, the outbox event and the task row that wakes its dispatcher: nothing
    read before (the log's unique id is the guard against copies). A copy fails at the
    first INSERT and is acknowledged without its handler running again."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from joinedup.exchange import handlers, keys, receiving

    keys.signing_key()  # this node's own keys are read once per process, not per message
    keys.decryption_key(keys.encryption_key()[0])
    sealed = from_b(
        trusted, peer_b, {"fields": {"given_names": "Amélie"}, "note": "x" * 600}, kind="counted"
    )
    calls = []
    handlers.register("counted", lambda received: calls.append(received) or {"recorded": True})
    try:
        with CaptureQueriesContext(connection) as statements:
            acknowledged = receiving.receive(sealed.token)
        assert acknowledged.status == "accepted"
        work = [q["sql"] for q in statements if not q["sql"].startswith(TRANSACTION_CONTROL)]
        # On SQLite the outbox first asks whether a dispatch task already waits, then writes
        # one; on PostgreSQL that is one INSERT … WHERE NOT EXISTS (`dispatch.task_insert`).
        assert len(work) == (5 if connection.vendor == "postgresql" else 6), "\n".join(work)
        # a copy is acknowledged as one, and its handler does not run again
        assert receiving.receive(sealed.token).status == "duplicate"
        assert len(calls) == 1
        assert IncomingMessage.objects.get(message_id=sealed.message_id).outcome == {
            "recorded": True
        }
    finally:
        handlers._HANDLERS.pop("counted", None)
