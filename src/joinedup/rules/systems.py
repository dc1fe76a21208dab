"""Build OpenFisca tax-benefit systems from rule packages, once per process, on first use.

A place's system stacks every package that applies there — the federation's root package,
then each level down (federal, provincial, municipal) — in one OpenFisca system, so a
provincial formula can read the federal variables it stacks on and one simulation computes
every level's amounts for the same household.

Before a package is used its own test cases run on the system made of it and the packages it
extends; a package with a failing case is refused (with those that extend it) and never
computes anything. Building takes a moment, so it happens lazily and is cached: the web
process does not import OpenFisca until a computation is asked for.
"""

from __future__ import annotations

import importlib
import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from django.utils.translation import gettext as _
from openfisca_core.parameters import ParameterNode
from openfisca_core.taxbenefitsystems import TaxBenefitSystem

from .cases import CaseResult, run_cases
from .errors import PackageRefused, UnknownPlace
from .manifests import PACKAGES_DIR, RulePackage, chain, discover, packages_at

log = logging.getLogger(__name__)


def build_system(packages: list[RulePackage]) -> TaxBenefitSystem:
    """One OpenFisca system from packages given root first: the root's entities, then each
    package's variables and its parameters under a node named after the package."""
    root = packages[0]
    if not root.entities:
        raise PackageRefused(root.id, ["the first package of a system must declare entities"])
    root_module = importlib.import_module(root.entities)
    system = TaxBenefitSystem(root_module.entities)
    # The federation's inputs (ages, family income) come with its entities (federations.py).
    system.add_variables(*getattr(root_module, "inputs", []))
    system.parameters = ParameterNode("", data={})
    for package in packages:
        system.add_variables_from_directory(str(package.variables_dir))
        if package.parameters_dir.is_dir():
            system.parameters.merge(ParameterNode("", directory_path=str(package.parameters_dir)))
    return system


@dataclass(frozen=True)
class Stack:
    """The system computing at one place, and the packages in it (root first)."""

    system: TaxBenefitSystem
    packages: tuple[RulePackage, ...]
    refused: tuple[PackageRefused, ...]


class Registry:
    """The rule packages of one folder, their systems and their test results, cached."""

    def __init__(self, directory: Path = PACKAGES_DIR) -> None:
        self.directory = directory
        self._lock = threading.RLock()
        self._systems: dict[tuple[str, ...], TaxBenefitSystem] = {}
        self._checked: dict[str, list[CaseResult]] = {}

    @property
    def packages(self) -> dict[str, RulePackage]:
        return discover(self.directory)

    def system(self, packages: list[RulePackage]) -> TaxBenefitSystem:
        """The system made of these packages (root first), built once."""
        key = tuple(p.id for p in packages)
        with self._lock:
            if key not in self._systems:
                self._systems[key] = build_system(packages)
            return self._systems[key]

    def test(self, package: RulePackage) -> list[CaseResult]:
        """The package's own test cases, run once on it and the packages it extends."""
        with self._lock:
            if package.id not in self._checked:
                try:
                    system = self.system(chain(package, self.packages))
                    results = [
                        CaseResult("package.yaml", b.variable, "the benefit is no variable here")
                        for b in package.benefits
                        if b.variable not in system.variables
                    ]
                    results += run_cases(system, package.tests_dir)
                except PackageRefused as error:
                    results = [CaseResult("package.yaml", "load", "; ".join(error.failures))]
                except Exception as error:  # a package that cannot load is refused, not fatal
                    results = [CaseResult("package", "load", f"{type(error).__name__}: {error}")]
                if not results:
                    results = [CaseResult("tests", "", "the package has no test case")]
                self._checked[package.id] = results
            return self._checked[package.id]

    def load(self, package: RulePackage) -> None:
        """Accept the package, or raise PackageRefused naming each failing case (its own, or
        those of a package it extends)."""
        for needed in chain(package, self.packages):
            failures = [
                f"{r.file}: {r.name}: {r.failure}" for r in self.test(needed) if not r.passed
            ]
            if failures:
                raise PackageRefused(needed.label, failures)

    def stack(self, jurisdictions: list[str]) -> Stack:
        """The system for a place, given its jurisdictions from the root down. Refused
        packages are left out (and said so); a place where nothing applies is refused."""
        accepted, refused = [], []
        for package in packages_at(jurisdictions, self.packages):
            try:
                self.load(package)
            except PackageRefused as error:
                log.error("%s", error)
                refused.append(error)
                continue
            accepted.append(package)
        if refused and not accepted:
            raise refused[0]
        if not accepted:
            raise UnknownPlace(_("No rule package applies at this place."))
        return Stack(self.system(accepted), tuple(accepted), tuple(refused))


_default: Registry | None = None


def registry() -> Registry:
    """The process's registry of the packages shipped with the platform."""
    global _default
    if _default is None:
        _default = Registry()
    return _default
