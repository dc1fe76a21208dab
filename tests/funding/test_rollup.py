"""The explorer's rollup: kept on every write, equal to the lines, rebuilt after bulk loads.

Hand-computed: the city passes 40.00 of its 60.00 to Helping Hands, so it may execute 20.00
itself; Helping Hands executes against its own 40.00. The place totals count each transfer
once (the city's money passed on is not counted again as spending: only executed lines are).
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from joinedup.federation.models import Agency, Jurisdiction
from joinedup.funding import expenditures, explorer, flows, rollup
from joinedup.funding.models import Expenditure, SpendingRollup

APRIL = datetime.date(2025, 4, 1)
MAY = datetime.date(2025, 5, 1)


def report(allocation, amount, *, month=APRIL, phase="executed", category="staff", ftes="0"):
    return expenditures.report_expenditure(
        allocation,
        period=month,
        category=category,
        phase=phase,
        amount=amount,
        ftes=ftes,
        user_id=None,
        agency=allocation.recipient.key,
        reason="test",
    )


def phases(selection: explorer.Selection) -> dict[str, Decimal]:
    return {k: v for k, v in explorer.totals(selection).phases.items() if v}


def test_reporting_keeps_the_rollup_equal_to_the_lines(world):
    report(world.municipal, "12.34", ftes="1.50")
    report(world.municipal, "5.00", month=MAY)
    report(world.municipal, "30.00", phase="approved")
    report(world.municipal, "0.66", category="operations")
    report(world.provincial, "20.00")  # 60.00 less 40.00 passed on
    # Replacing a line changes the sum by the difference, not by the whole line again.
    report(world.municipal, "10.00", month=MAY)
    assert rollup.differences() == []
    ontario = Jurisdiction.objects.get(code="CA-ON")
    toronto = Jurisdiction.objects.get(code="CA-ON-TOR")
    # 12.34 + 10.00 + 0.66 by Helping Hands (in Toronto) + 20.00 by the city (in Toronto).
    assert phases(explorer.Selection(2025, place=toronto)) == {
        "executed": Decimal("43.00"),
        "approved": Decimal("30.00"),
    }
    assert phases(explorer.Selection(2025, place=ontario))["executed"] == Decimal("43.00")
    assert phases(explorer.Selection(2025, program=world.housing)) == {}
    totals = explorer.totals(explorer.Selection(2025, program=world.jobs, place=toronto))
    assert totals.executed == Decimal("43.00")
    assert totals.ftes == Decimal("1.50")
    # Allocated into Toronto: the provincial 60.00 enters; the city's 40.00 is a transfer.
    assert totals.allocated == Decimal("60.00")
    assert totals.gross == Decimal("100.00")
    row = SpendingRollup.objects.get(
        program=world.jobs, place_path=toronto.path, phase="executed", published=True
    )
    assert (row.cents, row.lines) == (4300, 4)


def test_a_refused_line_leaves_the_rollup_as_it_was(world):
    report(world.municipal, "40.00")
    with pytest.raises(flows.FundingRefused, match="Over-spent"):
        report(world.municipal, "0.01", month=MAY)
    assert SpendingRollup.objects.get(phase="executed").cents == 4000
    assert rollup.differences() == []


def test_moving_or_unpublishing_an_allocation_moves_its_spending(world):
    report(world.municipal, "25.00")
    toronto = Jurisdiction.objects.get(code="CA-ON-TOR")
    ottawa = Jurisdiction.objects.exclude(pk=toronto.pk).filter(level="local").first()
    world.municipal.place = ottawa
    flows.save_allocation(world.municipal, user_id=None, agency="toronto", reason="moved")
    assert phases(explorer.Selection(2025, place=toronto)) == {}
    assert phases(explorer.Selection(2025, place=ottawa)) == {"executed": Decimal("25.00")}
    world.municipal.published = False
    flows.save_allocation(world.municipal, user_id=None, agency="toronto", reason="draft")
    assert phases(explorer.Selection(2025, place=ottawa)) == {}
    staff_view = explorer.Selection(2025, place=ottawa, published_only=False)
    assert phases(staff_view) == {"executed": Decimal("25.00")}
    assert rollup.differences() == []


def test_a_recipient_moving_to_another_place_moves_its_spending(world):
    report(world.municipal, "25.00")
    ottawa = Jurisdiction.objects.filter(level="local").exclude(code="CA-ON-TOR").first()
    hands = Agency.objects.get(pk=world.hands.pk)
    hands.jurisdiction = ottawa
    hands.save()
    assert rollup.differences() == []
    assert phases(explorer.Selection(2025, place=ottawa)) == {"executed": Decimal("25.00")}


def test_the_command_rebuilds_after_a_bulk_load_and_checks(world):
    Expenditure.objects.bulk_create(
        Expenditure(
            allocation=world.federal,
            period=APRIL.replace(month=m),
            category="staff",
            phase="proposed",
            amount=Decimal("1.01"),
        )
        for m in range(4, 10)
    )
    out = StringIO()
    with pytest.raises(SystemExit, match="1 rollup rows differ"):
        call_command("rebuild_funding_rollup", "--check", stdout=out)
    call_command("rebuild_funding_rollup", stdout=out)
    assert "1 rollup rows rebuilt" in out.getvalue()
    call_command("rebuild_funding_rollup", "--check", stdout=out)
    assert "The rollup equals the lines." in out.getvalue()
    canada = Jurisdiction.objects.get(code="CA")
    assert phases(explorer.Selection(2025, place=canada)) == {"proposed": Decimal("6.06")}


def test_an_allocation_keeps_where_its_money_is_spent(world):
    toronto = Jurisdiction.objects.get(code="CA-ON-TOR")
    # No place of its own: where the recipient is (Helping Hands, in Toronto).
    assert world.municipal.place_path == toronto.path
    assert world.federal.place_path == Jurisdiction.objects.get(code="CA-ON").path
    ottawa = Jurisdiction.objects.filter(level="local").exclude(pk=toronto.pk).first()
    world.municipal.place = ottawa
    flows.save_allocation(world.municipal, user_id=None, agency="toronto", reason="moved")
    world.municipal.refresh_from_db()
    assert world.municipal.place_path == ottawa.path
    # A place renamed in the registry: the allocations under it follow.
    ottawa.code = ottawa.code + "X"
    ottawa.save()
    world.municipal.refresh_from_db()
    assert world.municipal.place_path == Jurisdiction.objects.get(pk=ottawa.pk).path
    assert world.municipal.place_path.endswith("X")


def test_a_bulk_loaded_allocation_gets_its_place_from_the_rebuild(world):
    from joinedup.funding.models import Allocation

    Allocation.objects.filter(pk=world.municipal.pk).update(place_path="")
    toronto = Jurisdiction.objects.get(code="CA-ON-TOR")
    totals = explorer.totals(explorer.Selection(2025, place=toronto))
    assert totals.allocations == 1  # the city's own allocation only: the other has no place
    call_command("rebuild_funding_rollup", stdout=StringIO())
    assert Allocation.objects.get(pk=world.municipal.pk).place_path == toronto.path
    assert explorer.totals(explorer.Selection(2025, place=toronto)).allocations == 2


def test_a_withdrawn_line_leaves_the_totals_and_is_recorded(world):
    from joinedup.funding.models import ChangeRecord

    report(world.municipal, "12.34", ftes="1.50")
    report(world.municipal, "5.00", month=MAY)
    toronto = Jurisdiction.objects.get(code="CA-ON-TOR")
    line = expenditures.withdraw_expenditure(
        world.municipal,
        period=APRIL,
        category="staff",
        phase="executed",
        user_id=None,
        agency="helping-hands",
        reason="entered twice",
    )
    assert line.amount == Decimal("12.34")
    assert rollup.differences() == []
    totals = explorer.totals(explorer.Selection(2025, place=toronto))
    assert (totals.executed, totals.ftes) == (Decimal("5.00"), Decimal("0.00"))
    change = ChangeRecord.objects.get(action="withdraw")
    assert change.record_key == "tor-jobs/2025-04/staff/executed"
    assert (change.reason, change.before, change.after) == (
        "entered twice",
        {"amount": "12.34", "ftes": "1.50"},
        None,
    )
    # Twice is refused, and so is a withdrawal without a reason: nothing changes.
    with pytest.raises(expenditures.LineMissing):
        expenditures.withdraw_expenditure(
            world.municipal,
            period=APRIL,
            category="staff",
            phase="executed",
            user_id=None,
            agency="helping-hands",
            reason="again",
        )
    with pytest.raises(ValueError, match="Say why"):
        expenditures.withdraw_expenditure(
            world.municipal,
            period=MAY,
            category="staff",
            phase="executed",
            user_id=None,
            agency="helping-hands",
            reason=" ",
        )
    assert Expenditure.objects.count() == 1
    assert ChangeRecord.objects.filter(action="withdraw").count() == 1
    assert rollup.differences() == []
