"""Each formula against a case computed by hand."""

from __future__ import annotations

import datetime
from fractions import Fraction

import pytest

from joinedup.performance import costs, measures
from joinedup.performance.kpis import Figures, PeriodError, parse_period


def test_completion_rate_counts_not_eligible_as_completed_and_abandoned_as_not():
    # 6 approved, 2 refused as not eligible, 2 abandoned drafts: 8 of 10 completed.
    assert measures.completion_rate(6, 2, 2) == pytest.approx(0.8)
    assert measures.completion_rate(0, 0, 0) is None
    assert measures.completion_rate(5, 0, 0) == 1.0  # never above 100 %


def test_digital_take_up_and_within_standard():
    assert measures.digital_take_up(30, 40) == pytest.approx(0.75)
    assert measures.within_standard(9, 12) == pytest.approx(0.75)
    assert measures.digital_take_up(0, 0) is None


def test_percentiles_read_from_a_histogram_by_nearest_rank():
    # Turnarounds 1, 1, 2, 2, 2, 4, 4, 4, 4, 4 days.
    histogram = measures.histogram_of([1, 1, 2, 2, 2, 4, 4, 4, 4, 4])
    assert histogram == [0, 2, 3, 0, 5]
    assert measures.percentile(histogram, 50) == 2  # the 5th of 10
    assert measures.percentile(histogram, 90) == 4  # the 9th
    assert measures.percentile(histogram, 95) == 4  # the 10th (9.5 rounds up)
    assert measures.percentile([1, 1, 1, 1], 50) == 1  # 0, 1, 2, 3: the 2nd is 1
    assert measures.percentile([1, 1, 1, 1], 90) == 3
    assert measures.percentile([], 50) is None


def test_merging_histograms_adds_bucket_by_bucket_and_overflow_is_kept_apart():
    assert measures.merge([1, 2], [0, 0, 3], []) == [1, 2, 3]
    assert measures.merge([0, 1], [0, -1]) == []  # trailing zeros dropped
    long = measures.histogram_of([150, 3])
    assert len(long) == measures.OVERFLOW + 1 and long[-1] == 1 and long[3] == 1
    assert measures.percentile(long, 95) == measures.OVERFLOW  # "more than 100 days"


def test_satisfaction_is_the_mean_rescaled_to_0_100():
    # Answers 5, 4, 4, 3: mean 4, (4 − 1) / 4 = 75.
    assert measures.satisfaction_score(16, 4) == pytest.approx(75.0)
    assert measures.satisfaction_score(5, 5) == 0.0
    assert measures.satisfaction_score(25, 5) == 100.0
    assert measures.satisfaction_score(0, 0) is None


def test_cost_per_transaction_and_the_take_up_target():
    assert measures.cost_per_transaction(1000, 8) == 125
    assert measures.cost_per_transaction(1000, 0) is None
    # GOV.UK's example: £2 overall, 50p digital, take-up from 40 % to 80 % gives £1.
    target = measures.take_up_target_cost(
        Fraction(2), Fraction(1, 2), Fraction(2, 5), Fraction(4, 5)
    )
    assert target == 1
    with pytest.raises(ValueError):
        measures.take_up_target_cost(2, 1, 1, 1)


def test_figures_give_the_target_for_a_take_up_goal():
    # 10 completions: 4 online costing 200 in all, 6 at the counter costing 1800.
    figures = Figures(key={}, completed=10, digital_completions=4)
    figures.channel_cost = 2000
    figures.digital_cost = Fraction(200)
    assert figures.cost_per_transaction == 200
    assert figures.digital_cost_per_transaction == 50
    assert figures.digital_take_up == 0.4
    # 200 + (50 − 200) / 0.6 × 0.4 = 100
    assert figures.take_up_target_cost(0.8) == 100


