"""The population run: every rule for every person the platform knows at a place, stored as
entitlements, one outbox event per new one.

Households come from the registry: people whose current home address is at the place or
below it, joined into families by their relationships (parent of, guardian of, spouse of)
valid on the first day of the month; a person some member is parent or guardian of, and
under 18 then, is a child of the family, everyone else a parent. Incomes are not read here:
the caller hands over the yearly incomes it holds on consented evidence (person → year →
amount); a family's income is the sum of its parents', and a family with no parent's income
is left out (counted in the report), not computed as if it earned nothing. Families are
computed together, one OpenFisca run per jurisdiction where they live (each with that
place's stack of packages).

Each amount above zero becomes an `Entitlement` (person, benefit, month, amount, the
package and its version, the household and inputs as its trace): a family's benefit goes to
its first parent. A rerun for the same month updates amounts that changed and emits
nothing for them; only new entitlements are announced, in batches of up to 1,000 per
`org.joinedup.rules.entitlements.found` event (its `entitlements` list), for bundles to turn
into proactive offers in bulk. Entitlements a rerun no longer finds are left as they are.
"""

from __future__ import annotations

import datetime
import time
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np
from django.db import transaction
from django.utils.translation import gettext as _
from openfisca_core import periods

from joinedup.federation.models import Jurisdiction
from joinedup.identity.models import Address, Relationship
from joinedup.sharing import outbox

from .errors import UnknownPlace
from .models import Entitlement
from .population import Population, compute
from .systems import Registry, registry

#: One event per batch of up to BATCH new entitlements (`data.entitlements`, a list).
EVENT = "org.joinedup.rules.entitlements.found"
BATCH = 1000
SOURCE = "/joinedup/rules"
GROUPING = (
    Relationship.Kind.PARENT_OF,
    Relationship.Kind.GUARDIAN_OF,
    Relationship.Kind.SPOUSE_OF,
)
UNKNOWN_BIRTH = np.datetime64("1970-01-01")


@dataclass
class Household:
    jurisdiction: str
    path: str
    #: (person id, role), the parents first, each group in the order of ids.
    members: list[tuple[int, str]]


@dataclass
class RunReport:
    jurisdiction: str
    period: str
    people: int = 0
    families: int = 0
    #: Families of whom no parent's income was handed over: not computed (an income of
    #: zero would be assumed, and offers made on it).
    without_income: int = 0
    found: int = 0
    new: int = 0
    updated: int = 0
    by_benefit: dict[str, int] = field(default_factory=dict)
    #: Seconds spent reading the households, computing, and writing (bench/rules.py).
    seconds: dict[str, float] = field(default_factory=dict)


def _root(items: dict[int, int], item: int) -> int:
    while items[item] != item:
        items[item] = items[items[item]]
        item = items[item]
    return item


def households(code: str, on: datetime.date) -> list[Household]:
    """The families living at a place (or below it) on a day, from the registry."""
    return _households(code, on)[0]


def _households(
    code: str, on: datetime.date
) -> tuple[list[Household], dict[int, datetime.date | None]]:
    """The families at a place on a day, and everyone's birth date, in two queries (the
    people of the place are a subquery of the second, never a list of ids sent back: a list
    of a million ids is slow to send)."""
    place = Jurisdiction.objects.filter(code=code).values_list("path", flat=True).first()
    if not place:
        raise UnknownPlace(_("No jurisdiction has the code %(code)s.") % {"code": code})
    at_place = Address.objects.filter(
        kind=Address.Kind.RESIDENTIAL, valid_to__isnull=True, jurisdiction__path__startswith=place
    )
    where: dict[int, tuple[str, str]] = {}
    born: dict[int, datetime.date | None] = {}
    for person, jurisdiction, path, birth in at_place.values_list(
        "person_id", "jurisdiction__code", "jurisdiction__path", "person__birth_date"
    ):
        if path == place or path.startswith(place + "/"):
            where[person] = (jurisdiction, path)
            born[person] = birth
    # The related person is checked here, not in SQL: both sides as subqueries make
    # SQLite probe its (person, kind, related person) index for every pair of residents.
    links = (
        Relationship.objects.filter(
            kind__in=GROUPING, person_id__in=at_place.values("person_id"), valid_from__lte=on
        )
        .exclude(valid_to__lt=on)
        .order_by()
    )
    parent = {person: person for person in where}
    cared_for = set()
    for person, related, kind in links.values_list("person_id", "related_person_id", "kind"):
        if person not in where or related not in where:
            continue  # a sibling place's path that only starts like this one's
        parent[_root(parent, person)] = _root(parent, related)
        if kind != Relationship.Kind.SPOUSE_OF:
            cared_for.add(related)

    def minor(person: int) -> bool:
        birth = born.get(person)
        return (
            birth is not None
            and (on.year - birth.year) - ((on.month, on.day) < (birth.month, birth.day)) < 18
        )

    groups: dict[int, list[int]] = defaultdict(list)
    for person in sorted(where):
        groups[_root(parent, person)].append(person)
    result = []
    for members in groups.values():
        children = [p for p in members if p in cared_for and minor(p)]
        parents = [p for p in members if p not in children]
        if not parents:  # children registered without their parents: each their own family
            result += [Household(*where[p], [(p, "parent")]) for p in children]
            continue
        jurisdiction, path = where[parents[0]]
        roles = [(p, "parent") for p in parents] + [(p, "child") for p in children]
        result.append(Household(jurisdiction, path, roles))
    return result, born


