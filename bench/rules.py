"""Rules benchmark: OpenFisca computing every benefit at a place for a whole population.

Run it with the project's Python: `.venv/bin/python bench/rules.py` (also `make bench`).

It makes a synthetic population as arrays (default 1,000,000 people in 400,000 families:
one or two parents, up to four children; ages and incomes drawn with a fixed seed) and
times, in one run:

(a) OpenFisca: the simulation built from the arrays and every benefit of the packages at
    Toronto (federal, Ontario, Toronto) computed for one month — `rules.population.compute`,
    what the population run calls;
(b) the Canada Child Benefit alone written by hand in NumPy on the same arrays: the least a
    vectorised computation of that one benefit can cost, the reference for (a)'s overhead;

checks that (a) and (b) give the same federal amount for every family, and prints the
figures with the ratio. No database is needed for these.

With `--database`, it also times the whole population run on the same population written
into the registry (people, home addresses in Toronto, parent-of and spouse-of relationships,
an e-mail address per parent): (c) reading the households, (d) computing, (e) storing the
entitlements with their batch events, (f) bundles turning the events into offers and
their notifications — each part printed, beside (a). It writes to the database
DATABASE_URL names (migrated first), or to a new SQLite file in a temporary folder when
DATABASE_URL is unset; a database that already holds people is refused. The issue's budget
for the whole run (database to offers written) is 20 s for 1,000,000 people, with reading
and writing under 10 s of it.

(f) is done by `--workers` dispatcher processes at once (default 1; each claims one batch
event at a time), as several dispatchers could share the events. On two cores shared with
other work, two took as long as one and half as much CPU again (docs/performance.md). Beside the
wall times it prints the CPU seconds spent in Python and in the database server's session
for (c)-(e) and for (f) (the server's read from /proc when it runs on this machine): on a
shared machine the wall times move with the load, the CPU much less. The registry written
for the run is analysed (`ANALYZE`) before it, as a registry of that size would be.

`--quick`: 20,000 people in 8,000 families (a check on a shared machine, not the figure).
"""

import argparse
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "joinedup.settings")


