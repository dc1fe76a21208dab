"""Transactions recorded before places were (performance migration 0006) are given the place
where the person lived, from their application, by `joinedup place-transactions`; the
rollups and the places' figures are rebuilt from them."""

from __future__ import annotations

import io
import uuid

import pytest
from django.core.management import call_command
from django.utils import timezone

from joinedup.funding import places
from joinedup.performance import rollups
from joinedup.performance.models import GroupRollup, Transaction
from joinedup.sharing import dispatch
from tests.delivery.conftest import (  # noqa: F401 (fixtures)
    applicant,
    birth_registration,
    delivery_settings,
    english,
    federation,
    make_applicant,
)
from tests.performance.test_transactions import submit

pytestmark = pytest.mark.django_db


def place_rows() -> set[tuple]:
    return set(
        GroupRollup.objects.filter(dimension__in=["place", "postal_area"]).values_list(
            "dimension", "value", "started"
        )
    )


def test_past_transactions_are_placed_from_their_applications_and_rollups_rebuilt(
    birth_registration,  # noqa: F811 (the fixture imported above)
    applicant,  # noqa: F811
):
    from joinedup.federation.models import Jurisdiction

    toronto = Jurisdiction.objects.get(code="CA-ON-TOR")
    applicant.person.addresses.update(postal_code="m1b 2k3", jurisdiction=toronto)
    application = submit(applicant, "r1")
    dispatch.dispatch_pending()
    places.load_places([])
    txn = Transaction.objects.get(source=f"application:{application.pk}")
    assert (txn.place, txn.postal_area) == ("CA-ON-TOR", "M1B")
    placed_rows = place_rows()
    # As recorded before performance migration 0006: no place, and rollups without one.
    Transaction.objects.update(place="", postal_area="")
    now = timezone.now()
    orphan = Transaction.objects.create(
        source=f"application:{uuid.uuid4()}",  # its application is gone
        service_key="ca.birth-registration",
        jurisdiction="CA-ON",
        agency="serviceontario",
        channel="online",
        started_at=now,
        start_day=now.date(),
    )
    history = Transaction.objects.create(
        source="history:1",  # the synthetic history places its own
        service_key="ca.birth-registration",
        jurisdiction="CA-ON",
        agency="serviceontario",
        channel="online",
        started_at=now,
        start_day=now.date(),
    )
    rollups.recompute_rollups()
    assert place_rows() == {("place", "", 3), ("postal_area", "", 3)}

    out = io.StringIO()
    call_command("place_transactions", stdout=out)
    assert "1 transactions placed, 1 left without a place" in out.getvalue()
    txn.refresh_from_db()
    assert (txn.place, txn.postal_area) == ("CA-ON-TOR", "M1B")
    orphan.refresh_from_db()
    history.refresh_from_db()
    assert orphan.place == history.place == ""
    # The rollups carry the place again, as they did when it was recorded.
    assert place_rows() == placed_rows | {("place", "", 2), ("postal_area", "", 2)}
    # Twice changes nothing.
    out = io.StringIO()
    call_command("place_transactions", stdout=out)
    assert "0 transactions placed, 1 left without a place" in out.getvalue()
