"""Fixtures for the exchange: a governance authority, this node (A) and a peer (B) whose
private keys the test holds, so that it can write messages as B would."""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass, field

import pytest
from django.utils import timezone
from joserfc.jwk import OKPKey

from joinedup.exchange import keys, trustlist
from joinedup.exchange.models import PeerNode

NODE_A = "CA/GOV/ON/joinedup"
NODE_B = "CA/GOV/CA/joinedup"


@dataclass
class Peer:
    node_id: str
    base_url: str
    sig: OKPKey = field(default_factory=lambda: OKPKey.generate_key("Ed25519"))
    enc: OKPKey = field(default_factory=lambda: OKPKey.generate_key("X25519"))
    jurisdictions: list[str] = field(default_factory=lambda: ["CA"])

    @property
    def signer(self) -> tuple[str, OKPKey]:
        return self.sig.thumbprint(), self.sig

    def entry(self, **key_dates) -> dict:
        return {
            "id": self.node_id,
            "names": {"en": self.node_id, "fr": self.node_id},
            "base_url": self.base_url,
            "jurisdictions": self.jurisdictions,
            "keys": [
                {
                    **self.sig.as_dict(private=False),
                    "kid": self.sig.thumbprint(),
                    "use": "sig",
                    **key_dates,
                },
                {**self.enc.as_dict(private=False), "kid": self.enc.thumbprint(), "use": "enc"},
            ],
        }


@dataclass
class Governance:
    key: OKPKey = field(default_factory=lambda: OKPKey.generate_key("Ed25519"))
    kid: str = "governance-2026"
    sequence: int = 0

    def jwks(self) -> str:
        return json.dumps({"keys": [{**self.key.as_dict(private=False), "kid": self.kid}]})

    def document(self, nodes: list[dict], *, expires_in_days: float = 30) -> dict:
        self.sequence += 1
        now = timezone.now()
        return {
            "issuer": "CA/GOV/governance",
            "sequence": self.sequence,
            "issued_at": now.isoformat(),
            "expires_at": (now + datetime.timedelta(days=expires_in_days)).isoformat(),
            "nodes": nodes,
        }

    def signed(self, nodes: list[dict], **kwargs) -> dict:
        return trustlist.sign(self.document(nodes, **kwargs), self.key, self.kid)


def own_entry(base_url: str = "http://127.0.0.1:9") -> dict:
    """This node's entry in the trust list, with its public keys."""
    return {
        "id": NODE_A,
        "names": {"en": "Ontario", "fr": "Ontario"},
        "base_url": base_url,
        "jurisdictions": ["CA-ON"],
        "keys": keys.public_jwks()["keys"],
    }


@pytest.fixture(autouse=True)
def fresh_keys():
    keys.clear_cache()
    yield
    keys.clear_cache()


@pytest.fixture
def governance(settings) -> Governance:
    authority = Governance()
    settings.EXCHANGE_TRUST_ANCHORS = authority.jwks()
    settings.EXCHANGE_NODE_ID = NODE_A
    return authority


@pytest.fixture
def peer_b() -> Peer:
    return Peer(NODE_B, "http://127.0.0.1:9")


@pytest.fixture
def trusted(db, governance, peer_b):
    """A trust list naming this node and B, loaded. Returns this node's PeerNode."""
    trustlist.load(governance.signed([own_entry(), peer_b.entry()]))
    return PeerNode.objects.get(node_id=NODE_A)
