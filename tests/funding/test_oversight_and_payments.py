"""Overseers' reviews on pages and the API (who sees them, who writes what), and outcome
payments scheduled per period and approved or returned by the funder with a reason."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.management import call_command

from joinedup.federation.models import PartnerRole, Service
from joinedup.funding import outcomes, oversight
from joinedup.funding.models import (
    ChangeRecord,
    Finding,
    Indicator,
    OutcomeAgreement,
    OutcomePayment,
    Result,
    Review,
)

from .conftest import staff_client
from .test_outcomes import Q1, Q2, _indicator, _report

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def overseen(world):
    """Ontario's ministry oversees; Helping Hands (funded by Toronto) is reviewed."""
    PartnerRole.objects.create(
        service=Service.objects.first(), agency=world.ontario, role="overseer"
    )
    return world


def test_an_overseer_records_a_review_and_findings_the_provider_follows_up(overseen):
    world = overseen
    overseer, _u = staff_client(world.ontario, "analyst")
    made = overseer.post(
        "/en/funding/oversight/",
        {"provider": "helping-hands", "kind": "inspection", "held_on": "2025-06-01"},
    )
    review = Review.objects.get()
    assert made.status_code == 302 and made["Location"].endswith(f"/oversight/{review.pk}/")
    bad = overseer.post(
        f"/en/funding/oversight/{review.pk}/",
        {"action": "finding", "severity": "3", "text": "Files", "due_on": "2025-05-01"},
    )
    assert bad.status_code == 400 and "due after the review" in bad.content.decode()
    overseer.post(
        f"/en/funding/oversight/{review.pk}/",
        {
            "action": "finding",
            "severity": "3",
            "text": "Case files incomplete",
            "corrective_action": "Complete the files",
            "due_on": "2025-07-01",
        },
    )
    finding = Finding.objects.get()
    assert oversight.unresolved_by_provider(datetime.date(2025, 8, 1)) == {
        world.hands.pk: {"open": 1, "overdue": 1}
    }
    # The provider follows up but may not resolve; the funder (Toronto) reads it.
    provider, _u = staff_client(world.hands, "supervisor")
    provider.post(
        f"/en/funding/oversight/{review.pk}/",
        {"action": "follow_up", "finding": finding.pk, "note": "Files completed in July"},
    )
    refused = provider.post(
        f"/en/funding/oversight/{review.pk}/",
        {"action": "resolve", "finding": finding.pk, "note": "done"},
    )
    assert refused.status_code == 403
    funder, _u = staff_client(world.toronto, "auditor")
    page = funder.get(f"/en/funding/oversight/{review.pk}/").content.decode()
    assert "Case files incomplete" in page and "Files completed in July" in page
    assert "High" in page and "Add a finding" not in page
    # Someone with no part in it does not read it.
    stranger, _u = staff_client(world.esdc, "analyst")
    assert stranger.get(f"/en/funding/oversight/{review.pk}/").status_code == 403
    assert review.pk not in [r.pk for r in oversight.visible_to("esdc")]
    overseer.post(
        f"/en/funding/oversight/{review.pk}/",
        {"action": "resolve", "finding": finding.pk, "note": "Checked on site"},
    )
    finding.refresh_from_db()
    assert finding.resolved_on == datetime.date.today()
    assert "Checked on site" in finding.follow_up and "Files completed" in finding.follow_up
    assert oversight.unresolved_by_provider(datetime.date(2025, 8, 1)) == {}
    listing = provider.get("/fr/funding/oversight/").content.decode()
    assert "Inspection" in listing


def test_the_oversight_api_follows_the_same_rules(overseen):
    world = overseen
    overseer, _u = staff_client(world.ontario, "supervisor")
    made = overseer.post(
        "/api/v1/funding/reviews",
        {"provider": "helping-hands", "kind": "audit", "held_on": "2025-06-01"},
        content_type="application/json",
    )
    assert made.status_code == 201, made.content
    review_id = made.json()["id"]
    wrong = overseer.post(
        f"/api/v1/funding/reviews/{review_id}/findings",
        {"severity": "grave", "text": "x"},
        content_type="application/json",
    )
    assert wrong.status_code == 400 and wrong.json()["detail"] == "Choose a severity."
    finding = overseer.post(
        f"/api/v1/funding/reviews/{review_id}/findings",
        {"severity": "critical", "text": "No safeguarding policy", "due_on": "2025-09-01"},
        content_type="application/json",
    ).json()
    provider, _u = staff_client(world.hands, "analyst")
    listed = provider.get("/api/v1/funding/reviews").json()["items"]
    assert [f["severity"] for f in listed[0]["findings"]] == ["critical"]
    not_theirs = provider.post(
        f"/api/v1/funding/reviews/{review_id}/findings",
        {"severity": "low", "text": "x"},
        content_type="application/json",
    )
    assert not_theirs.status_code == 403
    followed = provider.post(
        f"/api/v1/funding/findings/{finding['id']}/follow-up",
        {"note": "Policy adopted"},
        content_type="application/json",
    )
    assert followed.status_code == 200 and followed.json()["follow_up"][0].endswith(
        "Policy adopted"
    )
    stranger, _u = staff_client(world.esdc, "analyst")
    assert stranger.get("/api/v1/funding/reviews").json()["items"] == []