def test_staff_cost_apportionment_and_even_splits():
    assert costs.split_evenly(10, 3) == [4, 3, 3]
    assert sum(costs.split_evenly(1301, 7)) == 1301
    # Half the calls → half the call centre's cost.
    shares = costs.apportion({"centre": 1000}, {"centre": {"a": 50, "b": 50}})
    assert shares == {"a": 500, "b": 500}
    shares = costs.apportion({"centre": 1000}, {"centre": {"a": 1, "b": 3}})
    assert shares == {"a": 250, "b": 750}
    assert costs.apportion({"unused": 10}, {}) == {}
    rates = costs.StaffRates(
        [costs.StaffCostRate(agency="esdc", hourly=5200, valid_from=datetime.date(2020, 1, 1))]
    )
    assert rates.cost("esdc", 1800, datetime.date(2026, 1, 1)) == 2600  # 30 min at 52.00/h
    assert rates.cost("esdc", 1800, datetime.date(2019, 1, 1)) == 0  # no rate yet


def test_unit_costs_fall_back_to_the_parent_jurisdiction_and_follow_dates():
    rows = [
        costs.ChannelUnitCost(
            jurisdiction="CA", channel="mail", amount=900, valid_from=datetime.date(2024, 1, 1)
        ),
        costs.ChannelUnitCost(
            jurisdiction="CA", channel="mail", amount=1000, valid_from=datetime.date(2025, 1, 1)
        ),
        costs.ChannelUnitCost(
            jurisdiction="CA-ON", channel="mail", amount=1200, valid_from=datetime.date(2024, 1, 1)
        ),
    ]
    unit = costs.UnitCosts(rows)
    assert unit.cost("CA-QC", "mail", datetime.date(2024, 6, 1)) == 900
    assert unit.cost("CA-QC-MTL", "mail", datetime.date(2025, 6, 1)) == 1000
    assert unit.cost("CA-ON-TOR", "mail", datetime.date(2025, 6, 1)) == 1200
    assert unit.cost("CA-ON", "phone", datetime.date(2025, 6, 1)) == 0


def test_periods():
    today = datetime.date(2026, 5, 20)
    year = parse_period("2025", today)
    assert (year.first, year.last, year.end) == (
        datetime.date(2025, 1, 1),
        datetime.date(2025, 12, 1),
        datetime.date(2025, 12, 31),
    )
    quarter = parse_period("2026-Q1", today)
    assert [m.month for m in quarter.months()] == [1, 2, 3]
    trailing = parse_period(None, today)
    assert trailing.first == datetime.date(2025, 6, 1) and trailing.last == datetime.date(
        2026, 5, 1
    )
    assert len(trailing.months()) == 12
    assert parse_period("2026-02", today).months() == [datetime.date(2026, 2, 1)]
    for bad in ("2026-13", "last week", "1999", "2026-Q5"):
        with pytest.raises(PeriodError):
            parse_period(bad, today)


def test_published_figures_suppress_small_counts():
    figures = Figures(key={"service_key": "s"}, started=12, completed=7, abandoned=1)
    figures.histogram = [0, 7]
    published = figures.published(min_count=10)
    assert published["started"] == 12
    assert published["completion_rate"] is None and "completion_rate" in published["suppressed"]
    assert published["median_days"] is None
    unsuppressed = figures.published(min_count=5)
    assert unsuppressed["completion_rate"] == 0.875 and unsuppressed["median_days"] == 1


def test_packed_histograms_merge_by_adding_them_as_integers():
    first, second = [3, 0, 2], [1, 5, 0, 0, 7]
    packed = [measures.pack(first), measures.pack(second), b""]
    assert measures.unpack(packed[0]) == first
    assert measures.packed_sum(packed) == measures.merge(first, second) == [4, 5, 2, 0, 7]
    big = [2**31 - 1, 1]  # the lanes hold up to 2³² − 1 cases per bucket
    assert measures.packed_sum([measures.pack(big), measures.pack(big)]) == [2**32 - 2, 2]
