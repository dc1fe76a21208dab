"""`joinedup load-trust-list FILE`: a signed list is loaded; an unsigned, altered, expired,
stale or strangely signed one is refused with a message that says why, and changes nothing."""

from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation
from joserfc.jwk import OKPKey

from joinedup.exchange import sending
from joinedup.exchange.models import PeerKey, PeerNode, TrustList

from .conftest import NODE_A, NODE_B, Governance, own_entry


def write(tmp_path, content) -> str:
    path = tmp_path / "trust-list.json"
    path.write_text(json.dumps(content) if not isinstance(content, str) else content)
    return str(path)


def load(tmp_path, content) -> str:
    call_command("load_trust_list", write(tmp_path, content), stdout=(out := _Out()))
    return out.text


class _Out:
    def __init__(self):
        self.text = ""

    def write(self, text):
        self.text += text

    def flush(self):
        pass


def refusal(tmp_path, content) -> str:
    with pytest.raises(CommandError) as caught:
        load(tmp_path, content)
    assert not TrustList.objects.exists() or TrustList.objects.count() == 1
    return str(caught.value)


def test_a_signed_list_is_loaded(db, tmp_path, governance, peer_b):
    text = load(tmp_path, governance.signed([own_entry(), peer_b.entry()]))
    assert "2 nodes, 4 keys" in text
    b = PeerNode.objects.get(node_id=NODE_B)
    assert b.jurisdictions == ["CA"] and b.keys.count() == 2
    assert set(PeerKey.objects.filter(node=b).values_list("use", flat=True)) == {"sig", "enc"}


def test_an_unsigned_list_is_refused(db, tmp_path, governance, peer_b):
    document = governance.document([own_entry(), peer_b.entry()])
    assert "not signed" in refusal(tmp_path, document)
    assert not PeerNode.objects.exists()


def test_a_list_signed_by_an_unknown_key_is_refused(db, tmp_path, governance, peer_b):
    impostor = Governance(key=OKPKey.generate_key("Ed25519"), kid="impostor")
    message = refusal(tmp_path, impostor.signed([own_entry(), peer_b.entry()]))
    assert "does not trust" in message and "impostor" in message
    assert not PeerNode.objects.exists()


def test_a_list_signed_with_a_known_kid_by_another_key_is_refused(db, tmp_path, governance, peer_b):
    impostor = Governance(key=OKPKey.generate_key("Ed25519"), kid=governance.kid)
    assert "does not match" in refusal(tmp_path, impostor.signed([peer_b.entry()]))


def test_an_altered_list_is_refused(db, tmp_path, governance, peer_b):
    signed = governance.signed([own_entry(), peer_b.entry()])
    other = governance.signed([own_entry()])
    signed["payload"] = other["payload"]  # someone swapped the content
    assert "does not match" in refusal(tmp_path, signed)


def test_an_expired_list_is_refused(db, tmp_path, governance, peer_b):
    message = refusal(tmp_path, governance.signed([peer_b.entry()], expires_in_days=-1))
    assert "expired" in message


def test_an_older_list_cannot_replace_a_newer_one(db, tmp_path, governance, peer_b):
    old = governance.signed([own_entry(), peer_b.entry()])
    load(tmp_path, governance.signed([own_entry()]))
    assert "not newer" in refusal(tmp_path, old)
    assert not PeerNode.objects.filter(node_id=NODE_B).exists()  # the stale list brings no one back
    assert TrustList.objects.get().sequence == 2


def test_without_anchors_nothing_is_loaded(db, tmp_path, governance, peer_b, settings):
    settings.EXCHANGE_TRUST_ANCHORS = ""
    assert "JOINEDUP_EXCHANGE_TRUST_ANCHORS" in refusal(tmp_path, governance.signed([]))


def test_a_file_that_is_not_json_is_refused(db, tmp_path, governance):
    assert "not JSON" in refusal(tmp_path, "{not json")


def test_refusals_are_in_french_too(db, tmp_path, governance, peer_b):
    with translation.override("fr"):
        message = refusal(tmp_path, governance.document([peer_b.entry()]))
    assert message == "La liste de confiance n’est pas signée."


def test_the_own_entry_carries_no_private_key(db, governance):
    entry = own_entry()
    assert entry["id"] == NODE_A
    assert all("d" not in key for key in entry["keys"])


def test_the_list_says_which_node_hosts_an_agency(db, tmp_path, governance, peer_b, settings):
    """A node naming an agency hosts it; else the node serving the nearest of its
    jurisdictions; this node's own are local; a deployment alone hosts everything."""
    peer_b.jurisdictions = ["CA"]
    load(tmp_path, governance.signed([own_entry(), {**peer_b.entry(), "agencies": ["cmhc"]}]))
    assert PeerNode.objects.get(node_id=NODE_B).hosted_agencies == ["cmhc"]
    assert sending.node_for_agency("esdc", ["CA"]).node_id == NODE_B
    assert sending.node_for_agency("cmhc", ["CA", "CA-ON"]).node_id == NODE_B
    # Ontario's (this node) agencies and its cities' stay here
    assert sending.node_for_agency("serviceontario", ["CA", "CA-ON"]) is None
    assert sending.node_for_agency("toronto", ["CA", "CA-ON", "CA-ON-TOR"]) is None
    # nobody serves Alberta here: the nearest served is CA
    assert sending.node_for_agency("alberta-health", ["CA", "CA-AB"]).node_id == NODE_B
    settings.EXCHANGE_NODE_ID = ""
    assert sending.node_for_agency("esdc", ["CA"]) is None


def test_agencies_that_are_not_a_list_of_keys_are_refused(db, tmp_path, governance, peer_b):
    listed = governance.signed([own_entry(), {**peer_b.entry(), "agencies": "esdc"}])
    assert "agencies of CA/GOV/CA/joinedup are not a list of keys" in refusal(tmp_path, listed)
    assert not PeerNode.objects.exists()
