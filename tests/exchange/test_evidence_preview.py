"""Evidence with the person's preview (OOTS-style): another node's request waits on the
person's home node; the person sees exactly what would be sent and agrees (only then it is
sent, and both ledgers say so) or refuses (a signed refusal goes back, nothing of theirs).
This node sends to itself through the live server: the real endpoint, envelope, database."""

from __future__ import annotations

import datetime

import pytest
from django.test import Client

from joinedup.delivery.models import Notification
from joinedup.exchange import envelope, evidence, sending, trustlist
from joinedup.exchange.models import EvidenceRequest, IncomingMessage, PeerNode
from joinedup.identity import client_registry
from joinedup.identity.models import User
from joinedup.sharing import dispatch, ledger
from joinedup.sharing.models import AccessEvent

from .conftest import NODE_A, own_entry

SIN = "046 454 286"


@pytest.fixture
def home(governance, live_server, small_federation):
    trustlist.load(governance.signed([own_entry(live_server.url)]))
    return PeerNode.objects.get(node_id=NODE_A)


def _person(name: str, sin: str | None = None):
    person = client_registry.register_person(
        given_names=name,
        family_name="Tremblay",
        birth_date=datetime.date(1990, 4, 2),
        identifier_values={"ca-sin": sin} if sin else None,
    )
    user = User.objects.create_user(name.lower(), f"{name.lower()}@example.org", "a long pw 123x")
    user.person = person
    user.save()
    browser = Client()
    browser.force_login(user)
    return person, browser


def _asked(home, person) -> tuple[EvidenceRequest, EvidenceRequest]:
    """The requesting side's request (it knows the person as `person`: one node plays both
    sides), and the same request waiting on the home side."""
    out = evidence.request(
        home,
        requester_agency="esdc",
        provider_agency="serviceontario",
        fields=["given_names", "birth_date"],
        purpose="benefit-eligibility",
        subject={"identifiers": {"ca-sin": SIN}, "level_of_assurance": 2},
        subject_id=person.pk,
    )
    assert sending.deliver_due().delivered == 1
    return out, EvidenceRequest.objects.get(direction="in", request_id=out.request_id)


def test_nothing_is_sent_until_the_person_has_seen_it_and_agreed(home):
    amelie, browser = _person("Amélie", SIN)
    out, waiting = _asked(home, amelie)
    assert waiting.subject_id == amelie.pk and waiting.status == "waiting"
    # nothing of hers has crossed, and no ledger entry says so
    assert not AccessEvent.objects.filter(subject_id=amelie.pk).exists()
    assert not IncomingMessage.objects.filter(kind="evidence").exists()

    # she finds the requests from My services, beside who used her data
    services = browser.get("/en/my/").content.decode()
    assert 'href="/en/my-data/evidence-requests/"' in services
    listed = browser.get("/en/my-data/evidence-requests/")
    text = listed.content.decode()
    assert listed.status_code == 200 and "See what would be sent and decide" in text
    assert "esdc" not in text  # named, not keyed
    page = browser.get(f"/fr/my-data/evidence-requests/{waiting.pk}/")
    text = page.content.decode()
    assert page.status_code == 200
    assert "Exactement ce qui serait envoyé" in text and "Amélie" in text
    assert "Oui, envoyer cette preuve" in text

    seen = page.context["seen"]
    answer = browser.post(
        f"/en/my-data/evidence-requests/{waiting.pk}/decide/", {"decision": "send", "seen": seen}
    )
    assert answer.status_code == 302
    assert sending.deliver_due().delivered == 1
    out.refresh_from_db()
    assert out.status == "released"
    assert out.evidence == {"given_names": "Amélie", "birth_date": "1990-04-02"}
    # both sides' ledgers: the provider's disclosure on her consent, the requester's read,
    # and that read reported back in the signed receipt
    events = AccessEvent.objects.filter(subject_id=amelie.pk)
    assert {(e.channel, e.outcome, e.legal_basis, e.actor_agency) for e in events} == {
        ("exchange", "disclosed", "consent", "esdc"),  # the home node's release
        ("exchange", "disclosed", "consent", "esdc"),  # the requester's read
        (ledger.REMOTE_CHANNEL, "disclosed", "consent", "esdc"),  # reported back
    }
    assert events.count() == 3
    assert ledger.verify().ok
    # a second decision is refused, nothing sent again
    again = browser.post(
        f"/en/my-data/evidence-requests/{waiting.pk}/decide/", {"decision": "refuse"}
    )
    assert again.status_code == 409 and sending.deliver_due().attempted == 0


