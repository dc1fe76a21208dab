"""The back office in a real browser: a ministry's requester orders an onboarding, the
provider works it within its service level, the month's statement shows it, and the ministry
disputes another line, then answers the satisfaction survey about the onboarding; a
department reads why its statement has an availability credit, and the provider's
caseworker records time on the task's work item; a business's representative orders a
licence through its full form. axe-core on every page, screenshots kept."""

from __future__ import annotations

import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from joinedup.backoffice import catalogue, levels, statements
from joinedup.backoffice.models import Outage, ServiceLevel, StatementLine
from joinedup.backoffice.requests import submit_request
from joinedup.delivery import queues, versions
from joinedup.delivery.models import Application, WorkItem
from joinedup.federation.models import Agency, Agreement, Jurisdiction, Offering, Service
from joinedup.identity import mandates
from joinedup.identity.models import Business, Mandate, User
from joinedup.performance import surveys, transactions
from joinedup.performance.models import SurveyResponse
from tests.backoffice.conftest import _service, build_shared
from tests.backoffice.test_business import LICENCE_FORM
from tests.delivery.conftest import make_applicant, staff_context  # noqa: F401 (a fixture)
from tests.e2e.test_delivery import choose, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def world(federation):
    made = build_shared({a.key: a for a in Agency.objects.select_related("jurisdiction")})
    pay = _service("on.pay-change", made["onboarding"].scope, "Pay change", "Modification de paye")
    Offering.objects.create(service=pay, area=pay.scope, agency=made["provincial"])
    catalogue.deploy(pay.key)
    ServiceLevel.objects.create(
        agreement=Agreement.objects.get(key="on-shared-clients"),
        service=pay,
        resolution_days=10,
        unit_price=Decimal("38.75"),
    )
    return made


#: How long a person waits for the server to answer a form that does real work (issuing
#: statements; a dispute, which starts a request on the engine) on a loaded machine.
SERVER_ANSWER_MS = 60_000


def _answer_to(page: Page, path: str):
    """Wait, around the click that posts a form, for the server's answer to that post (the
    redirect back), as a person waits for the page to come back: not a fixed sleep."""
    return page.expect_response(
        lambda response: response.request.method == "POST" and path in response.url,
        timeout=SERVER_ANSWER_MS,
    )


def _expect_told(page: Page, message: str) -> None:
    """The confirmation the person reads once the page is back."""
    told = page.get_by_role("status").filter(has_text=message)
    expect(told).to_be_visible(timeout=SERVER_ANSWER_MS)


def _staff(agency: Agency, role: str) -> User:
    email = f"{role}.{agency.key}@example.org"
    user = User.objects.create_user(email, email, "x" * 20)
    staff_context(user, agency, role)
    return user


