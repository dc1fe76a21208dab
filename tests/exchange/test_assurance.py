"""The person's identity travels as the sending node's signed assertion, and the receiver
accepts its level of assurance only as far as the trust list says that node's proofing
reaches."""

from __future__ import annotations

import pytest

from joinedup.exchange import trustlist
from joinedup.exchange.models import IncomingMessage, PeerNode

from .conftest import NODE_B, own_entry
from .test_receiving import from_b, post
from .test_trustlist import refusal


@pytest.fixture
def b_proofs_remotely(db, governance, peer_b):
    """B's proofing reaches level 2 (verified remotely), says the governance authority."""
    trustlist.load(governance.signed([own_entry(), {**peer_b.entry(), "assurance": 2}]))
    return PeerNode.objects.get(node_id="CA/GOV/ON/joinedup")


@pytest.mark.parametrize(("asserted", "accepted"), [(3, 2), (2, 2), (1, 1), (None, 0), ("3", 0)])
def test_the_asserted_level_is_accepted_up_to_the_senders_reach(
    client, b_proofs_remotely, peer_b, asserted, accepted
):
    subject = {"identifiers": {}} if asserted is None else {"level_of_assurance": asserted}
    sealed = from_b(b_proofs_remotely, peer_b, subject=subject)
    assert post(client, sealed.token).status_code == 201
    assert IncomingMessage.objects.get(message_id=sealed.message_id).assurance == accepted
    assert PeerNode.objects.get(node_id=NODE_B).max_assurance == 2


def test_a_node_the_list_gives_no_reach_is_believed_at_self_asserted_only(client, trusted, peer_b):
    sealed = from_b(trusted, peer_b, subject={"level_of_assurance": 3})
    assert post(client, sealed.token).status_code == 201
    assert IncomingMessage.objects.get(message_id=sealed.message_id).assurance == 1


@pytest.mark.parametrize("reach", [0, 4, "2", True])
def test_a_list_with_an_impossible_reach_is_refused(db, tmp_path, governance, peer_b, reach):
    listed = governance.signed([own_entry(), {**peer_b.entry(), "assurance": reach}])
    assert "level of assurance" in refusal(tmp_path, listed)
    assert not PeerNode.objects.filter(node_id=NODE_B).exists()
