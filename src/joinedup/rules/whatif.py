"""What-if for a policy analyst: change a figure of the law (an amount, a threshold, a rate)
and see what it does to a population — how many families or persons receive each benefit,
its cost, who gains and who loses — beside the law in force.

The population is synthetic and reproducible (the same seed gives the same families): one or
two parents per family, children up to 17, a family income drawn from a log-normal spread.
It is computed with the population run's machinery (`population.what_if`, two OpenFisca runs
on the same arrays, the second with an OpenFisca reform); nothing is read from the registry
and nothing is written — the law in force and the stored entitlements stay as they are.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.utils.translation import gettext as _
from openfisca_core import periods
from openfisca_core.parameters import Parameter as OpenFiscaParameter
from openfisca_core.parameters import ParameterNode

from .population import Population, what_if
from .systems import registry

#: The sizes of population an analyst may choose, in families (about 2.5 persons each).
SIZES = (1_000, 10_000, 100_000)
SEED = 2026


class WhatIfError(ValueError):
    """A what-if that cannot be run: the message is for people, `field` names the input."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Figure:
    """One figure of the law an analyst may change: its dotted name, its description in
    the reader's language, its value in force at the month, and whether it is a rate."""

    name: str
    package: str
    description: str
    value: float
    rate: bool


@dataclass(frozen=True)
class Effect:
    """One benefit under the law in force and the changed law."""

    variable: str
    name: str
    entity: str
    current_recipients: int
    changed_recipients: int
    current_per_month: float
    changed_per_month: float
    gaining: int
    losing: int

    @property
    def current_per_year(self) -> float:
        return round(self.current_per_month * 12, 2)

    @property
    def changed_per_year(self) -> float:
        return round(self.changed_per_month * 12, 2)

    @property
    def cost_per_month(self) -> float:
        return round(self.changed_per_month - self.current_per_month, 2)

    @property
    def cost_per_year(self) -> float:
        return round(self.cost_per_month * 12, 2)


@dataclass(frozen=True)
class Outcome:
    period: str
    families: int
    persons: int
    changes: dict[str, float]
    effects: list[Effect]

    @property
    def current_per_year(self) -> float:
        return round(sum(e.current_per_month for e in self.effects) * 12, 2)

    @property
    def changed_per_year(self) -> float:
        return round(sum(e.changed_per_month for e in self.effects) * 12, 2)

    @property
    def cost_per_year(self) -> float:
        return round(self.changed_per_year - self.current_per_year, 2)


def _walk(node: ParameterNode):
    for child in node.children.values():
        if isinstance(child, ParameterNode):
            yield from _walk(child)
        elif isinstance(child, OpenFiscaParameter):
            yield child


def figures(jurisdictions: list[str], period: str, language: str = "en") -> list[Figure]:
    """The numeric figures of every package at the place, with their values at the month
    (those without a value then, or not a number, are left out)."""
    stack = registry().stack(jurisdictions)
    instant = periods.period(period).start
    found = []
    for package in stack.packages:
        node = stack.system.parameters.children.get(package.id)
        if node is None:
            continue
        for parameter in _walk(node):
            value = parameter(instant)
            if value is None or isinstance(value, bool) or not isinstance(value, int | float):
                continue
            metadata = parameter.metadata or {}
            description = (
                metadata.get("description_fr") if language == "fr" else None
            ) or parameter.description
            found.append(
                Figure(
                    name=parameter.name,
                    package=package.id,
                    description=description or parameter.name,
                    value=float(value),
                    rate=str(metadata.get("unit", "")) == "/1",
                )
            )
    return found


def read_changes(raw: dict[str, str], known: list[Figure]) -> dict[str, float]:
    """The figures the analyst changed (name → new value), from the form's text; a value
    that is no number, negative, or a rate above 1 is refused naming the figure."""
    by_name = {f.name: f for f in known}
    changes: dict[str, float] = {}
    for name, text in raw.items():
        figure = by_name.get(name)
        if figure is None:
            raise WhatIfError(name, _("This is not a figure of the rules at this place."))
        text = (text or "").strip().replace("\u202f", "").replace(" ", "").replace(",", ".")
        if not text:
            continue
        try:
            value = float(text)
        except ValueError:
            raise WhatIfError(name, _("Enter a number.")) from None
        if not math.isfinite(value) or value < 0:
            raise WhatIfError(name, _("Enter a number of zero or more."))
        if figure.rate and value > 1:
            raise WhatIfError(name, _("A rate is a share between 0 and 1 (0.135 for 13.5 %)."))
        if value > 1e9:
            raise WhatIfError(name, _("This number is too large."))
        if abs(value - figure.value) > 1e-9:
            changes[name] = value
    if not changes:
        raise WhatIfError("", _("Change at least one figure of the law."))
    return changes


def synthetic(families: int, period: str, income_variable: str, seed: int = SEED) -> Population:
    """A reproducible population of `families` families: one or two parents (20 to 59),
    zero to four children (0 to 17), a family income for the years a benefit may read."""
    rng = np.random.default_rng(seed)
    parents = rng.integers(1, 3, families)
    children = rng.integers(0, 5, families)
    sizes = parents + children
    family_of = np.repeat(np.arange(families), sizes)
    position = np.arange(len(family_of)) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    is_parent = position < np.repeat(parents, sizes)
    ages = np.where(
        is_parent, rng.integers(20, 60, len(family_of)), rng.integers(0, 18, len(family_of))
    )
    incomes = rng.lognormal(mean=11.0, sigma=0.6, size=families).round(0)
    year = int(period[:4])
    return Population(
        person_ids=np.arange(len(family_of)),
        family_ids=np.arange(families),
        family_of=family_of,
        roles=np.where(is_parent, "parent", "child"),
        inputs={
            "age": {period: ages},
            income_variable: {str(y): incomes for y in (year - 2, year - 1, year)},
        },
    )


def run(
    jurisdictions: list[str],
    period: str,
    changes: dict[str, float],
    families: int,
    language: str = "en",
) -> Outcome:
    """The synthetic population under the law in force and under the changed law."""
    if families not in SIZES:
        raise WhatIfError("families", _("Choose one of the sizes of population offered."))
    stack = registry().stack(jurisdictions)
    root = stack.packages[0]
    population = synthetic(families, period, root.family_income or "")
    differences = what_if(population, jurisdictions=jurisdictions, period=period, changes=changes)
    names = {b.variable: b.name(language) for p in stack.packages for b in p.benefits}
    return Outcome(
        period=period,
        families=families,
        persons=len(population.person_ids),
        changes=changes,
        effects=[
            Effect(
                variable=d.variable,
                name=names.get(d.variable, d.variable),
                entity=d.entity,
                current_recipients=d.current_recipients,
                changed_recipients=d.changed_recipients,
                current_per_month=d.current_per_month,
                changed_per_month=d.changed_per_month,
                gaining=d.gaining,
                losing=d.losing,
            )
            for d in differences
        ],
    )


def as_plain(outcome: Outcome) -> dict[str, Any]:
    return {
        "period": outcome.period,
        "families": outcome.families,
        "persons": outcome.persons,
        "changes": outcome.changes,
        "effects": [e.__dict__ for e in outcome.effects],
    }