def _population(
    families: list[Household],
    born: Mapping[int, datetime.date | None],
    incomes: Mapping[int, Mapping[int, float]],
    income_variable: str | None,
) -> Population:
    person_ids, family_of, roles = [], [], []
    for index, household in enumerate(families):
        for person, role in household.members:
            person_ids.append(person)
            family_of.append(index)
            roles.append(role)
    births = np.array(
        [np.datetime64(born[p]) if born.get(p) else UNKNOWN_BIRTH for p in person_ids],
        dtype="datetime64[D]",
    )
    inputs = {"birth_date": {"ETERNITY": births}}
    years = sorted({year for p in person_ids for year in incomes.get(p, {})})
    if income_variable:
        for year in years:
            inputs[income_variable] = inputs.get(income_variable, {})
            inputs[income_variable][str(year)] = np.array(
                [
                    sum(
                        float(incomes.get(p, {}).get(year, 0))
                        for p, role in household.members
                        if role == "parent"
                    )
                    for household in families
                ]
            )
    return Population(
        person_ids=np.array(person_ids),
        family_ids=np.arange(len(families)),
        family_of=np.array(family_of),
        roles=np.array(roles),
        inputs=inputs,
    )


def run_population(
    code: str,
    period: str,
    incomes: Mapping[int, Mapping[int, float]],
    *,
    rules: Registry | None = None,
) -> RunReport:
    """Compute and store every entitlement at a place for a month (YYYY-MM)."""
    month = periods.period(period)
    on = datetime.date(month.start.year, month.start.month, 1)
    report = RunReport(jurisdiction=code, period=str(month))
    started = time.perf_counter()
    families, born = _households(code, on)
    report.families = len(families)
    report.people = sum(len(h.members) for h in families)
    rules = rules or registry()
    report.seconds["read"] = time.perf_counter() - started
    started = time.perf_counter()
    found: dict[tuple[int, str], Entitlement] = {}
    by_place: dict[str, list[Household]] = defaultdict(list)
    for household in families:
        if not any(p in incomes for p, role in household.members if role == "parent"):
            report.without_income += 1
            continue
        by_place[household.path].append(household)
    for path, group in by_place.items():
        stack = rules.stack(path.split("/"))
        root = stack.packages[0]
        population = _population(group, born, incomes, root.family_income)
        result = compute(population, jurisdictions=path.split("/"), period=str(month), rules=rules)
        for variable, totals in result.benefits.items():
            benefit = next(b for b in totals.package.benefits if b.variable == variable)
            for index in np.flatnonzero(totals.amounts >= 0.005):
                if totals.entity == "persons":
                    person = int(population.person_ids[index])
                    household = group[int(population.family_of[index])]
                else:
                    household = group[int(index)]
                    person = household.members[0][0]
                found[(person, variable)] = Entitlement(
                    person_id=person,
                    benefit=variable,
                    service=benefit.service or "",
                    jurisdiction=totals.package.jurisdiction,
                    period=str(month),
                    amount=Decimal(str(round(float(totals.amounts[index]), 2))),
                    package=totals.package.id,
                    version=totals.package.version,
                    trace={
                        "place": household.jurisdiction,
                        "members": household.members,
                        # Ages at the month, for the person's explanation (no birth dates).
                        "children_ages": [
                            _age(born.get(p), on)
                            for p, role in household.members
                            if role == "child"
                        ],
                        "incomes": {
                            str(p): dict(incomes.get(p, {})) for p, _role in household.members
                        },
                    },
                )
    report.found = len(found)
    for _person, variable in found:
        report.by_benefit[variable] = report.by_benefit.get(variable, 0) + 1
    report.seconds["compute"] = time.perf_counter() - started
    started = time.perf_counter()
    _store(found, str(month), report)
    report.seconds["write"] = time.perf_counter() - started
    return report


def _store(found: dict[tuple[int, str], Entitlement], month: str, report: RunReport) -> None:
    """Write the new entitlements (each with its event) and update changed amounts, in one
    transaction: a run that fails leaves nothing half-written."""
    with transaction.atomic(), outbox.batch():
        existing = {
            (e.person_id, e.benefit): e
            for e in Entitlement.objects.select_for_update().filter(
                period=month, benefit__in={variable for _p, variable in found}
            )
        }
        new = [e for key, e in found.items() if key not in existing]
        changed = []
        for key, entitlement in found.items():
            old = existing.get(key)
            if old is not None and old.amount != entitlement.amount:
                old.amount = entitlement.amount
                old.version = entitlement.version
                old.trace = entitlement.trace
                changed.append(old)
        Entitlement.objects.bulk_create(new, batch_size=5000)
        Entitlement.objects.bulk_update(changed, ["amount", "version", "trace"], batch_size=5000)
        for start in range(0, len(new), BATCH):
            chunk = new[start : start + BATCH]
            outbox.emit(
                EVENT,
                source=SOURCE,
                subject=f"{month}:{start // BATCH + 1}",
                data={"period": month, "entitlements": [_event_item(e) for e in chunk]},
            )
    report.new = len(new)
    report.updated = len(changed)


def _age(birth: datetime.date | None, on: datetime.date) -> int | None:
    if birth is None:
        return None
    return (on.year - birth.year) - ((on.month, on.day) < (birth.month, birth.day))


def _event_item(entitlement: Entitlement) -> dict:
    """One new entitlement as its batch event carries it: identifiers and the amount."""
    return {
        "entitlement": entitlement.pk,
        "person": entitlement.person_id,
        "benefit": entitlement.benefit,
        "service": entitlement.service or None,
        "jurisdiction": entitlement.jurisdiction,
        "period": entitlement.period,
        "amount": str(entitlement.amount),
    }
