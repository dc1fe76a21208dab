"""Did a pilot work? Estimates from a panel of places × months (statsmodels and scipy).

- **Difference in differences**: `y[j,t] = α_j + λ_t + δ·D[j,t] + ε`, place and period fixed
  effects, errors clustered by place. With fewer than `MIN_CLUSTERS` places the clustered
  errors are unreliable: the interval and p-value come from a wild-cluster bootstrap-t
  (Rademacher weights, or Webb's six-point weights below 12 places) instead, and the result
  says so.
- **Event study**: one coefficient per period relative to the last month before the start
  (treated × period, same fixed effects and clustering), to judge parallel trends by eye; and
  a test of a linear difference in trends over the pre-period (one restriction, clustered),
  which the caveats read.
- **Synthetic control** for one treated place: non-negative weights summing to one over the
  comparison places that best reproduce its pre-period (`scipy.optimize.nnls`);
  the effect is the mean gap after the start. Inference is by placebo: the same fit run on
  every comparison place, ranked by post/pre RMSPE; p = rank ÷ (places + 1), no invented
  interval.

The caveats are computed (codes with their figures); the pages put them in words.
Nothing here reads the database: `pilots` builds the panel.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

#: Below this many places (clusters) clustered errors are unreliable: bootstrap instead.
MIN_CLUSTERS = 30
MIN_PRE_PERIODS = 6
MIN_POST_PERIODS = 3


class FewClustersWarning(UserWarning):
    """Fewer than 30 places: the wild-cluster bootstrap gives the interval."""


class NotEstimable(ValueError):
    """The panel cannot give an estimate (no treated or no comparison place, no pre-period)."""


@dataclass
class Panel:
    """Values of one measure: `values[j, t]` for place `units[j]` in period `periods[t]`
    (NaN where missing); `treated` the indexes of the pilot's places; `start` the index of
    the first period under the pilot."""

    units: list[str]
    periods: list
    values: np.ndarray
    treated: list[int]
    start: int
    dropped: list[str] = field(default_factory=list)

    @classmethod
    def build(cls, units, periods, values, treated, start) -> Panel:
        """A balanced panel: places with a missing period are dropped (and named)."""
        # Shaped by the units and periods, so that a pilot with no places or no figures yet
        # is refused as not estimable rather than failing on an empty array.
        values = np.asarray(values, dtype=float).reshape(len(units), len(periods))
        complete = ~np.isnan(values).any(axis=1)
        keep = [j for j in range(len(units)) if complete[j]]
        dropped = [units[j] for j in range(len(units)) if not complete[j]]
        treated_set = set(treated)
        panel = cls(
            units=[units[j] for j in keep],
            periods=list(periods),
            values=values[keep],
            treated=[i for i, j in enumerate(keep) if j in treated_set],
            start=start,
            dropped=dropped,
        )
        if not panel.treated or len(panel.treated) == len(panel.units):
            raise NotEstimable("a treated and a comparison place are both needed")
        if not 0 < start < len(periods):
            raise NotEstimable("the pilot must start after the first period and before the last")
        return panel

    @property
    def pre_periods(self) -> int:
        return self.start

    @property
    def post_periods(self) -> int:
        return len(self.periods) - self.start

    def long(self) -> pd.DataFrame:
        import pandas as pd  # loaded on the first evaluation, not when the web process starts

        units, periods = self.values.shape
        frame = pd.DataFrame(
            {
                "y": self.values.ravel(),
                "unit": np.repeat(np.arange(units), periods),
                "period": np.tile(np.arange(periods), units),
            }
        )
        frame["treated"] = frame["unit"].isin(self.treated).astype(int)
        frame["post"] = (frame["period"] >= self.start).astype(int)
        frame["D"] = frame["treated"] * frame["post"]
        return frame


@dataclass
class Estimate:
    effect: float
    low: float
    high: float
    p_value: float
    std_error: float
    clusters: int
    treated: int
    periods: int
    observations: int
    level: float
    bootstrap: bool = False
    replications: int = 0


def _clustered(columns: list[str], frame: pd.DataFrame):
    """OLS of y on the columns with place and period fixed effects (dummies, the first of
    each left out), errors clustered by place. The design is built directly: a formula's
    parser takes longer than the fit on a panel of a few thousand rows."""
    # statsmodels (and pandas, which loads numexpr) on the first evaluation, not at start-up
    import pandas as pd
    import statsmodels.api as sm

    dummies = pd.get_dummies(
        frame[["unit", "period"]].astype("category"), drop_first=True, dtype=float
    )
    exog = pd.concat(
        [pd.Series(1.0, index=frame.index, name="const"), frame[columns].astype(float), dummies],
        axis=1,
    )
    return sm.OLS(frame["y"], exog).fit(
        cov_type="cluster", cov_kwds={"groups": frame["unit"].to_numpy()}
    )


def _wild_weights(rng: np.random.Generator, clusters: int, reps: int) -> np.ndarray:
    if clusters < 12:
        # Webb's six-point distribution: more distinct draws than 2^G with few clusters.
        points = np.array([-np.sqrt(1.5), -1, -np.sqrt(0.5), np.sqrt(0.5), 1, np.sqrt(1.5)])
        return rng.choice(points, size=(clusters, reps))
    return rng.choice(np.array([-1.0, 1.0]), size=(clusters, reps))


def difference_in_differences(
    panel: Panel, *, level: float = 0.95, reps: int = 999, seed: int = 0
) -> Estimate:
    """The two-way fixed-effects estimate of the pilot's effect, errors clustered by place;
    a wild-cluster bootstrap-t gives the interval below `MIN_CLUSTERS` places."""
    frame = panel.long()
    fit = _clustered(["D"], frame)
    effect = float(fit.params["D"])
    std_error = float(fit.bse["D"])
    clusters = len(panel.units)
    alpha = 1 - level
    estimate = Estimate(
        effect=effect,
        low=float(fit.conf_int(alpha).loc["D", 0]),
        high=float(fit.conf_int(alpha).loc["D", 1]),
        p_value=float(fit.pvalues["D"]),
        std_error=std_error,
        clusters=clusters,
        treated=len(panel.treated),
        periods=len(panel.periods),
        observations=int(fit.nobs),
        level=level,
    )
    if clusters >= MIN_CLUSTERS:
        return estimate
    warnings.warn(
        f"{clusters} places (clusters), fewer than {MIN_CLUSTERS}: "
        "the interval comes from a wild-cluster bootstrap",
        FewClustersWarning,
        stacklevel=2,
    )
    # Wild-cluster bootstrap-t on the same design (statsmodels' pseudo-inverse of it):
    # y* = ŷ + v_g·û with one weight per place, refitted in one matrix product.
    exog = fit.model.exog
    row = list(fit.model.exog_names).index("D")
    projector = fit.model.pinv_wexog  # (X'X)⁻¹X'
    exog = np.asarray(exog)
    fitted, residuals = fit.fittedvalues.to_numpy(), fit.resid.to_numpy()
    units = frame["unit"].to_numpy()
    rng = np.random.default_rng(seed)
    weights = _wild_weights(rng, clusters, reps)[units]  # n × reps
    outcomes = fitted[:, None] + residuals[:, None] * weights
    betas = projector @ outcomes
    star_residuals = outcomes - exog @ betas
    scores = projector[row][:, None] * star_residuals  # each row's part of δ*
    by_cluster = np.zeros((clusters, reps))
    np.add.at(by_cluster, units, scores)
    n, k = exog.shape
    correction = clusters / (clusters - 1) * (n - 1) / (n - k)
    star_se = np.sqrt(correction * (by_cluster**2).sum(axis=0))
    t_star = (betas[row] - effect) / star_se
    lower_q, upper_q = np.quantile(t_star, [alpha / 2, 1 - alpha / 2])
    estimate.low = effect - upper_q * std_error
    estimate.high = effect - lower_q * std_error
    estimate.p_value = float(np.mean(np.abs(t_star) >= abs(effect / std_error)))
    estimate.bootstrap = True
    estimate.replications = reps
    return estimate


@dataclass
class EventStudy:
    """Coefficients by period relative to the start (−1, the last month before, is 0)."""

    relative: list[int]
    coefficients: list[float]
    lows: list[float]
    highs: list[float]
    pre_trend: float
    pre_trend_p: float


def event_study(panel: Panel, *, level: float = 0.95) -> EventStudy:
    frame = panel.long()
    reference = panel.start - 1
    names = []
    for period in range(len(panel.periods)):
        if period == reference:
            continue
        name = f"e{period}"
        frame[name] = ((frame["period"] == period) & (frame["treated"] == 1)).astype(int)
        names.append((period, name))
    fit = _clustered([n for _p, n in names], frame)
    bounds = fit.conf_int(1 - level)
    relative, coefficients, lows, highs = [], [], [], []
    for period in range(len(panel.periods)):
        relative.append(period - panel.start)
        if period == reference:
            coefficients.append(0.0)
            lows.append(0.0)
            highs.append(0.0)
            continue
        name = f"e{period}"
        coefficients.append(float(fit.params[name]))
        lows.append(float(bounds.loc[name, 0]))
        highs.append(float(bounds.loc[name, 1]))
    # Parallel trends: a linear difference in trends over the pre-period, one restriction.
    pre = frame[frame["period"] < panel.start].copy()
    pre["trend"] = pre["treated"] * pre["period"]
    trend_fit = _clustered(["trend"], pre)
    return EventStudy(
        relative=relative,
        coefficients=coefficients,
        lows=lows,
        highs=highs,
        pre_trend=float(trend_fit.params["trend"]),
        pre_trend_p=float(trend_fit.pvalues["trend"]),
    )


@dataclass
class SyntheticControl:
    weights: dict[str, float]
    gaps: list[float]
    effect: float
    pre_rmspe: float
    post_rmspe: float
    rank: int
    placebos: int
    p_value: float
    synthetic: list[float]


def _fit_weights(target: np.ndarray, donors: np.ndarray) -> np.ndarray:
    """w ≥ 0, Σw = 1 minimising ‖target − donors·w‖²: non-negative least squares
    (`scipy.optimize.nnls`) with Σw = 1 added as a row weighted far above the data, so it
    holds to rounding; the weights are then rescaled to sum to exactly one."""
    scale = max(float(np.abs(donors).max()), 1.0) * 1e3
    system = np.vstack([donors, np.full((1, donors.shape[1]), scale)])
    wanted = np.concatenate([target, [scale]])
    from scipy import optimize  # loaded on the first evaluation, not at start-up

    weights, _residual = optimize.nnls(system, wanted, maxiter=50 * donors.shape[1])
    return weights / weights.sum()


def _ratio(series: np.ndarray, donors: np.ndarray, start: int) -> tuple[np.ndarray, float, float]:
    weights = _fit_weights(series[:start], donors[:start])
    gaps = series - donors @ weights
    pre = float(np.sqrt(np.mean(gaps[:start] ** 2)))
    post = float(np.sqrt(np.mean(gaps[start:] ** 2)))
    return weights, pre, post


def synthetic_control(panel: Panel) -> SyntheticControl:
    """For a pilot in one place: its synthetic twin and the placebo rank of its effect."""
    if len(panel.treated) != 1:
        raise NotEstimable("a synthetic control is built for one treated place")
    (treated,) = panel.treated
    donors_idx = [j for j in range(len(panel.units)) if j != treated]
    values = panel.values
    donors = values[donors_idx].T  # periods × donors
    weights, pre, post = _ratio(values[treated], donors, panel.start)
    synthetic = donors @ weights
    gaps = values[treated] - synthetic
    ratio = post / pre if pre > 0 else np.inf
    ratios = []
    for position, j in enumerate(donors_idx):
        others = np.delete(donors, position, axis=1)
        _w, p_pre, p_post = _ratio(values[j], others, panel.start)
        ratios.append(p_post / p_pre if p_pre > 0 else np.inf)
    rank = 1 + sum(1 for r in ratios if r > ratio)
    return SyntheticControl(
        weights={
            panel.units[j]: float(w) for j, w in zip(donors_idx, weights, strict=True) if w > 1e-4
        },
        gaps=[float(g) for g in gaps],
        effect=float(np.mean(gaps[panel.start :])),
        pre_rmspe=pre,
        post_rmspe=post,
        rank=rank,
        placebos=len(ratios),
        p_value=rank / (len(ratios) + 1),
        synthetic=[float(s) for s in synthetic],
    )


def similar_places(panel: Panel, count: int = 5) -> list[tuple[str, float]]:
    """Comparison places most like the pilot's before the start: root mean squared distance
    of each one's pre-period series from the mean of the treated places', smallest first."""
    pre = panel.values[:, : panel.start]
    target = pre[panel.treated].mean(axis=0)
    distances = [
        (panel.units[j], float(np.sqrt(np.mean((pre[j] - target) ** 2))))
        for j in range(len(panel.units))
        if j not in panel.treated
    ]
    return sorted(distances, key=lambda item: item[1])[:count]


@dataclass(frozen=True)
class Caveat:
    code: str
    figures: dict


def caveats(
    panel: Panel,
    estimate: Estimate,
    study: EventStudy | None,
    control: SyntheticControl | None,
) -> list[Caveat]:
    """What a reader should weigh before trusting the estimate, computed from the results."""
    found = []
    if estimate.bootstrap:
        found.append(Caveat("few_clusters", {"places": estimate.clusters, "minimum": MIN_CLUSTERS}))
    if panel.pre_periods < MIN_PRE_PERIODS:
        found.append(
            Caveat("few_pre_periods", {"periods": panel.pre_periods, "minimum": MIN_PRE_PERIODS})
        )
    if panel.post_periods < MIN_POST_PERIODS:
        found.append(
            Caveat("few_post_periods", {"periods": panel.post_periods, "minimum": MIN_POST_PERIODS})
        )
    if study is not None and study.pre_trend_p < 0.05:
        found.append(
            Caveat("not_parallel", {"slope": study.pre_trend, "p_value": study.pre_trend_p})
        )
    if len(panel.treated) == 1:
        # One treated cluster: clustered errors and the bootstrap both understate doubt.
        found.append(Caveat("one_treated", {"places": 1}))
    elif len(panel.treated) < 3:
        found.append(Caveat("few_treated", {"places": len(panel.treated)}))
    if panel.dropped:
        found.append(Caveat("dropped", {"places": len(panel.dropped)}))
    if control is not None:
        floor = 1 / (control.placebos + 1)
        if floor > 0.05:
            found.append(Caveat("placebo_floor", {"floor": floor, "places": control.placebos}))
        spread = float(np.std(panel.values[panel.treated[0], : panel.start]))
        if spread > 0 and control.pre_rmspe > 0.5 * spread:
            found.append(Caveat("poor_fit", {"rmspe": control.pre_rmspe}))
    if estimate.low <= 0 <= estimate.high:
        found.append(Caveat("includes_zero", {"level": estimate.level}))
    return found
