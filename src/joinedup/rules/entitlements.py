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

Everything is done on arrays, for a million people at once: the residents and their
relationships are read in two queries (through PostgreSQL's COPY, `joinedup.copying`), the
families are the connected components of the relationships (SciPy), and the entitlements
are written as plain rows in one COPY, never as one model object each.

Each amount above zero becomes an `Entitlement` (person, benefit, month, amount, the
package and its version, the household and inputs as its trace): a family's benefit goes to
its first parent. A rerun for the same month updates amounts that changed and emits
nothing for them; only new entitlements are announced, in batches of up to 10,000 per
`org.joinedup.rules.entitlements.found` event (its `entitlements` list, ordered by person;
a person's entitlements of a run are all in one event), for bundles to turn into proactive
offers in bulk, with one notice per person. Entitlements a rerun no longer finds are left
as they are.
"""

from __future__ import annotations

import datetime
import json
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np
from django.db import transaction
from django.db.models import Case, IntegerField, Q, Value, When
from django.db.models.functions import Coalesce, ExtractDay, ExtractMonth, ExtractYear
from django.utils import timezone
from django.utils.translation import gettext as _
from openfisca_core import periods
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from joinedup import copying
from joinedup.federation.models import Jurisdiction
from joinedup.identity.models import Address, Relationship
from joinedup.sharing import outbox

from .errors import UnknownPlace
from .models import Entitlement
from .population import Population, compute
from .systems import Registry, registry

#: One event per batch of up to BATCH new entitlements (`data.entitlements`, a list).
EVENT = "org.joinedup.rules.entitlements.found"
BATCH = 10_000
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
class Residents:
    """The families of a place as arrays, one entry per person, ordered by family, the
    parents first, each group in the order of ids."""

    person_ids: np.ndarray
    family_of: np.ndarray  # family index, 0 … families - 1, in order
    is_child: np.ndarray
    births: np.ndarray  # datetime64[D], NaT when unknown
    #: Per family: the index of its first member, its jurisdiction's code and path.
    starts: np.ndarray
    codes: np.ndarray
    paths: np.ndarray

    @property
    def families(self) -> int:
        return len(self.starts)


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


def households(code: str, on: datetime.date) -> list[Household]:
    """The families living at a place (or below it) on a day, from the registry."""
    found = residents(code, on)
    ends = np.r_[found.starts[1:], len(found.person_ids)]
    return [
        Household(
            str(found.codes[f]),
            str(found.paths[f]),
            [
                (int(p), "child" if c else "parent")
                for p, c in zip(found.person_ids[start:end], found.is_child[start:end], strict=True)
            ],
        )
        for f, (start, end) in enumerate(zip(found.starts, ends, strict=True))
    ]


def _ages(births: np.ndarray, on: datetime.date) -> np.ndarray:
    """Whole years of age on a day (-1 for an unknown birth date)."""
    known = ~np.isnat(births)
    safe = np.where(known, births, np.datetime64("2000-01-01"))
    years = safe.astype("datetime64[Y]").astype(int) + 1970
    months = safe.astype("datetime64[M]").astype(int) % 12 + 1
    days = (safe - safe.astype("datetime64[M]")).astype(int) + 1
    before = (on.month < months) | ((on.month == months) & (on.day < days))
    return np.where(known, on.year - years - before, -1)


def residents(code: str, on: datetime.date) -> Residents:
    """The families at a place on a day, in two queries (the people of the place are a
    subquery of the second, never a list of ids sent back: a list of a million ids is slow
    to send), joined on arrays."""
    place = Jurisdiction.objects.filter(code=code).values_list("path", flat=True).first()
    if not place:
        raise UnknownPlace(_("No jurisdiction has the code %(code)s.") % {"code": code})
    # The place and the places below it, by id: with their ids named, PostgreSQL knows how
    # many homes it will read (all of them, at a city of a million) and reads the people
    # and relationships by hashing, not one index lookup per person (which a join on the
    # places' paths, estimated at a few rows, made it choose).
    places = Jurisdiction.objects.filter(Q(path=place) | Q(path__startswith=place + "/"))
    at_place = Address.objects.filter(
        jurisdiction_id__in=list(places.values_list("pk", flat=True)),
        kind=Address.Kind.RESIDENTIAL,
        valid_to__isnull=True,
    ).order_by()
    born = {
        part: Coalesce(extract("person__birth_date"), Value(0))
        for part, extract in (("y", ExtractYear), ("m", ExtractMonth), ("d", ExtractDay))
    }
    read = copying.read_ints(
        at_place.annotate(**born).values_list("person_id", "jurisdiction_id", "y", "m", "d")
    )
    people, places = read[:, 0], read[:, 1]
    years, months, days = read[:, 2], read[:, 3], read[:, 4]
    births = np.where(
        years > 0,
        (years - 1970).astype("datetime64[Y]").astype("datetime64[M]")
        + (months - 1).astype("timedelta64[M]")
        + (days - 1).astype("timedelta64[D]"),
        np.datetime64("NaT"),
    ).astype("datetime64[D]")
    # A person with two current homes counts at the last one read, as before.
    people, last = np.unique(people[::-1], return_index=True)
    places, births = places[::-1][last], births[::-1][last]
    n = len(people)
    if not n:
        nothing = np.array([], dtype=np.int64)
        return Residents(
            nothing,
            nothing,
            nothing.astype(bool),
            births,
            nothing,
            nothing.astype(object),
            nothing.astype(object),
        )
    links = (
        Relationship.objects.filter(
            kind__in=GROUPING, person_id__in=at_place.values("person_id"), valid_from__lte=on
        )
        .exclude(valid_to__lt=on)
        .order_by()
    )
    caring = Case(
        When(kind=Relationship.Kind.SPOUSE_OF, then=Value(0)),
        default=Value(1),
        output_field=IntegerField(),
    )
    read = copying.read_ints(
        links.annotate(caring=caring).values_list("person_id", "related_person_id", "caring")
    )
    left = np.searchsorted(people, read[:, 0])
    right = np.searchsorted(people, read[:, 1])
    # The related person is checked here, not in SQL (a sibling place's path that only
    # starts like this one's, or someone living elsewhere): both sides must be residents.
    both = (people[np.minimum(left, n - 1)] == read[:, 0]) & (
        people[np.minimum(right, n - 1)] == read[:, 1]
    )
    caring = read[:, 2].astype(bool)[both]
    left, right = left[both], right[both]
    _count, labels = connected_components(
        coo_matrix((np.ones(len(left), dtype=np.int8), (left, right)), shape=(n, n)),
        directed=False,
    )
    cared_for = np.zeros(n, dtype=bool)
    cared_for[right[caring]] = True
    ages = _ages(births, on)
    is_child = cared_for & (ages >= 0) & (ages < 18)
    # Children registered without their parents: each their own family, as a parent.
    has_parent = np.zeros(labels.max() + 1, dtype=bool)
    has_parent[labels[~is_child]] = True
    orphan = ~has_parent[labels]
    labels = np.where(orphan, labels.max() + 1 + np.arange(n), labels)
    is_child &= ~orphan
    # Families in the order of their smallest member's id (the people are sorted by id).
    _unique, first, family = np.unique(labels, return_index=True, return_inverse=True)
    rank = np.empty(len(first), dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(len(first))
    family = rank[family]
    order = np.lexsort((people, is_child, family))
    family_of = family[order]
    starts = np.flatnonzero(np.r_[True, family_of[1:] != family_of[:-1]])
    known = {
        pk: (code, path)
        for pk, code, path in Jurisdiction.objects.filter(pk__in=set(places.tolist())).values_list(
            "pk", "code", "path"
        )
    }
    first_places = places[order][starts].tolist()
    return Residents(
        person_ids=people[order],
        family_of=family_of,
        is_child=is_child[order],
        births=births[order],
        starts=starts,
        codes=np.array([known[p][0] for p in first_places], dtype=object),
        paths=np.array([known[p][1] for p in first_places], dtype=object),
    )


def _traces(
    found: Residents,
    families: np.ndarray,
    ages: np.ndarray,
    incomes: Mapping[int, Mapping[int, float]],
) -> dict[int, copying.JSONText]:
    """The trace of each family given (its place, members, children's ages at the month,
    the incomes handed over), as JSON text made once per family: every entitlement of a
    family carries the same one."""
    ends = np.r_[found.starts[1:], len(found.person_ids)]
    traces = {}
    ids = found.person_ids.tolist()
    children = found.is_child.tolist()
    age_list = ages.tolist()
    starts, stops = found.starts.tolist(), ends.tolist()
    places = {code: json.dumps(str(code)) for code in set(found.codes[families].tolist())}
    # The JSON is joined from each member's parts (what `json.dumps` of the dict gives,
    # without building the dict): a million people have hundreds of thousands of traces.
    for family in families.tolist():
        members = range(starts[family], stops[family])
        listed = ", ".join(
            f'[{ids[i]}, "child"]' if children[i] else f'[{ids[i]}, "parent"]' for i in members
        )
        aged = ", ".join(
            (str(age_list[i]) if age_list[i] >= 0 else "null") for i in members if children[i]
        )
        earned = ", ".join(
            f'"{ids[i]}": {_income_json(given) if (given := incomes.get(ids[i])) else "{}"}'
            for i in members
        )
        traces[family] = copying.JSONText(
            f'{{"place": {places[found.codes[family]]}, "members": [{listed}], '
            f'"children_ages": [{aged}], "incomes": {{{earned}}}}}'
        )
    return traces


def _income_json(given: Mapping[int, float]) -> str:
    """`json.dumps(dict(given))`, joined by hand when it is plain (years as integers,
    amounts as finite floats or integers: what `json.dumps` writes with `repr`), which is
    twice as fast for the hundreds of thousands of parents of a run; else `json.dumps`."""
    parts = []
    for year, amount in given.items():
        kind = type(amount)
        if type(year) is not int or not (kind is int or (kind is float and math.isfinite(amount))):
            return json.dumps(dict(given))
        parts.append(f'"{year}": {amount!r}')
    return "{" + ", ".join(parts) + "}"


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
    found = residents(code, on)
    report.families = found.families
    report.people = len(found.person_ids)
    rules = rules or registry()
    report.seconds["read"] = time.perf_counter() - started
    started = time.perf_counter()
    # The incomes handed over, as arrays: each year's amounts per person, summed per family
    # over its parents; a family none of whose parents has any is left out.
    ids = found.person_ids
    given = np.fromiter(incomes.keys(), dtype=np.int64, count=len(incomes))
    order = np.argsort(given)
    given = given[order]
    position = np.searchsorted(given, ids)
    has = (position < len(given)) & (given[np.minimum(position, max(len(given) - 1, 0))] == ids)
    parent = ~found.is_child
    covered = np.zeros(found.families, dtype=bool)
    covered[found.family_of[has & parent]] = True
    report.without_income = int((~covered).sum())
    values = list(incomes.values())
    years = sorted({year for amounts in values for year in amounts})
    family_income = {}
    for year in years:
        amounts = np.fromiter(
            (float(v.get(year, 0)) for v in values), dtype=np.float64, count=len(values)
        )[order]
        per_person = np.where(
            has & parent, amounts[np.minimum(position, max(len(given) - 1, 0))], 0.0
        )
        family_income[str(year)] = np.bincount(
            found.family_of, weights=per_person, minlength=found.families
        )
    ages = _ages(found.births, on)
    rows: list[tuple] = []
    by_benefit: dict[str, int] = {}
    paths = found.paths
    for path in sorted(set(paths[covered].tolist())):
        chosen = np.flatnonzero(covered & (paths == path))  # families, in order
        take = np.isin(found.family_of, chosen)
        local = np.searchsorted(chosen, found.family_of[take])
        stack = rules.stack(path.split("/"))
        root = stack.packages[0]
        inputs = {
            "birth_date": {
                "ETERNITY": np.where(
                    np.isnat(found.births[take]), UNKNOWN_BIRTH, found.births[take]
                ).astype("datetime64[D]")
            }
        }
        if root.family_income:
            inputs[root.family_income] = {y: a[chosen] for y, a in family_income.items()}
        population = Population(
            person_ids=ids[take],
            family_ids=np.arange(len(chosen)),
            family_of=local,
            roles=np.where(found.is_child[take], "child", "parent"),
            inputs=inputs,
        )
        result = compute(population, jurisdictions=path.split("/"), period=str(month), rules=rules)
        paid: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        for variable, totals in result.benefits.items():
            index = np.flatnonzero(totals.amounts >= 0.005)
            if totals.entity == "persons":
                people = population.person_ids[index]
                families = chosen[local[index]]
            else:
                families = chosen[index]
                people = ids[found.starts[families]]  # the family's first parent
            paid[variable] = (people, families, np.round(totals.amounts[index], 2))
        traces = _traces(
            found, np.unique(np.concatenate([f for _p, f, _a in paid.values()])), ages, incomes
        )
        for variable, (people, families, amounts) in paid.items():
            totals = result.benefits[variable]
            benefit = next(b for b in totals.package.benefits if b.variable == variable)
            head = (benefit.service or "", totals.package.jurisdiction, str(month))
            tail = (totals.package.id, totals.package.version)
            rows += [
                (person, variable, *head, f"{amount:.2f}", *tail, traces[family])
                for person, family, amount in zip(
                    people.tolist(), families.tolist(), amounts.tolist(), strict=True
                )
            ]
            by_benefit[variable] = by_benefit.get(variable, 0) + len(people)
    # Each person's entitlements side by side (the benefits in the packages' order): the
    # batches are cut between people, so that bundles tells each person once per run of
    # everything offered to them, and the rows reach the (person, benefit, month) index in
    # its order.
    rows.sort(key=_person)
    report.found = len(rows)
    report.by_benefit = by_benefit
    report.seconds["compute"] = time.perf_counter() - started
    started = time.perf_counter()
    _store(rows, str(month), report)
    report.seconds["write"] = time.perf_counter() - started
    return report


#: The columns of an entitlement's row, as `run_population` builds it.
COLUMNS = (
    "person_id",
    "benefit",
    "service",
    "jurisdiction",
    "period",
    "amount",
    "package",
    "version",
    "trace",
)


def _store(rows: list[tuple], month: str, report: RunReport) -> None:
    """Write the new entitlements (each with its event) and update changed amounts, in one
    transaction: a run that fails leaves nothing half-written. The new rows go in one COPY;
    on PostgreSQL their ids are taken from the table's sequence first (one query for all of
    them) and written with the rows, elsewhere read back in one query, for the events."""
    benefits = {row[1] for row in rows}
    with transaction.atomic(), outbox.batch():
        existing = {
            (person, benefit): (pk, amount)
            for pk, person, benefit, amount in Entitlement.objects.select_for_update()
            .filter(period=month, benefit__in=benefits)
            .order_by()
            .values_list("pk", "person_id", "benefit", "amount")
        }
        # A first run of the month has nothing stored: every row is new.
        new = [row for row in rows if (row[0], row[1]) not in existing] if existing else rows
        changed = [
            Entitlement(pk=old[0], amount=Decimal(row[5]), version=row[7], trace=json.loads(row[8]))
            for row in rows
            if (old := existing.get((row[0], row[1]))) is not None and old[1] != Decimal(row[5])
        ]
        now = timezone.now()
        ids = copying.next_ids(Entitlement, len(new))
        if ids is not None:
            copying.write(
                Entitlement,
                ["id", *COLUMNS, "computed_at"],
                [(pk, *row, now) for pk, row in zip(ids, new, strict=True)],
            )
        else:
            copying.write(Entitlement, [*COLUMNS, "computed_at"], [(*row, now) for row in new])
        Entitlement.objects.bulk_update(changed, ["amount", "version", "trace"], batch_size=5000)
        if new and ids is None:
            named = sorted(benefits)
            which = Case(
                *(When(benefit=b, then=Value(i)) for i, b in enumerate(named)),
                output_field=IntegerField(),
            )
            read = copying.read_ints(
                Entitlement.objects.filter(period=month, benefit__in=benefits, computed_at=now)
                .annotate(which=which)
                .values_list("pk", "person_id", "which")
            )
            found = {
                (person, named[b]): pk
                for pk, person, b in zip(
                    read[:, 0].tolist(), read[:, 1].tolist(), read[:, 2].tolist(), strict=True
                )
            }
            ids = [found[(row[0], row[1])] for row in new]
        for number, (start, end) in enumerate(_batches(new), start=1):
            outbox.emit(
                EVENT,
                source=SOURCE,
                subject=f"{month}:{number}",
                data=_event_data(month, new[start:end], ids[start:end]),
            )
    report.new = len(new)
    report.updated = len(changed)


def _person(row: tuple) -> int:
    return row[0]


def _batches(rows: list[tuple]) -> list[tuple[int, int]]:
    """(start, end) of each batch of at most BATCH rows (sorted by person), cut between two
    people: all of a person's new entitlements of a run are in one event (unless one person
    has more than BATCH of them, when their rows are cut at BATCH)."""
    cuts = []
    start = 0
    while start < len(rows):
        end = min(start + BATCH, len(rows))
        if end < len(rows):
            cut = end
            while cut > start and rows[cut][0] == rows[cut - 1][0]:
                cut -= 1
            end = cut if cut > start else end
        cuts.append((start, end))
        start = end
    return cuts


def _event_data(month: str, rows: list[tuple], ids: list[int]) -> copying.JSONText:
    """A batch event's data, `{"period": …, "entitlements": [{"entitlement": …, "person": …,
    "benefit": …, "service": …, "jurisdiction": …, "period": …, "amount": …}, …]}`, as the
    JSON text `json.dumps` gives, joined from parts: the texts a run repeats (benefit,
    service, place, month) are encoded once, not once per item of a million (the amount
    is digits and a point, the ids integers: nothing to escape)."""
    encoded: dict[object, str] = {}

    def text(value: object) -> str:
        if value not in encoded:
            encoded[value] = json.dumps(value)
        return encoded[value]

    items = ", ".join(
        f'{{"entitlement": {pk}, "person": {row[0]}, "benefit": {text(row[1])}, '
        f'"service": {text(row[2] or None)}, "jurisdiction": {text(row[3])}, '
        f'"period": {text(row[4])}, "amount": "{row[5]}"}}'
        for pk, row in zip(ids, rows, strict=True)
    )
    return copying.JSONText(f'{{"period": {json.dumps(month)}, "entitlements": [{items}]}}')
