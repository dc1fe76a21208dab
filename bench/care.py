"""Care benchmark: a case page and a caseworker's dashboard served by `joinedup serve`,
beside the same rows read with plain SQL, in one run.

Run it with the project's Python: `.venv/bin/python bench/care.py` (also `make bench`). It
works on a scratch database it creates and removes: an SQLite file by default, or, when
DATABASE_URL names PostgreSQL, a scratch database on that server (named after the one it
names; `--keep` keeps it). It loads the small test federation and directory, generates
people (each with an address), integrated cases (each with a team, a need, a goal, an
action, two notes) and referrals (progress bars), runs ANALYZE, then:

- counts the SQL statements of each page, at a tenth of the data and again at the whole:
  the counts must not grow. The count is taken in this process, with Django's test client
  and `CaptureQueriesContext` (a server in another process cannot be counted from here);
- starts `joinedup serve` as a user runs it (gunicorn, DEBUG off, production settings, its
  error output to a file), signs the two readers in over HTTP as a person does (the sign-in
  form, then the six-digit code of their authenticator: staff need the second factor), and
  times over HTTP the case page of random cases, for both readers, and the lead's
  dashboard; beside each request, the same rows read with plain SQL (below); prints the
  p95 (and median) of each and the ratio of the rates, the server's errors (ERROR lines of
  its output; any fails the run) and the load average at the start and the end.

The plain-SQL reference reads, with hand-written statements and no ORM, the rows each page
shows, by the same indexes: for the case page the case with its agency and person, the team
now with each member's staff membership, user and agency, the needs with their goals and
actions and each action's agency (one LEFT JOIN), the latest 50 notes with their agency, the
open alerts, the latest 50 referrals with their service and receiver, and the assessments;
for the dashboard the caseload's count and first 50 cases with their agency, the agency's
actions due within 14 days on the reader's cases with their goal, need and case, the plan
requests waiting on cases the reader leads, and the first 50 incoming referrals with their
service, sender and person. It does not pay what the page must and SQL alone does not do:
the session, the sign-in and second factor, the policy, the data gate's decisions and its
ledger entry, the page's template and the HTTP round trip.

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
import http.client
import http.cookies
import os
import random
import re
import signal
import statistics
import sys
import tempfile
import time
import urllib.parse
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

PASSWORD = "bench-care-pass-" + "x" * 12


from _serving import percentile, server_errors, start_server  # noqa: E402 - the benchmarks' shared module


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


def plain_sql_case(cursor, reference: str) -> None:
    """The rows the case page shows (see the module's docstring), read with plain SQL."""
    cursor.execute(
        "SELECT c.*, a.key, a.names, p.given_names, p.family_name FROM care_integratedcase c "
        "JOIN federation_agency a ON a.id = c.agency_id JOIN identity_person p "
        "ON p.id = c.person_id WHERE c.reference = %s",
        [reference],
    )
    case_id = cursor.fetchone()[0]
    cursor.execute(
        "SELECT m.*, s.*, u.username, u.email, u.first_name, u.last_name, a.key, a.names "
        "FROM care_teammember m JOIN identity_staffmembership s ON s.id = m.membership_id "
        "JOIN identity_user u ON u.id = s.user_id JOIN federation_agency a "
        "ON a.id = s.agency_id WHERE m.case_id = %s AND m.left_at IS NULL "
        "ORDER BY m.joined_at, m.id",
        [case_id],
    )
    cursor.fetchall()
    cursor.execute(
        "SELECT n.*, g.*, x.*, a.key, a.names FROM care_need n "
        "LEFT JOIN care_goal g ON g.need_id = n.id LEFT JOIN care_action x ON x.goal_id = g.id "
        "LEFT JOIN federation_agency a ON a.id = x.agency_id WHERE n.case_id = %s "
        "ORDER BY n.id, g.id, x.due_date, x.id",
        [case_id],
    )
    cursor.fetchall()
    cursor.execute(
        "SELECT n.*, a.key, a.names FROM care_note n JOIN federation_agency a "
        "ON a.id = n.agency_id WHERE n.case_id = %s ORDER BY n.created_at DESC, n.id DESC "
        "LIMIT 50",
        [case_id],
    )
    cursor.fetchall()
    cursor.execute(
        "SELECT * FROM care_alert WHERE case_id = %s AND closed_at IS NULL "
        "ORDER BY raised_at DESC, id DESC",
        [case_id],
    )
    cursor.fetchall()
    cursor.execute(
        "SELECT r.*, s.name, s.translations, a.key, a.names FROM care_referral r "
        "JOIN care_service s ON s.id = r.service_id LEFT JOIN federation_agency a "
        "ON a.id = r.to_agency_id WHERE r.case_id = %s ORDER BY r.sent_at DESC LIMIT 50",
        [case_id],
    )
    cursor.fetchall()
    cursor.execute(
        "SELECT * FROM care_assessment WHERE case_id = %s ORDER BY taken_on, id", [case_id]
    )
    cursor.fetchall()


def plain_sql_dashboard(cursor, membership: int, agency: int) -> None:
    """The rows the dashboard shows (see the module's docstring), read with plain SQL."""
    cursor.execute(
        "SELECT count(*) FROM care_integratedcase c WHERE c.status = 'open' AND EXISTS "
        "(SELECT 1 FROM care_teammember m WHERE m.case_id = c.id AND m.membership_id = %s "
        "AND m.left_at IS NULL)",
        [membership],
    )
    cursor.fetchall()
    cursor.execute(
        "SELECT c.*, a.key, a.names FROM care_integratedcase c JOIN federation_agency a "
        "ON a.id = c.agency_id WHERE c.status = 'open' AND EXISTS "
        "(SELECT 1 FROM care_teammember m WHERE m.case_id = c.id AND m.membership_id = %s "
        "AND m.left_at IS NULL) ORDER BY c.review_date, c.id LIMIT 50",
        [membership],
    )
    cursor.fetchall()
    cursor.execute(
        "SELECT x.*, g.*, n.*, c.* FROM care_action x JOIN care_goal g ON g.id = x.goal_id "
        "JOIN care_need n ON n.id = g.need_id JOIN care_integratedcase c ON c.id = n.case_id "
        "WHERE x.agency_id = %s AND x.status IN ('planned', 'in_progress') "
        "AND x.due_date <= %s AND EXISTS (SELECT 1 FROM care_teammember m "
        "WHERE m.case_id = n.case_id AND m.membership_id = %s AND m.left_at IS NULL) "
        "ORDER BY x.due_date, x.id LIMIT 50",
        [agency, datetime.date.today() + datetime.timedelta(days=14), membership],
    )
    cursor.fetchall()
    cursor.execute(
        "SELECT q.*, c.* FROM care_planrequest q JOIN care_integratedcase c "
        "ON c.id = q.case_id WHERE q.handled_at IS NULL AND EXISTS "
        "(SELECT 1 FROM care_teammember m WHERE m.case_id = q.case_id "
        "AND m.membership_id = %s AND m.left_at IS NULL AND m.role = 'lead') "
        "ORDER BY q.created_at, q.id LIMIT 50",
        [membership],
    )
    cursor.fetchall()
    cursor.execute(
        "SELECT r.*, s.name, s.translations, a.key, a.names, p.given_names, p.family_name "
        "FROM care_referral r JOIN care_service s ON s.id = r.service_id "
        "JOIN federation_agency a ON a.id = r.from_agency_id "
        "JOIN identity_person p ON p.id = r.person_id WHERE r.to_agency_id = %s "
        "AND r.status IN ('sent', 'accepted', 'contacted', 'delivered') "
        "ORDER BY r.due_date, r.sent_at LIMIT 50",
        [agency],
    )
    cursor.fetchall()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--quick", action="store_true", help="2,000 people, 30 requests")
    parser.add_argument("--port", type=int, default=8171, help="the server's port (8171)")
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
    # Static files collected once into the checkout's var/ and reused by later runs.
    os.environ["JOINEDUP_STATIC_ROOT"] = str(ROOT / "var" / "bench-static")
    os.environ.setdefault("JOINEDUP_LOG_LEVEL", "WARNING")
    import django

    django.setup()
    try:
        return run(args)
    finally:
        if args.keep:
            print(f"kept: {url}")
        else:
            drop()


def load() -> str:
    return "load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def run(args) -> int:
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import setup_test_environment

    from joinedup.care.models import IntegratedCase, Service
    from joinedup.care.packages import load_package
    from joinedup.federation.loader import load_federation
    from joinedup.federation.models import Agency, Jurisdiction
    from joinedup.identity.models import StaffMembership

    print(f"database: {connection.vendor}; {load()} at the start")
    # For the statement counts only (Django's test client in this process).
    setup_test_environment()
    settings.ALLOWED_HOSTS = ["testserver"]
    call_command("migrate", verbosity=0)
    # The server's static files (and the test client's), collected once per checkout.
    if not (Path(settings.STATIC_ROOT) / "staticfiles.json").exists():
        call_command("collectstatic", interactive=False, verbosity=0)
    load_federation([ROOT / "tests" / "federation" / "files" / "small"])
    load_package(ROOT / "tests" / "care" / "files" / "small-directory")
    agency = Agency.objects.get(key="toronto")
    user = staff_user("bench-lead@example.org")
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
        f"statements per page (counted in this process) at {tenth} and {args.people} people: "
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
    other_agency_member(world, [pk for _ref, pk in shared])
    connection.close()  # the server's workers and this process each use their own
    process, log = start_server(args.port, "care")
    try:
        times = timed(args, process, shared, membership.pk, agency.pk)
    except Exception:
        print("the server's error output:\n" + server_errors(log), file=sys.stderr)
        raise
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)

    def line(name: str, ours: list[float], reference: list[float]) -> None:
        p95, ref95 = percentile(ours, 0.95), percentile(reference, 0.95)
        print(
            f"{name}: p95 {p95 * 1000:.1f} ms (median {statistics.median(ours) * 1000:.1f} ms); "
            f"plain SQL p95 {ref95 * 1000:.2f} ms "
            f"(median {statistics.median(reference) * 1000:.2f} ms); rate ratio {ref95 / p95:.3f}x"
        )

    line("case page (lead)", times["case"], times["case_sql"])
    line("case page (other agency)", times["other"], times["case_sql"])
    line("dashboard", times["dash"], times["dash_sql"])
    errors = [line for line in log.read_text(errors="replace").splitlines() if "ERROR" in line]
    print(f"server errors during the run: {len(errors)}")
    for text in errors[:10]:
        print("  " + text)
    print(f"{load()} at the end")
    log.unlink(missing_ok=True)
    return 0 if counts_small == counts_large and not errors else 1


