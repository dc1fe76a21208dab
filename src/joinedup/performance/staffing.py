"""Staff where the work will be: weekly volume forecasts and the agents they need.

Forecast: the weekly counts of an office's transactions in a channel, modelled by
statsmodels' Holt-Winters exponential smoothing (additive trend, damped; additive
seasonality over `SEASON` weeks when there are two full seasons of history, none otherwise).
Its error is measured honestly: the model is fitted without the last `HELD_OUT` weeks, which
it then forecasts, and the mean absolute percentage error (MAPE) of those weeks is shown
beside the forecast of the next `HORIZON` weeks, fitted on everything.

Staffing: for a half-hour with λ arrivals and a mean handle time h (seconds), the offered
traffic is A = λ·h / 1800 erlangs. With N agents, Erlang C gives the chance that a client
waits, C(N, A), and the service level — the share served within t seconds —

    SL(N) = 1 − C(N, A) · exp(−(N − A) · t / h)

The agents needed are the smallest N > A with SL(N) at or above the standard (80 % in 20 s
on the phone, 85 % within 25 minutes at a counter). C is computed from Erlang B's stable
recursion, B(0) = 1, B(k) = A·B(k−1) / (k + A·B(k−1)), then C = N·B / (N − A·(1 − B)).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

#: Service standards per assisted channel: (share, within seconds).
STANDARDS = {"phone": (0.80, 20), "counter": (0.85, 25 * 60), "video": (0.80, 60)}
INTERVAL = 1800  # seconds in a half-hour
SEASON = 52
HELD_OUT = 8
HORIZON = 12


def erlang_b(agents: int, traffic: float) -> float:
    """The chance that a call is blocked with `agents` lines and `traffic` erlangs."""
    if agents < 0 or traffic < 0:
        raise ValueError("agents and traffic cannot be negative")
    blocked = 1.0
    for k in range(1, agents + 1):
        blocked = traffic * blocked / (k + traffic * blocked)
    return blocked


def erlang_c(agents: int, traffic: float) -> float:
    """The chance that a client waits (1 when the agents cannot keep up)."""
    if agents <= traffic:
        return 1.0
    blocked = erlang_b(agents, traffic)
    return agents * blocked / (agents - traffic * (1 - blocked))


def service_level(agents: int, traffic: float, handle: float, within: float) -> float:
    """The share of clients served within `within` seconds."""
    if agents <= traffic:
        return 0.0
    return 1 - erlang_c(agents, traffic) * math.exp(-(agents - traffic) * within / handle)


def agents_needed(
    arrivals: float, handle: float, share: float, within: float, interval: int = INTERVAL
) -> int:
    """The fewest agents that serve `share` of the interval's arrivals within `within`
    seconds (0 when nobody comes)."""
    if arrivals <= 0 or handle <= 0:
        return 0
    traffic = arrivals * handle / interval
    agents = max(1, math.floor(traffic) + 1)
    while service_level(agents, traffic, handle, within) < share:
        agents += 1
    return agents


@dataclass
class Forecast:
    """Next weeks' volumes, and how far the same model missed on held-out weeks."""

    history: list[float]
    forecast: list[float]
    held_out: list[float]
    held_out_forecast: list[float]
    mape: float | None
    seasonal: bool


def _fit(series: list[float], horizon: int, season: int) -> tuple[list[float], bool]:
    # statsmodels is heavy to import; only the staffing page needs it.
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    seasonal = len(series) >= 2 * season
    if len(series) < 4:
        mean = sum(series) / len(series) if series else 0.0
        return [mean] * horizon, False
    model = ExponentialSmoothing(
        series,
        trend="add",
        damped_trend=True,
        seasonal="add" if seasonal else None,
        seasonal_periods=season if seasonal else None,
        initialization_method="estimated",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence notes on short series
        fitted = model.fit()
    return [max(0.0, float(v)) for v in fitted.forecast(horizon)], seasonal


def mape(actual: list[float], predicted: list[float]) -> float | None:
    """Mean absolute percentage error over the weeks that had any volume."""
    pairs = [(a, p) for a, p in zip(actual, predicted, strict=True) if a > 0]
    if not pairs:
        return None
    return sum(abs(a - p) / a for a, p in pairs) / len(pairs)


def forecast(
    series: list[float], horizon: int = HORIZON, held_out: int = HELD_OUT, season: int = SEASON
) -> Forecast:
    """Forecast a weekly series, measuring the error on its last `held_out` weeks first."""
    train, test = series[:-held_out], series[-held_out:]
    if len(train) >= 4:
        back, _ = _fit(train, len(test), season)
        error = mape(test, back)
    else:
        back, error, test = [], None, []
    ahead, seasonal = _fit(series, horizon, season)
    return Forecast(series, ahead, test, back, error, seasonal)
