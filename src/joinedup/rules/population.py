"""Compute the rules for a whole population at once, as arrays (OpenFisca is vectorised),
and compare the law with a changed law (what-if).

The caller hands over the population as arrays — each person, the family they belong to
and their role in it, and the inputs per variable and period — read from wherever it keeps
them (the population run reads the platform's people and the evidence it was given). Nothing
here reads or writes the database: this is the computation alone, so a benchmark can time it
beside the reading and writing around it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.utils.translation import gettext as _
from openfisca_core import periods
from openfisca_core.reforms import Reform
from openfisca_core.simulation_builder import SimulationBuilder
from openfisca_core.taxbenefitsystems import TaxBenefitSystem

from .errors import SituationError
from .manifests import RulePackage
from .systems import Registry, registry


@dataclass
class Population:
    """Persons and their families as arrays: `family_of[i]` is the id of person i's family
    and `roles[i]` their role in it (parent, child). `inputs` maps a variable to its values
    by period, one value per person or per family, in the order of the ids."""

    person_ids: np.ndarray
    family_ids: np.ndarray
    family_of: np.ndarray
    roles: np.ndarray
    inputs: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)


@dataclass
class BenefitTotals:
    variable: str
    package: RulePackage
    entity: str
    #: One amount per month for each instance of the entity, in the order of its ids.
    amounts: np.ndarray

    @property
    def per_month(self) -> float:
        return round(float(self.amounts.sum(dtype=np.float64)), 2)

    @property
    def recipients(self) -> int:
        return int((self.amounts > 0).sum())


@dataclass
class PopulationResult:
    period: str
    packages: tuple[RulePackage, ...]
    benefits: dict[str, BenefitTotals]


@dataclass
class Difference:
    """What a change of the law does to one benefit: its cost and whom it touches."""

    variable: str
    current_per_month: float
    changed_per_month: float
    affected: int
    gaining: int
    losing: int
    #: Families (or persons) receiving it, under the law in force and the changed law.
    current_recipients: int = 0
    changed_recipients: int = 0
    entity: str = ""

    @property
    def cost_per_month(self) -> float:
        return round(self.changed_per_month - self.current_per_month, 2)

    @property
    def cost_per_year(self) -> float:
        return round(self.cost_per_month * 12, 2)


def simulation_of(population: Population, system: TaxBenefitSystem):
    """An OpenFisca simulation over the whole population, its inputs set as arrays."""
    groups = system.group_entities
    if len(groups) != 1:
        raise SituationError(_("A population run needs rules with one kind of group."))
    builder = SimulationBuilder()
    builder.create_entities(system)
    builder.declare_person_entity(system.person_entity.key, population.person_ids)
    families = builder.declare_entity(groups[0].key, population.family_ids)
    builder.join_with_persons(families, population.family_of, population.roles)
    simulation = builder.build(system)
    for variable, by_period in population.inputs.items():
        if variable not in system.variables:
            raise SituationError(_("This is not a variable of these rules."), variable=variable)
        for at, values in by_period.items():
            simulation.set_input(variable, at, np.asarray(values))
    return simulation


class _Changed(Reform):
    """The law with some parameters set to another value from a date."""

    def __init__(self, baseline, changes: dict[str, float], since: str) -> None:
        self._changes = changes
        self._since = since
        super().__init__(baseline)

    def apply(self) -> None:
        def modify(parameters):
            for name, value in self._changes.items():
                node = parameters
                try:
                    for part in name.split("."):
                        node = node.children[part]
                    node.update(start=periods.instant(self._since), value=value)
                except (KeyError, AttributeError) as error:
                    raise SituationError(
                        _("This is not a parameter of these rules."), variable=name
                    ) from error
            return parameters

        self.modify_parameters(modifier_function=modify)


def compute(
    population: Population,
    *,
    jurisdictions: list[str],
    period: str,
    changes: dict[str, float] | None = None,
    rules: Registry | None = None,
) -> PopulationResult:
    """Every benefit of every package at the place, for everyone, for one month; with
    `changes` (parameter name → value), under the law so changed from that month on."""
    stack = (rules or registry()).stack(jurisdictions)
    month = str(periods.period(period))
    system = _Changed(stack.system, changes, month) if changes else stack.system
    simulation = simulation_of(population, system)
    benefits = {}
    for package in stack.packages:
        for benefit in package.benefits:
            variable = system.variables[benefit.variable]
            benefits[benefit.variable] = BenefitTotals(
                variable=benefit.variable,
                package=package,
                entity=variable.entity.plural,
                amounts=np.asarray(simulation.calculate(benefit.variable, month)),
            )
    return PopulationResult(period=month, packages=stack.packages, benefits=benefits)


def what_if(
    population: Population,
    *,
    jurisdictions: list[str],
    period: str,
    changes: dict[str, float],
    rules: Registry | None = None,
) -> list[Difference]:
    """The current law beside the changed one, per benefit: the monthly cost and the
    number of families (or persons) whose amount changes. Writes nothing."""
    current = compute(population, jurisdictions=jurisdictions, period=period, rules=rules)
    changed = compute(
        population, jurisdictions=jurisdictions, period=period, changes=changes, rules=rules
    )
    differences = []
    for variable, before in current.benefits.items():
        after = changed.benefits[variable]
        delta = after.amounts.astype(np.float64) - before.amounts.astype(np.float64)
        differences.append(
            Difference(
                variable=variable,
                current_per_month=before.per_month,
                changed_per_month=after.per_month,
                affected=int((np.abs(delta) >= 0.005).sum()),
                gaining=int((delta >= 0.005).sum()),
                losing=int((delta <= -0.005).sum()),
                current_recipients=before.recipients,
                changed_recipients=after.recipients,
                entity=before.entity,
            )
        )
    return differences


def as_plain(result: PopulationResult) -> dict[str, Any]:
    """Totals per benefit, for a report."""
    return {
        variable: {"per_month": totals.per_month, "recipients": totals.recipients}
        for variable, totals in result.benefits.items()
    }
