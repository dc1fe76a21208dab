"""Rules benchmark: OpenFisca computing every benefit at a place for a whole population.

Run it with the project's Python: `.venv/bin/python bench/rules.py` (also `make bench`).

It makes a synthetic population as arrays (default 1,000,000 people in 400,000 families:
one or two parents, up to four children; ages and incomes drawn with a fixed seed) and
times, in one run:

(a) OpenFisca: the simulation built from the arrays and every benefit of the packages at
    Toronto (federal, Ontario, Toronto) computed for one month — `rules.population.compute`,
    what the population run calls;
(b) the Canada Child Benefit alone written by hand in NumPy on the same arrays: the least a
    vectorised computation of that one benefit can cost, the reference for (a)'s overhead;

checks that (a) and (b) give the same federal amount for every family, and prints the
figures with the ratio. The issue's budget for the whole run (database to offers written)
is 20 s, with reading and writing under 10 s of it; this script measures the computation
part only — the population run and its database parts are not built yet. No database is
needed.
"""

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "joinedup.settings")


def synthetic(people: int, families: int, seed: int):
    """Arrays of a population: each family one or two parents, then children, until the
    number of people is reached (the families' sizes are spread as evenly as it allows)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    parents = rng.integers(1, 3, families)
    children = np.zeros(families, dtype=int)
    spare = people - int(parents.sum())
    if spare < 0:
        raise SystemExit("Not enough people for one parent per family.")
    while spare > 0:
        add = rng.integers(0, families, min(spare, families))
        np.add.at(children, add, 1)
        spare -= len(add)
    sizes = parents + children
    family_of = np.repeat(np.arange(families), sizes)
    position = np.arange(len(family_of)) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    is_parent = position < np.repeat(parents, sizes)
    ages = np.where(
        is_parent, rng.integers(20, 60, len(family_of)), rng.integers(0, 18, len(family_of))
    )
    incomes = rng.lognormal(mean=11.0, sigma=0.6, size=families).round(0)
    return family_of, np.where(is_parent, "parent", "child"), ages, incomes


def numpy_child_benefit(family_of, roles, ages, incomes, families):
    """The Canada Child Benefit for July 2026 by hand (the law of July 2026, income of 2025)."""
    import numpy as np

    child = (roles == "child") & (ages < 18)
    maximum = np.bincount(
        family_of, weights=child * np.where(ages < 6, 8157, 6883), minlength=families
    )
    count = np.bincount(family_of, weights=child, minlength=families).astype(int)
    first = np.select(
        [count == 1, count == 2, count == 3, count >= 4], [0.07, 0.135, 0.19, 0.23], 0
    )
    second = np.select(
        [count == 1, count == 2, count == 3, count >= 4], [0.032, 0.057, 0.08, 0.095], 0
    )
    reduction = first * np.clip(incomes - 38237, 0, 82847 - 38237) + second * np.maximum(
        incomes - 82847, 0
    )
    return np.maximum(maximum - reduction, 0) / 12


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--families", type=int, default=400_000)
    parser.add_argument("--seed", type=int, default=18)
    args = parser.parse_args()

    import django

    django.setup()
    import numpy as np

    from joinedup.rules.population import Population, compute
    from joinedup.rules.systems import registry

    family_of, roles, ages, incomes = synthetic(args.people, args.families, args.seed)
    print(f"{len(family_of):,} people in {args.families:,} families")
    started = time.perf_counter()
    registry().stack(["CA", "CA-ON", "CA-ON-TOR"])
    print(f"rule packages loaded and their cases run once: {time.perf_counter() - started:.2f} s")

    population = Population(
        person_ids=np.arange(len(family_of)),
        family_ids=np.arange(args.families),
        family_of=family_of,
        roles=roles,
        inputs={"age": {"2026-07": ages}, "adjusted_family_net_income": {"2025": incomes}},
    )
    started = time.perf_counter()
    result = compute(population, jurisdictions=["CA", "CA-ON", "CA-ON-TOR"], period="2026-07")
    openfisca = time.perf_counter() - started

    started = time.perf_counter()
    by_hand = numpy_child_benefit(family_of, roles, ages, incomes, args.families)
    numpy_seconds = time.perf_counter() - started

    federal = result.benefits["ca_child_benefit"].amounts
    worst = float(np.abs(federal - by_hand).max())
    if worst > 0.01:
        print(f"MISMATCH: the two federal amounts differ by up to {worst:.4f}")
        return 1
    for variable, totals in result.benefits.items():
        print(f"  {variable}: {totals.recipients:,} recipients, {totals.per_month:,.2f} a month")
    print(f"(a) OpenFisca, every benefit at Toronto:    {openfisca:8.2f} s")
    print(f"(b) NumPy by hand, the federal benefit only: {numpy_seconds:8.2f} s")
    print(
        f"ratio (a)/(b): {openfisca / numpy_seconds:.1f}; same federal amounts (within {worst:.4f})"
    )
    print(f"budget of the whole population run: 20 s; computation here: {openfisca:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
