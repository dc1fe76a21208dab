"""Care benchmark: a case page and a caseworker's dashboard, beside the same rows read with
plain SQL, in one run.

Run it with the project's Python: `.venv/bin/python bench/care.py` (also `make bench`). It
works on a scratch database it creates and removes: an SQLite file by default, or, when
DATABASE_URL names PostgreSQL, a scratch database on that server (named after the one it
names; `--keep` keeps it). It loads the small test federation and directory, generates
people (each with an address), integrated cases (each with a team, a need, a goal, an
action, two notes) and referrals (progress bars), runs ANALYZE, then:

- requests the case page of random cases and the lead's dashboard through Django's test
  client (the whole stack: policy, data gate with its ledger entry, templates), and reads
  the same rows with plain SQL; prints the p95 of each and the ratio of the rates;
- counts the SQL statements of each page, then grows the data tenfold and counts again:
  the counts must not grow.

By default it runs at the issue's full scale: 100,000 people, 30,000 cases and 300,000
referrals, generated in two steps (a tenth first, where the statements are counted, then the
rest, where they are counted again and the pages timed). `--quick` runs 2,000 people.

Two readers are timed: the lead professional of the holding agency (the gate's own-agency
path) and a key worker of another agency, added to a sample of cases through `team.add_member`
(the person's consent and the sharing rules written as the page would), whose every read
passes the gate's consent path.
"""

from __future__ import annotations

import argparse
import datetime
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def scratch_database() -> tuple[str, callable]:
    """A DATABASE_URL for a scratch database, and how to remove it."""
    server = os.environ.get("DATABASE_URL", "")
    if server.startswith("postgres"):
        import psycopg

        base, named = server.replace("postgres://", "postgresql://").rsplit("/", 1)
        admin = f"{base}/postgres"  # the server's own database: ours may not exist yet
        # Named after the database DATABASE_URL names (whose owner may keep a prefix).
        prefix = named.split("?", 1)[0] or "bench"
        name = f"{prefix}_care_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(admin, autocommit=True, connect_timeout=3) as db:
            db.execute(f'CREATE DATABASE "{name}"')

        def drop() -> None:
            from django.db import connections

            connections.close_all()
            with psycopg.connect(admin, autocommit=True) as db:
                db.execute(f'DROP DATABASE IF EXISTS "{name}"')

        return f"{base}/{name}", drop
    path = Path(tempfile.mkstemp(prefix="joinedup-bench-care-", suffix=".sqlite3")[1])
    return f"sqlite:///{path}", lambda: path.unlink(missing_ok=True)


def generate(people: int, start: int, world: dict) -> None:
    """People with addresses, a case for three in ten, ten referrals per case (bulk)."""
    from tqdm import tqdm

    from joinedup.care.models import (
        Action,
        Goal,
        IntegratedCase,
        Need,
        Note,
        Referral,
        TeamMember,
    )
    from joinedup.identity.models import Address, Person

    rng = random.Random(start)
    today = datetime.date.today()
    batch = 2000
    for offset in tqdm(range(0, people, batch), desc="people, cases, referrals", unit="k"):
        size = min(batch, people - offset)
        persons = Person.objects.bulk_create(
            Person(
                given_names=f"P{start + offset + i}",
                family_name="Bench",
                birth_date=datetime.date(1970 + i % 40, 1 + i % 12, 1 + i % 28),
            )
            for i in range(size)
        )
        Address.objects.bulk_create(
            Address(
                person=p,
                street_address="1 Main St",
                locality="Toronto",
                jurisdiction=world["place"],
                valid_from=datetime.date(2020, 1, 1),
            )
            for p in persons
        )
        with_case = [p for i, p in enumerate(persons) if i % 10 < 3]
        cases = IntegratedCase.objects.bulk_create(
            IntegratedCase(
                reference=f"B-{uuid.uuid4().hex[:12].upper()}",
                person=p,
                agency=world["agency"],
                basis="statute",
                opened_by_id=world["lead_user"],
                review_date=today + datetime.timedelta(days=rng.randint(1, 90)),
            )
            for p in with_case
        )
        TeamMember.objects.bulk_create(
            TeamMember(case=c, membership_id=world["membership"], role="lead") for c in cases
        )
        needs = Need.objects.bulk_create(
            Need(case=c, domain="housing", description="Keep the apartment") for c in cases
        )
        goals = Goal.objects.bulk_create(Goal(need=n, description="Arrears paid") for n in needs)
        Action.objects.bulk_create(
            Action(
                goal=g,
                description="Apply to the rent bank",
                agency=world["agency"],
                due_date=today + datetime.timedelta(days=rng.randint(-5, 60)),
            )
            for g in goals
        )
        Note.objects.bulk_create(
            Note(
                case=c,
                domain=domain,
                text="A note",
                author_id=world["lead_user"],
                agency=world["agency"],
            )
            for c in cases
            for domain in ("housing", "health")
        )
        Referral.objects.bulk_create(
            Referral(
                case=c,
                person_id=c.person_id,
                from_agency=world["agency"],
                to_agency=world["receiver"],
                service=world["service"],
                sent_by_id=world["lead_user"],
                reason="Food",
                urgency="soon",
                due_date=today + datetime.timedelta(days=rng.randint(-3, 10)),
            )
            for c in cases
            for _n in range(10)
        )