def test_a_ministry_orders_the_provider_works_it_and_the_ministry_disputes_a_line(
    page: Page, live_server, world, axe, screenshot, settings
):
    ministry, provider = world["ministry"], world["provincial"]
    requester = _staff(ministry, "service_requester")
    sign_in(page, live_server.url, requester, second_factor=True)
    page.goto(live_server.url + "/en/backoffice/")
    expect(page.get_by_role("heading", name="Shared services for ServiceOntario")).to_be_visible()
    axe(page)
    page.get_by_role("link", name="Order: New employee onboarding").click()
    axe(page)
    page.get_by_label("What is needed").fill("Accounts, laptop and pay file for Mo Diallo")
    screenshot(page, "backoffice-order")
    page.get_by_role("button", name="Send the request").click()
    expect(page.get_by_text("Ontario Shared Services")).to_be_visible()
    axe(page)
    screenshot(page, "backoffice-request")
    onboarding = Application.objects.get(service__key="on.onboarding")

    # The provider works it within its level (its queue, the engine's own steps).
    worker = staff_context(_staff(provider, "caseworker"), provider, "caseworker")
    item = WorkItem.objects.get(application=onboarding, status="open")
    queues.claim(worker, item)
    queues.complete(worker, WorkItem.objects.get(pk=item.pk), "approve", "Accounts created")
    assert Application.objects.get(pk=onboarding.pk).met_standard is True
    # performance samples the finished request for its satisfaction survey (all of them here).
    settings.PERFORMANCE_SURVEY_RATE = 1
    surveys.invite(transactions.record_submitted(onboarding.pk), onboarding.pk, "e2e-survey")
    # Another line to dispute: a pay change ordered by API this month.
    submit_request(
        staff_context(requester, ministry, "service_requester"),
        ministry,
        "on.pay-change",
        {"details": "Retroactive increase"},
    )

    supervisor = _staff(provider, "supervisor")
    provider_page = page.context.browser.new_context(locale="en-CA").new_page()
    sign_in(provider_page, live_server.url, supervisor, second_factor=True)
    provider_page.goto(live_server.url + "/en/backoffice/provider/")
    expect(provider_page.get_by_role("link", name=onboarding.reference)).to_be_visible()
    axe(provider_page)
    provider_page.get_by_label("Month (year-month)").fill(timezone.localdate().strftime("%Y-%m"))
    # The supervisor waits for the provider's answer (the statements issued) before going on.
    with _answer_to(provider_page, "/backoffice/provider/statements/"):
        provider_page.get_by_role("button", name="Issue the month's statements").click()
    _expect_told(provider_page, "1 statement issued for")
    expect(provider_page.get_by_role("link", name="— ServiceOntario")).to_be_visible()
    provider_page.goto(live_server.url + "/en/backoffice/provider/dashboard/")
    expect(
        provider_page.get_by_role("heading", name="Service levels met per client")
    ).to_be_visible()
    axe(provider_page)
    screenshot(provider_page, "backoffice-dashboard")
    provider_page.context.close()

    page.goto(live_server.url + "/en/backoffice/")
    page.get_by_role("link", name="Ontario Shared Services").first.click()
    expect(page.get_by_role("rowheader", name="New employee onboarding")).to_be_visible()
    axe(page)
    screenshot(page, "backoffice-statement")
    # Each answer is a round trip: the ministry waits for the statement to come back with the
    # provider's confirmation (however long the server takes), then goes on, on the new page.
    with _answer_to(page, "/lines/"):
        page.get_by_role("button", name="Acknowledge: New employee onboarding").click()
    _expect_told(page, "You acknowledged the line “New employee onboarding”.")
    expect(page.get_by_role("button", name="Acknowledge: New employee onboarding")).to_have_count(0)
    page.get_by_label("Why you dispute: Pay change").fill("This pay change was cancelled.")
    with _answer_to(page, "/lines/"):
        page.get_by_role("button", name="Dispute", exact=True).click()
    dispute = Application.objects.get(service__key="on.statement-dispute")
    _expect_told(
        page,
        f"Your dispute of the line “Pay change” is sent to Ontario Shared Services as request "
        f"{dispute.reference}.",
    )
    expect(page.get_by_role("cell", name="Disputed")).to_be_visible()
    axe(page)
    statuses = dict(StatementLine.objects.values_list("level__service__key", "status"))
    assert statuses == {"on.onboarding": "acknowledged", "on.pay-change": "disputed"}
    assert Application.objects.filter(service__key="on.statement-dispute").count() == 1

    # The ministry answers the satisfaction survey about the onboarding, in the portal.
    page.goto(live_server.url + "/en/backoffice/")
    page.get_by_role("link", name=f"How did the provider do with {onboarding.reference}").click()
    expect(page.get_by_role("heading", name="How did we do?")).to_be_visible()
    axe(page)
    page.locator("label[for=satisfaction-4]").click()
    page.locator("label[for=timeliness-5]").click()
    screenshot(page, "backoffice-survey")
    page.get_by_role("button", name="Send my answers").click()
    expect(page.get_by_role("heading", name=f"Request {onboarding.reference}")).to_be_visible()
    answer = SurveyResponse.objects.get()
    assert (answer.service_key, answer.satisfaction, answer.timeliness) == ("on.onboarding", 4, 5)


