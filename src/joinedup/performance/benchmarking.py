"""Comparing jurisdictions fairly: funnel plots, Wilson intervals, suppression, quadrants.

League tables rank units by their raw share, so the small ones (whose shares swing by
chance) fill both ends. A funnel plot instead draws each unit's share against its size, with
control limits that narrow as the size grows: a unit outside the limits differs by more than
chance. Real units also differ for reasons nobody controls (case mix, data quality), which
makes too many fall outside; Spiegelhalter's overdispersion adjustment widens the limits by
an amount estimated from the spread of all units (winsorised, so a few outliers do not set
it). Shares are compared on the arcsine square-root scale, where their variance is 1/(4n).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings

Z95 = 1.959964
Z998 = 3.090232


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float] | None:
    """The Wilson score interval of a share: better than p ± z·se when n is small or the
    share is near 0 or 1 (it never leaves [0, 1])."""
    if n <= 0:
        return None
    p = successes / n
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    scale = 1 + z * z / n
    return max(0.0, (centre - spread) / scale), min(1.0, (centre + spread) / scale)


def is_suppressed(n: int, min_count: int | None = None) -> bool:
    """Whether a figure resting on n cases is too small to publish."""
    minimum = settings.PERFORMANCE_MIN_COUNT if min_count is None else min_count
    return n < minimum


def _quantile(sorted_values: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks (the usual default of statistics tools)."""
    if not sorted_values:
        raise ValueError("no values")
    position = (len(sorted_values) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


@dataclass(frozen=True)
class Unit:
    """One unit of a funnel plot (a jurisdiction): its successes O out of n."""

    label: str
    successes: int
    n: int

    @property
    def share(self) -> float:
        return self.successes / self.n


@dataclass(frozen=True)
class Funnel:
    """The target, the overdispersion and the z-scores of a set of units."""

    target: float  # the pooled share ΣO / Σn
    theta: float  # asin(sqrt(target))
    tau2: float  # the between-unit variance added to every unit's (0: none)
    phi: float  # the (winsorised) overdispersion factor
    z_scores: dict[str, float]

    def limits(self, n: int, z: float = Z95) -> tuple[float, float]:
        """Control limits for a unit of size n: sin²(θ ± z·sqrt(1/(4n) + τ²))."""
        spread = z * math.sqrt(1 / (4 * n) + self.tau2)
        low = max(0.0, self.theta - spread)
        high = min(math.pi / 2, self.theta + spread)
        return math.sin(low) ** 2, math.sin(high) ** 2

    def position(self, unit: Unit, z: float = Z95) -> str:
        """ "above", "below" or "within" the limits at that z."""
        low, high = self.limits(unit.n, z)
        if unit.share > high:
            return "above"
        if unit.share < low:
            return "below"
        return "within"


def funnel(
    units: Sequence[Unit], winsor: float = 0.1, overdispersion: bool = True
) -> Funnel | None:
    """Fit a funnel plot with the overdispersion adjustment (Spiegelhalter 2005):

    y_j = asin(√p_j), θ₀ = asin(√(ΣO/Σn)), s_j = 1/(2√n_j), z_j = (y_j − θ₀)/s_j;
    z winsorised at the 10th and 90th percentiles; φ = Σz²/k;
    τ² = (kφ − (k − 1)) / (Σw − Σw²/Σw) with w = 1/s², when kφ > k − 1, else 0.

    Without `overdispersion`, τ² = 0: the limits are those of chance alone (for units whose
    differences are the question, such as client groups, not noise to allow for)."""
    units = [unit for unit in units if unit.n > 0]
    if not units:
        return None
    total = sum(unit.n for unit in units)
    target = sum(unit.successes for unit in units) / total
    theta = math.asin(math.sqrt(target))
    z_scores = {
        unit.label: (math.asin(math.sqrt(unit.share)) - theta) * 2 * math.sqrt(unit.n)
        for unit in units
    }
    k = len(units)
    ordered = sorted(z_scores.values())
    low, high = _quantile(ordered, winsor), _quantile(ordered, 1 - winsor)
    winsorised = [min(max(z, low), high) for z in z_scores.values()]
    phi = sum(z * z for z in winsorised) / k
    tau2 = 0.0
    if overdispersion and k * phi > k - 1:
        weights = [4 * unit.n for unit in units]  # w = 1/s² = 4n
        denominator = sum(weights) - sum(w * w for w in weights) / sum(weights)
        if denominator > 0:
            tau2 = (k * phi - (k - 1)) / denominator
    return Funnel(target, theta, tau2, phi, z_scores)


# --- Drivers of satisfaction -------------------------------------------------------------


def correlation(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Pearson's r, or None when either side does not vary."""
    n = len(xs)
    if n < 3 or n != len(ys):
        return None
    mean_x, mean_y = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mean_x) ** 2 for x in xs)
    syy = sum((y - mean_y) ** 2 for y in ys)
    if sxx == 0 or syy == 0:
        return None
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True))
    return sxy / math.sqrt(sxx * syy)


@dataclass(frozen=True)
class DriverPoint:
    driver: str
    performance: float  # mean score, 0–100
    importance: float  # correlation with overall satisfaction
    answers: int
    quadrant: str = ""


QUADRANTS = ("strength", "priority", "maintain", "secondary")


def quadrant(points: Sequence[DriverPoint]) -> list[DriverPoint]:
    """Place each driver against the drivers' average importance and performance:
    strength (important, done well), priority (important, done less well — improve these
    first), maintain (less important, done well), secondary (less important, done less well)."""
    if not points:
        return []
    mean_importance = sum(p.importance for p in points) / len(points)
    mean_performance = sum(p.performance for p in points) / len(points)
    placed = []
    for point in points:
        important = point.importance >= mean_importance
        good = point.performance >= mean_performance
        if important:
            name = "strength" if good else "priority"
        else:
            name = "maintain" if good else "secondary"
        placed.append(
            DriverPoint(point.driver, point.performance, point.importance, point.answers, name)
        )
    return placed


def driver_points(
    responses: Sequence[dict[str, int | None]], drivers: Sequence[str]
) -> list[DriverPoint]:
    """Each driver's performance (mean 0–100) and derived importance (its correlation with
    overall satisfaction over the responses that answered both)."""
    points = []
    for driver in drivers:
        pairs = [
            (r[driver], r["satisfaction"])
            for r in responses
            if r.get(driver) is not None and r.get("satisfaction") is not None
        ]
        if len(pairs) < 3:
            continue
        xs = [float(x) for x, _y in pairs]
        ys = [float(y) for _x, y in pairs]
        r = correlation(xs, ys)
        if r is None:
            continue
        points.append(DriverPoint(driver, (sum(xs) / len(xs) - 1) / 4 * 100, r, len(pairs)))
    return quadrant(points)