def test_the_person_is_told_once_that_a_request_waits_for_them(home):
    amelie, _browser = _person("Amélie", SIN)
    amelie.preferred_language = "fr"
    amelie.save(update_fields=["preferred_language"])
    _out, waiting = _asked(home, amelie)
    dispatch.dispatch_pending()
    dispatch.dispatch_pending()  # a second round (or a redelivered event) tells nothing twice
    (told,) = Notification.objects.filter(person=amelie, event="evidence_requested")
    assert told.channel == "email" and told.recipient == "amélie@example.org"
    assert told.language == "fr" and "gouvernement" in told.subject
    # in words, in her language, with the page where she decides; no keys
    assert "Emploi et Développement social Canada" in told.body
    assert f"/fr/my-data/evidence-requests/{waiting.pk}/" in told.body
    assert "esdc" not in told.body and "given_names" not in told.body
    # the sender's own outbox events (sent, receipt) tell nobody anything
    assert Notification.objects.count() == 1


def test_refusing_sends_a_signed_refusal_and_nothing_of_the_person(home):
    amelie, browser = _person("Amélie", SIN)
    out, waiting = _asked(home, amelie)
    answer = browser.post(
        f"/fr/my-data/evidence-requests/{waiting.pk}/decide/", {"decision": "refuse"}
    )
    assert answer.status_code == 302
    assert sending.deliver_due().delivered == 1
    out.refresh_from_db()
    assert out.status == "refused" and out.evidence == {}
    refusal = IncomingMessage.objects.get(kind="evidence-refusal")
    assert refusal.outcome["refused"] is True
    assert not IncomingMessage.objects.filter(kind="evidence").exists()
    # refused in both ledgers (the home node's and the requester's), nothing disclosed
    refused = AccessEvent.objects.filter(subject_id=amelie.pk)
    assert [(e.outcome, e.reason, e.holder_agency) for e in refused] == [
        ("refused", evidence.REFUSED_BY_PERSON, "serviceontario")
    ] * 2


def test_another_person_sees_nothing_and_a_changed_record_is_shown_again(home):
    amelie, browser = _person("Amélie", SIN)
    _, other = _person("Bob")
    _, waiting = _asked(home, amelie)
    assert other.get(f"/en/my-data/evidence-requests/{waiting.pk}/").status_code == 404
    assert (
        other.post(
            f"/en/my-data/evidence-requests/{waiting.pk}/decide/", {"decision": "refuse"}
        ).status_code
        == 404
    )
    assert Client().get("/en/my-data/evidence-requests/").status_code in (302, 401, 403)
    seen = browser.get(f"/en/my-data/evidence-requests/{waiting.pk}/").context["seen"]
    amelie.given_names = "Amélia"
    amelie.save()
    changed = browser.post(
        f"/en/my-data/evidence-requests/{waiting.pk}/decide/", {"decision": "send", "seen": seen}
    )
    assert changed.status_code == 409 and "Amélia" in changed.content.decode()
    assert sending.deliver_due().attempted == 0


def test_a_request_about_someone_unknown_here_is_refused_with_a_signed_refusal(home):
    out = evidence.request(
        home,
        requester_agency="esdc",
        provider_agency="serviceontario",
        fields=["given_names"],
        purpose="benefit-eligibility",
        subject={"identifiers": {"ca-sin": SIN}},
    )
    assert sending.deliver_due().failed == 1
    message = out.peer.outgoing.get(message_id=out.request_id)
    assert message.status == "failed" and "does not know the person" in message.last_error
    # the receiver's signed refusal is kept
    refusal = envelope.verify_receipt(
        message.receipt, message.to_node, message.message_id, message.digest
    )
    assert (refusal["status"], refusal["code"]) == ("refused", "unknown_person")
    assert not EvidenceRequest.objects.filter(direction="in").exists()