def timed(args, process, shared, membership: int, agency: int) -> dict[str, list[float]]:
    """Both readers signed in over HTTP, then each page and its plain SQL, in turn."""
    from django.db import connection

    lead = Browser(args.port)
    lead.sign_in("bench-lead@example.org")
    other = Browser(args.port)
    other.sign_in("bench-other@example.org")
    assert b"Care workspace" in lead.get("/en/staff/care/")
    for reference, _pk in shared[:3]:  # warm both workers: templates, translations, connection
        lead.get(f"/en/staff/care/cases/{reference}/")
        other.get(f"/en/staff/care/cases/{reference}/")
    times: dict[str, list[float]] = {
        k: [] for k in ("case", "case_sql", "other", "dash", "dash_sql")
    }
    with connection.cursor() as cursor:
        for reference, _pk in shared:
            for name, browser in (("case", lead), ("other", other)):
                began = time.perf_counter()
                browser.get(f"/en/staff/care/cases/{reference}/")
                times[name].append(time.perf_counter() - began)
            began = time.perf_counter()
            plain_sql_case(cursor, reference)
            times["case_sql"].append(time.perf_counter() - began)
            began = time.perf_counter()
            lead.get("/en/staff/care/")
            times["dash"].append(time.perf_counter() - began)
            began = time.perf_counter()
            plain_sql_dashboard(cursor, membership, agency)
            times["dash_sql"].append(time.perf_counter() - began)
    return times