def plain_sql_case(cursor, case_id: int) -> None:
    """The rows the case page shows, read with plain SQL (the reference)."""
    cursor.execute("SELECT * FROM care_integratedcase WHERE id = %s", [case_id])
    cursor.fetchall()
    cursor.execute(
        "SELECT m.*, s.* FROM care_teammember m JOIN identity_staffmembership s "
        "ON s.id = m.membership_id WHERE m.case_id = %s AND m.left_at IS NULL",
        [case_id],
    )
    cursor.fetchall()
    cursor.execute(
        "SELECT n.*, g.*, a.* FROM care_need n LEFT JOIN care_goal g ON g.need_id = n.id "
        "LEFT JOIN care_action a ON a.goal_id = g.id WHERE n.case_id = %s",
        [case_id],
    )
    cursor.fetchall()
    cursor.execute(
        "SELECT * FROM care_note WHERE case_id = %s ORDER BY created_at DESC LIMIT 50", [case_id]
    )
    cursor.fetchall()
    cursor.execute(
        "SELECT r.*, s.name FROM care_referral r JOIN care_service s ON s.id = r.service_id "
        "WHERE r.case_id = %s ORDER BY r.sent_at DESC LIMIT 50",
        [case_id],
    )
    cursor.fetchall()


def plain_sql_dashboard(cursor, membership: int, agency: int) -> None:
    cursor.execute(
        "SELECT c.* FROM care_integratedcase c JOIN care_teammember m ON m.case_id = c.id "
        "WHERE m.membership_id = %s AND m.left_at IS NULL AND c.status = 'open' "
        "ORDER BY c.review_date LIMIT 50",
        [membership],
    )
    cursor.fetchall()
    cursor.execute(
        "SELECT a.* FROM care_action a WHERE a.agency_id = %s AND a.status IN "
        "('planned', 'in_progress') ORDER BY a.due_date LIMIT 50",
        [agency],
    )
    cursor.fetchall()
    cursor.execute(
        "SELECT * FROM care_referral WHERE to_agency_id = %s AND status = 'sent' "
        "ORDER BY due_date LIMIT 50",
        [agency],
    )
    cursor.fetchall()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--quick", action="store_true", help="2,000 people, 30 requests")
    parser.add_argument(
        "--keep", action="store_true", help="keep the scratch database (to EXPLAIN by hand)"
    )
    args = parser.parse_args()
    if args.quick:
        args.people, args.requests = 2000, 30
    url, drop = scratch_database()
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "joinedup.settings")
    os.environ["JOINEDUP_DEBUG"] = "false"
    import django

    django.setup()
    try:
        return run(args)
    finally:
        if args.keep:
            print(f"kept: {url}")
        else:
            drop()


