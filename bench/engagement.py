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
    twenty most supported proposals, decisions, survey counts);
(c) the moderation queue (`moderation.queue`) beside plain SQL of the same rows;

checks that both give the same figures, and prints each time with the ratio plain SQL /
ours (1.0: as fast as hand-written SQL; the aim is at least 0.3). The issue's full size is
`--participants 100000 --contributions 1000000` (about ten minutes of loading here).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))


def _setup_database(tmp: Path) -> str | None:
    """Point Django at a scratch database; returns the PostgreSQL database to drop, if any."""
    server = os.environ.get("DATABASE_URL", "")
    if server.startswith("postgres"):
        import psycopg

        base, _slash, _name = server.rpartition("/")
        with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
            conn.execute("DROP DATABASE IF EXISTS bench_engagement")
            conn.execute("CREATE DATABASE bench_engagement")
        os.environ["DATABASE_URL"] = f"{base}/bench_engagement"
        return server
    os.environ["DATABASE_URL"] = f"sqlite:///{tmp / 'bench.sqlite3'}"
    return None


def best(repeat: int, fn) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def build(participants: int, contributions: int, seed: int = 7):
    import datetime

    from django.db import transaction
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
    batch = 20_000
    with transaction.atomic():
        for start in range(0, participants, batch):
            Person.objects.bulk_create(
                [
                    Person(given_names="P", family_name=str(n))
                    for n in range(start, min(participants, start + batch))
                ],
                batch_size=batch,
            )
    people = list(Person.objects.order_by("pk").values_list("pk", flat=True))
    n_proposals = max(1, contributions * 2 // 100)
    n_comments = contributions * 38 // 100
    n_supports = contributions - n_proposals - n_comments
    with transaction.atomic():
        Proposal.objects.bulk_create(
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
            batch_size=batch,
        )
        proposals = list(
            Proposal.objects.filter(consultation=consultation).values_list("pk", flat=True)
        )
        for start in range(0, n_comments, batch):
            Comment.objects.bulk_create(
                [
                    Comment(
                        consultation=consultation,
                        proposal_id=rng.choice(proposals),
                        author_id=rng.choice(people),
                        body="A comment",
                    )
                    for _ in range(start, min(n_comments, start + batch))
                ],
                batch_size=batch,
            )
        # Supports: distinct (proposal, person) pairs, skewed towards the first proposals.
        pairs: set[tuple[int, int]] = set()
        while len(pairs) < n_supports:
            proposal = proposals[min(len(proposals) - 1, int(rng.expovariate(8 / len(proposals))))]
            pairs.add((proposal, rng.choice(people)))
        ordered = sorted(pairs)
        for start in range(0, len(ordered), batch):
            Support.objects.bulk_create(
                [Support(proposal_id=p, person_id=q) for p, q in ordered[start : start + batch]],
                batch_size=batch,
            )
        counts: dict[int, int] = {}
        for p, _q in ordered:
            counts[p] = counts.get(p, 0) + 1
        for pk, n in counts.items():
            Proposal.objects.filter(pk=pk).update(supports_count=n)
        for start in range(0, len(people), batch):
            SurveyAnswer.objects.bulk_create(
                [
                    SurveyAnswer(question=question, person_id=pid, value=str(rng.randint(1, 5)))
                    for pid in people[start : start + batch]
                ],
                batch_size=batch,
            )
        comment_ids = list(
            Comment.objects.filter(consultation=consultation).values_list("pk", flat=True)
        )
        reported = rng.sample(comment_ids, max(1, len(comment_ids) // 100))
        AbuseReport.objects.bulk_create(
            [
                AbuseReport(
                    consultation=consultation,
                    comment_id=cid,
                    reporter_id=rng.choice(people),
                    reason=rng.choice(["abuse", "spam", "off_topic"]),
                )
                for cid in reported
            ],
            batch_size=batch,
        )
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--participants", type=int, default=20_000)
    parser.add_argument("--contributions", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        server = _setup_database(Path(tmp))
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "joinedup.settings")
        os.environ["JOINEDUP_DEBUG"] = "0"
        import django

        django.setup()
        from django.conf import settings
        from django.core.management import call_command
        from django.test import Client, override_settings
        from django.test.utils import setup_test_environment

        setup_test_environment()
        try:
            started = time.perf_counter()
            call_command("migrate", verbosity=0, interactive=False)
            consultation = build(args.participants, args.contributions)
            print(
                f"built {args.participants:,} participants and {args.contributions:,} "
                f"contributions in {time.perf_counter() - started:.0f} s"
            )
            plain_static = {
                **settings.STORAGES,
                "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
            }
            # Static files are not collected in a scratch run: serve their plain names.
            with override_settings(STORAGES=plain_static):
                run(consultation, args.repeat, Client())
        finally:
            if server:
                from django.db import connections

                connections.close_all()
                import psycopg

                base = server.rpartition("/")[0]
                with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
                    conn.execute("DROP DATABASE IF EXISTS bench_engagement")


def run(consultation, repeat: int, client) -> None:
    from joinedup.engagement import moderation, results

    cid = consultation.pk
    url = f"/en/consultations/{consultation.key}/results/"
    client.get(url)  # warm: templates, translations, plotly's files
    page_time, response = best(repeat, lambda: client.get(url))
    assert response.status_code == 200, response.status_code
    ours_time, ours = best(repeat, lambda: results.results(consultation))
    sql_time, plain = best(repeat, lambda: plain_results(cid))
    for name in ("proposals", "comments", "supports", "participants"):
        assert getattr(ours, name) == plain[name], (name, getattr(ours, name), plain[name])
    assert [p.pk for p in ours.top] == [row[0] for row in plain["top"]]
    assert ours.decided == dict(plain["decided"])
    queue_time, queue = best(repeat, lambda: moderation.queue(consultation))
    queue_sql_time, queue_rows = best(repeat, lambda: plain_queue(cid))
    assert sorted(r["reports"] for r in queue) == sorted(r[2] for r in queue_rows)

    print(f"{'measure':42} {'ours':>10} {'plain SQL':>10} {'ratio':>7}")
    for label, mine, ref in (
        ("results page (GET, rendered)", page_time, sql_time),
        ("results figures (results.results)", ours_time, sql_time),
        ("moderation queue (moderation.queue)", queue_time, queue_sql_time),
    ):
        print(f"{label:42} {mine * 1000:8.1f}ms {ref * 1000:8.1f}ms {ref / mine:7.2f}")
    print("ratio = plain SQL time / ours (aim: at least 0.3)")


if __name__ == "__main__":
    main()