def test_the_statement_says_why_there_are_credits_and_the_task_shows_its_time(
    page: Page, live_server, world, axe, screenshot
):
    department, provider = world["department"], world["federal"]
    level = ServiceLevel.objects.get(service=world["hosting"])
    level.availability_target = Decimal("0.9990")
    level.availability_credit_rate = Decimal("0.100")
    level.save()
    # Two hours down, over by an hour ago: the month misses 99.9 % (some 44 minutes allowed).
    zone = ZoneInfo(levels.calendar_of(provider).time_zone)
    began = (timezone.now() - datetime.timedelta(hours=3)).astimezone(zone)
    Outage.objects.create(
        level=level,
        started_at=began,
        ended_at=began + datetime.timedelta(hours=2),
        description="Storage array failover",
    )
    requester = _staff(department, "service_requester")
    hosting, _ = submit_request(
        staff_context(requester, department, "service_requester"),
        department,
        "ca.hosting",
        {"details": "A test environment"},
        at=began,
    )
    (statement,) = statements.issue_statements(provider, began.date().replace(day=1))
    assert statement.credits == Decimal("120.00")  # 10 % of the month's 1,200.00

    supervisor = _staff(department, "supervisor")
    sign_in(page, live_server.url, supervisor, second_factor=True)
    page.goto(f"{live_server.url}/en/backoffice/statements/{statement.pk}/")
    expect(page.get_by_role("heading", name="Why there are service credits")).to_be_visible()
    expect(page.get_by_text("below the availability target of 99.9%")).to_be_visible()
    expect(page.get_by_role("cell", name="Storage array failover")).to_be_visible()
    axe(page)
    screenshot(page, "backoffice-statement-credits")

    # The provider's caseworker records the time spent on the task, on the work item itself.
    worker = _staff(provider, "caseworker")
    work = page.context.browser.new_context(locale="en-CA").new_page()
    sign_in(work, live_server.url, worker, second_factor=True)
    item = WorkItem.objects.get(application_id=hosting.pk, status="open")
    work.goto(f"{live_server.url}/en/staff/work-items/{item.pk}/")
    expect(work.get_by_role("heading", name="Time recorded on the request")).to_be_visible()
    axe(work)
    work.get_by_label("Minutes you spent on this task").fill("35")
    with _answer_to(work, f"/staff/work-items/{item.pk}/"):
        work.get_by_role("button", name="Record the time").click()
    _expect_told(work, "Your time on the task is recorded.")
    expect(work.get_by_test_id("panel-time-total")).to_have_text("0 h 35 min")
    axe(work)
    screenshot(work, "backoffice-work-item-time")
    work.context.close()


def test_a_representative_orders_a_licence_with_its_full_form(
    page: Page,
    live_server,
    world,
    make_applicant,  # noqa: F811 (the fixture imported above)
    axe,
    screenshot,
):
    toronto = Jurisdiction.objects.get(code="CA-ON-TOR")
    service = Service.objects.create(
        key="on.food-premises-licence",
        scope=toronto,
        names={"en": "Food premises licence", "fr": "Permis d'établissement alimentaire"},
        client_type=Service.ClientType.BUSINESS,
        channels=["online"],
        standard_days=15,
    )
    Offering.objects.create(service=service, area=toronto, agency=world["city"])
    versions.deploy(
        service.key,
        catalogue.PROCESS.read_text(),
        LICENCE_FORM,
        place_field="municipality",
        source="test",
    )
    company = Business.objects.create(
        legal_name="Maple Bakery Inc.", jurisdiction=Jurisdiction.objects.get(code="CA-ON")
    )
    owner = make_applicant("owner@maple.example.org")
    mandates.grant_mandate(
        holder=owner.person,
        kind=Mandate.Kind.BUSINESS_REPRESENTATIVE,
        business=company,
        scopes=["view", "apply"],
    )
    sign_in(page, live_server.url, owner)
    page.goto(f"{live_server.url}/en/backoffice/businesses/{company.pk}/")
    page.get_by_role("link", name="Order: Food premises licence").click()
    expect(page.get_by_text("Step 1 of 2")).to_be_visible()
    axe(page)
    page.get_by_role("button", name="Save and continue").click()
    expect(page.get_by_role("heading", name="There is a problem")).to_be_visible()
    axe(page)
    page.get_by_label("Business name").fill("Bakery on King")
    choose(page, "Food and drink")
    page.get_by_role("button", name="Save and continue").click()
    expect(page.get_by_text("Step 2 of 2")).to_be_visible()
    page.get_by_label("City").select_option("CA-ON-TOR")
    page.get_by_label("Street address").fill("12 King St W")
    page.get_by_label("Postal code").fill("M5H 1A1")
    axe(page)
    screenshot(page, "backoffice-business-form")
    page.get_by_role("button", name="Check your answers").click()
    expect(page.get_by_role("heading", name="Check your answers")).to_be_visible()
    expect(page.get_by_role("cell", name="Food and drink")).to_be_visible()
    axe(page)
    with _answer_to(page, "/check/"):
        page.get_by_role("button", name="Send the application").click()
    application = Application.objects.get(applicant_business=company)
    expect(page.get_by_role("heading", name=f"Request {application.reference}")).to_be_visible()
    expect(page.get_by_text("12 King St W")).to_be_visible()
    axe(page)
    screenshot(page, "backoffice-business-application")
    assert application.agency == world["city"]
