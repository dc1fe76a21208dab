"""The Canadian demo's funding package loads onto the demo federation and reads sensibly."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client

from joinedup.demo.loading import federation_folder, load_demo_funding
from joinedup.federation.loader import load_federation
from joinedup.federation.models import Program
from joinedup.funding import explorer, flows
from joinedup.funding.models import Allocation, OutcomePayment
from tests.module_data import loaded_once

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def demo_funding(django_db_setup, django_db_blocker):
    """The Canadian demo federation and its funding, loaded once for the module's tests (the
    load takes most of their time; tests/module_data.py). Returns what loading the funding
    said."""
    with loaded_once(django_db_blocker):
        load_federation([federation_folder("canada")], base=federation_folder("canada").parent)
        yield load_demo_funding()


def test_the_demo_funding_loads_and_traces_federal_money_to_community_organisations(
    demo_funding,
):
    message = demo_funding
    assert "Funding:" in message and "refused" not in message, message
    assert Allocation.objects.values("fiscal_year").distinct().count() == 3
    tree = flows.Tree.load([2025])
    federal = tree.by_pk[Allocation.objects.get(key="esdc-lmda-on-2025").pk]
    chain = [(depth, a.recipient.key) for depth, a in tree.down(federal)]
    assert chain == [(0, "on-mltsd"), (1, "toronto-newcomer-centre")]
    # The community organisation is funded by IRCC directly and by ESDC through Ontario.
    funders = tree.funders_of(Allocation.objects.get(key="ircc-tnwc-2025").recipient_id)
    assert {a.key for a in explorer.Agency.objects.filter(pk__in=funders)} == {"ircc", "esdc"}
    # The pool's payout is shared between its two funders pro rata (2 : 3).
    payout = Allocation.objects.get(key="toronto-fund-mental-health-network-2025")
    shares = sorted(tree.origins(tree.by_pk[payout.pk]).values())
    assert sum(shares) == payout.amount and shares[0] * 3 == shares[1] * 2
    program = Program.objects.get(key="labour-market-development")
    totals = explorer.totals(explorer.Selection(2025, program))
    assert totals.allocated == Decimal("13500000.00") and totals.gross == Decimal("15012000.00")
    assert OutcomePayment.objects.filter(status="computed").count() == 12
    assert load_demo_funding().startswith("Funding: nothing new")
    page = Client().get("/fr/funding/programs/settlement-program/", {"year": 2025})
    assert page.status_code == 200 and "Paiement aux résultats" in page.content.decode()


def test_the_funder_approves_an_outcome_payment_through_the_api(demo_funding):
    from .conftest import staff_client

    listed = Client().get("/api/v1/funding/agreements/tnwc-employment-outcomes-2025/payments")
    first = listed.json()[0]
    assert first["status"] == "computed"
    assert "outcomes × 1500.00 CAD per outcome = " in first["statement"][0]
    recipient, _u = staff_client(
        Allocation.objects.get(key="ircc-tnwc-2025").recipient, "supervisor"
    )
    url = f"/api/v1/funding/payments/{first['id']}/approve"
    assert recipient.post(url).status_code == 403
    funder, _u = staff_client(Allocation.objects.get(key="ircc-tnwc-2025").funder, "supervisor")
    approved = funder.post(url)
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    again = funder.post(url)
    assert again.status_code == 400 and "approved already" in again.json()["detail"]
