"""What can go wrong with rules, as exceptions that never need OpenFisca to be imported.

The web process imports these (to turn them into 4xx answers) without loading the rule
packages: OpenFisca loads on the first computation, not at start-up.
"""

from __future__ import annotations

from django.utils.translation import gettext as _


class RulesError(Exception):
    """Base of every error of the rules app."""


class SituationError(RulesError):
    """A situation the rules cannot compute: the message names the entity, the variable and
    the period at fault, as far as they are known."""

    def __init__(
        self,
        message: str,
        *,
        entity: str | None = None,
        variable: str | None = None,
        period: str | None = None,
    ) -> None:
        self.entity = entity
        self.variable = variable
        self.period = period
        where = ", ".join(
            f"{label} {value}"
            for label, value in (
                (_("entity"), entity),
                (_("variable"), variable),
                (_("period"), period),
            )
            if value
        )
        super().__init__(f"{message} ({where})" if where else message)


class UnknownPlace(SituationError):
    """A place that is not a jurisdiction of the registry, or one where no rules apply."""


class PackageRefused(RulesError):
    """A rule package that does not pass its own test cases, or cannot be loaded at all: it
    is never used to compute anything."""

    def __init__(self, package: str, failures: list[str]) -> None:
        self.package = package
        self.failures = failures
        super().__init__(f"rule package {package} refused: " + "; ".join(failures))
