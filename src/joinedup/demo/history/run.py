"""The registry of history generators, and the run that calls them in order.

The bottom floor of `joinedup.demo.history`: it imports none of the generators (the demo
app's `ready()` does), so a new generator is a new module, never an edit here.
"""

from __future__ import annotations

import datetime
import random
from argparse import ArgumentParser
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone


class NothingToGenerate(RuntimeError):
    """No federation is loaded, so there is no service to make history for."""


@dataclass
class HistoryRun:
    """What every generator of one run shares.

    `transactions`: how many transactions to write; `first`..`last`: the days the history
    covers; `rng`: the one seeded random generator, used in generator order so a seed
    repeats a run exactly; `progress`: called with the number of transactions written;
    `options`: the command's options (generators' own ones included); `written`: what each
    generator before this one wrote; `shared`: anything a generator leaves for later ones.
    """

    transactions: int
    years: int
    first: datetime.date
    last: datetime.date
    rng: random.Random
    seed: int | None = None
    progress: Callable[[int], None] = lambda _count: None
    options: Mapping[str, Any] = field(default_factory=dict)
    written: dict[str, int] = field(default_factory=dict)
    shared: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Generator:
    """One step of the history: `make(run)` writes its records and returns how many.

    `atomic`: run inside one transaction (a generator that commits in parts, such as the
    parallel writers of the transactions, says False); `arguments`: adds the generator's own
    options to `joinedup generate-history`.
    """

    name: str
    order: int
    make: Callable[[HistoryRun], int]
    help: str = ""
    atomic: bool = True
    arguments: Callable[[ArgumentParser], None] | None = None


_GENERATORS: dict[str, Generator] = {}


def generator(
    name: str,
    *,
    order: int,
    help: str = "",
    atomic: bool = True,
    arguments: Callable[[ArgumentParser], None] | None = None,
) -> Callable[[Callable[[HistoryRun], int]], Callable[[HistoryRun], int]]:
    """Register the decorated function as the generator `name`, run at `order`."""

    def register(make: Callable[[HistoryRun], int]) -> Callable[[HistoryRun], int]:
        existing = _GENERATORS.get(name)
        where = (make.__module__, make.__qualname__)
        if existing is not None and (existing.make.__module__, existing.make.__qualname__) != where:
            raise ValueError(f"a history generator named {name!r} is registered already")
        _GENERATORS[name] = Generator(name, order, make, help, atomic, arguments)
        return make

    return register


def generators() -> list[Generator]:
    """The registered generators, in the order they run."""
    return sorted(_GENERATORS.values(), key=lambda g: (g.order, g.name))


def generate_history(
    n: int,
    *,
    years: int = 3,
    seed: int | None = None,
    progress: Callable[[int], None] | None = None,
    surveys: bool = True,
    overheads: bool = True,
    skip: Iterable[str] = (),
    options: Mapping[str, Any] | None = None,
) -> int:
    """Write n synthetic transactions over the last `years` years, with what every other
    generator adds (costs, overheads, surveys...), then rebuild the rollups. Returns the
    number of transactions written. `skip` names generators not to run."""
    if n <= 0:
        return 0
    skipped = set(skip)
    if not surveys:
        skipped.add("surveys")
    if not overheads:
        skipped.add("overheads")
    unknown = skipped - set(_GENERATORS)
    if unknown:
        raise ValueError(f"no history generator named {', '.join(sorted(unknown))}")
    last = timezone.localdate()
    run = HistoryRun(
        transactions=n,
        years=years,
        first=last.replace(year=last.year - years, day=1),
        last=last,
        rng=random.Random(seed),
        seed=seed,
        progress=progress or (lambda _count: None),
        options=dict(options or {}),
    )
    for step in generators():
        if step.name in skipped:
            continue
        if step.atomic:
            with transaction.atomic():
                run.written[step.name] = step.make(run)
        else:
            run.written[step.name] = step.make(run)
    return n