def _agreement(world) -> OutcomeAgreement:
    indicator = _indicator(world)
    return OutcomeAgreement.objects.create(
        key="placements-contract",
        names={"en": "Placements contract", "fr": "Contrat de placements"},
        allocation=world.municipal,
        indicator=indicator,
        rate_per_outcome=D("3.00"),
        floor=D("5.00"),
        cap=D("20.00"),
    )


def test_payments_are_scheduled_for_each_ended_period_with_a_value(world):
    agreement = _agreement(world)
    assert [p[0].month for p in outcomes.periods(agreement)] == [4, 7, 10, 1]
    assert outcomes.periods(agreement)[3] == (datetime.date(2026, 1, 1), datetime.date(2026, 3, 31))
    _report(agreement.indicator, Q1, "1")
    done = outcomes.schedule(datetime.date(2025, 10, 15))
    # Q1 computed: 1 × 3.00 = 3.00, raised to the floor of 5.00. Q2 has ended but has no value.
    assert [(p.period_start, p.amount) for p in done.computed] == [(Q1[0], D("5.00"))]
    assert [start for _a, start in done.waiting] == [Q2[0]]
    _report(agreement.indicator, Q2, "4")
    call_command("schedule_outcome_payments", "--today", "2025-10-15")
    amounts = dict(OutcomePayment.objects.values_list("period_start", "amount"))
    assert amounts == {Q1[0]: D("5.00"), Q2[0]: D("12.00")}


def test_the_funder_approves_or_returns_a_payment_with_the_reason_kept(world):
    agreement = _agreement(world)
    _report(agreement.indicator, Q1, "2")
    _report(agreement.indicator, Q2, "9")
    outcomes.schedule(datetime.date(2025, 10, 15))
    first, second = OutcomePayment.objects.order_by("period_start")
    # The funder of the municipal allocation is the city of Toronto.
    recipient, _u = staff_client(world.hands, "supervisor")
    assert "No outcome payment yet." in recipient.get("/en/funding/payments/").content.decode()
    theirs = recipient.post("/en/funding/payments/", {"payment": first.pk, "action": "approve"})
    assert theirs.status_code == 400 and "No such payment awaits" in theirs.content.decode()
    analyst, _u = staff_client(world.toronto, "analyst")
    assert analyst.get("/en/funding/payments/").status_code == 403
    funder, user = staff_client(world.toronto, "supervisor")
    page = funder.get("/fr/funding/payments/").content.decode()
    assert "Contrat de placements" in page and "Approuver" in page
    no_reason = funder.post(
        "/en/funding/payments/", {"payment": second.pk, "action": "return", "reason": " "}
    )
    assert no_reason.status_code == 400 and "Say why" in no_reason.content.decode()
    funder.post(
        "/en/funding/payments/",
        {"payment": second.pk, "action": "return", "reason": "Q2 count disputed"},
    )
    funder.post("/en/funding/payments/", {"payment": first.pk, "action": "approve"})
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, first.approved_by, first.amount) == ("approved", user, D("6.00"))
    assert (second.status, second.decision_reason) == ("returned", "Q2 count disputed")
    record = ChangeRecord.objects.get(record="outcome payment", action="returned")
    assert (record.user, record.reason, record.agency) == (user, "Q2 count disputed", "toronto")
    # Returned: computed again (the corrected value) and routed back for approval.
    _report(agreement.indicator, Q2, "3", reason="corrected count")
    outcomes.schedule(datetime.date(2025, 10, 15))
    second.refresh_from_db()
    assert (second.status, second.amount) == ("computed", D("9.00"))
    api = funder.post(
        f"/api/v1/funding/payments/{second.pk}/return",
        {"reason": "still disputed"},
        content_type="application/json",
    )
    assert api.status_code == 200 and api.json()["reason"] == "still disputed"
    assert Indicator.objects.count() == 1 and Result.objects.count() == 1


def test_the_oversight_and_payment_lists_do_not_grow_in_queries(overseen):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    world = overseen
    agreement = _agreement(world)
    reader, _u = staff_client(world.toronto, "supervisor")

    def grow(n: int) -> None:
        for i in range(n):
            review = oversight.record_review(
                world.ontario, world.hands, kind="review", held_on=datetime.date(2025, 6, 1 + i)
            )
            for severity in (1, 3):
                oversight.add_finding(
                    review, severity=severity, text=f"f{i}", corrective_action="", due_on=None
                )
        for month in range(
            4 + len(OutcomePayment.objects.all()), 4 + n + len(OutcomePayment.objects.all())
        ):
            OutcomePayment.objects.create(
                agreement=agreement,
                period_start=datetime.date(2025, month, 1),
                period_end=datetime.date(2025, month, 28),
                outcomes=D("1"),
                amount=D("5.00"),
                steps=[{"step": "floor", "floor": "5.00", "amount": "5.00"}],
            )

    def counts() -> tuple[int, ...]:
        found = []
        for url in ("/en/funding/oversight/", "/api/v1/funding/reviews", "/en/funding/payments/"):
            with CaptureQueriesContext(connection) as queries:
                assert reader.get(url).status_code == 200
            found.append(len(queries))
        return tuple(found)

    grow(1)
    counts()  # the first request fills the process's caches (translations, rules)
    small = counts()
    grow(3)
    assert counts() == small
