"""Allocation scenarios: copy a funder's allocations of a year, move money between
programs or between places (the place each allocation's money is spent, its `place_path`),
and see the expected outcomes under each program's current cost per outcome,
side by side with the allocations as they are. A scenario is saved, compared and proposed;
nothing in it changes an allocation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from joinedup.federation.models import Agency, Program

from .flows import FundingRefused, split
from .models import ZERO, Allocation, Scenario, ScenarioLine


def copy_allocations(
    funder: Agency, fiscal_year: int, names: dict[str, str], *, user_id: int | None
) -> Scenario:
    """A new draft scenario holding the funder's allocations of the year as they are."""
    rows = list(Allocation.objects.filter(funder=funder, fiscal_year=fiscal_year))
    if not rows:
        raise FundingRefused(_("This funder allocated nothing in that fiscal year."))
    with transaction.atomic():
        scenario = Scenario.objects.create(
            funder=funder, fiscal_year=fiscal_year, names=names, created_by_id=user_id
        )
        ScenarioLine.objects.bulk_create(
            ScenarioLine(scenario=scenario, allocation=a, amount=a.amount) for a in rows
        )
    return scenario


def move(scenario: Scenario, source: Program, target: Program, share: Decimal) -> None:
    """Move `share` (0.1 for 10 %) of what the scenario gives `source` to `target`, taken
    from and added to their lines pro rata, to the cent: the scenario's total is unchanged."""
    if source == target:
        _check(scenario, share)
        raise FundingRefused(_("Choose two different programs."))
    _move(
        scenario,
        share,
        lambda line: line.allocation.program_id == source.pk,
        lambda line: line.allocation.program_id == target.pk,
        _("Both programs must have allocations in the scenario."),
    )


def move_between_places(scenario: Scenario, source: str, target: str, share: Decimal) -> None:
    """Move `share` of what the scenario gives the allocations spent in the place `source`
    (a `place_path`) to those spent in `target`, pro rata, to the cent, whatever their
    programs: the scenario's total is unchanged."""
    if source == target:
        _check(scenario, share)
        raise FundingRefused(_("Choose two different places."))
    _move(
        scenario,
        share,
        lambda line: line.allocation.place_path == source,
        lambda line: line.allocation.place_path == target,
        _("Both places must have allocations in the scenario."),
    )


def _check(scenario: Scenario, share: Decimal) -> None:
    if scenario.status != Scenario.Status.DRAFT:
        raise FundingRefused(_("A proposed scenario is not changed; copy it instead."))
    if not Decimal("0") < share <= Decimal("1"):
        raise FundingRefused(_("Move a share between 0 and 1 (0.1 for 10 %)."))


def _move(
    scenario: Scenario,
    share: Decimal,
    takes_from: Callable[[ScenarioLine], bool],
    gives_to: Callable[[ScenarioLine], bool],
    missing: str,
) -> None:
    _check(scenario, share)
    with transaction.atomic():
        lines = list(scenario.lines.select_for_update().select_related("allocation"))
        out = [ln for ln in lines if takes_from(ln)]
        into = [ln for ln in lines if gives_to(ln)]
        if not out or not into:
            raise FundingRefused(missing)
        moved = (sum((ln.amount for ln in out), ZERO) * share).quantize(Decimal("0.01"))
        for line, part in zip(out, split(moved, [ln.amount for ln in out]), strict=True):
            line.amount -= part
        weights = [ln.amount for ln in into]
        if not sum(weights, ZERO):
            weights = [Decimal(1) for _ln in into]
        for line, part in zip(into, split(moved, weights), strict=True):
            line.amount += part
        ScenarioLine.objects.bulk_update(out + into, ["amount"])


def propose(scenario: Scenario) -> Scenario:
    if scenario.status == Scenario.Status.PROPOSED:
        raise FundingRefused(_("This scenario is proposed already."))
    scenario.status = Scenario.Status.PROPOSED
    scenario.save(update_fields=["status"])
    return scenario


@dataclass
class Comparison:
    program: Program
    current: Decimal
    proposed: Decimal
    cost_per_outcome: Decimal | None

    @property
    def change(self) -> Decimal:
        return self.proposed - self.current

    @property
    def outcomes_now(self) -> Decimal | None:
        if not self.cost_per_outcome:
            return None
        return (self.current / self.cost_per_outcome).quantize(Decimal("0.1"))

    @property
    def outcomes_then(self) -> Decimal | None:
        if not self.cost_per_outcome:
            return None
        return (self.proposed / self.cost_per_outcome).quantize(Decimal("0.1"))


def compare(scenario: Scenario, costs: dict[int, Decimal | None]) -> list[Comparison]:
    """Per program: the allocations as they are and as the scenario has them, and the
    outcomes each would buy at the given cost per outcome (program pk → cost)."""
    by_program: dict[int, Comparison] = {}
    for line in scenario.lines.select_related("allocation__program"):
        program = line.allocation.program
        row = by_program.setdefault(
            program.pk, Comparison(program, ZERO, ZERO, costs.get(program.pk))
        )
        row.current += line.allocation.amount
        row.proposed += line.amount
    return sorted(by_program.values(), key=lambda c: c.program.key)


@dataclass
class PlaceComparison:
    """One place's allocations as they are and in the scenario, and the outcomes they would
    buy: each line's amount at its program's current cost per outcome, summed (None when no
    program spent there has a cost per outcome)."""

    place_path: str
    current: Decimal
    proposed: Decimal
    outcomes_now: Decimal | None
    outcomes_then: Decimal | None

    @property
    def change(self) -> Decimal:
        return self.proposed - self.current


def compare_places(scenario: Scenario, costs: dict[int, Decimal | None]) -> list[PlaceComparison]:
    """Per place (each allocation's `place_path`; '' for none): the allocations as they are
    and as the scenario has them, and the outcomes expected at the current cost per outcome
    of each line's program (program pk → cost)."""
    by_place: dict[str, PlaceComparison] = {}
    for line in scenario.lines.select_related("allocation"):
        allocation = line.allocation
        row = by_place.setdefault(
            allocation.place_path,
            PlaceComparison(allocation.place_path, ZERO, ZERO, None, None),
        )
        row.current += allocation.amount
        row.proposed += line.amount
        cost = costs.get(allocation.program_id)
        if cost:
            row.outcomes_now = (row.outcomes_now or ZERO) + allocation.amount / cost
            row.outcomes_then = (row.outcomes_then or ZERO) + line.amount / cost
    tenth = Decimal("0.1")
    for row in by_place.values():
        if row.outcomes_now is not None and row.outcomes_then is not None:
            row.outcomes_now = row.outcomes_now.quantize(tenth)
            row.outcomes_then = row.outcomes_then.quantize(tenth)
    return sorted(by_place.values(), key=lambda c: c.place_path)