def run(args) -> int:
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import setup_test_environment

    from joinedup.care.models import IntegratedCase, Service
    from joinedup.care.packages import load_package
    from joinedup.federation.loader import load_federation
    from joinedup.federation.models import Agency, Jurisdiction
    from joinedup.identity.models import StaffMembership, User

    setup_test_environment()
    from django.conf import settings

    settings.ALLOWED_HOSTS = ["testserver"]
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    print(f"database: {connection.vendor}")
    call_command("migrate", verbosity=0)
    load_federation([ROOT / "tests" / "federation" / "files" / "small"])
    load_package(ROOT / "tests" / "care" / "files" / "small-directory")
    agency = Agency.objects.get(key="toronto")
    user = User.objects.create_user("bench-lead@example.org", "bench-lead@example.org", "x" * 20)
    membership = StaffMembership.objects.create(user=user, agency=agency, role="caseworker")
    world = {
        "agency": agency,
        "receiver": Agency.objects.get(key="helping-hands"),
        "place": Jurisdiction.objects.get(code="CA-ON-TOR"),
        "lead_user": user.pk,
        "membership": membership.pk,
        "service": Service.objects.get(name="Community food bank"),
    }
    client = signed_in(user)

    tenth = max(1, args.people // 10)
    started = time.perf_counter()
    generate(tenth, 0, world)
    cases = list(IntegratedCase.objects.values_list("reference", "pk"))
    sample_ref = cases[0][0]
    worker = other_agency_member(world, [c[1] for c in cases[:1]])
    statements(client, f"/en/staff/care/cases/{sample_ref}/")  # the first requests read a few
    statements(client, "/en/staff/care/")  # things once
    statements(worker, f"/en/staff/care/cases/{sample_ref}/")
    counts_small = (
        statements(client, f"/en/staff/care/cases/{sample_ref}/"),
        statements(worker, f"/en/staff/care/cases/{sample_ref}/"),
        statements(client, "/en/staff/care/"),
    )
    generate(args.people - tenth, tenth, world)
    print(f"generated in {time.perf_counter() - started:.0f} s")
    with connection.cursor() as cursor:
        # The planner's statistics of the new rows, as autovacuum would gather them on a
        # live database (both sides, pages and plain SQL, are read with them).
        cursor.execute("ANALYZE")
    counts_large = (
        statements(client, f"/en/staff/care/cases/{sample_ref}/"),
        statements(worker, f"/en/staff/care/cases/{sample_ref}/"),
        statements(client, "/en/staff/care/"),
    )
    print(
        f"{args.people} people, {IntegratedCase.objects.count()} cases, "
        f"{world['service'].referrals.count()} referrals"
    )
    print(
        f"statements per page at {tenth} and {args.people} people: "
        f"case page (lead) {counts_small[0]} → {counts_large[0]}, "
        f"case page (other agency) {counts_small[1]} → {counts_large[1]}, "
        f"dashboard {counts_small[2]} → {counts_large[2]}"
    )

    if os.environ.get("BENCH_PROFILE"):
        import cProfile
        import pstats

        with cProfile.Profile() as profile:
            for _n in range(10):
                client.get(f"/en/staff/care/cases/{sample_ref}/")
        pstats.Stats(profile).sort_stats("cumulative").print_stats(45)
    rng = random.Random(1)
    cases = list(IntegratedCase.objects.values_list("reference", "pk"))
    shared = rng.sample(cases, min(len(cases), args.requests))
    other_agency_member(world, [pk for _ref, pk in shared], worker)
    times: dict[str, list[float]] = {
        k: [] for k in ("case", "case_sql", "other", "dash", "dash_sql")
    }
    errors = 0
    with connection.cursor() as cursor:
        for reference, pk in shared:
            for name, browser in (("case", client), ("other", worker)):
                began = time.perf_counter()
                errors += browser.get(f"/en/staff/care/cases/{reference}/").status_code != 200
                times[name].append(time.perf_counter() - began)
            began = time.perf_counter()
            plain_sql_case(cursor, pk)
            times["case_sql"].append(time.perf_counter() - began)
            began = time.perf_counter()
            errors += client.get("/en/staff/care/").status_code != 200
            times["dash"].append(time.perf_counter() - began)
            began = time.perf_counter()
            plain_sql_dashboard(cursor, membership.pk, agency.pk)
            times["dash_sql"].append(time.perf_counter() - began)

    def line(name: str, ours: list[float], reference: list[float]) -> None:
        p95, ref95 = percentile(ours, 0.95), percentile(reference, 0.95)
        print(
            f"{name}: p95 {p95 * 1000:.1f} ms (median {statistics.median(ours) * 1000:.1f} ms); "
            f"plain SQL p95 {ref95 * 1000:.2f} ms; rate ratio {ref95 / p95:.3f}x"
        )

    line("case page (lead)", times["case"], times["case_sql"])
    line("case page (other agency)", times["other"], times["case_sql"])
    line("dashboard", times["dash"], times["dash_sql"])
    print(f"server errors: {errors}")
    return 0 if counts_small == counts_large and not errors else 1


def statements(browser, path: str) -> int:
    """The statements of one request of the page: the least of three, as the ledger's
    periodic checkpoint (once a minute, whatever the data) may fall in one of them."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counts = []
    for _n in range(3):
        with CaptureQueriesContext(connection) as queries:
            answer = browser.get(path)
        assert answer.status_code == 200, (path, answer.status_code)
        counts.append(len(queries))
    if os.environ.get("BENCH_SHOW_SQL"):
        print(path, len(queries), *[q["sql"][:160] for q in queries.captured_queries], sep="\n  ")
    return min(counts)


def signed_in(user):
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    browser = Client()
    browser.force_login(user)
    device = TOTPDevice.objects.create(user=user, name="bench")
    session = browser.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return browser


def other_agency_member(world: dict, case_ids: list[int], browser=None):
    """A caseworker of another agency (ServiceOntario) added as key worker to these cases,
    with the person's consent for housing and income: the page the gate decides by consent."""
    from joinedup.care import team
    from joinedup.care.models import IntegratedCase, TeamMember
    from joinedup.federation.models import Agency
    from joinedup.identity.acting import ActingContext
    from joinedup.identity.models import StaffMembership, User

    user, _created = User.objects.get_or_create(
        username="bench-other@example.org", defaults={"email": "bench-other@example.org"}
    )
    other = Agency.objects.get(key="serviceontario")
    member, _c = StaffMembership.objects.get_or_create(user=user, agency=other, role="caseworker")
    lead = ActingContext(
        user_id=world["lead_user"],
        needs_second_factor=True,
        second_factor=True,
        membership_id=world["membership"],
        agency_key=world["agency"].key,
        agency_jurisdiction=world["agency"].jurisdiction.code,
        role="caseworker",
    )
    cases = IntegratedCase.objects.filter(pk__in=case_ids).select_related("person", "agency")
    for case in cases:
        if not TeamMember.objects.filter(case=case, membership=member).exists():
            team.add_member(lead, case, member, "key_worker", categories=["housing", "income"])
    return browser or signed_in(user)


if __name__ == "__main__":
    sys.exit(main())
