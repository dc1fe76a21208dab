"""Compute entitlements for one situation, stacked across every level of government at a
place, with an explanation of each amount.

The situation is OpenFisca's: entities by their plural (`persons`, `families`), each
instance's variables by period (`{"age": {"2026-07": 4}}`); a variable asked for is given
with `null` for the period (`{"ca_child_benefit": {"2026-07": null}}`), as in OpenFisca's
web API. With a `period`, every benefit of every package at the place is computed for it as
well. Each amount comes with its trace, from OpenFisca's tracer: the variables and inputs it
was computed from, and the parameters read (their value at that date, since when it has been
in force, and its legal sources).
"""

from __future__ import annotations

import copy
import datetime
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.utils.translation import gettext as _
from openfisca_core import periods
from openfisca_core.errors import (
    CycleError,
    PeriodMismatchError,
    SituationParsingError,
    SpiralError,
    VariableNotFoundError,
)
from openfisca_core.indexed_enums import EnumArray
from openfisca_core.simulation_builder import SimulationBuilder

from .errors import SituationError
from .manifests import RulePackage
from .systems import Registry, Stack, registry

#: One situation is a household or a few: whole populations are computed by population runs.
MAX_INSTANCES = 200


@dataclass
class Amount:
    """One computed value of one variable for one entity at one period."""

    variable: str
    entity: str
    id: str
    period: str
    value: Any


@dataclass
class BenefitAmount:
    """A benefit a package grants, for one entity, with what the law of the period gives."""

    variable: str
    name: str
    jurisdiction: str
    package: str
    version: str
    service: str | None
    entity: str
    id: str
    period: str
    per_month: float
    per_year: float
    sources: list[dict[str, str]]
    trace: str


@dataclass
class Calculation:
    period: str | None
    packages: list[RulePackage]
    refused: list[str]
    amounts: list[Amount]
    benefits: list[BenefitAmount]
    #: Every step of every explanation, keyed `variable<period>` (OpenFisca's flat trace).
    trace: dict[str, dict[str, Any]] = field(default_factory=dict)
    situation: dict[str, Any] = field(default_factory=dict)

    @property
    def total_per_month(self) -> float:
        return round(sum(b.per_month for b in self.benefits), 2)


def _plain(value: Any) -> Any:
    """A value fit for JSON: numbers, booleans, dates as ISO text, enums by name."""
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating | float):
        return round(float(value), 6)
    if isinstance(value, np.datetime64):
        return str(value.astype("datetime64[D]"))
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode()
    return value if isinstance(value, int | str) or value is None else str(value)


def _values(array: Any) -> list[Any]:
    if isinstance(array, EnumArray):
        return [item.name for item in array.decode()]
    return [_plain(v) for v in np.asarray(array).tolist()] if array is not None else []


def _located(error: SituationParsingError) -> SituationError:
    """OpenFisca's parsing error (nested down to the faulty key; a period like 2026 becomes
    a list index on the way) as one message naming the entity, the instance, the variable
    and the period as far as it goes."""
    path: list[str] = []
    node: Any = error.error
    while True:
        if isinstance(node, dict) and node:
            key, node = next(iter(node.items()))
        elif isinstance(node, list) and any(item is not None for item in node):
            key = max(i for i, item in enumerate(node) if item is not None)
            node = node[key]
        else:
            break
        path.append(str(key))
    entity = "/".join(path[:2]) if path else None
    variable = path[2] if len(path) > 2 else None
    period = path[3] if len(path) > 3 else None
    return SituationError(str(node), entity=entity, variable=variable, period=period)


def _requests(situation: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[str, str, str]]]:
    """The situation without the values asked for (null), and what was asked for:
    (entity plural/instance, variable, period). Every period key must be one."""
    given = copy.deepcopy(situation)
    asked: list[tuple[str, str, str]] = []
    for plural, instances in given.items():
        if not isinstance(instances, dict):
            continue
        for name, instance in instances.items():
            if not isinstance(instance, dict):
                continue
            for variable, by_period in list(instance.items()):
                if not isinstance(by_period, dict):
                    continue
                for at, value in list(by_period.items()):
                    if str(at).lower() != "eternity":
                        _period(str(at), entity=f"{plural}/{name}", variable=variable)
                    if value is None:
                        asked.append((f"{plural}/{name}", variable, str(at)))
                        del by_period[at]
                if not by_period:
                    del instance[variable]
    return given, asked


