"""Read receipts: a read of a person's data made on the receiving node because a message
brought it there comes back in the receiver's signed receipt, and the sending node writes it
in the person's ledger, so "Who used my data" on the home node lists it, marked as made on
another government's system and named in words."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import translation

from joinedup.exchange import envelope, readreceipts, sending, trustlist
from joinedup.exchange.models import OutgoingMessage, PeerNode, RemoteAgency
from joinedup.identity import client_registry
from joinedup.identity.models import User
from joinedup.sharing import ledger, presentation
from joinedup.sharing.models import AccessEvent

from .conftest import NODE_A, own_entry

pytestmark = pytest.mark.django_db(transaction=True)

SIN = "046 454 286"


@pytest.fixture
def home(governance, live_server):
    """This node, in its own trust list at the live server's address (it sends to itself:
    the real endpoint, envelope and database)."""
    trustlist.load(governance.signed([own_entry(live_server.url)]))
    return PeerNode.objects.get(node_id=NODE_A)


@pytest.fixture
def amelie(db):
    return client_registry.register_person(
        given_names="Amélie", family_name="Tremblay", identifier_values={"ca-sin": SIN}
    )


def evidence(node: PeerNode, person) -> OutgoingMessage:
    return sending.send(
        "evidence",
        node,
        {
            "from_agency": "on-serviceontario",
            "to_agency": "ca-esdc",
            "legal_basis": "statute",
            "fields": {"given_names": "Amélie", "birth_date": "1990-04-02"},
        },
        purpose="benefit-eligibility",
        subject={"identifiers": {"ca-sin": SIN}, "level_of_assurance": 2},
        subject_id=person.pk,
    )


def test_the_receivers_read_comes_back_in_the_receipt_and_lands_in_the_home_ledger(home, amelie):
    message = evidence(home, amelie)
    assert sending.deliver_due().delivered == 1
    events = AccessEvent.objects.filter(subject_id=amelie.pk).order_by("chain", "seq")
    # the receiver's own record of its read, and the home node's record of the receipt
    assert [e.channel for e in events] == ["exchange", ledger.REMOTE_CHANNEL]
    there, here = events
    assert (here.actor_agency, here.holder_agency) == ("ca-esdc", "on-serviceontario")
    assert here.purpose == "benefit-eligibility" and here.legal_basis == "statute"
    assert set(here.fields) == {"given_names", "birth_date"}
    message.refresh_from_db()
    assert message.status == "delivered"
    # the signed receipt names the receiver's ledger row, so an auditor can find it there
    claims = envelope.verify_receipt(message.receipt, home, message.message_id, message.digest)
    assert [read["event"] for read in claims["reads"]] == [there.hash]
    assert ledger.verify().ok
    # delivered once: nothing more is written by later rounds
    assert sending.deliver_due().attempted == 0
    assert AccessEvent.objects.filter(subject_id=amelie.pk).count() == 2


def test_a_message_not_about_a_known_person_writes_nothing_at_home(home, amelie):
    sending.send("evidence", home, {"note": "checked"}, purpose="benefit-eligibility")
    assert sending.deliver_due().delivered == 1
    assert not AccessEvent.objects.filter(channel=ledger.REMOTE_CHANNEL).exists()


def _queued(node: PeerNode, subject_id: int | None) -> OutgoingMessage:
    return sending.send("evidence", node, {}, purpose="benefit-eligibility", subject_id=subject_id)


READ = {
    "agency": "qc-rq",
    "names": {"en": "Revenu Québec", "fr": "Revenu Québec (fr)"},
    "holder": "on-serviceontario",
    "categories": ["identity"],
    "fields": ["given_names"],
    "purpose": "benefit-eligibility",
    "basis": "statute",
    "at": 1_790_000_000,
    "event": "0" * 64,
}


def test_malformed_reads_are_skipped_and_good_ones_recorded(home, amelie):
    message = _queued(home, amelie.pk)
    reads = [READ, {"agency": 7}, "nonsense", {**READ, "fields": "given_names"}]
    assert readreceipts.record(message, {"reads": reads}) == 1
    assert AccessEvent.objects.get(channel=ledger.REMOTE_CHANNEL).actor_agency == "qc-rq"
    # a receipt about a message without a person writes nothing
    assert readreceipts.record(_queued(home, None), {"reads": [READ]}) == 0
    # a basis the platform does not know is not believed
    readreceipts.record(message, {"reads": [{**READ, "basis": "because"}]})
    assert AccessEvent.objects.filter(legal_basis="").count() == 1


def test_who_used_my_data_names_the_other_nodes_agency_in_the_readers_language(home, amelie):
    readreceipts.record(_queued(home, amelie.pk), {"reads": [READ]})
    assert RemoteAgency.objects.get(key="qc-rq").names["en"] == "Revenu Québec"
    events = AccessEvent.objects.filter(subject_id=amelie.pk)
    with translation.override("fr"):
        (entry,) = presentation.access_entries(events)
    assert entry.agency_name == "Revenu Québec (fr)" and entry.elsewhere

    user = User.objects.create_user("amelie", "amelie@example.org", "a long password 123")
    user.person = amelie
    user.save()
    browser = Client()
    browser.force_login(user)
    page = browser.get("/fr/my-data/access/")
    text = page.content.decode()
    assert page.status_code == 200
    assert "Revenu Québec (fr)" in text and "Sur le système d’un autre gouvernement" in text
    assert "qc-rq" not in text
