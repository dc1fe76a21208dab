"""Chargeback statements reconcile to the cent with the requests; credits when the level's
target is missed; a line is acknowledged or disputed once, and a dispute is a request of its
own (never charged); joint procurement shares and sign-offs."""

from __future__ import annotations

import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from joinedup.backoffice import procurement, statements
from joinedup.backoffice.models import Request, ServiceLevel, Statement, StatementLine
from joinedup.backoffice.requests import submit_request
from joinedup.delivery.models import Application
from joinedup.identity.policy import decide

TORONTO = ZoneInfo("America/Toronto")
MARCH = datetime.date(2026, 3, 1)


def _orders(context, client, days_and_outcomes):
    made = []
    for day, met in days_and_outcomes:
        request, _ = submit_request(
            context,
            client,
            "on.onboarding",
            {"details": f"Onboarding {day}"},
            at=datetime.datetime(2026, 3, day, 11, tzinfo=TORONTO),
        )
        if met is not None:
            Application.objects.filter(pk=request.pk).update(met_standard=met, status="approved")
        made.append(request)
    return made


def test_a_statement_reconciles_to_the_cent_with_its_requests(shared, make_staff):
    ministry = make_staff(shared["ministry"], "service_requester")
    city = make_staff(shared["city"], "service_requester")
    # Ministry: 4 resolved, 3 within the level (75 % < 90 %): a 10 % credit.
    made = _orders(ministry, shared["ministry"], [(2, True), (3, True), (4, True), (5, False)])
    _orders(ministry, shared["ministry"], [(31, None)])  # open: charged, not yet resolved
    # A price changed mid-month: the request keeps the price it was made at.
    ServiceLevel.objects.filter(service__key="on.onboarding").update(unit_price="199.99")
    _orders(city, shared["city"], [(10, True), (11, True)])
    # April's request is on April's statement.
    submit_request(
        city,
        shared["city"],
        "on.onboarding",
        {"details": "April"},
        at=datetime.datetime(2026, 4, 1, 0, 30, tzinfo=TORONTO),
    )
    issued = statements.issue_statements(shared["provincial"], MARCH)
    by_client = {s.client.key: s for s in issued}
    ministry_statement = by_client["serviceontario"]
    line = ministry_statement.lines.get()
    assert (line.requests, line.resolved, line.within_level) == (5, 4, 3)
    assert line.amount == Decimal("1250.00")
    assert line.credit == Decimal("125.00")
    assert ministry_statement.total == Decimal("1125.00")
    city_statement = by_client["toronto"]
    assert city_statement.charges == Decimal("399.98")
    assert city_statement.credits == Decimal("0.00")
    for statement in issued:
        charged = sum(r.unit_price for r in statements.requests_of(statement))
        assert statement.charges == charged
        assert statement.total == charged - statement.credits
    assert {r.pk for r in statements.requests_of(ministry_statement)} == {
        r.pk for r in Request.objects.filter(client=shared["ministry"])
    } and made
    # Issued once: issuing again writes nothing.
    assert statements.issue_statements(shared["provincial"], MARCH) == []


def test_a_line_is_acknowledged_or_disputed_once(shared, make_staff):
    ministry = make_staff(shared["ministry"], "service_requester")
    _orders(ministry, shared["ministry"], [(2, True)])
    statement = statements.issue_statements(shared["provincial"], MARCH)[0]
    line = statement.lines.get()
    dispute = statements.dispute(ministry, line, "We did not order two of these.")
    line.refresh_from_db()
    assert line.status == StatementLine.Status.DISPUTED
    assert dispute.disputes_id == line.pk
    assert dispute.application.agency == shared["provincial"]  # a request in its queues
    assert dispute.application.applicant_agency == shared["ministry"]
    with pytest.raises(statements.StatementError):
        statements.acknowledge(ministry, line)
    with pytest.raises(statements.StatementError) as no_reason:
        statements.dispute(ministry, line, " ")
    assert no_reason.value.code == "no_reason"
    # The dispute itself is never charged.
    figures = statements.month_figures(
        dispute.submitted_at.astimezone(TORONTO).date().replace(day=1), shared["provincial"]
    )
    assert all(line.level_id != dispute.level_id for f in figures.values() for line in f.lines)


