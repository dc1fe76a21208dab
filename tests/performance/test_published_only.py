"""A page that shows only some measures (`Figures.published(only=...)`) gets them exactly as
the full record has them, and the same list of hidden measures: small counts are hidden the
same way whichever measures a page shows."""

from __future__ import annotations

import random
from fractions import Fraction

from joinedup.performance import kpis

SHOWN = {"completions", "within_standard", "satisfaction", "responses", "cost_per_transaction"}


def _figures(rng: random.Random) -> kpis.Figures:
    def small() -> int:
        return rng.choice([0, 0, 1, 3, 9, 10, 11, 40])

    completed, not_eligible = small(), small()
    figures = kpis.Figures(
        key={"service_key": "s"},
        started=small(),
        completed=completed,
        not_eligible=not_eligible,
        abandoned=small(),
        with_standard=min(small(), completed + not_eligible),
        histogram=[small() for _ in range(rng.choice([0, 1, 3]))],
        digital_completions=min(small(), completed + not_eligible),
        channel_cost=small() * 100,
        overhead=Fraction(small(), 3),
        digital_cost=Fraction(small()),
        invited=small(),
        responses=small(),
        currency=rng.choice(["CAD", kpis.MIXED, ""]),
    )
    figures.met_standard = min(small(), figures.with_standard)
    if rng.random() < 0.7:
        figures.answers = {"satisfaction": [small() * 4, small()], "trust": [small(), small()]}
    return figures


def test_the_measures_shown_and_the_hidden_ones_match_the_full_record():
    rng = random.Random(22)
    for _case in range(3000):
        figures = _figures(rng)
        minimum = rng.choice([1, 10, 40])
        full = figures.published(minimum)
        some = figures.published(minimum, only=SHOWN)
        assert some["suppressed"] == full["suppressed"]
        assert {name: some[name] for name in SHOWN} == {name: full[name] for name in SHOWN}
        assert some["currency"] == full["currency"]
        assert set(some) == {*SHOWN, "service_key", "currency", "suppressed"}