class Browser:
    """A person's browser, as far as the bench needs one: one kept-alive connection to the
    server, its cookies, and the sign-in a person goes through (form, then second factor)."""

    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, str] = {}
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    def request(self, method: str, path: str, form: dict | None = None):
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Referer"] = f"http://127.0.0.1:{self.port}{path}"
        try:
            self.connection.request(method, path, body=body, headers=headers)
            answer = self.connection.getresponse()
        except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
            # The server closed the kept-alive connection: a browser opens another.
            self.connection.close()
            self.connection.request(method, path, body=body, headers=headers)
            answer = self.connection.getresponse()
        content = answer.read()
        for header in answer.headers.get_all("Set-Cookie") or []:
            for name, morsel in http.cookies.SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        return answer.status, answer.headers.get("Location", ""), content

    def get(self, path: str) -> bytes:
        status, _location, content = self.request("GET", path)
        if status != 200:
            raise RuntimeError(f"{path} answered {status}")
        return content

    def post_form(self, path: str, fields: dict) -> str:
        """Fill and send the form of the page at `path`; where the answer sends us."""
        page = self.get(path)
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert token, f"no form on {path}"
        status, location, content = self.request(
            "POST", path, {"csrfmiddlewaretoken": token.group(1).decode(), **fields}
        )
        if status != 302:
            raise RuntimeError(f"{path} answered {status} to the form: {content[:300]!r}")
        return urllib.parse.urlsplit(location)._replace(scheme="", netloc="").geturl()

    def sign_in(self, email: str) -> None:
        """The sign-in form, then the six-digit code of the account's authenticator."""
        target = "/en/staff/care/"
        step = self.post_form(
            "/en/account/sign-in/?" + urllib.parse.urlencode({"next": target}),
            {"username": email, "password": PASSWORD, "next": target},
        )
        assert "two-factor" in step, f"staff are asked for their second factor, not {step}"
        landed = self.post_form(step, {"code": totp_now(email), "next": target})
        assert landed == target, landed


