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

Erlang A (M/M/N+M, Palm's model): the same queue where a waiting client gives up after an
exponential patience of mean 1/θ. With x = Nμ/θ, y = λ/θ and the lower incomplete gamma
function γ (scipy's regularised `gammainc` times Γ),

    A(x, y)  = x·e^y·y^(−x)·γ(x, y) = Σ_j y^j / ((x+1)(x+2)…(x+j))
    P(wait)  = A·B / (1 + (A − 1)·B)                 B: Erlang B with N agents, λ/μ erlangs
    P(V > t) = P(wait) · γ(x, y·e^(−θt)) / γ(x, y)   V: the wait a client would have
    P(ab)    = P(wait) · (1 − 1/ρ + 1/(ρ·A)),  ρ = λ / (Nμ)

(Mandelbaum and Zeltyn's formulas for the Palm/Erlang-A queue, derived from its birth–death
chain; tested against the chain itself and against the case θ = μ, where the number of
clients present is Poisson). Its service level is P(V ≤ t): the share who would be answered
within t seconds if they waited that long. With abandonment the queue is stable at any
number of agents, so fewer agents than the traffic can meet a standard.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

#: Service standards per assisted channel: (share, within seconds).
STANDARDS = {"phone": (0.80, 20), "counter": (0.85, 25 * 60), "video": (0.80, 60)}
INTERVAL = 1800  # seconds in a half-hour
#: The mean patience (seconds) assumed per assisted channel for Erlang A: the platform does
#: not record clients hanging up or leaving the line, so these are assumptions, not data.
PATIENCE = {"phone": 180, "counter": 1800, "video": 300}
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


@dataclass(frozen=True)
class ErlangA:
    """What N agents give in the Erlang A queue."""

    agents: int
    wait_probability: float  # the share of clients who wait at all
    abandonment: float  # the share of clients who give up before being served
    service_level: float  # the share whose wait would be at most `within` seconds


def _log_a(x: float, y: float) -> float:
    """log A(x, y): from the regularised incomplete gamma function P(x, y) when it is not
    vanishingly small, A = e^y·y^(−x)·Γ(x + 1)·P(x, y); else (y far below x) by its series,
    whose terms then fall fast."""
    from scipy.special import gammainc, gammaln  # scipy is heavy; only staffing needs it

    regularised = float(gammainc(x, y))
    if regularised > 1e-200:
        return y - x * math.log(y) + float(gammaln(x + 1)) + math.log(regularised)
    total, term, j = 1.0, 1.0, 0
    while term > 1e-17 * total:
        j += 1
        term *= y / (x + j)
        total += term
    return math.log(total)


def erlang_a(
    agents: int, arrivals: float, handle: float, patience: float, within: float = 0.0
) -> ErlangA:
    """Erlang A for `agents` serving `arrivals` per half-hour with a mean handle time of
    `handle` seconds, clients giving up after a mean `patience` seconds of waiting: the
    chance of waiting, of abandoning, and the share whose wait would be `within` seconds
    or less. Computed with log A, so that an overloaded queue (A beyond any float) and a
    quiet one (γ below any float) both give finite answers."""
    if agents < 1 or arrivals <= 0 or handle <= 0 or patience <= 0 or within < 0:
        raise ValueError("agents, arrivals, handle time and patience must be positive")
    rate = arrivals / INTERVAL  # λ, per second
    mu, theta = 1 / handle, 1 / patience
    x, y = agents * mu / theta, rate / theta
    blocked = erlang_b(agents, rate / mu)
    log_a = _log_a(x, y)
    inverse_a = math.exp(-log_a) if log_a < 700 else 0.0
    waits = 0.0 if blocked <= 0 else 1 / (1 + (1 / blocked - 1) * inverse_a)
    rho = rate / (agents * mu)
    abandon = waits * (1 - 1 / rho + inverse_a / rho)
    # γ(x, y·e^(−θt)) / γ(x, y) = e^(−xθt + y(1 − e^(−θt))) · A(x, y·e^(−θt)) / A(x, y)
    shrunk = y * math.exp(-theta * within)
    later = math.exp(
        -x * theta * within + y - shrunk + (_log_a(x, shrunk) if shrunk > 0 else 0.0) - log_a
    )
    return ErlangA(agents, waits, min(1.0, max(0.0, abandon)), 1 - waits * min(1.0, later))


def agents_needed_a(
    arrivals: float,
    handle: float,
    patience: float,
    share: float,
    within: float,
) -> int:
    """The fewest agents whose Erlang A service level meets `share` within `within`
    seconds (0 when nobody comes)."""
    if arrivals <= 0 or handle <= 0:
        return 0
    agents = 1
    while erlang_a(agents, arrivals, handle, patience, within).service_level < share:
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
