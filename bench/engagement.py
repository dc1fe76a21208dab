"""Engagement benchmark: a consultation's results page and moderation queue, beside plain SQL
of the same rows, in the same run.

Run it with the project's Python: `.venv/bin/python bench/engagement.py` (also `make bench`).

It builds a scratch database (SQLite in a temporary folder; with DATABASE_URL set, a
scratch database `bench_engagement` on that PostgreSQL server, dropped at the end), loads the
small test federation, and writes one consultation with `--participants` people and
`--contributions` contributions (2 % proposals, 38 % comments, 60 % supports, one support
per person and proposal), a survey answer per participant and abuse reports on 1 % of the
comments. Then it times, best of `--repeat`:

(a) the results page (GET, rendered with its charts and tables) and, alone, the figures it
    shows (`results.results`);
(b) the same figures by plain SQL over the same rows (counts, distinct participants, the
    twenty most supported proposals, decisions, survey counts, and the first page of "what we
    heard, what we did": 50 decided proposals and their changes);
(c) the moderation queue (`moderation.queue`) beside plain SQL of the same rows;

checks that both give the same figures, and prints each time with the ratio plain SQL /
ours (1.0: as fast as hand-written SQL; the aim is at least 0.3). The issue's full size is
`--participants 100000 --contributions 1000000` (about ten minutes of loading here).
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))


from _serving import server_errors, start_server  # noqa: E402 - the benchmarks' shared module


def scratch_name(server: str) -> str:
    """The scratch database: named after the one given, so runs on a shared server do not meet."""
    name = server.rpartition("/")[2].split("?")[0] or "joinedup"
    return f"{name}_bench_engagement"


def _setup_database(tmp: Path) -> str | None:
    """Point Django at a scratch database; returns the PostgreSQL database to drop, if any."""
    server = os.environ.get("DATABASE_URL", "")
    if server.startswith("postgres"):
        import psycopg

        base = server.rpartition("/")[0]
        scratch = scratch_name(server)
        with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {scratch} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {scratch}")
        os.environ["DATABASE_URL"] = f"{base}/{scratch}"
        return server
    os.environ["DATABASE_URL"] = f"sqlite:///{tmp / 'bench.sqlite3'}"
    return None


def bulk_load(model, objects) -> None:
    """Write rows fast: PostgreSQL's COPY (every concrete column, as Django would write it),
    or bulk_create elsewhere."""
    from django.db import connection

    objects = list(objects)
    if not objects:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_create(objects, batch_size=20_000)
        return
    fields = [
        f
        for f in model._meta.concrete_fields
        if not (f.primary_key and getattr(objects[0], f.attname) is None)
    ]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg's own cursor, for COPY
        with raw.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for obj in objects:
                copy.write_row(
                    [f.get_db_prep_save(f.pre_save(obj, add=True), connection) for f in fields]
                )


def best(repeat: int, fn) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def build(participants: int, contributions: int, seed: int = 7):
    import datetime

    from django.db import connection, transaction
    from django.utils import timezone

    from joinedup.engagement.models import (
        AbuseReport,
        Comment,
        Consultation,
        Phase,
        Proposal,
        Support,
        SurveyAnswer,
        SurveyQuestion,
    )
    from joinedup.federation.loader import load_federation
    from joinedup.federation.models import Agency, Jurisdiction
    from joinedup.identity.models import Person

    load_federation([ROOT / "tests" / "federation" / "files" / "small"])
    rng = random.Random(seed)
    owner = Agency.objects.get(key="serviceontario")
    consultation = Consultation.objects.create(
        key="bench",
        titles={"en": "Benchmark consultation", "fr": "Consultation d'essai"},
        questions={"en": "What should change?", "fr": "Que faut-il changer?"},
        owner=owner,
        place=Jurisdiction.objects.get(code="CA-ON-TOR"),
        audiences=["public"],
    )
    today = timezone.localdate()
    Phase.objects.create(
        consultation=consultation,
        kind="proposals",
        starts_on=today - datetime.timedelta(days=30),
        ends_on=today + datetime.timedelta(days=30),
    )
    question = SurveyQuestion.objects.create(
        consultation=consultation, key="ease", kind="scale", texts={"en": "How easy?"}
    )
    batch = 100_000
    with transaction.atomic():
        for start in range(0, participants, batch):
            bulk_load(
                Person,
                [
                    Person(given_names="P", family_name=str(n))
                    for n in range(start, min(participants, start + batch))
                ],
            )
    people = list(Person.objects.order_by("pk").values_list("pk", flat=True))
    n_proposals = max(1, contributions * 2 // 100)
    n_comments = contributions * 38 // 100
    n_supports = contributions - n_proposals - n_comments
    with transaction.atomic():
        bulk_load(
            Proposal,
            [
                Proposal(
                    consultation=consultation,
                    author_id=people[n % len(people)],
                    title=f"Proposal {n}",
                    body="Text of the proposal",
                    decision=rng.choice(["", "", "", "adopted", "not_adopted"]),
                )
                for n in range(n_proposals)
            ],
        )
        proposals = list(
            Proposal.objects.filter(consultation=consultation).values_list("pk", flat=True)
        )
        for start in range(0, n_comments, batch):
            bulk_load(
                Comment,
                [
                    Comment(
                        consultation=consultation,
                        proposal_id=rng.choice(proposals),
                        author_id=rng.choice(people),
                        body="A comment",
                    )
                    for _ in range(start, min(n_comments, start + batch))
                ],
            )
        # Supports: distinct (proposal, person) pairs, skewed towards the first proposals.
        pairs: set[tuple[int, int]] = set()
        while len(pairs) < n_supports:
            proposal = proposals[min(len(proposals) - 1, int(rng.expovariate(8 / len(proposals))))]
            pairs.add((proposal, rng.choice(people)))
        ordered = sorted(pairs)
        for start in range(0, len(ordered), batch):
            bulk_load(
                Support,
                [Support(proposal_id=p, person_id=q) for p, q in ordered[start : start + batch]],
            )
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE engagement_proposal SET supports_count = (SELECT count(*) FROM"
                " engagement_support s WHERE s.proposal_id = engagement_proposal.id)"
                " WHERE consultation_id = %s",
                [consultation.pk],
            )
        for start in range(0, len(people), batch):
            bulk_load(
                SurveyAnswer,
                [
                    SurveyAnswer(question=question, person_id=pid, value=str(rng.randint(1, 5)))
                    for pid in people[start : start + batch]
                ],
            )
        comment_ids = list(
            Comment.objects.filter(consultation=consultation).values_list("pk", flat=True)
        )
        reported = rng.sample(comment_ids, max(1, len(comment_ids) // 100))
        bulk_load(
            AbuseReport,
            [
                AbuseReport(
                    consultation=consultation,
                    comment_id=cid,
                    reporter_id=rng.choice(people),
                    reason=rng.choice(["abuse", "spam", "off_topic"]),
                )
                for cid in reported
            ],
        )
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Fresh statistics after a bulk load, as autovacuum would give them in time: without
            # them the planner picks nested loops over a million rows.
            cursor.execute("ANALYZE")
    return consultation


RESULTS_SQL = {
    "proposals": "SELECT count(*) FROM engagement_proposal WHERE consultation_id = %s"
    " AND visibility = 'visible'",
    "comments": "SELECT count(*) FROM engagement_comment WHERE consultation_id = %s"
    " AND visibility = 'visible'",
    "supports": "SELECT count(*) FROM engagement_support s JOIN engagement_proposal p"
    " ON p.id = s.proposal_id WHERE p.consultation_id = %s",
    "participants": "SELECT count(*) FROM (SELECT s.person_id FROM engagement_support s"
    " JOIN engagement_proposal p ON p.id = s.proposal_id WHERE p.consultation_id = %s"
    " UNION SELECT author_id FROM engagement_proposal WHERE consultation_id = %s"
    " AND author_id IS NOT NULL UNION SELECT author_id FROM engagement_comment"
    " WHERE consultation_id = %s AND author_id IS NOT NULL UNION SELECT a.person_id"
    " FROM engagement_surveyanswer a JOIN engagement_surveyquestion q ON q.id = a.question_id"
    " WHERE q.consultation_id = %s) AS people",
    "decided": "SELECT decision, count(*) FROM engagement_proposal WHERE consultation_id = %s"
    " AND visibility = 'visible' AND decision <> '' GROUP BY decision",
    "top": "SELECT id, title, supports_count FROM engagement_proposal WHERE consultation_id = %s"
    " AND visibility = 'visible' ORDER BY supports_count DESC, created_at LIMIT 20",
    # "What we heard, what we did": the first page of decided proposals and their changes.
    "loop": "SELECT p.id, p.title, p.decision, p.decision_reasons, c.kind, c.descriptions"
    " FROM (SELECT id, title, decision, decision_reasons, supports_count, created_at"
    " FROM engagement_proposal WHERE consultation_id = %s AND visibility = 'visible'"
    " AND decision <> '' ORDER BY supports_count DESC, created_at, id LIMIT 50) p"
    " LEFT JOIN engagement_change c ON c.proposal_id = p.id"
    " ORDER BY p.supports_count DESC, p.created_at, p.id",
    "survey": "SELECT a.question_id, a.value, count(*) FROM engagement_surveyanswer a"
    " JOIN engagement_surveyquestion q ON q.id = a.question_id WHERE q.consultation_id = %s"
    " AND q.kind <> 'text' GROUP BY a.question_id, a.value",
}

QUEUE_SQL = (
    "SELECT c.id, c.body, count(r.id) AS n FROM engagement_comment c"
    " JOIN engagement_abusereport r ON r.comment_id = c.id AND r.outcome = 'open'"
    " WHERE c.consultation_id = %s AND c.visibility = 'visible'"
    " GROUP BY c.id, c.body, c.created_at ORDER BY n DESC, c.created_at LIMIT 100"
)


def plain_results(cid: int) -> dict:
    from django.db import connection

    out = {}
    with connection.cursor() as cursor:
        for name, sql in RESULTS_SQL.items():
            cursor.execute(sql, [cid] * sql.count("%s"))
            rows = cursor.fetchall()
            out[name] = (
                rows[0][0]
                if name in ("proposals", "comments", "supports", "participants")
                else rows
            )
    return out


def plain_queue(cid: int) -> list:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(QUEUE_SQL, [cid])
        rows = cursor.fetchall()
        cursor.execute(
            "SELECT DISTINCT r.comment_id, r.reason FROM engagement_abusereport r"
            " JOIN engagement_comment c ON c.id = r.comment_id WHERE r.outcome = 'open'"
            " AND c.consultation_id = %s AND c.visibility = 'visible'",
            [cid],
        )
        cursor.fetchall()
    return rows


def staff_cookie(consultation) -> str:
    """A session of one of the owner's supervisors, second factor given, written to the
    database the server reads: the moderation queue is theirs to see."""
    from django.conf import settings
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from joinedup.identity.models import StaffMembership, User

    user = User.objects.create_user(
        username="moderator@bench.example", email="moderator@bench.example", password="x" * 24
    )
    StaffMembership.objects.create(user=user, agency=consultation.owner, role="supervisor")
    device = TOTPDevice.objects.create(user=user, name="phone")
    client = Client()
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return f"{settings.SESSION_COOKIE_NAME}={session.session_key}"


def fetch(url: str, cookie: str = "") -> bytes:
    if not url.startswith("http://127.0.0.1:"):
        raise ValueError(url)
    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})  # noqa: S310 (our loopback server)
    with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310
        if response.status != 200:
            raise RuntimeError(f"{url} answered {response.status}")
        return response.read()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--participants", type=int, default=100_000)
    parser.add_argument("--contributions", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="5,000 and 50,000: a check")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--port", type=int, default=8160)
    args = parser.parse_args()
    if args.quick:
        args.participants, args.contributions = 5_000, 50_000

    with tempfile.TemporaryDirectory() as tmp:
        server = _setup_database(Path(tmp))
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "joinedup.settings")
        os.environ["JOINEDUP_DEBUG"] = "false"
        # Static files collected once into the checkout's var/ and reused by later runs.
        static_root = ROOT / "var" / "bench-static"
        os.environ["JOINEDUP_STATIC_ROOT"] = str(static_root)
        os.environ.setdefault("JOINEDUP_LOG_LEVEL", "WARNING")
        import django

        django.setup()
        from django.core.management import call_command

        process = None
        try:
            started = time.perf_counter()
            call_command("migrate", verbosity=0, interactive=False)
            consultation = build(args.participants, args.contributions)
            print(
                f"built {args.participants:,} participants and {args.contributions:,} "
                f"contributions in {time.perf_counter() - started:.0f} s",
                flush=True,
            )
            if not (static_root / "staticfiles.json").exists():
                call_command("collectstatic", interactive=False, verbosity=0)
            cookie = staff_cookie(consultation)
            process, log = start_server(args.port, "engagement")
            try:
                run(consultation, args.repeat, f"http://127.0.0.1:{args.port}", cookie)
            except Exception:
                print("the server's error output:\n" + server_errors(log), file=sys.stderr)
                raise
            errors = [
                line for line in log.read_text(errors="replace").splitlines() if "ERROR" in line
            ]
            print(f"server errors during the run: {len(errors)}")
            for line in errors[:10]:
                print("  " + line)
            return 1 if errors else 0
        finally:
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=30)
            if server:
                from django.db import connections

                connections.close_all()
                import psycopg

                base = server.rpartition("/")[0]
                with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
                    conn.execute(f"DROP DATABASE IF EXISTS {scratch_name(server)} WITH (FORCE)")


def run(consultation, repeat: int, base: str, cookie: str) -> None:
    from joinedup.engagement import moderation, results

    cid = consultation.pk
    results_url = f"{base}/en/consultations/{consultation.key}/results/"
    queue_url = f"{base}/en/consultations/{consultation.key}/moderation/"
    fetch(results_url)  # warm: templates, translations, the worker's first connection
    page = fetch(queue_url, cookie)
    assert b"moderation" in page.lower(), "the moderation page did not answer the moderator"
    page_time, _body = best(repeat, lambda: fetch(results_url))
    ours_time, ours = best(repeat, lambda: results.results(consultation))
    sql_time, plain = best(repeat, lambda: plain_results(cid))
    for name in ("proposals", "comments", "supports", "participants"):
        assert getattr(ours, name) == plain[name], (name, getattr(ours, name), plain[name])
    assert [p.pk for p in ours.top] == [row[0] for row in plain["top"]]
    assert ours.decided == dict(plain["decided"])
    first_page = [p.pk for p in results.decided(consultation)[:50]]
    assert first_page == list(dict.fromkeys(row[0] for row in plain["loop"]))
    queue_page_time, _body = best(repeat, lambda: fetch(queue_url, cookie))
    queue_time, queue = best(repeat, lambda: moderation.queue(consultation))
    queue_sql_time, queue_rows = best(repeat, lambda: plain_queue(cid))
    assert sorted(r["reports"] for r in queue) == sorted(r[2] for r in queue_rows)

    heading = f"measure (best of {repeat})"
    print(f"{heading:44} {'ours':>10} {'plain SQL':>10} {'ratio':>7}")
    for label, mine, ref in (
        ("results page (HTTP GET, DEBUG off)", page_time, sql_time),
        ("results figures (results.results)", ours_time, sql_time),
        ("moderation queue page (HTTP GET)", queue_page_time, queue_sql_time),
        ("moderation queue (moderation.queue)", queue_time, queue_sql_time),
    ):
        print(f"{label:44} {mine * 1000:8.1f}ms {ref * 1000:8.1f}ms {ref / mine:7.2f}")
    print("ratio = plain SQL time / ours (aim: at least 0.3)")


if __name__ == "__main__":
    sys.exit(main())
