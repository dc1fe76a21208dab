"""Back-office benchmark: one month's chargeback statements for 200 client agencies over
2,000,000 shared-service requests, beside the same totals by one SQL GROUP BY.

Run it with the project's Python: `.venv/bin/python bench/backoffice.py` (`--quick`: 200,000
requests).

In one run it creates a scratch database on the PostgreSQL server of DATABASE_URL (default
postgres://postgres@127.0.0.1:5432/test), migrates it, makes a provider, `--agencies` client
agencies (default 200) under one shared-service agreement with five services' levels
(prices, targets, credit rates), and bulk-loads `--requests` requests of one month (the
applications and their requests) with PostgreSQL COPY: about a tenth resolved late, a tenth
still open. Then it times, repeated `--repeat` times:

(a) `statements.issue_statements` — what the provider's "issue the month's statements"
    button does: the month's figures, each line's credit on Decimal, 200 statements and
    their lines written (they are deleted, untimed, between runs);
(b) one SQL GROUP BY per client agency of the same requests: their number, how many met
    the level and the sum of their prices;

checks that (a)'s statements and (b) agree for every agency to the cent (charges, requests,
within the level), and prints the median times with the ratio (b)/(a), the transactions the
database server rolled back meanwhile (its errors: any fails the run) and the load
average. The aim is at least 0.5: the statements cost no more than twice the bare GROUP BY.
The database is dropped at the end.
"""

import argparse
import datetime
import os
import statistics
import sys
import time
import uuid
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

