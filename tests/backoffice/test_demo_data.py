"""The demo's shared services load on the Canadian demo federation (twice without
duplicates), its history generator makes requests that statements reconcile with and
outages of running services that give availability credits, and a levels file with a
mistake loads nothing."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from joinedup.backoffice import dashboard, employees, levels, statements
from joinedup.backoffice.loader import LevelsRejected, load_levels
from joinedup.backoffice.models import Employee, Outage, Request, ServiceLevel
from joinedup.delivery.models import WorkItem
from joinedup.demo import loading
from joinedup.demo.history import run as history
from joinedup.federation.models import Agency


@pytest.fixture
def demo(db):
    loading.load_demo_federation(loading.federation_folder("canada"))


def test_demo_shared_services_load_and_reload(demo):
    first = loading.load_demo_backoffice()
    again = loading.load_demo_backoffice()
    assert "9 service levels" in first and "9 service levels" in again
    assert ServiceLevel.objects.count() == 9
    provincial = Agency.objects.get(key="on-shared-services")
    clients = {a.key for a in levels.clients_of(provincial, datetime.date(2026, 1, 5))}
    assert clients == {"on-mccss", "on-mto", "on-moh", "toronto", "ottawa"}
    federal = {a.key for a in levels.clients_of(Agency.objects.get(key="ssc"))}
    assert {"esdc", "ircc"} <= federal


def test_history_makes_requests_that_statements_reconcile_with(demo):
    loading.load_demo_backoffice()
    ticks: list[int] = []
    history.generate_history(
        1,
        skip=["costs", "transactions", "overheads", "surveys", "rollups"],
        options={"backoffice_requests": 250},
        seed=3,
        progress=ticks.append,
    )
    assert Request.objects.count() == 250 and ticks
    provider = Agency.objects.get(key="on-shared-services")
    month = max(Request.objects.filter(provider=provider).values_list("submitted_at", flat=True))
    issued = statements.issue_statements(provider, month.date().replace(day=1))
    assert issued
    for statement in issued:
        charged = sum(r.unit_price for r in statements.requests_of(statement))
        assert statement.charges == charged
    # Each resolved request has the provider's done task: staff time the dashboard prices.
    resolved = Request.objects.filter(application__completed_at__isnull=False)
    assert WorkItem.objects.filter(status="completed").count() == resolved.count() > 0
    start = min(Request.objects.values_list("submitted_at", flat=True))
    rows = dashboard.recovery_by_service(provider, start, month + datetime.timedelta(seconds=1))
    assert sum(r.requests for r in rows) == Request.objects.filter(provider=provider).count()
    assert all(r.staff_seconds > 0 for r in rows if r.requests > 5)
    # Running services have past outages; some month's statements carry availability credits.
    running = list(ServiceLevel.objects.filter(availability_target__isnull=False))
    assert len(running) == 2
    assert all(Outage.objects.filter(level=level).exists() for level in running)
    assert not Outage.objects.filter(ended_at__gt=timezone.now()).exists()
    months = {
        r.astimezone(datetime.UTC).date().replace(day=1)
        for r in Request.objects.values_list("submitted_at", flat=True)
    }
    credited = [
        line
        for provider in Agency.objects.filter(key__in=("on-shared-services", "ssc"))
        for month in months
        for figures in statements.month_figures(month, provider).values()
        for line in figures.lines
        if line.availability_credit
    ]
    assert credited and all(line.availability < line.availability_target for line in credited)


def test_a_bad_levels_file_loads_nothing(demo, tmp_path):
    loading.load_demo_backoffice()
    before = list(ServiceLevel.objects.values_list("pk", "unit_price"))
    bad = tmp_path / "levels.yaml"
    bad.write_text(
        "levels:\n  on-shared-services-2025:\n"
        "    on.pay-change: {resolution_days: 3, unit_price: '1.00'}\n"
        "    on.nothing: {resolution_days: 3, unit_price: '1.00'}\n"
    )
    with pytest.raises(LevelsRejected):
        load_levels(bad)
    assert list(ServiceLevel.objects.values_list("pk", "unit_price")) == before


def test_history_names_employees_that_the_search_by_name_finds(demo, make_staff):
    """The demo's onboardings and pay changes name illustrative employees of the client
    agencies, so the provider's caseworkers and a client's supervisor find them by name."""
    loading.load_demo_backoffice()
    history.generate_history(
        1,
        skip=["costs", "transactions", "overheads", "surveys", "rollups"],
        options={"backoffice_requests": 150},
        seed=5,
    )
    named = Request.objects.filter(employee__isnull=False).select_related("level__service")
    assert named.exists()
    assert all(r.level.service.key.endswith(("onboarding", "pay-change")) for r in named)
    assert not Request.objects.filter(
        employee__isnull=True, level__service__key__endswith="pay-change"
    ).exists()
    pairs = set(named.values_list("client_id", "employee_id"))
    assert set(Employee.objects.values_list("client_id", "person_id")) == pairs
    employee = Employee.objects.select_related("client", "person").order_by("pk").first()
    provider = Request.objects.filter(client=employee.client).first().provider
    worker = make_staff(provider, "caseworker")
    assert employee in employees.search(worker, provider, employee.person.family_name.upper())
    supervisor = make_staff(employee.client, "supervisor")
    found = employees.search(supervisor, employee.client, employee.person.given_names.lower())
    assert employee in found
    assert all(e.client_id == employee.client_id for e in found)