class _Explainer:
    """Turns the tracer's trees into flat steps, one per variable and period."""

    def __init__(self, simulation, system, given: set[tuple[str, str]]) -> None:
        self.simulation = simulation
        self.system = system
        self.given = given
        self.steps: dict[str, dict[str, Any]] = {}

    def parameter(self, name: str, at: str, value: Any) -> dict[str, Any]:
        node = self.system.parameters
        for part in name.split("."):
            node = node.children[part]
        since = next((v.instant_str for v in node.values_list if v.instant_str <= at), None)
        references = node.metadata.get("reference") or []
        if isinstance(references, str):
            references = [{"title": references, "href": references}]
        return {
            "name": name,
            "description": node.description or name,
            "descriptions": {
                "en": node.description or name,
                "fr": node.metadata.get("description_fr") or node.description or name,
            },
            "unit": node.metadata.get("unit") or "",
            "value": _values(value) if isinstance(value, np.ndarray) else _plain(value),
            "in_force_since": since,
            "illustrative": bool(node.metadata.get("illustrative", False)),
            "sources": [dict(r) for r in references],
        }

    def add(self, node) -> str:
        key = f"{node.name}<{node.period}>"
        if key in self.steps:
            return key
        variable = self.system.variables[node.name]
        population = self.simulation.populations[variable.entity.key]
        if (node.name, str(node.period)) in self.given:
            kind = "input"
        elif not variable.formulas:
            kind = "default"
        else:
            kind = "formula"
        step: dict[str, Any] = {
            "variable": node.name,
            "label": variable.label or node.name,
            "period": str(node.period),
            "entity": variable.entity.plural,
            "kind": kind,
            "values": dict(zip(population.ids, _values(node.value), strict=False)),
            "source": _first(variable.reference),
            "parameters": [],
            "depends_on": [],
        }
        self.steps[key] = step
        eternal = str(node.period).lower() == "eternity"
        at = None if eternal else periods.period(str(node.period)).start
        seen = set()
        for accessed in node.parameters:
            if accessed.name in seen:
                continue
            seen.add(accessed.name)
            step["parameters"].append(
                self.parameter(accessed.name, str(at or accessed.period), accessed.value)
            )
        for child in node.children:
            child_key = self.add(child)
            if child_key not in step["depends_on"]:
                step["depends_on"].append(child_key)
        return key


def _first(reference: Any) -> str | None:
    """A variable's reference: OpenFisca allows one link or a list of them."""
    if isinstance(reference, list | tuple):
        return reference[0] if reference else None
    return reference or None


def _period(text: str, entity: str | None = None, variable: str | None = None) -> str:
    try:
        return str(periods.period(text))
    except (ValueError, TypeError, AttributeError) as error:
        raise SituationError(
            _("This is not a period."), entity=entity, variable=variable, period=str(text)
        ) from error


