"""Synthetic places with monthly figures, and a pilot with a known effect.

So that comparisons and pilot evaluations have enough units to mean something, the history
adds `--places N` (36 by default) synthetic service areas, each a small square drawn on a
grid and marked synthetic, with monthly figures over the history's span. `--pilot KEY
--effect X` adds a pilot in `--treated` of them (five by default; one gives a synthetic
control) starting `--pilot-months` before the end, and adds X to the watched measure of the
treated places from then on: the evaluation should find X, and nothing without it.

`simulate(...)` is the model alone (no database), for tests and the benchmark:

    y[j, t] = level_j + 0.04·t + 2·sin(2πt/12) + loading_j·f_t + ε[j, t] (+ X after the start)

with level_j ~ N(70, 5), loading_j ~ N(1, 0.3), f_t a random walk, ε ~ N(0, noise).
"""

from __future__ import annotations

import datetime
import math
from argparse import ArgumentParser

import numpy as np

from joinedup.federation.models import Jurisdiction
from joinedup.funding import places as funding_places
from joinedup.funding.models import Pilot, Place, PlaceFigure

from .run import HistoryRun, generator

MEASURE = PlaceFigure.Measure.WITHIN_STANDARD


def simulate(
    places: int,
    months: int,
    *,
    seed: int,
    treated: list[int] | None = None,
    start: int | None = None,
    effect: float = 0.0,
    noise: float = 1.5,
) -> np.ndarray:
    """A places × months array of the watched measure; `effect` added to the `treated` rows
    from month index `start` on."""
    rng = np.random.default_rng(seed)
    level = rng.normal(70, 5, size=places)
    loading = rng.normal(1, 0.3, size=places)
    factor = np.cumsum(rng.normal(0, 0.6, size=months))
    t = np.arange(months)
    common = 0.04 * t + 2 * np.sin(2 * math.pi * t / 12)
    values = (
        level[:, None]
        + common[None, :]
        + loading[:, None] * factor[None, :]
        + rng.normal(0, noise, size=(places, months))
    )
    if treated and start is not None:
        values[np.array(treated), start:] += effect
    return values


def _months(first: datetime.date, last: datetime.date) -> list[datetime.date]:
    months, day = [], first.replace(day=1)
    while day <= last:
        months.append(day)
        day = (day.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)
    return months


def _square(index: int) -> dict:
    """A small square on a grid (clearly not a real boundary)."""
    row, column = divmod(index, 6)
    lon, lat = -100.0 + column * 0.2, 55.0 + row * 0.2
    ring = [[lon, lat], [lon + 0.18, lat], [lon + 0.18, lat + 0.18], [lon, lat + 0.18], [lon, lat]]
    return {"type": "Polygon", "coordinates": [[[round(x, 4), round(y, 4)] for x, y in ring]]}


def _arguments(parser: ArgumentParser) -> None:
    parser.add_argument(
        "--places", type=int, default=36, help="synthetic places with monthly figures (36)"
    )
    parser.add_argument("--pilot", default="", help="add a pilot with this key")
    parser.add_argument(
        "--effect", type=float, default=0.0, help="the pilot's effect on its measure (points)"
    )
    parser.add_argument("--treated", type=int, default=5, help="places in the pilot (5)")
    parser.add_argument(
        "--pilot-months", type=int, default=12, help="months of the pilot before the end (12)"
    )


def write_places(
    *,
    count: int,
    months: list[datetime.date],
    seed: int,
    pilot: str = "",
    effect: float = 0.0,
    treated: int = 5,
    pilot_months: int = 12,
) -> int:
    """Replace the synthetic places (and their figures and pilots) with `count` new ones."""
    Pilot.objects.filter(synthetic=True).delete()
    PlaceFigure.objects.filter(place__synthetic=True, place__kind=Place.Kind.AREA).delete()
    Place.objects.filter(synthetic=True, key__startswith="synthetic-").delete()
    if count <= 0 or not months:
        return 0
    within = list(Jurisdiction.objects.filter(level=Jurisdiction.Level.LOCAL).order_by("code"))
    rng = np.random.default_rng(seed)
    start = max(1, len(months) - pilot_months) if pilot else None
    chosen = sorted(rng.choice(count, size=min(treated, count - 1), replace=False).tolist())
    measure = simulate(
        count, len(months), seed=seed, treated=chosen if pilot else None, start=start, effect=effect
    )
    satisfaction = simulate(count, len(months), seed=seed + 1) - 5
    places = Place.objects.bulk_create(
        Place(
            key=f"synthetic-{i + 1:02d}",
            kind=Place.Kind.AREA,
            jurisdiction=within[i % len(within)] if within else None,
            names={"en": f"Synthetic place {i + 1:02d}", "fr": f"Lieu synthétique {i + 1:02d}"},
            shape=_square(i),
            population=int(rng.integers(8_000, 120_000)),
            source="synthetic history",
            synthetic=True,
        )
        for i in range(count)
    )
    figures = []
    for i, place in enumerate(places):
        for t, month in enumerate(months):
            figures.append(
                PlaceFigure(
                    place=place,
                    measure=MEASURE,
                    period=month,
                    value=round(float(min(100, max(0, measure[i, t]))), 3),
                    synthetic=True,
                )
            )
            figures.append(
                PlaceFigure(
                    place=place,
                    measure=PlaceFigure.Measure.SATISFACTION,
                    period=month,
                    value=round(float(min(100, max(0, satisfaction[i, t]))), 3),
                    synthetic=True,
                )
            )
            figures.append(
                PlaceFigure(
                    place=place,
                    measure=PlaceFigure.Measure.COMPLETED,
                    period=month,
                    value=float(round(place.population / 40 * (1 + 0.1 * math.sin(t)))),
                    synthetic=True,
                )
            )
    PlaceFigure.objects.bulk_create(figures, batch_size=2000)
    if pilot:
        record = Pilot.objects.create(
            key=pilot,
            change=Pilot.Change.NAVIGATOR,
            names={"en": f"Synthetic pilot {pilot}", "fr": f"Projet pilote synthétique {pilot}"},
            description={
                "en": "A navigator program in synthetic places, with a known injected effect.",
                "fr": "Un programme de navigateurs dans des lieux synthétiques, avec un effet "
                "connu injecté.",
            },
            starts_on=months[start],
            measure=MEASURE,
            injected_effect=effect,
            synthetic=True,
        )
        record.treated.set([places[i] for i in chosen])
        record.comparison.set([p for i, p in enumerate(places) if i not in chosen])
    return len(places) + len(figures)


@generator(
    "places", order=95, help="synthetic places, monthly figures, a pilot", arguments=_arguments
)
def make_places(run: HistoryRun) -> int:
    options = run.options
    # The registry's jurisdictions as places, with their figures from the rollups just built.
    funding_places.load_places([])
    written = funding_places.figures_from_rollups()
    return written + write_places(
        count=int(options.get("places", 36)),
        months=_months(run.first, run.last),
        seed=run.rng.getrandbits(32),
        pilot=options.get("pilot") or "",
        effect=float(options.get("effect") or 0.0),
        treated=int(options.get("treated") or 5),
        pilot_months=int(options.get("pilot_months") or 12),
    )