def synthetic(people: int, families: int, seed: int):
    """Arrays of a population: each family one or two parents, then children, until the
    number of people is reached (the families' sizes are spread as evenly as it allows)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    parents = rng.integers(1, 3, families)
    children = np.zeros(families, dtype=int)
    spare = people - int(parents.sum())
    if spare < 0:
        raise SystemExit("Not enough people for one parent per family.")
    while spare > 0:
        add = rng.integers(0, families, min(spare, families))
        np.add.at(children, add, 1)
        spare -= len(add)
    sizes = parents + children
    family_of = np.repeat(np.arange(families), sizes)
    position = np.arange(len(family_of)) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    is_parent = position < np.repeat(parents, sizes)
    ages = np.where(
        is_parent, rng.integers(20, 60, len(family_of)), rng.integers(0, 18, len(family_of))
    )
    incomes = rng.lognormal(mean=11.0, sigma=0.6, size=families).round(0)
    return family_of, np.where(is_parent, "parent", "child"), ages, incomes


def numpy_child_benefit(family_of, roles, ages, incomes, families):
    """The Canada Child Benefit for July 2026 by hand (the law of July 2026, income of 2025)."""
    import numpy as np

    child = (roles == "child") & (ages < 18)
    maximum = np.bincount(
        family_of, weights=child * np.where(ages < 6, 8157, 6883), minlength=families
    )
    count = np.bincount(family_of, weights=child, minlength=families).astype(int)
    first = np.select(
        [count == 1, count == 2, count == 3, count >= 4], [0.07, 0.135, 0.19, 0.23], 0
    )
    second = np.select(
        [count == 1, count == 2, count == 3, count >= 4], [0.032, 0.057, 0.08, 0.095], 0
    )
    reduction = first * np.clip(incomes - 38237, 0, 82847 - 38237) + second * np.maximum(
        incomes - 82847, 0
    )
    return np.maximum(maximum - reduction, 0) / 12


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--families", type=int, default=400_000)
    parser.add_argument("--seed", type=int, default=18)
    parser.add_argument("--quick", action="store_true", help="20,000 people in 8,000 families")
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="outbox dispatchers turning the batch events into offers at once (with --database)",
    )
    parser.add_argument(
        "--database",
        action="store_true",
        help="also the whole population run from the database to offers written",
    )
    args = parser.parse_args()
    if args.quick:
        args.people, args.families = 20_000, 8_000
    if args.database and not os.environ.get("DATABASE_URL"):
        folder = tempfile.mkdtemp(prefix="rules-bench-")
        os.environ["DATABASE_URL"] = f"sqlite:///{folder}/bench.sqlite3"

    import django

    django.setup()
    import numpy as np

    from joinedup.rules.population import Population, compute
    from joinedup.rules.systems import registry

    family_of, roles, ages, incomes = synthetic(args.people, args.families, args.seed)
    print(f"{len(family_of):,} people in {args.families:,} families")
    started = time.perf_counter()
    registry().stack(["CA", "CA-ON", "CA-ON-TOR"])
    print(f"rule packages loaded and their cases run once: {time.perf_counter() - started:.2f} s")

    population = Population(
        person_ids=np.arange(len(family_of)),
        family_ids=np.arange(args.families),
        family_of=family_of,
        roles=roles,
        inputs={"age": {"2026-07": ages}, "adjusted_family_net_income": {"2025": incomes}},
    )
    started = time.perf_counter()
    result = compute(population, jurisdictions=["CA", "CA-ON", "CA-ON-TOR"], period="2026-07")
    openfisca = time.perf_counter() - started

    started = time.perf_counter()
    by_hand = numpy_child_benefit(family_of, roles, ages, incomes, args.families)
    numpy_seconds = time.perf_counter() - started

    federal = result.benefits["ca_child_benefit"].amounts
    worst = float(np.abs(federal - by_hand).max())
    if worst > 0.01:
        print(f"MISMATCH: the two federal amounts differ by up to {worst:.4f}")
        return 1
    for variable, totals in result.benefits.items():
        print(f"  {variable}: {totals.recipients:,} recipients, {totals.per_month:,.2f} a month")
    print(f"(a) OpenFisca, every benefit at Toronto:    {openfisca:8.2f} s")
    print(f"(b) NumPy by hand, the federal benefit only: {numpy_seconds:8.2f} s")
    print(
        f"ratio (a)/(b): {openfisca / numpy_seconds:.1f}; same federal amounts (within {worst:.4f})"
    )
    if args.database:
        return database_run(args, family_of, roles, ages, incomes, openfisca)
    print(f"budget of the whole population run: 20 s; computation here: {openfisca:.2f} s")
    return 0


def registry_population(family_of, roles, ages, incomes):
    """The population written into the registry in bulk (`joinedup.copying`: COPY on
    PostgreSQL): people, homes, relationships, an e-mail per parent; returns the incomes to
    hand over (person -> {2025: amount}, the family's income on its first parent, 0 on a
    second)."""
    import datetime

    import numpy as np
    from django.db import connection, transaction

    from joinedup import copying
    from joinedup.federation.models import Jurisdiction
    from joinedup.identity.models import Address, ContactPoint, Person, Relationship

    toronto = Jurisdiction.objects.get(code="CA-ON-TOR")
    born = {age: datetime.date(2025 - age, 8, 1) for age in set(ages.tolist())}
    with transaction.atomic():
        copying.write(
            Person,
            ["given_names", "family_name", "birth_date"],
            ((f"P{n}", "Bench", born[age]) for n, age in enumerate(ages.tolist())),
        )
        # The registry held nobody before: the ids follow the order written.
        ids = np.array(
            Person.objects.filter(family_name="Bench").order_by("pk").values_list("pk", flat=True)
        )
        since = datetime.date(2000, 1, 1)
        copying.write(
            Address,
            ["person_id", "kind", "street_address", "locality", "jurisdiction_id", "valid_from"],
            (
                (pk, "residential", "1 Bench St", "Toronto", toronto.pk, datetime.date(2020, 1, 1))
                for pk in ids.tolist()
            ),
        )
        starts = np.flatnonzero(np.r_[True, family_of[1:] != family_of[:-1]])
        ends = np.r_[starts[1:], len(family_of)]
        is_parent = (roles == "parent").tolist()
        person = ids.tolist()
        links, mails, handed = [], [], {}
        for family, (start, end) in enumerate(zip(starts.tolist(), ends.tolist(), strict=True)):
            parents = [person[i] for i in range(start, end) if is_parent[i]]
            children = [person[i] for i in range(start, end) if not is_parent[i]]
            for parent in parents:
                links += [(parent, "parent_of", child, since) for child in children]
                mails.append((parent, "email", f"p{parent}@example.org", True))
            if len(parents) == 2:
                links.append((parents[0], "spouse_of", parents[1], since))
            handed[parents[0]] = {2025: float(incomes[family])}
            for other in parents[1:]:
                handed[other] = {2025: 0.0}
        copying.write(Relationship, ["person_id", "kind", "related_person_id", "valid_from"], links)
        copying.write(ContactPoint, ["person_id", "kind", "value", "preferred"], mails)
    # A registry of a million people has its statistics (autovacuum analyses a table after
    # many changes, but not within the seconds after this load): without them PostgreSQL
    # plans the run's reads for tables of a few rows.
    with connection.cursor() as cursor:
        for model in (Person, Address, Relationship, ContactPoint):
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
    return handed


def cpu() -> tuple[float, float]:
    """CPU seconds used so far by this process and by its database session's server
    process (read from /proc when the server runs on this machine, else 0): on a shared
    machine the wall times move with the load, the CPU much less."""
    from django.db import connection

    client = time.process_time()
    if connection.vendor != "postgresql":
        return client, 0.0
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return client, 0.0
    return client, (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _dispatch_one_at_a_time(_n: int) -> tuple[int, float, float]:
    """In a dispatcher process: deliver due events, claiming one at a time (a batch event
    of 10,000 entitlements is a second's work: claimed by the hundred, the first
    dispatcher would take them all); returns the events and the CPU used here and by the
    database session."""
    from joinedup.sharing import dispatch

    client, server = cpu()
    events = dispatch.dispatch_pending(limit=1).events
    client_after, server_after = cpu()
    return events, client_after - client, server_after - server


def dispatch_in_workers(workers: int):
    """(f): the outbox dispatched by `workers` processes at once, as several
    `dispatch-outbox` workers would (each claims its events with SKIP LOCKED); one worker
    dispatches in this process."""
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    from django.db import connections

    from joinedup.sharing import dispatch

    if workers <= 1:
        events, client, server = _dispatch_one_at_a_time(0)
        return dispatch.DispatchReport(events=events), client, server
    # Forked processes must not share this process's database connection.
    connections.close_all()
    with ProcessPoolExecutor(workers, mp_context=get_context("fork")) as pool:
        done = list(pool.map(_dispatch_one_at_a_time, range(workers)))
    return (
        dispatch.DispatchReport(events=sum(d[0] for d in done)),
        sum(d[1] for d in done),
        sum(d[2] for d in done),
    )


def database_run(args, family_of, roles, ages, incomes, openfisca: float) -> int:
    """(c)-(f): the population run from the registry to offers written, part by part."""
    from django.core.management import call_command
    from django.db import connection
    from django.urls import reverse

    from joinedup.bundles import loader
    from joinedup.bundles.models import Offer
    from joinedup.delivery import versions
    from joinedup.delivery.models import Notification
    from joinedup.demo import loading
    from joinedup.federation.loader import load_federation
    from joinedup.identity.models import Person
    from joinedup.rules.entitlements import run_population
    from joinedup.rules.models import Entitlement
    from joinedup.sharing import dispatch

    print(f"database: {connection.vendor} ({connection.settings_dict['NAME']})")
    call_command("migrate", verbosity=0)
    if Person.objects.exists():
        print("This database already holds people: use an empty one (DATABASE_URL).")
        return 2
    load_federation([loading.federation_folder("canada")])
    versions.load_paths([loading.SERVICE_VERSIONS])
    versions.load_paths([loading.BUNDLES / "services"])
    loader.load_bundles([loading.BUNDLES / "bundles"])
    dispatch.dispatch_pending()  # what loading announced
    started = time.perf_counter()
    handed = registry_population(family_of, roles, ages, incomes)
    print(f"registry written (not timed in the run): {time.perf_counter() - started:.2f} s")

    # A running worker has its URL configuration loaded (offers link to their pages).
    reverse("bundles:offer", args=[uuid.UUID(int=0)])
    client, server = cpu()
    report = run_population("CA-ON-TOR", "2026-07", handed)
    client_after, server_after = cpu()
    run_cpu = (client_after - client, server_after - server)
    started = time.perf_counter()
    delivered, *offer_cpu = dispatch_in_workers(args.workers)
    offering = time.perf_counter() - started
    offers = Offer.objects.filter(trigger=Offer.Trigger.ENTITLEMENT_FOUND).count()
    # One notice per person: of one offer (`offer`) or listing several (`offers`).
    notices = Notification.objects.filter(event__in=["offer", "offers"]).count()
    seconds = report.seconds
    total = seconds["read"] + seconds["compute"] + seconds["write"] + offering
    print(
        f"{report.people:,} people in {report.families:,} families; {report.found:,} "
        f"entitlements ({Entitlement.objects.count():,} stored) in {delivered.events:,} events; "
        f"{offers:,} offers, {notices:,} notifications"
    )
    print(f"(c) reading the households:                 {seconds['read']:8.2f} s")
    print(f"(d) computing (OpenFisca inside the run):   {seconds['compute']:8.2f} s")
    print(f"(e) storing entitlements and batch events:  {seconds['write']:8.2f} s")
    print(
        f"(f) offers and notifications (bundles):     {offering:8.2f} s"
        f" ({args.workers} dispatcher{'s' if args.workers != 1 else ''})"
    )
    print(
        f"whole run (c)-(f): {total:.2f} s; reading and writing (c)+(e)+(f): "
        f"{total - seconds['compute']:.2f} s; (a) alone on the arrays: {openfisca:.2f} s"
    )
    print(
        f"CPU seconds, (c)-(e): {run_cpu[0]:.2f} in Python, {run_cpu[1]:.2f} in the database "
        f"server; (f): {offer_cpu[0]:.2f} in Python, {offer_cpu[1]:.2f} in the database server "
        f"(all dispatchers); load average now {os.getloadavg()[0]:.1f}"
    )
    print("budget for 1,000,000 people: 20 s in all, reading and writing under 10 s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
