"""Money across entities: over-allocation, ring-fencing, transfer netting, tracing both
ways, expenditures inside the fiscal year, Decimal reconciled to the cent."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from joinedup.federation.models import Jurisdiction
from joinedup.funding import expenditures, explorer, fiscal, flows, rollup
from joinedup.funding.models import Allocation, ChangeRecord, Expenditure, Pool, sum_money

from .conftest import allocate

pytestmark = pytest.mark.django_db


def test_transfers_count_once_in_totals(world):
    chain = [world.federal, world.provincial, world.municipal]
    # Gross counts the same federal dollars at each level: 100 + 60 + 40.
    assert flows.gross_total(chain) == Decimal("200.00")
    # Net counts only what enters from outside the set: the federal appropriation.
    assert flows.net_total(chain) == Decimal("100.00")
    # Seen from the city and below, the provincial transfer is the inflow.
    assert flows.net_total([world.municipal]) == Decimal("40.00")
    everything = list(Allocation.objects.all())
    assert flows.net_total(everything) == Decimal("150.00")  # jobs 100 + housing 50


def test_over_allocation_is_refused_whole_with_the_amount_left(world):
    with pytest.raises(
        flows.FundingRefused, match=r"has 40\.00 CAD left to pass on, not 40\.01 CAD"
    ):
        allocate("on-jobs-2", world.ontario, world.hands, world.jobs, "40.01", source=world.federal)
    assert not Allocation.objects.filter(key="on-jobs-2").exists()
    allocate("on-jobs-2", world.ontario, world.hands, world.jobs, "40.00", source=world.federal)
    # Lowering the source below what was passed on is refused too.
    world.federal.amount = Decimal("99.99")
    with pytest.raises(flows.FundingRefused, match="cannot drop below"):
        flows.save_allocation(world.federal, user_id=None, agency="esdc", reason="cut")


def test_ring_fenced_money_stays_in_its_program_and_only_the_recipient_passes_it_on(world):
    with pytest.raises(flows.FundingRefused, match="ring-fenced for Jobs"):
        allocate("x", world.ontario, world.toronto, world.housing, "1.00", source=world.federal)
    with pytest.raises(flows.FundingRefused, match="did not receive"):
        allocate("y", world.toronto, world.hands, world.jobs, "1.00", source=world.federal)
    with pytest.raises(flows.FundingRefused, match="fiscal year 2025 cannot be passed on in 2026"):
        allocate(
            "z", world.ontario, world.toronto, world.jobs, "1.00", source=world.federal, year=2026
        )
    with pytest.raises(flows.FundingRefused, match="budgets in CAD, not AUD"):
        allocate("w", world.esdc, world.ontario, world.jobs, "1.00", currency="AUD")


def test_every_change_is_recorded_with_who_and_why(world):
    world.housing_money.amount = Decimal("55.00")
    flows.save_allocation(world.housing_money, user_id=None, agency="esdc", reason="budget 2025")
    change = ChangeRecord.objects.filter(record_key="fed-housing").first()
    assert change.action == "change" and change.reason == "budget 2025"
    assert change.before["amount"] == "50.00" and change.after["amount"] == "55.00"
    world.housing_money.amount = Decimal("56.00")
    with pytest.raises(ValueError, match="Say why"):
        flows.save_allocation(world.housing_money, user_id=None, agency="esdc", reason=" ")
    world.housing_money.refresh_from_db()
    assert world.housing_money.amount == Decimal("55.00")


def test_the_chain_reads_down_from_the_appropriation_and_up_from_the_deliverer(world):
    tree = flows.Tree.load([2025])
    down = tree.down(tree.by_pk[world.federal.pk])
    assert [(depth, a.key) for depth, a in down] == [
        (0, "fed-jobs"),
        (1, "on-jobs"),
        (2, "tor-jobs"),
    ]
    assert tree.funders_of(world.hands.pk) == {world.esdc.pk: Decimal("40.00")}


def test_a_pool_shares_its_payouts_among_its_funders_pro_rata(world):
    pool = Pool.objects.create(key="toronto-fund", manager=world.toronto, names={"en": "Fund"})
    allocate(
        "into-1",
        world.esdc,
        world.toronto,
        world.jobs,
        "30.00",
        into_pool=pool,
        condition=Allocation.Condition.POOLED,
    )
    allocate(
        "into-2",
        world.ontario,
        world.toronto,
        world.jobs,
        "10.00",
        source=world.federal,
        into_pool=pool,
        condition=Allocation.Condition.POOLED,
    )
    # The Ontario contribution is federal money passed on: the origin is the federal funder.
    allocate("out-1", world.toronto, world.hands, world.jobs, "10.00", from_pool=pool)
    with pytest.raises(flows.FundingRefused, match=r"holds 30\.00 CAD"):
        allocate("out-2", world.toronto, world.hands, world.jobs, "30.01", from_pool=pool)
    tree = flows.Tree.load([2025])
    shares = tree.funders_of(world.hands.pk)
    assert sum(shares.values()) == Decimal("50.00")  # 40 from the chain + 10 from the pool
    assert shares == {world.esdc.pk: Decimal("50.00")}


def test_spending_from_a_pool_is_checked_against_its_payouts(world):
    """The pool holds 30.00 + 10.00 = 40.00; it pays 25.00 out to Helping Hands, so its
    manager may spend 15.00 directly, whichever contribution the lines are reported against;
    and what was spent is no longer there to pay out."""
    pool = Pool.objects.create(key="toronto-fund", manager=world.toronto, names={"en": "Fund"})
    first = allocate(
        "into-1", world.esdc, world.toronto, world.jobs, "30.00",
        into_pool=pool, condition=Allocation.Condition.POOLED,
    )  # fmt: skip
    second = allocate(
        "into-2", world.ontario, world.toronto, world.jobs, "10.00", source=world.federal,
        into_pool=pool, condition=Allocation.Condition.POOLED,
    )  # fmt: skip
    allocate("out-1", world.toronto, world.hands, world.jobs, "25.00", from_pool=pool)
    line = {"category": "operations", "phase": "executed", "user_id": None, "agency": "toronto"}
    april, may = datetime.date(2025, 4, 1), datetime.date(2025, 5, 1)
    expenditures.report_expenditure(first, period=april, amount="10.00", reason="r", **line)
    with pytest.raises(flows.FundingRefused, match=r"after its payouts Fund holds 5\.00 CAD"):
        expenditures.report_expenditure(second, period=april, amount="5.01", reason="r", **line)
    assert not Expenditure.objects.filter(allocation=second).exists()
    expenditures.report_expenditure(second, period=april, amount="5.00", reason="r", **line)
    # Replacing a line counts it once: 10.00 becomes 9.00, so 1.00 more is free.
    expenditures.report_expenditure(first, period=april, amount="9.00", reason="r", **line)
    expenditures.report_expenditure(first, period=may, amount="1.00", reason="r", **line)
    with pytest.raises(flows.FundingRefused, match=r"holds 0\.00 CAD"):
        allocate("out-2", world.toronto, world.hands, world.jobs, "0.01", from_pool=pool)
    assert flows.pool_balance(pool.pk, 2025) == Decimal("0.00")


def test_expenditures_stay_in_the_fiscal_year_and_within_the_allocation(world):
    report = {"category": "staff", "user_id": None, "agency": "helping-hands", "reason": "monthly"}
    # Canada's fiscal year 2025 runs from April 2025 to March 2026.
    expenditures.report_expenditure(
        world.municipal,
        period=datetime.date(2026, 3, 1),
        phase="executed",
        amount="15.00",
        **report,
    )
    with pytest.raises(
        flows.FundingRefused,
        match=r"2026-04 is outside fiscal year 2025–26 \(2025-04-01 to 2026-03-31\)",
    ):
        expenditures.report_expenditure(
            world.municipal,
            period=datetime.date(2026, 4, 1),
            phase="executed",
            amount="1.00",
            **report,
        )
    with pytest.raises(flows.FundingRefused, match="Over-spent"):
        expenditures.report_expenditure(
            world.municipal,
            period=datetime.date(2025, 5, 1),
            phase="executed",
            amount="25.01",
            **report,
        )
    with pytest.raises(flows.FundingRefused, match="cannot be negative"):
        expenditures.report_expenditure(
            world.municipal,
            period=datetime.date(2025, 5, 1),
            phase="executed",
            amount="-1",
            **report,
        )
    # Plans are not spending: a proposed line larger than what is left is accepted.
    expenditures.report_expenditure(
        world.municipal,
        period=datetime.date(2025, 5, 1),
        phase="proposed",
        amount="90.00",
        **report,
    )
    # Reporting the same line again replaces it.
    expenditures.report_expenditure(
        world.municipal,
        period=datetime.date(2026, 3, 1),
        phase="executed",
        amount="25.00",
        **report,
    )
    assert flows.executed_total(world.municipal.pk) == Decimal("25.00")
    assert Expenditure.objects.count() == 2
    # Spent money cannot be passed on again.
    with pytest.raises(flows.FundingRefused, match=r"has 15\.00 CAD left"):
        allocate("sub", world.hands, world.toronto, world.jobs, "15.01", source=world.municipal)


def test_fiscal_years_of_two_countries(world):
    australia = Jurisdiction.objects.create(
        code="AU",
        level="national",
        names={"en": "Australia"},
        time_zone="Australia/Sydney",
        currency="AUD",
        fiscal_year_first_month=7,
    )
    nsw = Jurisdiction.objects.create(
        code="AU-NSW",
        level="subnational",
        parent=australia,
        names={"en": "New South Wales"},
        time_zone="Australia/Sydney",
    )
    assert nsw.fiscal_terms() == ("AUD", 7)
    assert Jurisdiction.objects.get(code="CA-ON-TOR").fiscal_terms() == ("CAD", 4)
    day = datetime.date(2026, 5, 15)
    assert fiscal.fiscal_year_of(day, 4) == 2026  # Canada: 2026–27 began in April
    assert fiscal.fiscal_year_of(day, 7) == 2025  # Australia: 2025–26 runs to June
    assert fiscal.label(2025, 7) == "2025–26" and fiscal.label(2025, 1) == "2025"
    assert (fiscal.first_day(2025, 7), fiscal.last_day(2025, 7)) == (
        datetime.date(2025, 7, 1),
        datetime.date(2026, 6, 30),
    )
    assert fiscal.months(2025, 4)[0] == datetime.date(2025, 4, 1)
    assert fiscal.months(2025, 4)[-1] == datetime.date(2026, 3, 1)


def test_money_is_decimal_never_float():
    assert fiscal.to_money("12.50") == Decimal("12.50")
    assert fiscal.to_money(3) == Decimal("3.00")
    for bad, message in (
        (0.1, "not floating point"),
        ("1.005", "two decimal places"),
        ("x", "not an amount"),
        ("-2", "negative"),
        ("NaN", "not an amount"),
    ):
        with pytest.raises(fiscal.MoneyError, match=message):
            fiscal.to_money(bad)


@settings(max_examples=300, deadline=None)
@given(
    amount=st.decimals(
        min_value=0, max_value=10**9, places=2, allow_nan=False, allow_infinity=False
    ),
    weights=st.lists(
        st.decimals(min_value=0, max_value=10**7, places=2, allow_nan=False, allow_infinity=False),
        min_size=1,
        max_size=12,
    ),
)
def test_a_split_reconciles_to_the_cent(amount, weights):
    parts = flows.split(amount, weights)
    if sum(weights) == 0:
        assert all(p == 0 for p in parts)
        return
    assert sum(parts) == amount
    assert all(p >= 0 and p == p.quantize(Decimal("0.01")) for p in parts)
    whole = sum(weights)
    # No part is more than a cent away from its exact share.
    assert all(
        abs(p - amount * w / whole) < Decimal("0.01") for p, w in zip(parts, weights, strict=True)
    )


@settings(max_examples=40, deadline=None)
@given(cuts=st.lists(st.integers(min_value=0, max_value=10_000), min_size=1, max_size=6))
@pytest.mark.django_db(transaction=False)
def test_net_total_of_any_chain_is_its_first_appropriation(cuts):
    """A chain of transfers of any amounts nets to the money that entered it; gross is
    the plain sum; both reconcile to the cent."""
    rows, source, amount = [], None, Decimal("100000.00")
    for index, cut in enumerate(cuts):
        row = Allocation(pk=index + 1, amount=amount, source_id=source, fiscal_year=2025)
        rows.append(row)
        source = row.pk
        amount = max(Decimal("0.00"), amount - Decimal(cut) / 100)
    assert flows.net_total(rows) == Decimal("100000.00")
    assert flows.gross_total(rows) == sum(r.amount for r in rows)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    amounts=st.lists(
        st.decimals(min_value=0, max_value=10**8, places=2, allow_nan=False, allow_infinity=False),
        min_size=1,
        max_size=40,
    )
)
def test_the_database_totals_reconcile_to_the_cent(world, amounts):
    """Whatever the amounts, the totals the explorer reads from the database equal the exact
    Decimal sum of the lines (SQLite keeps decimals as floating point; PostgreSQL exactly)."""
    allocation = Allocation.objects.create(
        key="big",
        kind=Allocation.Kind.APPROPRIATION,
        funder=world.esdc,
        recipient=world.hands,
        program=world.housing,
        fiscal_year=2025,
        calendar=world.esdc.jurisdiction,
        currency="CAD",
        amount=Decimal("10000000000.00"),
        instrument="grant",
        condition="ring_fenced",
    )
    months = fiscal.months(2025, 4)
    Expenditure.objects.bulk_create(
        Expenditure(
            allocation=allocation,
            period=months[index % 12],
            category=Expenditure.Category.values[index // 12 % 5],
            phase=Expenditure.Phase.values[index // 60],
            amount=amount,
        )
        for index, amount in enumerate(amounts)
    )
    rollup.rebuild()  # lines loaded in bulk, outside the rules: the rollup is rebuilt
    expected = sum(amounts, Decimal("0.00"))
    assert sum_money(Expenditure.objects.filter(allocation=allocation)) == expected
    totals = explorer.totals(explorer.Selection(2025, world.housing))
    assert sum(totals.phases.values(), Decimal("0.00")) == expected
    Expenditure.objects.filter(allocation=allocation).delete()
    allocation.delete()
    rollup.rebuild()


def test_the_explorer_nets_chains_and_pools_in_the_database_as_net_total_does(world):
    """Money paid into a pool and out of it again is counted once, as are transfers down a
    chain: the explorer's one-statement sums equal `flows.net_total` of the same selection."""
    from joinedup.federation.models import Jurisdiction
    from joinedup.funding import explorer

    pool = Pool.objects.create(key="toronto-fund", manager=world.toronto, names={"en": "Fund"})
    allocate(
        "into-1",
        world.esdc,
        world.toronto,
        world.jobs,
        "30.00",
        into_pool=pool,
        condition=Allocation.Condition.POOLED,
    )
    allocate("out-1", world.toronto, world.hands, world.jobs, "10.00", from_pool=pool)
    toronto = Jurisdiction.objects.get(code="CA-ON-TOR")
    ontario = Jurisdiction.objects.get(code="CA-ON")
    for selection in [
        explorer.Selection(2025),
        explorer.Selection(2025, program=world.jobs),
        explorer.Selection(2025, place=toronto),
        explorer.Selection(2025, program=world.jobs, place=ontario),
    ]:
        chosen = list(selection.allocations())
        totals = explorer.totals(selection)
        assert totals.allocated == flows.net_total(chosen), selection
        assert totals.gross == flows.gross_total(chosen), selection
    # By hand: jobs 100 (federal) + 30 into the pool; the province's 60, the city's 40 and
    # the pool's 10 out are money already counted. Toronto: 60 from the province, 30 into
    # the pool (the city holds the pool); the 40 and the 10 are inside.
    assert explorer.totals(explorer.Selection(2025, program=world.jobs)).allocated == Decimal(
        "130.00"
    )
    assert explorer.totals(explorer.Selection(2025, place=toronto)).allocated == Decimal("90.00")
    # The explorer's table by program sums each program's net in the database too, equal to
    # `net_total` of that program's allocations in the selection.
    for selection in [explorer.Selection(2025), explorer.Selection(2025, place=toronto)]:
        chosen = list(selection.allocations())
        lines = explorer.programs(selection, 4)
        assert lines, selection
        for line in lines:
            own = [a for a in chosen if a.program_id == line.program.pk]
            assert line.allocated == flows.net_total(own), (selection, line.program)
    jobs_line, housing_line = (
        {line.program.key: line for line in explorer.programs(explorer.Selection(2025), 4)}[key]
        for key in (world.jobs.key, world.housing.key)
    )
    assert (jobs_line.allocated, housing_line.allocated) == (Decimal("130.00"), Decimal("50.00"))
