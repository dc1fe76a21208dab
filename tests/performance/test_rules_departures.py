"""How often decisions depart from what the rules compute: per service and version of the
rules, the share of decisions that departed and the reasons given, small counts suppressed;
a page for the agency's analysts and supervisors with a chart and its data table, in English
and French, read with the same number of queries however many decisions there are."""

from __future__ import annotations

import datetime
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from joinedup.delivery import versions
from joinedup.delivery.applications import submit_application
from joinedup.delivery.models import WorkItem
from joinedup.demo import loading
from joinedup.federation.loader import load_federation
from joinedup.federation.models import Agency
from joinedup.performance import kpis, rules_departures
from tests.delivery.conftest import person_context, staff_client  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db
BIRTH = (datetime.date.today() - datetime.timedelta(days=400)).isoformat()


@pytest.fixture
def cra(db):
    load_federation([loading.federation_folder("canada")])
    versions.load_paths([loading.SERVICE_VERSIONS])
    return Agency.objects.get(key="cra")


@pytest.fixture
def application(cra, make_applicant):
    answers = {
        "children": [{"given_names": "Noor", "birth_date": BIRTH}],
        "marital_status": "single",
        "income_last_year": 30000,
    }
    submitted, _ = submit_application(person_context(make_applicant()), "ca.child-benefit", answers)
    return submitted


def decided(application, agency, version: str, followed: int, **departures: int) -> None:
    """Decisions on work items of the application: `followed` that followed the rules,
    and per reason the number that departed from them."""
    now = timezone.now()
    rows = [(True, "")] * followed + [
        (False, reason) for reason, n in departures.items() for _ in range(n)
    ]
    WorkItem.objects.bulk_create(
        WorkItem(
            application=application,
            agency=agency,
            role="caseworker",
            task_id=uuid.uuid4(),
            task_name="review",
            title="Review",
            status=WorkItem.Status.COMPLETED,
            completed_at=now,
            decision="approve" if follows else "refuse",
            follows_rules=follows,
            rules_departure=reason,
            rules_note="" if follows else "Checked evidence.",
            rules_version=version,
        )
        for follows, reason in rows
    )


def test_the_share_departing_per_service_and_version_with_reasons_and_small_counts_hidden(
    cra, application
):
    decided(application, cra, "ca 2026.7.0", 30, facts=6, discretion=12, rules=2)
    decided(application, cra, "ca 2025.7.0", 4, facts=1)  # 5 decisions: not shown
    # Decisions outside the period, or by another agency, are not counted.
    decided(application, Agency.objects.exclude(pk=cra.pk).first(), "ca 2026.7.0", 20)
    rows = rules_departures.report(cra, kpis.parse_period("12m"))
    assert [(r.version, r.decisions) for r in rows] == [("ca 2025.7.0", 5), ("ca 2026.7.0", 50)]
    old, current = rows
    assert old.suppressed and old.share is None and old.reasons == {}
    assert current.departures == 20 and current.share == pytest.approx(0.4)
    # Facts (6) and the rules (2) are both under 10: hidden; discretion shown.
    assert current.reasons == {
        "Facts the answers do not show (checked evidence)": None,
        "Discretion the law gives the decision maker": 12,
        "The rules do not match the law or the policy in force": None,
        "Another reason": 0,
    }


def test_one_small_reason_hides_the_next_smallest_with_it(cra, application):
    decided(application, cra, "ca 2026.7.0", 20, facts=15, discretion=3, rules=11)
    (row,) = rules_departures.report(cra, kpis.parse_period("12m"))
    assert row.departures == 29
    # Discretion (3) alone would be the total less the others: the rules (11) hidden too.
    assert list(row.reasons.values()) == [15, None, None, 0]


def test_the_page_is_for_the_agencys_analysts_in_english_and_french(
    cra,
    application,
    staff_client,  # noqa: F811
):
    decided(application, cra, "ca 2026.7.0", 30, facts=10, discretion=10)
    url = f"/en/performance/agencies/{cra.key}/rules-departures/"
    analyst, _context = staff_client(cra, "analyst")
    page = analyst.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Decisions and the rules" in html and "Canada Child Benefit" in html
    assert "ca 2026.7.0" in html and "40.0 %" in html
    assert "Data of the chart" in html and 'id="chart-rules-departures-data"' in html
    french = analyst.get(url.replace("/en/", "/fr/")).content.decode()
    assert "Les décisions et les règles" in french and "40,0 %" in french
    assert "Allocation canadienne pour enfants" in french
    bad = analyst.get(url + "?period=soon")
    assert bad.status_code == 400
    caseworker, _context = staff_client(cra, "caseworker")
    assert caseworker.get(url).status_code == 403
    other = Agency.objects.exclude(pk=cra.pk).first()
    outsider, _context = staff_client(other, "analyst", "analyst.other@example.org")
    assert outsider.get(url).status_code == 403


def test_the_page_reads_the_same_number_of_queries_for_few_and_many_decisions(
    cra,
    application,
    staff_client,  # noqa: F811
):
    url = f"/en/performance/agencies/{cra.key}/rules-departures/"
    analyst, _context = staff_client(cra, "supervisor")
    decided(application, cra, "ca 2026.7.0", 10, facts=2)
    analyst.get(url)
    with CaptureQueriesContext(connection) as few:
        assert analyst.get(url).status_code == 200
    decided(application, cra, "ca 2025.7.0", 200, facts=40, discretion=30, other=12)
    decided(application, cra, "ca 2026.7.0", 300, rules=25)
    with CaptureQueriesContext(connection) as many:
        assert analyst.get(url).status_code == 200
    assert len(many) == len(few)
