"""Scenarios that move money between places: the lines spent in one place give a share to
those spent in another, pro rata and to the cent, with the outcomes expected in each place at
its programs' current cost per outcome; proposed, never applied."""

from __future__ import annotations

from decimal import Decimal

import pytest

from joinedup.funding import scenarios
from joinedup.funding.flows import FundingRefused
from joinedup.funding.models import Allocation, Scenario

from .conftest import allocate, staff_client

pytestmark = pytest.mark.django_db

ONTARIO, TORONTO = "CA/CA-ON", "CA/CA-ON/CA-ON-TOR"


@pytest.fixture
def scenario(world):
    # ESDC's own money in Toronto beside what it gives Ontario: 100.00 (jobs) and 50.00
    # (housing) spent in Ontario, 40.00 (housing) in Toronto.
    allocate("fed-tor", world.esdc, world.toronto, world.housing, "40.00")
    assert Allocation.objects.get(key="fed-jobs").place_path == ONTARIO
    assert Allocation.objects.get(key="fed-tor").place_path == TORONTO
    return scenarios.copy_allocations(world.esdc, 2025, {"en": "Toronto"}, user_id=None)


def test_a_share_moves_between_two_places_pro_rata(world, scenario):
    scenarios.move_between_places(scenario, ONTARIO, TORONTO, Decimal("0.1"))
    amounts = {line.allocation.key: line.amount for line in scenario.lines.all()}
    # 10 % of Ontario's 150.00 is 15.00, taken 10.00 from jobs and 5.00 from housing.
    assert amounts == {
        "fed-jobs": Decimal("90.00"),
        "fed-housing": Decimal("45.00"),
        "fed-tor": Decimal("55.00"),
    }
    costs = {world.jobs.pk: Decimal("2.00"), world.housing.pk: Decimal("5.00")}
    rows = {row.place_path: row for row in scenarios.compare_places(scenario, costs)}
    # Ontario: 100/2 + 50/5 = 60 outcomes now; 90/2 + 45/5 = 54 in the scenario.
    ontario, toronto = rows[ONTARIO], rows[TORONTO]
    assert (ontario.current, ontario.proposed, ontario.change) == (
        Decimal("150.00"),
        Decimal("135.00"),
        Decimal("-15.00"),
    )
    assert (ontario.outcomes_now, ontario.outcomes_then) == (Decimal("60.0"), Decimal("54.0"))
    # Toronto: 40/5 = 8 now; 55/5 = 11 in the scenario.
    assert (toronto.current, toronto.proposed) == (Decimal("40.00"), Decimal("55.00"))
    assert (toronto.outcomes_now, toronto.outcomes_then) == (Decimal("8.0"), Decimal("11.0"))
    # By program the same move shows as jobs giving 10.00 to housing.
    programs = {row.program.key: row for row in scenarios.compare(scenario, costs)}
    assert programs["jobs"].change == Decimal("-10.00")
    assert programs["housing"].change == Decimal("10.00")
    # Nothing was applied to the allocations.
    assert Allocation.objects.get(key="fed-tor").amount == Decimal("40.00")


def test_a_place_move_is_refused_whole_when_wrong(world, scenario):
    for source, target, share, message in [
        (ONTARIO, ONTARIO, Decimal("0.1"), "Choose two different places."),
        (ONTARIO, "CA/CA-QC", Decimal("0.1"), "Both places must have allocations"),
        (ONTARIO, TORONTO, Decimal("1.5"), "Move a share between 0 and 1"),
    ]:
        with pytest.raises(FundingRefused, match=message):
            scenarios.move_between_places(scenario, source, target, share)
    assert sorted(scenario.lines.values_list("amount", flat=True)) == [
        Decimal("40.00"),
        Decimal("50.00"),
        Decimal("100.00"),
    ]
    scenarios.propose(scenario)
    with pytest.raises(FundingRefused, match="A proposed scenario is not changed"):
        scenarios.move_between_places(scenario, ONTARIO, TORONTO, Decimal("0.1"))


@pytest.mark.parametrize("language", ["en", "fr"])
def test_the_analyst_moves_money_between_places_on_the_page(world, scenario, language):
    analyst, _u = staff_client(world.esdc, "analyst")
    url = f"/{language}/funding/scenarios/{scenario.pk}/"
    page = analyst.get(url).content.decode()
    heading = (
        "Move money between places" if language == "en" else "Déplacer de l’argent entre lieux"
    )
    assert heading in page and '<option value="CA-ON-TOR"' in page
    moved = analyst.post(
        url,
        {
            "action": "move_place",
            "source_place": "CA-ON",
            "target_place": "CA-ON-TOR",
            "percent": "10",
        },
    )
    assert moved.status_code == 302
    text = analyst.get(url).content.decode()
    money = "55.00 CAD" if language == "en" else "55,00 CAD"
    assert money in text and ("-15.00 CAD" in text or "-15,00 CAD" in text)
    same = analyst.post(
        url,
        {"action": "move_place", "source_place": "CA-ON", "target_place": "CA-ON", "percent": "10"},
    )
    message = (
        "Choose two different places." if language == "en" else "Choisissez deux lieux différents."
    )
    assert same.status_code == 400 and message in same.content.decode()
    unknown = analyst.post(
        url,
        {"action": "move_place", "source_place": "XX", "target_place": "CA-ON", "percent": "10"},
    )
    assert unknown.status_code == 400
    analyst.post(url, {"action": "propose"})
    scenario.refresh_from_db()
    assert scenario.status == Scenario.Status.PROPOSED
    assert Allocation.objects.get(key="fed-tor").amount == Decimal("40.00")