def totp_now(email: str) -> str:
    """The code the person's authenticator app shows now."""
    from django.db import connection
    from django_otp.oath import totp
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.get(user__username=email, confirmed=True)
    code = f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):06d}"
    connection.close()
    return code


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


def staff_user(email: str):
    """A staff account with a password and a confirmed authenticator (staff need one)."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from joinedup.identity.models import User

    user, _created = User.objects.get_or_create(username=email, defaults={"email": email})
    user.set_password(PASSWORD)
    user.save()
    TOTPDevice.objects.get_or_create(user=user, defaults={"name": "bench", "confirmed": True})
    return user


def signed_in(user):
    """Django's test client signed in as `user` with the second factor (counts only)."""
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    browser = Client()
    browser.force_login(user)
    session = browser.session
    session[DEVICE_ID_SESSION_KEY] = TOTPDevice.objects.get(user=user).persistent_id
    session.save()
    return browser


def other_agency_member(world: dict, case_ids: list[int]):
    """A caseworker of another agency (ServiceOntario) added as key worker to these cases,
    with the person's consent for housing and income: the page the gate decides by consent."""
    from joinedup.care import team
    from joinedup.care.models import IntegratedCase, TeamMember
    from joinedup.federation.models import Agency
    from joinedup.identity.acting import ActingContext
    from joinedup.identity.models import StaffMembership

    user = staff_user("bench-other@example.org")
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
    return signed_in(user)


if __name__ == "__main__":
    sys.exit(main())
