"""For the three-node test's base database (then copied to each node): what `make
demo-federation` prepares on a node — the demo catalogue, the trust list, the federal
agencies' grants to the provincial nodes — and the bundles tests' family, with an API token
for Amara (Toronto) and Jordan (Montréal, proven in person too). Run as
`python -m tests.exchange.three_nodes_prepare TRUST_LIST` with the base's settings; prints
the tokens as JSON."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import django


def main(trust_list: Path) -> None:
    django.setup()
    from joinedup.demo import federation
    from joinedup.federation.models import Office
    from joinedup.identity import assurance, tokens

    from ..bundles.conftest import build_family

    federation.load_catalogue()
    assert "3 nodes" in federation.load_trust_list(trust_list)
    provinces = [node.node_id for node in federation.NODES if node.name != federation.FEDERAL]
    assert federation.grant_services("CA", provinces) > 0
    family = build_family()
    assurance.record_proofing(
        family.jordan.person,
        level=3,
        method="in_person",
        verified_by=family.clerk,
        office=Office.objects.get(key="sc-toronto-downtown"),
    )
    made = {
        name: tokens.create_personal_token(user, scopes=["read", "write"])[1]
        for name, user in (("ontario", family.amara), ("quebec", family.jordan))
    }
    print(json.dumps(made))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