def test_only_the_client_and_the_providers_managers_read_a_statement(shared, make_staff):
    _orders(make_staff(shared["ministry"], "service_requester"), shared["ministry"], [(2, True)])
    statement = Statement.objects.get(
        pk=statements.issue_statements(shared["provincial"], MARCH)[0].pk
    )
    assert decide(make_staff(shared["ministry"], "supervisor"), "backoffice.statement", statement)
    assert decide(make_staff(shared["provincial"], "analyst"), "backoffice.statement", statement)
    for agency, role in (("city", "service_requester"), ("provincial", "caseworker")):
        staff = make_staff(shared[agency], role, f"{role}.{agency}.x@example.org")
        assert not decide(staff, "backoffice.statement", statement).allowed


def test_joint_procurement_shares_and_sign_offs(shared, make_staff):
    ministry, city = shared["ministry"], shared["city"]
    with pytest.raises(procurement.ProcurementError) as not_whole:
        procurement.pool(
            {"en": "Laptops", "fr": "Portables"},
            {"en": "300 laptops", "fr": "300 portables"},
            ministry,
            Decimal("100000.00"),
            [(ministry, Decimal("0.5")), (city, Decimal("0.4"))],
        )
    assert not_whole.value.code == "shares_not_whole"
    with pytest.raises(procurement.ProcurementError):
        procurement.pool({}, {}, shared["department"], Decimal(1), [(ministry, Decimal(1))])
    joint = procurement.pool(
        {"en": "Laptops", "fr": "Portables"},
        {"en": "300 laptops", "fr": "300 portables"},
        ministry,
        Decimal("100000.00"),
        [
            (ministry, Decimal("0.3333")),
            (city, Decimal("0.3333")),
            (shared["department"], Decimal("0.3334")),
        ],
    )
    commitments = [p.commitment for p in joint.participants.order_by("pk")]
    assert commitments == [Decimal("33330.00"), Decimal("33330.00"), Decimal("33340.00")]
    assert sum(commitments) == joint.estimated_value
    outsider = make_staff(shared["provincial"], "supervisor")
    assert not decide(outsider, "backoffice.sign", joint).allowed
    signer = make_staff(city, "supervisor")
    assert decide(signer, "backoffice.sign", joint).allowed
    procurement.sign(signer, joint)
    with pytest.raises(procurement.ProcurementError):
        procurement.sign(signer, joint)
    assert not procurement.fully_signed(joint)
    procurement.sign(make_staff(ministry, "service_requester"), joint)
    procurement.sign(make_staff(shared["department"], "administrator"), joint)
    assert procurement.fully_signed(joint)


def test_cost_recovery_prices_the_requests_with_the_channel_unit_costs(shared, make_staff):
    from joinedup.backoffice import dashboard
    from joinedup.performance.models import ChannelUnitCost

    ChannelUnitCost.objects.create(
        jurisdiction="CA-ON", channel="online", amount=8000, valid_from=datetime.date(2020, 1, 1)
    )
    ChannelUnitCost.objects.create(  # later, dearer: counts from its date only
        jurisdiction="CA-ON", channel="online", amount=12000, valid_from=datetime.date(2026, 3, 4)
    )
    _orders(
        make_staff(shared["ministry"], "service_requester"),
        shared["ministry"],
        [(2, True), (5, None)],
    )
    start, end = statements.month_bounds(shared["provincial"], MARCH)
    recovery = dashboard.cost_recovery(shared["provincial"], start, end)
    assert recovery.charged == Decimal("500.00")
    assert recovery.cost == Decimal("200.00")
    assert recovery.share == Decimal("2.500")


