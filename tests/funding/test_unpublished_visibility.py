"""Who sees an unpublished allocation on the explorer page: the funder's analysts, as in the
API and the provider comparison (`funding.policy.visible`, one rule); an analyst of another
agency and the public see only what is published."""

from __future__ import annotations

import datetime

import pytest
from django.test import Client

from joinedup.funding import expenditures, flows
from joinedup.funding.models import Allocation

from .conftest import staff_client

pytestmark = pytest.mark.django_db


def _spend(allocation, amount):
    expenditures.report_expenditure(
        allocation,
        period=datetime.date(2025, 4, 1),
        category="staff",
        phase="executed",
        amount=amount,
        ftes="0",
        user_id=None,
        agency=allocation.recipient.key,
        reason="test",
    )


@pytest.fixture
def drafted(world):
    """ESDC's housing money (50.00) is a draft, and Ontario has spent 7.00 of it; Ontario
    spent 3.00 of the published federal jobs money."""
    _spend(world.housing_money, "7.00")
    _spend(world.federal, "3.00")
    draft = Allocation.objects.get(key="fed-housing")
    draft.published = False
    flows.save_allocation(draft, user_id=None, agency="esdc", reason="a draft")
    return world


def _explorer(client) -> str:
    page = client.get("/en/funding/", {"year": 2025})
    assert page.status_code == 200
    return page.content.decode()


def test_the_funders_analyst_sees_its_unpublished_allocation_on_the_page(drafted):
    analyst, _user = staff_client(drafted.esdc, "analyst")
    text = _explorer(analyst)
    assert "Housing" in text  # the program, the flow and the spending line
    assert "150.00 CAD" in text  # 100.00 of jobs entering + 50.00 of housing
    assert "10.00 CAD" in text  # spent: 3.00 published + 7.00 of its own draft
    api = analyst.get("/api/v1/funding/allocations").json()
    assert "fed-housing" in {row["key"] for row in api["items"]}


def test_an_analyst_of_another_agency_does_not_see_it(drafted):
    other, _user = staff_client(drafted.toronto, "analyst")
    text = _explorer(other)
    assert "Housing" not in text and "fed-housing" not in text
    assert "150.00 CAD" not in text and "100.00 CAD" in text
    assert "10.00 CAD" not in text and "3.00 CAD" in text  # spending of published money only
    # The page follows the API's rule.
    api = other.get("/api/v1/funding/allocations").json()
    assert "fed-housing" not in {row["key"] for row in api["items"]}
    totals = other.get("/api/v1/funding/totals", {"fiscal_year": 2025}).json()
    assert totals["allocated"] == "100.00"


def test_published_allocations_are_seen_by_everyone(drafted):
    for client in (
        Client(),
        staff_client(drafted.toronto, "analyst")[0],
        staff_client(drafted.esdc, "supervisor")[0],
    ):
        text = _explorer(client)
        assert "Jobs" in text and "Helping Hands" in text


def test_the_analysts_page_does_not_grow_in_queries(drafted):
    """The analyst's own unpublished spending is one grouped query, however many lines."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from joinedup.federation.models import Program

    from .conftest import allocate

    analyst, _user = staff_client(drafted.esdc, "analyst")

    def count():
        with CaptureQueriesContext(connection) as queries:
            assert analyst.get("/en/funding/", {"year": 2025}).status_code == 200
        return len(queries)

    count()  # the first request warms the caches
    small = count()
    for index in range(4):
        program = Program.objects.create(
            key=f"draft-{index}", agency=drafted.esdc, names={"en": f"Draft {index}"}
        )
        more = allocate(f"draft-{index}", drafted.esdc, drafted.ontario, program, "5.00")
        more.published = False
        flows.save_allocation(more, user_id=None, agency="esdc", reason="a draft")
        _spend(more, "1.00")
    assert count() == small
    assert "Draft 3" in analyst.get("/en/funding/", {"year": 2025}).content.decode()
