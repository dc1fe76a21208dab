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