def test_cost_recovery_adds_the_staff_time_at_the_providers_hourly_cost(
    shared, make_staff, staff_client
):
    """Staff time: each completed task of the provider, from taken to done, counted in the
    provider's working hours (at most a working day a task), plus the handle time
    `performance` recorded on the request, at the provider's hourly staff cost."""
    from joinedup.backoffice import dashboard
    from joinedup.delivery.models import WorkItem
    from joinedup.performance import handle_time
    from joinedup.performance.models import ChannelUnitCost, StaffCostRate, Transaction

    ChannelUnitCost.objects.create(
        jurisdiction="CA-ON", channel="online", amount=1000, valid_from=datetime.date(2020, 1, 1)
    )
    StaffCostRate.objects.create(
        agency="on-shared", hourly=6000, valid_from=datetime.date(2020, 1, 1)
    )
    first, second = _orders(
        make_staff(shared["ministry"], "service_requester"),
        shared["ministry"],
        [(2, True), (3, True)],
    )
    # Taken Monday 2 March at 14:30, done Tuesday at 10:00: 2 h + 1.5 h of working day.
    WorkItem.objects.filter(application=first.application, agency=shared["provincial"]).update(
        status=WorkItem.Status.COMPLETED,
        claimed_at=datetime.datetime(2026, 3, 2, 14, 30, tzinfo=TORONTO),
        completed_at=datetime.datetime(2026, 3, 3, 10, 0, tzinfo=TORONTO),
    )
    # Held for a week: counts one working day (8 h), not the week.
    WorkItem.objects.filter(application=second.application, agency=shared["provincial"]).update(
        status=WorkItem.Status.COMPLETED,
        claimed_at=datetime.datetime(2026, 3, 3, 12, 0, tzinfo=TORONTO),
        completed_at=datetime.datetime(2026, 3, 10, 12, 0, tzinfo=TORONTO),
    )
    # A call about the second request, recorded by performance: 30 minutes, 30.00.
    handle_time.record_interaction(
        "call-1",
        {"channel": "phone", "agency": "on-shared", "minutes": 30, "applications": [second.pk]},
        datetime.datetime(2026, 3, 4, 9, tzinfo=TORONTO),
    )
    assert Transaction.objects.get(source=f"application:{second.pk}").handle_cost == 3000
    start, end = statements.month_bounds(shared["provincial"], MARCH)
    (row,) = dashboard.recovery_by_service(shared["provincial"], start, end)
    assert row.label == "New employee onboarding"
    assert row.requests == 2 and row.charged == Decimal("500.00")
    assert row.channel_cost == Decimal("20.00")
    assert row.staff_seconds == int((3.5 + 8 + 0.5) * 3600)
    assert row.staff_cost == Decimal("210.00") + Decimal("480.00") + Decimal("30.00")
    assert row.cost == Decimal("740.00")
    assert row.share == Decimal("0.676")
    assert row.cost_per_request == Decimal("370.00")
    assert dashboard.cost_recovery(shared["provincial"], start, end).cost == Decimal("740.00")
    # The dashboard shows it, per service, in both languages.
    browser, _ = staff_client(shared["provincial"], "supervisor")
    page = browser.get("/en/backoffice/provider/dashboard/?month=2026-03").content.decode()
    assert "Cost recovery per service" in page and "$740.00" in page and "12.0" in page
    french = browser.get("/fr/backoffice/provider/dashboard/?month=2026-03").content.decode()
    assert "Recouvrement des coûts par service" in french


