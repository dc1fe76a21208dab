"""The case page reads a constant number of statements, whatever the size of the case."""

from __future__ import annotations

import datetime
import os

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from joinedup.care import plans, referrals, team
from joinedup.identity.models import StaffMembership

from .test_pages import ontario_agency, services, staff_client  # noqa: F401

pytestmark = pytest.mark.django_db

#: The case page's statements for its lead and for another agency's member (see below).
CASE_PAGE_STATEMENTS = {
    "postgresql": {"lead": 17, "ontario": 18},
    "sqlite": {"lead": 19, "ontario": 20},
}


@pytest.fixture
def lead(make_staff):
    return make_staff("toronto", "caseworker", "lead@toronto.example.org")


@pytest.fixture
def ontario(make_staff):
    return make_staff("serviceontario", "caseworker", "worker@ontario.example.org")


def test_the_case_page_reads_a_constant_number_of_statements(
    services,  # noqa: F811
    lead,
    ontario,
    person,
):
    case = team.open_case(lead, person, basis="consent", categories=["housing", "income"])
    team.add_member(
        lead,
        case,
        StaffMembership.objects.get(pk=ontario.membership_id),
        "key_worker",
        categories=["housing", "income"],
    )
    food = services["Community food bank"]

    def grow(n: int, start: int) -> None:
        for i in range(start, start + n):
            need = plans.add_need(lead, case, "housing" if i % 2 else "income", f"need {i}")
            goal = plans.add_goal(lead, need, f"goal {i}", None)
            plans.add_action(lead, goal, f"act {i}", ontario_agency(lead), datetime.date.today())
            plans.add_note(lead, case, "housing", f"note {i}")
            referrals.send_referral(
                lead, case, food, reason="r", urgency="routine", categories=["income"]
            )

    url = f"/en/staff/care/cases/{case.reference}/"
    readers = {"lead": staff_client(lead), "ontario": staff_client(ontario)}

    def statements(who: str) -> int:
        with CaptureQueriesContext(connection) as queries:
            assert readers[who].get(url).status_code == 200
        if os.environ.get("CARE_SHOW_QUERIES"):
            for q in queries.captured_queries:
                print(q["sql"][:300])
        return len(queries)

    grow(2, 0)
    first = {who: (statements(who), statements(who))[1] for who in readers}
    grow(10, 2)
    assert {who: statements(who) for who in readers} == first
    # And how many: the request's (session, user with its second factor's device, membership
    # and its places),
    # the case with its team, the gate's (emergency access with the sensitivities, the
    # person's place, the rules for another agency, the ledger's head and its write, the
    # applications), the page's (plan, notes, alerts, referrals, assessments); BEGIN and
    # COMMIT counted. SQLite reads a membership's places apart and writes the ledger's
    # head apart.
    assert first == CASE_PAGE_STATEMENTS[connection.vendor]


def test_the_case_page_reads_the_team_and_the_gates_categories_once(
    services,  # noqa: F811
    lead,
    ontario,
    person,
):
    case = team.open_case(lead, person, basis="consent", categories=["housing", "income"])
    team.add_member(
        lead,
        case,
        StaffMembership.objects.get(pk=ontario.membership_id),
        "key_worker",
        categories=["housing"],
    )
    url = f"/en/staff/care/cases/{case.reference}/"
    for reader in (lead, ontario):
        browser = staff_client(reader)
        browser.get(url)  # the first request of a session reads a few things once
        with CaptureQueriesContext(connection) as queries:
            assert browser.get(url).status_code == 200
        sql = [q["sql"] for q in queries.captured_queries]
        assert sum('FROM "sharing_datacategory"' in q for q in sql) == 1
        assert sum('FROM "care_teammember"' in q for q in sql) == 1
        # The assessment sets are kept per process (read by the first request), and the
        # demonstration-data notice too.
        assert sum('FROM "care_assessmentset"' in q for q in sql) == 0
        assert not any('WHERE "federation_jurisdiction"."illustrative"' in q for q in sql)
        # Emergency access is read with the sensitivities (one UNION ALL), the case with
        # its team.
        assert sum('FROM "sharing_breakglass"' in q for q in sql) == 1
        assert sum('FROM "care_integratedcase"' in q for q in sql) == 0
        # The reader's agency is the row read with their membership (the gate's recipient
        # and the header's tools), never read again on its own.
        assert sum('FROM "federation_agency"' in q for q in sql) == 0


def test_the_plan_is_one_read_and_shows_every_need_goal_and_action_in_order(
    services,  # noqa: F811
    lead,
    ontario,
    person,
):
    """Needs, goals and actions (with each action's agency) come from one LEFT JOIN read: a
    need without a goal and a goal without an action still show, actions by due date, and
    a need in a domain the reader may not see does not."""
    case = team.open_case(lead, person, basis="consent", categories=["housing", "income"])
    team.add_member(
        lead,
        case,
        StaffMembership.objects.get(pk=ontario.membership_id),
        "key_worker",
        categories=["housing"],
    )
    today = datetime.date.today()
    housing = plans.add_need(lead, case, "housing", "Keep the flat")
    rent = plans.add_goal(lead, housing, "Arrears paid", None)
    plans.add_action(lead, rent, "Second step", ontario_agency(ontario), today.replace(day=28))
    plans.add_action(lead, rent, "First step", ontario_agency(ontario), today.replace(day=1))
    plans.add_goal(lead, housing, "A goal with no action yet", None)
    plans.add_need(lead, case, "housing", "A need with no goal yet")
    plans.add_need(lead, case, "income", "Income need")
    url = f"/en/staff/care/cases/{case.reference}/"
    for reader, sees_income in ((lead, True), (ontario, False)):
        browser = staff_client(reader)
        browser.get(url)
        with CaptureQueriesContext(connection) as queries:
            page = browser.get(url).content.decode()
        sql = [q["sql"] for q in queries.captured_queries]
        assert sum('FROM "care_need"' in q for q in sql) == 1
        assert not any('FROM "care_goal"' in q or 'FROM "care_action"' in q for q in sql)
        order = [
            page.index(text)
            for text in (
                "Keep the flat",
                "Arrears paid",
                "First step",
                "Second step",
                "A goal with no action yet",
                "A need with no goal yet",
            )
        ]
        assert order == sorted(order)
        assert "First step</td><td>ServiceOntario</td>" in page  # the agency, read with it
        assert ("Income need" in page) is sees_income
