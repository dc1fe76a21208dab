"""Erlang C against published tables, and the forecast's error on a series with known
seasonality."""

from __future__ import annotations

import math
import random

import pytest

from joinedup.performance import staffing


@pytest.mark.parametrize(
    ("traffic", "lines"),
    # A published Erlang B table: lines needed for at most 1 % blocking.
    [(10, 18), (20, 30), (50, 64)],
)
def test_erlang_b_matches_the_published_table(traffic, lines):
    assert staffing.erlang_b(lines, traffic) <= 0.01 < staffing.erlang_b(lines - 1, traffic)


def test_erlang_b_traffic_for_ten_lines():
    # The classic table's row for 10 lines: 4.46 erlangs at 1 % blocking, 5.08 at 2 %.
    assert staffing.erlang_b(10, 4.46) == pytest.approx(0.01, abs=2e-4)
    assert staffing.erlang_b(10, 5.08) == pytest.approx(0.02, abs=2e-4)


def test_erlang_c_matches_the_worked_example():
    # The textbook call-centre example: 100 calls in half an hour, 3 minutes each, so
    # A = 10 erlangs; with 11 agents a caller waits with probability 0.6821 and 39 % are
    # answered within 20 seconds; 14 agents reach 88.8 %, the first above 80 %.
    assert staffing.erlang_c(11, 10) == pytest.approx(0.6821, abs=1e-4)
    assert staffing.service_level(11, 10, 180, 20) == pytest.approx(0.3896, abs=1e-4)
    assert staffing.service_level(13, 10, 180, 20) < 0.8
    assert staffing.service_level(14, 10, 180, 20) == pytest.approx(0.8884, abs=1e-4)
    assert staffing.agents_needed(100, 180, 0.8, 20) == 14
    assert staffing.erlang_c(10, 10) == 1.0 and staffing.agents_needed(0, 180, 0.8, 20) == 0
    # Two agents, one erlang: C = (1/2 · 2) / (1 + 1 + 1) = 1/3.
    assert staffing.erlang_c(2, 1) == pytest.approx(1 / 3)


def test_the_forecast_learns_a_known_seasonality_and_reports_its_error():
    rng = random.Random(3)
    season = 13
    series = [
        200 + 60 * math.sin(2 * math.pi * week / season) + week * 0.5 + rng.gauss(0, 4)
        for week in range(4 * season)
    ]
    result = staffing.forecast(series, horizon=12, held_out=8, season=season)
    assert result.seasonal and len(result.forecast) == 12 and len(result.held_out) == 8
    assert result.mape is not None and result.mape < 0.05  # within 5 % on unseen weeks
    # A flat model would miss the wave by far more.
    flat = [sum(series[:-8]) / len(series[:-8])] * 8
    assert staffing.mape(series[-8:], flat) > 3 * result.mape
    # The next weeks follow the wave: peak and trough a half-season apart.
    assert max(result.forecast) - min(result.forecast) > 60


def chain(agents: int, arrivals: float, handle: float, patience: float, within: float):
    """Erlang A by its birth–death chain (truncated far out), independently of the formulas:
    the share who wait, who abandon, and whose wait would exceed `within` (a tagged client
    with j others ahead reaches an agent after j + 1 departures, at rates Nμ + iθ)."""
    import numpy as np
    from scipy.linalg import expm

    rate, mu, theta = arrivals / staffing.INTERVAL, 1 / handle, 1 / patience
    size = agents + 300
    weights = [1.0]
    for k in range(1, size):
        death = min(k, agents) * mu + max(k - agents, 0) * theta
        weights.append(weights[-1] * rate / death)
    total = sum(weights)
    pi = [w / total for w in weights]
    waits = sum(pi[agents:])
    abandon = theta * sum((k - agents) * pi[k] for k in range(agents, size)) / rate
    ahead = size - agents
    generator = np.zeros((ahead, ahead))
    for i in range(ahead):
        generator[i, i] = -(agents * mu + i * theta)
        if i:
            generator[i, i - 1] = agents * mu + i * theta
    still_waiting = expm(generator * within).sum(axis=1)
    later = sum(pi[agents + j] * still_waiting[j] for j in range(ahead))
    return waits, abandon, later


@pytest.mark.parametrize(
    ("agents", "arrivals", "handle", "patience"),
    [(5, 24, 300, 200), (10, 60, 180, 90), (3, 40, 240, 600), (12, 40, 300, 120)],
)
def test_erlang_a_agrees_with_its_birth_death_chain(agents, arrivals, handle, patience):
    found = staffing.erlang_a(agents, arrivals, handle, patience, within=20)
    waits, abandon, later = chain(agents, arrivals, handle, patience, 20)
    assert found.wait_probability == pytest.approx(waits, rel=1e-6)
    assert found.abandonment == pytest.approx(abandon, rel=1e-6)
    assert found.service_level == pytest.approx(1 - later, rel=1e-6)


def test_erlang_a_by_hand_when_patience_equals_the_handle_time():
    # θ = μ: every client present leaves at rate μ, so their number is Poisson(A).
    traffic, agents, handle = 8.0, 10, 180.0
    result = staffing.erlang_a(agents, traffic * staffing.INTERVAL / handle, handle, handle)
    poisson = [math.exp(-traffic) * traffic**k / math.factorial(k) for k in range(120)]
    assert result.wait_probability == pytest.approx(sum(poisson[agents:]), rel=1e-9)
    expected = sum((k - agents) * p for k, p in enumerate(poisson) if k >= agents) / traffic
    assert result.abandonment == pytest.approx(expected, rel=1e-9)


def test_erlang_a_without_abandonment_is_erlang_c_and_abandonment_needs_fewer_agents():
    # The textbook case: 10 erlangs of 3-minute calls; patient clients give Erlang C.
    arrivals, handle = 100, 180
    patient = staffing.erlang_a(11, arrivals, handle, 1e9, within=20)
    assert patient.wait_probability == pytest.approx(staffing.erlang_c(11, 10), rel=1e-4)
    assert patient.service_level == pytest.approx(
        staffing.service_level(11, 10, handle, 20), rel=1e-4
    )
    assert staffing.agents_needed(arrivals, handle, 0.8, 20) == 14
    impatient = staffing.agents_needed_a(arrivals, handle, 60, 0.8, 20)
    assert impatient < 14
    # An overloaded queue stays finite: one agent, everyone but those served gives up.
    alone = staffing.erlang_a(1, 1000, 300, 1000)
    assert alone.abandonment == pytest.approx(1 - (1 / 300) / (1000 / 1800), rel=1e-3)
    with pytest.raises(ValueError):
        staffing.erlang_a(0, 10, 300, 60)