DEFAULT_SERVER = "postgres://postgres@127.0.0.1:5432/test"
DATABASE = "bench_backoffice"
MONTH = datetime.date(2026, 3, 1)
PRICES = ("412.50", "38.75", "1250.00", "95.00", "2400.00")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2_000_000)
    parser.add_argument("--agencies", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each way")
    parser.add_argument("--quick", action="store_true", help="200,000 requests, 2 runs")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    parser.add_argument(
        "--database",
        default=DATABASE,
        help=f"name of the scratch database (default {DATABASE}; dropped and made again)",
    )
    args = parser.parse_args()
    if not args.database.replace("_", "").isalnum():
        parser.error("--database: letters, digits and underscores only")
    if args.quick:
        args.requests, args.repeat = min(args.requests, 200_000), 2

    import psycopg

    server = os.environ.get("DATABASE_URL", DEFAULT_SERVER)
    admin_url = server.replace("postgres://", "postgresql://", 1)
    try:
        admin = psycopg.connect(admin_url, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as error:
        print(f"PostgreSQL does not answer at {server}: {error}", file=sys.stderr)
        return 1
    admin.execute(f"DROP DATABASE IF EXISTS {args.database}")
    admin.execute(f"CREATE DATABASE {args.database}")
    os.environ["DATABASE_URL"] = server.rsplit("/", 1)[0] + f"/{args.database}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "joinedup.settings")
    os.environ["JOINEDUP_DEBUG"] = "0"
    try:
        return run(args)
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            admin.execute(f"DROP DATABASE IF EXISTS {args.database} WITH (FORCE)")
        admin.close()


def build(args):
    """The provider, its client agencies, the services, the agreement and its levels."""
    from joinedup.backoffice import catalogue
    from joinedup.backoffice.models import ServiceLevel
    from joinedup.federation.models import (
        Agency,
        Agreement,
        AgreementParty,
        Jurisdiction,
        Offering,
        Service,
    )

    canada = Jurisdiction.objects.create(
        code="CA",
        level="national",
        names={"en": "Canada", "fr": "Canada"},
        time_zone="America/Toronto",
        holiday_country="CA",
        currency="CAD",
    )
    ontario = Jurisdiction.objects.create(
        code="CA-ON",
        level="subnational",
        parent=canada,
        names={"en": "Ontario", "fr": "Ontario"},
        time_zone="America/Toronto",
        holiday_subdivision="ON",
    )
    provider = Agency.objects.create(
        key="provider",
        kind="shared_service_provider",
        jurisdiction=ontario,
        names={"en": "Shared services", "fr": "Services communs"},
    )
    clients = Agency.objects.bulk_create(
        Agency(
            key=f"client-{n:03d}",
            kind="ministry",
            jurisdiction=ontario,
            names={"en": f"Client {n}", "fr": f"Client {n}"},
        )
        for n in range(args.agencies)
    )
    agreement = Agreement.objects.create(
        key="bench",
        kind="shared_service",
        names={"en": "Bench", "fr": "Banc"},
        start_date=datetime.date(2025, 1, 1),
    )
    AgreementParty.objects.create(
        agreement=agreement, agency=provider, role="provider", signed_on=datetime.date(2025, 1, 1)
    )
    AgreementParty.objects.bulk_create(
        AgreementParty(
            agreement=agreement, agency=c, role="client", signed_on=datetime.date(2025, 1, 1)
        )
        for c in clients
    )
    plan = []
    for index, price in enumerate(PRICES):
        service = Service.objects.create(
            key=f"on.service-{index}",
            scope=ontario,
            names={"en": f"S{index}", "fr": f"S{index}"},
            frame="back_office",
            client_type="agency",
            channels=["online"],
        )
        offering = Offering.objects.create(service=service, area=ontario, agency=provider)
        version = catalogue.deploy(service.key).version
        level = ServiceLevel.objects.create(
            agreement=agreement,
            service=service,
            resolution_days=5,
            unit_price=Decimal(price),
            target=Decimal("0.900"),
            credit_rate=Decimal("0.100"),
        )
        plan.append((service, offering, version, level))
    return provider, clients, plan, ontario


def load(args, provider, clients, plan, place) -> None:
    """The month's applications and requests, by COPY (a tenth late, a tenth open)."""
    from django.db import connection

    from joinedup.backoffice.models import Request
    from joinedup.delivery.models import Application

    start = datetime.datetime(2026, 3, 1, 5, tzinfo=datetime.UTC)
    seconds = 30 * 86400
    apps_table, requests_table = Application._meta.db_table, Request._meta.db_table
    app_columns = (
        "id, reference, service_id, version_id, applicant_agency_id, channel, language, data, "
        "place_id, agency_id, offering_id, status, outcome_reasons, submitted_at, completed_at, "
        "standard_days, standard_day_kind, due_date, paused_days, met_standard, fee_amount, "
        "fee_currency, idempotency_scope, idempotency_key, fingerprint, process_state, "
        "process_error, updated_at"
    )
    request_columns = "application_id, client_id, provider_id, level_id, unit_price, submitted_at"
    batch = 100_000
    with connection.cursor() as cursor:
        raw = cursor.cursor
        # A bulk load's usual practice: the secondary indexes are built once after the COPY
        # rather than maintained row by row (unique ones and keys stay).
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN (%s, %s) "
            "AND indexdef NOT LIKE 'CREATE UNIQUE%%'",
            [apps_table, requests_table],
        )
        secondary = cursor.fetchall()
        for name, _definition in secondary:
            cursor.execute(f'DROP INDEX "{name}"')
        # Generated rows whose keys are known good: the load skips the per-row foreign-key
        # triggers (the scratch database's superuser may), restored before the indexes.
        cursor.execute("SET session_replication_role = replica")
        for first in range(0, args.requests, batch):
            last = min(first + batch, args.requests)
            app_lines, request_lines = [], []
            for i in range(first, last):
                service, offering, version, level = plan[(i * 7) % len(plan)]
                client = clients[(i * 13) % len(clients)]
                pk = uuid.UUID(int=i + 1)
                at = start + datetime.timedelta(seconds=(i * 7919) % seconds)
                state = i % 10
                status, met, done = (
                    ("submitted", "\\N", "\\N")
                    if state == 0
                    else ("approved", "f" if state == 1 else "t", at.isoformat())
                )
                app_lines.append(
                    f"{pk}\tH-{i:012d}\t{service.pk}\t{version.pk}\t{client.pk}\tonline\ten\t"
                    f"{{}}\t{place.pk}\t{provider.pk}\t{offering.pk}\t{status}\t\t"
                    f"{at.isoformat()}\t{done}\t5\tbusiness\t2026-03-31\t0\t{met}\t"
                    f"{level.unit_price}\tCAD\t\t\t\t\t\t{at.isoformat()}\n"
                )
                request_lines.append(
                    f"{pk}\t{client.pk}\t{provider.pk}\t{level.pk}\t{level.unit_price}\t"
                    f"{at.isoformat()}\n"
                )
            with raw.copy(f"COPY {apps_table} ({app_columns}) FROM STDIN") as copy:
                copy.write("".join(app_lines))
            with raw.copy(f"COPY {requests_table} ({request_columns}) FROM STDIN") as copy:
                copy.write("".join(request_lines))
        cursor.execute("SET session_replication_role = DEFAULT")
        for _name, definition in secondary:
            cursor.execute(definition)
        cursor.execute(f"ANALYZE {apps_table}")
        cursor.execute(f"ANALYZE {requests_table}")


GROUP_BY = """
SELECT r.client_id, COUNT(*), COUNT(*) FILTER (WHERE a.met_standard), SUM(r.unit_price)
FROM backoffice_request r JOIN delivery_application a ON a.id = r.application_id
WHERE r.provider_id = %s AND r.submitted_at >= %s AND r.submitted_at < %s
  AND r.disputes_id IS NULL
GROUP BY r.client_id
"""


def server_errors(connection) -> int:
    """Transactions the PostgreSQL server rolled back in the scratch database so far (its
    statistics, read afresh: a failed statement rolls its transaction back)."""
    time.sleep(1)  # the server publishes a session's counts within a second
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT xact_rollback FROM pg_stat_database WHERE datname = current_database()"
        )
        return cursor.fetchone()[0]


