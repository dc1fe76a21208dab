"""Run a rule package's YAML test cases, in OpenFisca's format, without pytest.

A case names a `period`, an `input` situation and the `output` expected (by variable, by
entity or by entity id, optionally by period), with `absolute_error_margin` and
`relative_error_margin` (a number, or one per variable). The loader runs them before a
package is used and the `joinedup rules test` command runs them on demand; both need the
failures as data, not a test session, so this runner returns them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from openfisca_core.errors import SituationParsingError, VariableNotFoundError
from openfisca_core.simulation_builder import SimulationBuilder
from openfisca_core.taxbenefitsystems import TaxBenefitSystem
from openfisca_core.tools import assert_near

UNSUPPORTED = ("reforms", "extensions", "parameters")


@dataclass(frozen=True)
class CaseResult:
    file: str
    name: str
    failure: str | None

    @property
    def passed(self) -> bool:
        return self.failure is None


def read_cases(directory: Path) -> list[tuple[str, dict[str, Any]]]:
    """Every case of every YAML file under a folder, with the file's name, in name order."""
    cases = []
    for path in sorted(directory.rglob("*.yaml")):
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
        for case in loaded if isinstance(loaded, list) else [loaded]:
            cases.append((str(path.relative_to(directory)), case or {}))
    return cases


def _margin(margin: Any, variable: str) -> float:
    if isinstance(margin, dict):
        return float(margin.get(variable, margin.get("default", 0)))
    return float(margin or 0)


def _check(simulation, case, variable, expected, period, index=None) -> None:
    if isinstance(expected, dict):
        for at, value in expected.items():
            _check(simulation, case, variable, value, str(at), index)
        return
    actual = simulation.calculate(variable, period)
    if index is not None:
        actual = actual[index]
    assert_near(
        actual,
        expected,
        _margin(case.get("absolute_error_margin"), variable),
        f"{variable}@{period}: ",
        _margin(case.get("relative_error_margin"), variable) or None,
    )


def run_case(system: TaxBenefitSystem, case: dict[str, Any]) -> str | None:
    """One case: None when it passes, else what went wrong."""
    if unsupported := [key for key in UNSUPPORTED if case.get(key)]:
        return f"cases with {', '.join(unsupported)} are not supported here"
    if not case.get("output"):
        return "the case has no output to check"
    period = str(case.get("period", ""))
    try:
        builder = SimulationBuilder()
        builder.set_default_period(period)
        simulation = builder.build_from_dict(system, case.get("input") or {})
        for key, expected in case["output"].items():
            if system.variables.get(key):
                _check(simulation, case, key, expected, period)
            elif key in simulation.populations:
                for variable, value in expected.items():
                    _check(simulation, case, variable, value, period)
            elif (population := simulation.get_population(plural=key)) is not None:
                for instance, values in expected.items():
                    for variable, value in values.items():
                        index = population.get_index(instance)
                        _check(simulation, case, variable, value, period, index)
            else:
                return f"{key} is neither a variable nor an entity"
    except AssertionError as error:
        return str(error).strip() or "an expected value differs"
    except (SituationParsingError, VariableNotFoundError) as error:
        return f"the situation cannot be read: {error}"
    except Exception as error:  # a formula that fails must refuse the package, not crash
        return f"{type(error).__name__}: {error}"
    return None


def run_cases(system: TaxBenefitSystem, directory: Path) -> list[CaseResult]:
    """Every case under a folder, run on a system; each result says whether it passed."""
    results = []
    for file, case in read_cases(directory):
        failure = run_case(system, case)
        results.append(CaseResult(file=file, name=str(case.get("name", "")), failure=failure))
    return results
