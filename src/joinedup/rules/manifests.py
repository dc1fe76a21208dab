"""The rule packages on disk: their manifests (package.yaml), read without OpenFisca.

A package is a folder per jurisdiction holding OpenFisca variables (`variables/*.py`), dated
parameters (`parameters/<package>/…yaml`), YAML test cases in OpenFisca's format
(`tests/*.yaml`) and `package.yaml`: the jurisdiction code of the registry, a version, whether
it is illustrative, the package it extends (none for a federation's root package, which names
the module of its entities) and the benefits it grants — the variable, the catalogue's
service key to apply for it, and its names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml

PACKAGES_DIR = Path(__file__).parent / "packages"


@dataclass(frozen=True)
class Benefit:
    variable: str
    service: str | None
    names: dict[str, str]

    def name(self, language: str) -> str:
        return self.names.get(language) or self.names.get("en") or self.variable


@dataclass(frozen=True)
class RulePackage:
    id: str
    jurisdiction: str
    version: str
    path: Path
    illustrative: bool
    names: dict[str, str]
    extends: str | None = None
    entities: str | None = None
    #: A root package's variable for a family's yearly income (what population runs set).
    family_income: str | None = None
    benefits: tuple[Benefit, ...] = field(default_factory=tuple)

    @property
    def parameters_dir(self) -> Path:
        return self.path / "parameters"

    @property
    def variables_dir(self) -> Path:
        return self.path / "variables"

    @property
    def tests_dir(self) -> Path:
        return self.path / "tests"

    @property
    def label(self) -> str:
        return f"{self.id} {self.version} ({self.jurisdiction})"


class PackageDefinitionError(ValueError):
    """A package.yaml that says too little or contradicts itself."""


def read_package(path: Path) -> RulePackage:
    """One package's metadata. The folder's name is the package's id and the name of its
    parameters' root node."""
    try:
        meta = yaml.safe_load((path / "package.yaml").read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as error:
        message = f"{path.name}: package.yaml cannot be read: {error}"
        raise PackageDefinitionError(message) from error
    missing = [key for key in ("jurisdiction", "version") if not meta.get(key)]
    if missing:
        raise PackageDefinitionError(f"{path.name}: package.yaml lacks {', '.join(missing)}")
    if bool(meta.get("extends")) == bool(meta.get("entities")):
        raise PackageDefinitionError(
            f"{path.name}: a package either extends another or declares the entities"
        )
    benefits = tuple(
        Benefit(variable=b["variable"], service=b.get("service"), names=dict(b.get("names") or {}))
        for b in meta.get("benefits") or ()
    )
    return RulePackage(
        id=path.name,
        jurisdiction=str(meta["jurisdiction"]),
        version=str(meta["version"]),
        path=path,
        illustrative=bool(meta.get("illustrative", False)),
        names=dict(meta.get("names") or {}),
        extends=meta.get("extends"),
        entities=meta.get("entities"),
        family_income=meta.get("family_income"),
        benefits=benefits,
    )


@cache
def discover(directory: Path = PACKAGES_DIR) -> dict[str, RulePackage]:
    """Every package in a folder (each sub-folder with a package.yaml), by id."""
    found = {}
    for path in sorted(p for p in directory.iterdir() if (p / "package.yaml").is_file()):
        package = read_package(path)
        found[package.id] = package
    for package in found.values():
        if package.extends and package.extends not in found:
            raise PackageDefinitionError(
                f"{package.id}: extends {package.extends}, which is not a package here"
            )
    return found


def chain(package: RulePackage, packages: dict[str, RulePackage]) -> list[RulePackage]:
    """The package and those it extends, the federation's root first."""
    result = [package]
    while result[0].extends:
        result.insert(0, packages[result[0].extends])
        if len(result) > len(packages):
            raise PackageDefinitionError(f"{package.id}: its packages extend each other in a loop")
    return result


def packages_at(jurisdictions: list[str], packages: dict[str, RulePackage]) -> list[RulePackage]:
    """The packages that apply at a place, given the place's jurisdictions from the root
    down (CA, CA-ON, CA-ON-TOR): each level's packages with those they extend, the root
    first, then each level in order — federal, provincial, municipal."""
    depth = {code: i for i, code in enumerate(jurisdictions)}
    applying = [p for p in packages.values() if p.jurisdiction in depth]
    ordered: list[RulePackage] = []
    for package in sorted(applying, key=lambda p: (depth[p.jurisdiction], p.id)):
        for needed in chain(package, packages):
            if needed not in ordered:
                ordered.append(needed)
    return ordered
