"""What a bundle's acceptance over the API costs the database: a bounded number of
statements from authentication to the answer, the token read once (not once by the rate
limiter and again to authenticate), the person's address read once (not by screening,
preview, prefill and the data gate each), and the answer made from the rows just written
(not read back), the same answer a later read gives."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from .test_api import client_for, post

pytestmark = pytest.mark.django_db

#: Upper bound, everything from authentication to the answer (the test's transaction wraps
#: it, so no BEGIN/COMMIT): the token, the level of assurance, the staff memberships, the
#: bundle, the idempotency key, the person and their address, the services, versions and
#: offerings for the screening, the prefill's contacts, the data categories, the province
#: two legs name, the routing of all legs, the savepoint, the submission, the consents
#: (records, recipients, controllers, events), the legs, the events, the release. It was 31.
MAX_ACCEPT = 23


def _tables(captured, table: str) -> int:
    return sum(
        1
        for q in captured
        if q["sql"].lstrip().startswith("SELECT") and f'FROM "{table}"' in q["sql"]
    )


def test_an_acceptance_costs_a_bounded_number_of_statements(world):
    client = client_for(world.amara)
    assert post(client, idempotency="warm-up").status_code == 201  # per-process caches
    with CaptureQueriesContext(connection) as accepted:
        answer = post(client, idempotency="counted")
    assert answer.status_code == 201, answer.content
    captured = accepted.captured_queries
    assert len(captured) <= MAX_ACCEPT, "\n".join(q["sql"][:120] for q in captured)
    assert _tables(captured, "identity_personaltoken") == 1, "the token is read once"
    assert _tables(captured, "identity_address") == 1, "the address is read once"
    assert _tables(captured, "sharing_datacategory") == 1, "the categories are read once"
    # Two legs name their province: read once, not once per leg.
    assert _tables(captured, "federation_jurisdiction") == 1, "each place is read once"
    assert _tables(captured, "bundles_bundleleg") == 0, "the answer is not read back"
    # The same answer as reading the submission afterwards.
    made = answer.json()
    again = client.get(f"/api/v1/submissions/{made['id']}")
    assert again.status_code == 200
    assert again.json() == made
    assert {leg["status"] for leg in made["legs"]} == {"received"}
    assert {leg["jurisdiction"] for leg in made["legs"]} == {"CA", "CA-ON"}


def test_a_repeated_acceptance_answers_with_the_first(world):
    client = client_for(world.amara)
    first = post(client, idempotency="twice")
    second = post(client, idempotency="twice")
    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json() == first.json()