def calculate(
    situation: dict[str, Any],
    *,
    jurisdictions: list[str],
    period: str | None = None,
    language: str = "en",
    rules: Registry | None = None,
) -> Calculation:
    """Compute what was asked for in the situation and, with a period, every benefit that
    applies at the place (given by its jurisdictions, root first), with their traces.

    Raises SituationError naming the entity, variable and period of anything the rules
    cannot compute: an unknown variable or entity, a period that is not one or does not fit
    the variable, a situation that makes the rules loop."""
    if not isinstance(situation, dict) or not situation:
        raise SituationError(_("The situation must be an object of entities."))
    size = sum(len(v) for v in situation.values() if isinstance(v, dict))
    if size > MAX_INSTANCES:
        raise SituationError(
            _("A situation holds at most %(limit)d people and groups.") % {"limit": MAX_INSTANCES}
        )
    stack: Stack = (rules or registry()).stack(jurisdictions)
    system = stack.system
    plurals = {e.plural: e for e in system.entities}
    for plural in situation:
        if plural not in plurals:
            raise SituationError(_("This is not an entity of these rules."), entity=plural)
    given_situation, asked = _requests(situation)
    if period is not None:
        period = _period(period)
    if not asked and period is None:
        raise SituationError(_("Give a period, or ask for a variable with null at a period."))
    default_period = period or _period(asked[0][2])
    for plural, variable, at in asked:
        if variable not in system.variables:
            raise SituationError(
                _("This is not a variable of these rules."),
                entity=plural,
                variable=variable,
                period=at,
            )
        _period(at)

    builder = SimulationBuilder()
    builder.set_default_period(default_period)
    try:
        simulation = builder.build_from_dict(system, given_situation)
    except SituationParsingError as error:
        raise _located(error) from error
    except VariableNotFoundError as error:
        raise SituationError(str(error).splitlines()[0]) from error
    except Exception as error:  # any other failure to read the input is the input's fault
        raise SituationError(
            _("The situation cannot be read: %(error)s") % {"error": error}
        ) from error
    simulation.trace = True
    given = {
        (name, str(at))
        for name in system.variables
        for at in simulation.get_holder(name).get_known_periods()
    }

    wanted: list[tuple[str, str, str]] = [(v, _period(at), p) for p, v, at in asked]
    benefit_of: dict[str, tuple[RulePackage, Any]] = {}
    for package in stack.packages:
        for benefit in package.benefits:
            benefit_of[benefit.variable] = (package, benefit)
            if period is not None:
                entity = system.variables[benefit.variable].entity.plural
                wanted.append((benefit.variable, period, entity))

    computed: dict[tuple[str, str], Any] = {}
    for variable, at, plural in wanted:
        if (variable, at) in computed:
            continue
        try:
            computed[(variable, at)] = simulation.calculate(variable, at)
        except (CycleError, SpiralError) as error:
            raise SituationError(
                _("The rules loop on themselves for this situation."),
                entity=plural,
                variable=variable,
                period=at,
            ) from error
        except PeriodMismatchError as error:
            raise SituationError(
                _("This variable is not defined for a period of this length."),
                entity=plural,
                variable=variable,
                period=at,
            ) from error
        except (ValueError, TypeError, KeyError, IndexError) as error:
            raise SituationError(
                str(error).splitlines()[0], entity=plural, variable=variable, period=at
            ) from error

    explainer = _Explainer(simulation, system, given)
    roots = {}
    for tree in simulation.tracer.trees:
        roots.setdefault((tree.name, str(tree.period)), explainer.add(tree))

    amounts: list[Amount] = []
    benefits: list[BenefitAmount] = []
    filled = copy.deepcopy(situation)
    for (variable, at), values in computed.items():
        entity = system.variables[variable].entity
        ids = simulation.populations[entity.key].ids
        plain = _values(values)
        for instance, value in zip(ids, plain, strict=False):
            amounts.append(Amount(variable, entity.plural, instance, at, value))
            target = filled.setdefault(entity.plural, {}).setdefault(instance, {})
            by_period = target.get(variable)
            if isinstance(by_period, dict) and at in by_period:
                by_period[at] = value
            if variable in benefit_of and isinstance(value, int | float):
                package, benefit = benefit_of[variable]
                monthly = system.variables[variable].definition_period == periods.DateUnit.MONTH
                trace_key = roots.get((variable, at), f"{variable}<{at}>")
                benefits.append(
                    BenefitAmount(
                        variable=variable,
                        name=benefit.name(language),
                        jurisdiction=package.jurisdiction,
                        package=package.id,
                        version=package.version,
                        service=benefit.service,
                        entity=entity.plural,
                        id=instance,
                        period=at,
                        per_month=round(float(value), 2) if monthly else round(value / 12, 2),
                        per_year=round(float(value) * 12, 2) if monthly else round(value, 2),
                        sources=_sources(system, variable),
                        trace=trace_key,
                    )
                )
    return Calculation(
        period=period,
        packages=list(stack.packages),
        refused=[str(r) for r in stack.refused],
        amounts=amounts,
        benefits=benefits,
        trace=explainer.steps,
        situation=filled,
    )


def _sources(system, variable: str) -> list[dict[str, str]]:
    reference = system.variables[variable].reference
    links = reference if isinstance(reference, list) else [reference] if reference else []
    return [{"title": system.variables[variable].label or variable, "href": link} for link in links]