def run(args) -> int:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction

    from joinedup.backoffice import statements
    from joinedup.backoffice.models import Statement

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    print(f"database migrated ({time.perf_counter() - started:.1f} s)", flush=True)
    started = time.perf_counter()
    provider, clients, plan, place = build(args)
    load(args, provider, clients, plan, place)
    print(
        f"{args.agencies} client agencies, {args.requests:,} requests loaded by COPY "
        f"({time.perf_counter() - started:.1f} s)",
        flush=True,
    )
    start, end = statements.month_bounds(provider, MONTH)

    with connection.cursor() as cursor:  # warm the cache for both ways alike (untimed)
        cursor.execute(GROUP_BY, [provider.pk, start, end])
    errors_before = server_errors(connection)
    ours, reference = [], []
    issued: dict[int, tuple] = {}
    summed: dict[int, tuple] = {}
    for _run in range(args.repeat):
        Statement.objects.all().delete()
        began = time.perf_counter()
        with transaction.atomic():
            made = statements.issue_statements(provider, MONTH)
        ours.append(time.perf_counter() - began)
        issued = {
            s.client_id: (
                sum(line.requests for line in s.lines.all()),
                sum(line.within_level for line in s.lines.all()),
                s.charges,
            )
            for s in made
        }
        began = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(GROUP_BY, [provider.pk, start, end])
            rows = cursor.fetchall()
        reference.append(time.perf_counter() - began)
        summed = {client: (n, within, amount) for client, n, within, amount in rows}
    errors = server_errors(connection) - errors_before
    if issued != summed:
        wrong = [c for c in summed if issued.get(c) != summed[c]]
        print(f"FIGURES DIFFER for {len(wrong)} agencies, e.g. {wrong[:3]}", file=sys.stderr)
        return 1
    total = sum(v[2] for v in issued.values())
    ours_median, reference_median = statistics.median(ours), statistics.median(reference)
    print(f"statements identical to the GROUP BY for {len(issued)} agencies, total {total}")
    print(f"(a) issue_statements:  {ours_median * 1000:8.1f} ms (median of {args.repeat})")
    print(f"(b) one SQL GROUP BY:  {reference_median * 1000:8.1f} ms")
    print(f"ratio (b)/(a): {reference_median / ours_median:.2f} (aim ≥ 0.5)")
    print(f"server errors (transactions the database rolled back while timed): {errors}")
    print(f"load average: {' '.join(f'{n:.2f}' for n in os.getloadavg())}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
