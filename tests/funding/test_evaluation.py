"""Pilot evaluation recovers an effect injected by the synthetic history's model, and finds
none where none was injected, over several seeds (small panels, so the tests stay fast)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from joinedup.demo.history.places import simulate
from joinedup.funding import evaluation

SEEDS = range(10)


def panel(places, months, start, treated, effect, seed, **extra):
    values = simulate(
        places, months, seed=seed, treated=treated, start=start, effect=effect, **extra
    )
    return evaluation.Panel.build(
        [f"place-{j}" for j in range(places)], list(range(months)), values, treated, start
    )


def did(p, seed):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", evaluation.FewClustersWarning)
        return evaluation.difference_in_differences(p, seed=seed, reps=499)


def test_difference_in_differences_recovers_an_injected_effect():
    estimates = [did(panel(12, 16, 10, [0, 1, 2], 3.0, seed), seed) for seed in SEEDS]
    covered = sum(e.low <= 3.0 <= e.high for e in estimates)
    excludes_zero = sum(not (e.low <= 0 <= e.high) for e in estimates)
    assert covered >= 8 and excludes_zero >= 8
    assert all(e.bootstrap and e.clusters == 12 and e.periods == 16 for e in estimates)
    assert np.mean([e.effect for e in estimates]) == pytest.approx(3.0, abs=0.6)


def test_difference_in_differences_finds_nothing_on_placebo_data():
    estimates = [did(panel(12, 16, 10, [0, 1, 2], 0.0, seed), seed) for seed in SEEDS]
    false_positives = sum(not (e.low <= 0 <= e.high) for e in estimates)
    assert false_positives <= 2


def test_fewer_than_thirty_places_warns_and_bootstraps_thirty_do_not():
    few = panel(12, 12, 8, [0, 1, 2], 3.0, 1)
    with pytest.warns(evaluation.FewClustersWarning):
        estimate = evaluation.difference_in_differences(few, reps=199)
    assert estimate.bootstrap and estimate.replications == 199
    many = panel(30, 10, 6, [0, 1, 2, 3, 4], 3.0, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("error", evaluation.FewClustersWarning)
        estimate = evaluation.difference_in_differences(many)
    assert not estimate.bootstrap and estimate.clusters == 30
    assert estimate.low < estimate.effect < estimate.high


def test_event_study_is_flat_before_and_shows_the_effect_after():
    p = panel(12, 16, 10, [0, 1, 2], 4.0, 2)
    study = evaluation.event_study(p)
    assert study.relative[9] == -1 and study.coefficients[9] == 0.0
    assert abs(np.mean(study.coefficients[:9])) < 1.5
    assert np.mean(study.coefficients[10:]) == pytest.approx(4.0, abs=1.5)
    assert study.pre_trend_p > 0.05
    caveat_codes = {c.code for c in evaluation.caveats(p, did(p, 2), study, None)}
    assert "not_parallel" not in caveat_codes and "few_clusters" in caveat_codes


def test_trends_that_are_not_parallel_are_flagged():
    values = simulate(12, 16, seed=5)
    values[:3, :] += 0.8 * np.arange(16)  # the pilot's places were already improving
    p = evaluation.Panel.build([f"p{j}" for j in range(12)], list(range(16)), values, [0, 1, 2], 10)
    study = evaluation.event_study(p)
    codes = {c.code for c in evaluation.caveats(p, did(p, 5), study, None)}
    assert study.pre_trend_p < 0.05 and "not_parallel" in codes


def _single(effect: float, seed: int) -> evaluation.Panel:
    base = simulate(20, 18, seed=seed)
    # a place inside the range of the others (a synthetic control needs one)
    treated = int(np.argsort(base[:, :12].mean(axis=1))[10])
    return panel(20, 18, 12, [treated], effect, seed)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_synthetic_control_recovers_the_effect_in_one_place_and_ranks_first(seed):
    control = evaluation.synthetic_control(_single(5.0, seed))
    assert all(w >= 0 for w in control.weights.values())
    assert sum(control.weights.values()) == pytest.approx(1.0, abs=1e-6)
    assert control.effect == pytest.approx(5.0, abs=2.0)
    assert control.placebos == 19 and control.rank == 1 and control.p_value == 0.05


def test_synthetic_control_finds_nothing_on_placebo_data():
    p_values = [evaluation.synthetic_control(_single(0.0, seed)).p_value for seed in (0, 1, 2)]
    assert sum(p <= 0.05 for p in p_values) <= 1


def test_a_panel_without_comparison_or_treated_places_is_refused():
    values = simulate(4, 8, seed=0)
    with pytest.raises(evaluation.NotEstimable):
        evaluation.Panel.build(list("abcd"), list(range(8)), values, [], 4)
    with pytest.raises(evaluation.NotEstimable):
        evaluation.Panel.build(list("abcd"), list(range(8)), values, [0], 0)
    values[1, 3] = np.nan
    built = evaluation.Panel.build(list("abcd"), list(range(8)), values, [0], 4)
    assert built.dropped == ["b"] and built.units == ["a", "c", "d"]