def test_cost_recovery_apportions_the_providers_overheads_to_the_cent(
    shared, make_staff, staff_client
):
    """The provider's full cost: channel unit costs, staff time and its overheads of the
    month, apportioned to the month's requests by their number (basis transactions) or their
    staff time (basis handle time), in whole cents that add up to each pool. Hand-computed:
    3 requests (2 of the ministry, 1 of the city), 2 h and 1 h of staff time at 60.00 an hour;
    a pool of 100.00 by transactions (66.67 and 33.33) and 90.00 by staff time (60.00, 30.00)."""
    from joinedup.backoffice import dashboard
    from joinedup.delivery.models import WorkItem
    from joinedup.performance.models import ChannelUnitCost, OverheadPool, StaffCostRate

    ChannelUnitCost.objects.create(
        jurisdiction="CA-ON", channel="online", amount=1000, valid_from=datetime.date(2020, 1, 1)
    )
    StaffCostRate.objects.create(
        agency="on-shared", hourly=6000, valid_from=datetime.date(2020, 1, 1)
    )
    for agency, month, amount, basis in (
        ("on-shared", MARCH, 10000, OverheadPool.Basis.TRANSACTIONS),
        ("on-shared", MARCH, 9000, OverheadPool.Basis.HANDLE_TIME),
        ("on-shared", datetime.date(2026, 4, 1), 55555, OverheadPool.Basis.TRANSACTIONS),
        ("ca-shared", MARCH, 77777, OverheadPool.Basis.TRANSACTIONS),
    ):
        OverheadPool.objects.create(agency=agency, month=month, amount=amount, basis=basis)
    first, _second = _orders(
        make_staff(shared["ministry"], "service_requester"),
        shared["ministry"],
        [(2, True), (3, None)],
    )
    (third,) = _orders(
        make_staff(shared["city"], "service_requester"), shared["city"], [(10, True)]
    )
    for request, day, hours in ((first, 2, 2), (third, 10, 1)):
        WorkItem.objects.filter(
            application=request.application, agency=shared["provincial"]
        ).update(
            status=WorkItem.Status.COMPLETED,
            claimed_at=datetime.datetime(2026, 3, day, 9, 0, tzinfo=TORONTO),
            completed_at=datetime.datetime(2026, 3, day, 9 + hours, 0, tzinfo=TORONTO),
        )
    start, end = statements.month_bounds(shared["provincial"], MARCH)
    (service,) = dashboard.recovery_by_service(shared["provincial"], start, end)
    assert service.charged == Decimal("750.00")
    assert service.channel_cost == Decimal("30.00")
    assert service.staff_cost == Decimal("180.00")
    assert service.overhead == Decimal("190.00")  # both of March's pools, no more, no less
    assert service.cost == Decimal("400.00") and service.share == Decimal("1.875")
    city, ministry = dashboard.recovery_by_client(shared["provincial"], start, end)
    assert (ministry.label, city.label) == (shared["ministry"].name, shared["city"].name)
    assert (ministry.channel_cost, ministry.staff_cost) == (Decimal("20.00"), Decimal("120.00"))
    assert ministry.overhead == Decimal("66.67") + Decimal("60.00")
    assert city.overhead == Decimal("33.33") + Decimal("30.00")
    assert ministry.cost == Decimal("266.67") and city.cost == Decimal("133.33")
    assert ministry.cost + city.cost == service.cost
    # Part of the month: its requests' part of the month's pools.
    (early,) = dashboard.recovery_by_client(
        shared["provincial"], start, datetime.datetime(2026, 3, 6, tzinfo=TORONTO)
    )
    assert early.requests == 2 and early.overhead == Decimal("126.67")
    # The dashboard shows the overheads per service and per client, in both languages.
    browser, _ = staff_client(shared["provincial"], "supervisor")
    page = browser.get("/en/backoffice/provider/dashboard/?month=2026-03").content.decode()
    assert "Cost recovery per client" in page and "$126.67" in page and "$190.00" in page
    french = browser.get("/fr/backoffice/provider/dashboard/?month=2026-03").content.decode()
    assert "Recouvrement des coûts par client" in french and "Frais généraux" in french
