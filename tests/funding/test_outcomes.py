"""Results and money linked: indicator status per period, corrections kept, cost per
outcome, payment by results with floor, cap and bonus, scenarios, oversight."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from joinedup.federation.models import PartnerRole, Service
from joinedup.funding import expenditures, flows, indicators, outcomes, oversight, scenarios
from joinedup.funding.models import (
    Finding,
    Indicator,
    IndicatorValue,
    OutcomeAgreement,
    OutcomePayment,
    Result,
    ScenarioLine,
)
from joinedup.sharing.models import OutboxEvent

from .conftest import allocate

pytestmark = pytest.mark.django_db
D = Decimal


def _indicator(world, **extra) -> Indicator:
    result, _created = Result.objects.get_or_create(
        key="people-in-work",
        defaults={
            "program": world.jobs,
            "level": Result.Level.IMMEDIATE,
            "names": {"en": "People find work", "fr": "Des personnes trouvent un emploi"},
        },
    )
    fields = {
        "key": "placements",
        "result": result,
        "names": {"en": "Placements", "fr": "Placements"},
        "unit": Indicator.Unit.COUNT,
        "direction": Indicator.Direction.INCREASE,
        "target_type": Indicator.TargetType.AT_LEAST,
        "target_min": D("5"),
        "frequency": Indicator.Frequency.QUARTERLY,
        "data_owner": world.hands,
        "source": Indicator.Source.REPORTED,
        "is_outcome_count": True,
    }
    fields.update(extra)
    return Indicator.objects.create(**fields)


Q1 = (datetime.date(2025, 4, 1), datetime.date(2025, 6, 30))
Q2 = (datetime.date(2025, 7, 1), datetime.date(2025, 9, 30))
TODAY = datetime.date(2025, 10, 15)


def _report(indicator, period, value, reason="quarterly report"):
    return indicators.report_value(
        indicator,
        period_start=period[0],
        period_end=period[1],
        value=value,
        user_id=None,
        agency="helping-hands",
        reason=reason,
    )


def test_each_period_is_met_not_met_not_available_or_future(world):
    indicator = _indicator(world)
    assert indicators.status(indicator, D("5"), Q1[1], TODAY) == indicators.MET
    assert indicators.status(indicator, D("4.99"), Q1[1], TODAY) == indicators.NOT_MET
    assert indicators.status(indicator, None, Q1[1], TODAY) == indicators.NOT_AVAILABLE
    assert indicators.status(indicator, D("9"), datetime.date(2025, 12, 31), TODAY) == "future"
    indicator.target_type, indicator.target_min, indicator.target_max = "range", D("2"), D("4")
    assert indicators.status(indicator, D("4"), Q1[1], TODAY) == indicators.MET
    assert indicators.status(indicator, D("5"), Q1[1], TODAY) == indicators.NOT_MET
    indicator.target_type = "at_most"
    assert indicators.status(indicator, D("1"), Q1[1], TODAY) == indicators.MET


def test_a_correction_supersedes_and_keeps_the_first_report(world):
    indicator = _indicator(world)
    first = _report(indicator, Q1, "3")
    second = _report(indicator, Q1, "4", reason="late files counted")
    assert indicators.value_for(indicator, *Q1) == D("4")
    first.refresh_from_db()
    assert not first.current and second.supersedes == first
    assert IndicatorValue.objects.filter(indicator=indicator).count() == 2
    with pytest.raises(flows.FundingRefused, match="not a number"):
        _report(indicator, Q1, "many")
    with pytest.raises(flows.FundingRefused, match="cannot be negative"):
        _report(indicator, Q1, "-1")
    assert indicators.value_for(indicator, *Q1) == D("4")
    bound = _indicator(
        world,
        key="bound",
        source=Indicator.Source.PLATFORM,
        bound_measure="completions",
        is_outcome_count=False,
    )
    with pytest.raises(flows.FundingRefused, match="measured by the platform"):
        _report(bound, Q1, "3")


def test_cost_per_outcome_by_hand(world):
    indicator = _indicator(world)
    _report(indicator, Q1, "4")
    _report(indicator, Q2, "4")
    line = {"user_id": None, "agency": "x", "reason": "monthly", "phase": "executed"}
    may = datetime.date(2025, 5, 1)
    expenditures.report_expenditure(
        world.municipal, period=may, category="payments", amount="20.00", **line
    )
    expenditures.report_expenditure(
        world.municipal, period=may, category="staff", amount="10.00", **line
    )
    expenditures.report_expenditure(
        world.provincial, period=may, category="operations", amount="10.00", **line
    )
    # Plans are not spending.
    expenditures.report_expenditure(
        world.provincial,
        period=may,
        category="staff",
        amount="9.00",
        **{**line, "phase": "approved"},
    )
    result = outcomes.cost_per_outcome(world.jobs, 2025)
    # 40.00 spent (30 by the community organisation, 10 by the city) ÷ 8 placements.
    assert result.spending == D("40.00") and result.outcomes == D("8")
    assert result.cost_per_outcome == D("5.00")
    assert result.cost_per_transaction is None
    text = " ".join(result.explanation())
    assert "50.0 % of the spending is money paid to people" in text
    assert outcomes.cost_per_outcome(world.jobs, 2024).cost_per_outcome is None


@pytest.mark.parametrize(
    ("outcomes_count", "met", "expected", "last_step"),
    [
        (D("10"), False, D("1000.00"), "base"),  # 10 × 100, inside floor and cap
        (D("2"), False, D("500.00"), "floor"),  # 200 raised to the floor of 500
        (D("30"), False, D("2500.00"), "cap"),  # 3000 limited to the cap of 2500
        (D("10"), True, D("1100.00"), "bonus"),  # 1000 + 10 % bonus
        (D("24"), True, D("2500.00"), "cap"),  # 2400 + 240 = 2640, capped
    ],
)
def test_payment_by_results_with_floor_cap_and_bonus(outcomes_count, met, expected, last_step):
    amount, steps = outcomes.payment(
        outcomes_count,
        D("100.00"),
        floor=D("500.00"),
        cap=D("2500.00"),
        bonus_share=D("0.1"),
        target_met=met,
    )
    assert amount == expected
    assert steps[-1]["step"] == last_step or (
        last_step == "base" and steps[-1]["step"] == "no_bonus"
    )
    assert steps[-1]["amount"] == str(expected)
    assert outcomes.statement(steps, "CAD")[0].startswith(f"{outcomes_count} outcomes × 100.00 CAD")


def test_an_agreement_is_computed_per_period_and_approved_by_the_funder(world):
    indicator = _indicator(world)
    agreement = OutcomeAgreement.objects.create(
        key="placements-contract",
        names={"en": "Placements contract"},
        allocation=world.municipal,
        indicator=indicator,
        rate_per_outcome=D("3.00"),
        floor=D("5.00"),
        cap=D("20.00"),
        bonus_share=D("0.5"),
    )
    with pytest.raises(flows.FundingRefused, match="No value"):
        outcomes.compute_period(agreement, *Q1, today=TODAY)
    _report(indicator, Q1, "6")
    row = outcomes.compute_period(agreement, *Q1, today=TODAY)
    # 6 × 3.00 = 18.00; target (at least 5) met: + 50 % = 27.00; capped at 20.00.
    assert row.amount == D("20.00") and row.status == OutcomePayment.Status.COMPUTED
    statement = outcomes.statement(row.steps, "CAD")
    assert statement[-1] == "Above the cap: limited to 20.00 CAD."
    outcomes.approve(row, user_id=None)
    with pytest.raises(flows.FundingRefused, match="approved already"):
        outcomes.compute_period(agreement, *Q1, today=TODAY)
    with pytest.raises(flows.FundingRefused, match="once it has ended"):
        outcomes.compute_period(agreement, Q2[0], datetime.date(2025, 12, 31), today=TODAY)


def test_a_scenario_moves_ten_percent_and_is_compared_never_applied(world):
    second = allocate("fed-jobs-qc", world.esdc, world.toronto, world.jobs, "33.33")
    scenario = scenarios.copy_allocations(world.esdc, 2025, {"en": "Shift"}, user_id=None)
    scenarios.move(scenario, world.jobs, world.housing, D("0.1"))
    lines = {ln.allocation.key: ln.amount for ln in ScenarioLine.objects.filter(scenario=scenario)}
    # Jobs had 100.00 + 33.33; 10 % is 13.33, taken pro rata (10.00 and 3.33).
    assert lines == {"fed-jobs": D("90.00"), "fed-jobs-qc": D("30.00"), "fed-housing": D("63.33")}
    assert sum(lines.values()) == D("183.33")
    rows = {c.program.key: c for c in scenarios.compare(scenario, {world.jobs.pk: D("5.00")})}
    assert rows["jobs"].change == D("-13.33")
    assert rows["jobs"].outcomes_now == D("26.7") and rows["jobs"].outcomes_then == D("24.0")
    assert rows["housing"].outcomes_then is None  # no cost per outcome known
    world.federal.refresh_from_db()
    second.refresh_from_db()
    assert (world.federal.amount, second.amount) == (D("100.00"), D("33.33"))
    scenarios.propose(scenario)
    with pytest.raises(flows.FundingRefused, match="proposed scenario is not changed"):
        scenarios.move(scenario, world.jobs, world.housing, D("0.1"))


def test_overseers_findings_count_against_the_provider_until_resolved(world):
    with pytest.raises(flows.FundingRefused, match="not an overseer"):
        oversight.record_review(
            world.ontario, world.hands, kind="inspection", held_on=datetime.date(2025, 6, 1)
        )
    service = Service.objects.first()
    PartnerRole.objects.create(service=service, agency=world.ontario, role="overseer")
    review = oversight.record_review(
        world.ontario, world.hands, kind="inspection", held_on=datetime.date(2025, 6, 1)
    )
    late = Finding.objects.create(
        review=review, severity=3, text="Files incomplete", due_on=datetime.date(2025, 7, 1)
    )
    Finding.objects.create(
        review=review, severity=1, text="Signage", due_on=datetime.date(2026, 1, 1)
    )
    assert oversight.unresolved_by_provider(TODAY) == {world.hands.pk: {"open": 2, "overdue": 1}}
    oversight.resolve(late, on=datetime.date(2025, 8, 1), follow_up="Checked in August")
    assert oversight.unresolved_by_provider(TODAY) == {world.hands.pk: {"open": 1, "overdue": 0}}


def test_a_payment_computed_and_decided_is_announced_on_the_outbox(world):
    indicator = _indicator(world)
    agreement = OutcomeAgreement.objects.create(
        key="announced-contract",
        names={"en": "Announced contract"},
        allocation=world.municipal,
        indicator=indicator,
        rate_per_outcome=D("3.00"),
    )
    _report(indicator, Q1, "4")
    _report(indicator, Q2, "2")
    first = outcomes.compute_period(agreement, *Q1, today=TODAY)
    computed = OutboxEvent.objects.get(type=outcomes.PAYMENT_COMPUTED, subject=str(first.pk))
    assert computed.source == "/funding"
    assert computed.data == {
        "agreement": "announced-contract",
        "period_start": "2025-04-01",
        "period_end": "2025-06-30",
        "outcomes": "4",
        "amount": "12.00",
        "currency": "CAD",
        "funder": "toronto",
        "recipient": "helping-hands",
        "status": "computed",
    }
    assert not OutboxEvent.objects.filter(type=outcomes.PAYMENT_DECIDED).exists()

    outcomes.approve(first, user_id=None)
    decided = OutboxEvent.objects.get(type=outcomes.PAYMENT_DECIDED, subject=str(first.pk))
    assert decided.data["decision"] == "approved" and decided.data["amount"] == "12.00"

    second = outcomes.compute_period(agreement, *Q2, today=TODAY)
    outcomes.send_back(second, user_id=None, reason="The value is disputed.")
    returned = OutboxEvent.objects.get(type=outcomes.PAYMENT_DECIDED, subject=str(second.pk))
    assert returned.data["decision"] == "returned"
    assert returned.data["reason"] == "The value is disputed."
    # Computed again after the return: a second "computed" event for the same payment.
    outcomes.compute_period(agreement, *Q2, today=TODAY)
    assert (
        OutboxEvent.objects.filter(type=outcomes.PAYMENT_COMPUTED, subject=str(second.pk)).count()
        == 2
    )


def test_a_refused_decision_announces_nothing(world):
    indicator = _indicator(world)
    agreement = OutcomeAgreement.objects.create(
        key="refused-contract",
        names={"en": "Refused contract"},
        allocation=world.municipal,
        indicator=indicator,
        rate_per_outcome=D("3.00"),
    )
    _report(indicator, Q1, "4")
    row = outcomes.compute_period(agreement, *Q1, today=TODAY)
    with pytest.raises(flows.FundingRefused):
        outcomes.send_back(row, user_id=None, reason="  ")
    outcomes.approve(row, user_id=None)
    with pytest.raises(flows.FundingRefused, match="approved already"):
        outcomes.approve(row, user_id=None)
    assert OutboxEvent.objects.filter(type=outcomes.PAYMENT_DECIDED).count() == 1
