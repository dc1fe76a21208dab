"""Wilson intervals, funnel limits with overdispersion, suppression and the quadrant, each
against values computed by hand."""

from __future__ import annotations

import math

import pytest

from joinedup.performance import benchmarking as b


def test_wilson_interval_by_hand():
    # 8 of 10, z = 1.96: centre 0.8 + 0.19208 = 0.99208; spread 1.96·sqrt(0.016 + 0.009604)
    # = 0.31363; scale 1.38416 → (0.67845 / 1.38416, 1.30571 / 1.38416) = (0.4902, 0.9433).
    low, high = b.wilson_interval(8, 10, 1.96)
    assert low == pytest.approx(0.4902, abs=1e-4)
    assert high == pytest.approx(0.9433, abs=1e-4)
    low, high = b.wilson_interval(0, 5)
    assert low == 0.0 and 0 < high < 0.5  # never below 0
    assert b.wilson_interval(0, 0) is None


def test_suppression_threshold_comes_from_settings(settings):
    settings.PERFORMANCE_MIN_COUNT = 10
    assert b.is_suppressed(9) and not b.is_suppressed(10)
    assert not b.is_suppressed(3, min_count=3)


def test_funnel_without_overdispersion_is_the_binomial_funnel():
    # Two units close to the pooled share: φ small, τ² = 0.
    units = [b.Unit("a", 50, 100), b.Unit("b", 52, 100)]
    fitted = b.funnel(units)
    assert fitted.target == pytest.approx(0.51)
    assert fitted.tau2 == 0.0
    theta = math.asin(math.sqrt(0.51))
    spread = b.Z95 * math.sqrt(1 / 400)
    low, high = fitted.limits(100)
    assert low == pytest.approx(math.sin(theta - spread) ** 2)
    assert high == pytest.approx(math.sin(theta + spread) ** 2)
    # The limits narrow as units grow.
    assert fitted.limits(1000)[1] < high


def test_funnel_overdispersion_by_hand():
    # Four units of 100: shares 0.2, 0.4, 0.6, 0.8; pooled 0.5, θ₀ = π/4.
    units = [b.Unit(label, s, 100) for label, s in (("a", 20), ("b", 40), ("c", 60), ("d", 80))]
    fitted = b.funnel(units)
    z = {u.label: (math.asin(math.sqrt(u.share)) - math.pi / 4) * 20 for u in units}
    assert fitted.z_scores == pytest.approx(z)
    ordered = sorted(z.values())
    # 10th/90th percentiles by linear interpolation over 4 values: positions 0.3 and 2.7.
    low = ordered[0] + 0.3 * (ordered[1] - ordered[0])
    high = ordered[2] + 0.7 * (ordered[3] - ordered[2])
    phi = sum(min(max(v, low), high) ** 2 for v in z.values()) / 4
    assert fitted.phi == pytest.approx(phi)
    # w = 4n = 400 each: Σw − Σw²/Σw = 1600 − 400 = 1200.
    assert fitted.tau2 == pytest.approx((4 * phi - 3) / 1200)
    assert fitted.tau2 > 0
    _low, high_limit = fitted.limits(100)
    plain = math.sin(math.pi / 4 + b.Z95 * math.sqrt(1 / 400)) ** 2
    assert high_limit > plain  # overdispersion widens the limits
    assert fitted.position(units[3], b.Z998) in {"above", "within"}


def test_quadrant_places_drivers_against_the_averages():
    points = [
        b.DriverPoint("timeliness", 40, 0.8, 50),
        b.DriverPoint("courtesy", 80, 0.7, 50),
        b.DriverPoint("fairness", 85, 0.2, 50),
        b.DriverPoint("outcome", 30, 0.3, 50),
    ]
    placed = {p.driver: p.quadrant for p in b.quadrant(points)}
    assert placed == {
        "timeliness": "priority",
        "courtesy": "strength",
        "fairness": "maintain",
        "outcome": "secondary",
    }


def test_driver_points_from_answers():
    responses = [
        {"satisfaction": s, "timeliness": t, "fairness": f}
        for s, t, f in ((5, 5, 4), (4, 4, 4), (2, 1, 4), (1, 2, 5), (3, 3, None))
    ]
    points = {p.driver: p for p in b.driver_points(responses, ["timeliness", "fairness"])}
    assert points["timeliness"].answers == 5
    assert points["timeliness"].performance == pytest.approx((15 / 5 - 1) / 4 * 100)
    assert points["timeliness"].importance > 0.8
    assert points["fairness"].importance < 0
