"""The performance pages in a real browser: charts drawn under the page's own Content
Security Policy (no console error), no accessibility violation, and tables without
JavaScript."""

import re

import pytest
from django.db.models import Count
from playwright.sync_api import Page, expect

from joinedup.demo.history.run import generate_history
from joinedup.federation.models import Service
from joinedup.performance.models import SurveyInvitation, Transaction
from joinedup.sharing import dispatch
from tests.e2e.test_channels import demo, sign_in_staff  # noqa: F401 (the demo, its sign-in)
from tests.e2e.test_delivery import applicant, birth_registration, sign_in  # noqa: F401
from tests.e2e.test_staff_walk import header_link, scrolls_sideways, sign_in_by_links
from tests.performance.test_integration import linked
from tests.performance.test_pages_and_api import _staff_client
from tests.performance.test_repeated import BIRTH, SIN, make_versions, person
from tests.performance.test_transactions import at, decide_at, submit

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PAGES = {
    "performance": "/en/performance/",
    "performance-service": "/en/performance/services/ca.birth-registration/",
    "performance-service-fr": (
        "/fr/performance/services/ca.birth-registration/?measure=completion_rate"
    ),
    "performance-place": "/en/performance/jurisdictions/CA-ON/",
    "performance-groups": "/en/performance/groups/?dimension=age_band&measure=digital_take_up",
    "performance-channels-fr": "/fr/performance/channels/?dimension=age_band",
}


@pytest.fixture
def figures(federation) -> None:
    generate_history(4000, years=2, seed=11)


@pytest.mark.parametrize("name", PAGES)
def test_charts_draw_and_pass_axe(name, page: Page, live_server, figures, axe, screenshot):
    response = page.goto(live_server.url + PAGES[name])
    assert response is not None and response.ok
    expect(page.locator("[data-chart] svg.main-svg").first).to_be_visible()
    screenshot(page, name)
    axe(page)


def test_without_javascript_the_tables_are_the_content(page_without_js: Page, live_server, figures):
    page_without_js.goto(live_server.url + PAGES["performance-service"])
    expect(page_without_js.locator("caption").first).to_be_visible()
    assert page_without_js.locator("[data-chart] svg").count() == 0
    expect(page_without_js.get_by_role("table").first).to_be_visible()


def test_my_applications_leads_to_the_survey(
    page: Page,
    live_server,
    applicant,  # noqa: F811 (the fixture imported above)
    birth_registration,  # noqa: F811
    settings,
    axe,
    screenshot,
):
    """A decided application the person was asked about links to its survey from their list."""
    settings.PERFORMANCE_SURVEY_RATE = 1.0
    application = submit(applicant, "e2e-survey")
    decide_at(application, "approved", at("2026-03-02"))
    dispatch.dispatch_pending()
    invitation = SurveyInvitation.objects.get()
    sign_in(page, live_server.url, applicant)
    page.goto(live_server.url + "/en/applications/")
    row = page.get_by_role("row").filter(has_text=application.reference)
    link = row.get_by_role("link", name="Tell us how it went")
    expect(link).to_have_accessible_description(application.reference)
    screenshot(page, "my-applications-survey")
    axe(page)
    link.click()
    expect(page).to_have_url(
        re.compile(re.escape(f"/en/performance/feedback/{invitation.pk}/") + "$")
    )
    axe(page)


def test_a_supervisor_reads_an_offices_staffing(
    page: Page,
    live_server,
    demo,  # noqa: F811 (the fixture imported above)
    settings,
    tmp_path,
    axe,
    screenshot,
):
    """A planner (the agency's supervisor) reads the staffing chart of an office, with its
    forecast error and the roster's gap, in English and French."""
    settings.PERFORMANCE_ROSTER_FILE = str(tmp_path / "roster.csv")
    generate_history(10000, years=1, seed=5, surveys=False)
    office = (
        Transaction.objects.filter(agency="esdc", channel="counter")
        .exclude(office="")
        .values("office")
        .annotate(n=Count("id"))
        .order_by("-n")
        .first()["office"]
    )
    url = f"{live_server.url}/en/performance/offices/{office}/staffing/?channel=counter"
    sign_in_staff(page, url, "esdc.supervisor@example.org", demo)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Staffing of")
    expect(page.locator("[data-chart] svg.main-svg").first).to_be_visible()
    expect(page.get_by_text("Agents rostered").first).to_be_visible()
    screenshot(page, "performance-staffing")
    axe(page)
    page.goto(url.replace("/en/", "/fr/"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Effectifs de")
    screenshot(page, "performance-staffing-fr")
    axe(page)


@pytest.mark.parametrize("language", ["en", "fr"])
def test_a_planner_reads_the_integration_candidates(
    language, page: Page, live_server, federation, settings, axe, screenshot
):
    settings.PERFORMANCE_MIN_COUNT = 3
    for keys, times in (
        (("esdc", "serviceontario", "toronto"), 5),
        (("serviceontario", "toronto"), 4),
        (("serviceontario",), 3),
        (("esdc", "helping-hands", "toronto"), 1),
    ):
        for _ in range(times):
            linked(*keys)
    versions = make_versions()
    for _ in range(3):
        person(versions, BIRTH, SIN)
    # The page is for the staff who plan services: an analyst, signed in with a second factor.
    planner = _staff_client("esdc", "analyst")
    page.context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": planner.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )
    response = page.goto(
        f"{live_server.url}/{language}/performance/jurisdictions/CA-ON/integration/"
    )
    assert response is not None and response.ok
    expect(page.locator("[data-chart] svg.main-svg").first).to_be_visible()
    expect(page.get_by_role("table").first).to_be_visible()
    screenshot(page, f"performance-integration-{language}")
    axe(page)


WIDTHS = (1280, 375)


def read(page: Page, axe, screenshot, name: str) -> None:
    """Axe-core and a screenshot at each width, the page itself never wider than its window
    (a wide table scrolls in its own container); back to the desktop width after."""
    page.wait_for_load_state("load")
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        axe(page)
        screenshot(page, f"{name}-{width}")
        assert scrolls_sideways(page) <= 0, f"{page.url} scrolls sideways at {width} px"
    page.set_viewport_size({"width": WIDTHS[0], "height": 900})


def console_tool(page: Page, name: str) -> None:
    """Back to the staff console by the header, then one of its tools."""
    header_link(page, "Staff console")
    page.locator(".jp-console a", has_text=name).first.click()
    page.wait_for_load_state("domcontentloaded")


def test_a_planner_walks_from_channels_to_staffing_to_integration(
    page: Page,
    live_server,
    demo,  # noqa: F811 (the fixture imported above)
    settings,
    tmp_path,
    axe,
    screenshot,
):
    """The agency's supervisor, who plans its services, signs in from the home page and
    follows links only: the channels each client group uses for one service, the staffing
    of the agency's offices and of one office (its chart and data table), then the agencies
    that serve the same people. Every page passes axe-core at 1,280 and 375 px."""
    settings.PERFORMANCE_ROSTER_FILE = str(tmp_path / "roster.csv")
    settings.PERFORMANCE_MIN_COUNT = 3
    generate_history(10000, years=1, seed=5, surveys=False)
    for keys, times in ((("esdc", "cra", "ircc"), 4), (("esdc", "cra"), 3), (("esdc",), 3)):
        for _ in range(times):
            linked(*keys)
    busiest = (
        Transaction.objects.values("service_key")
        .annotate(n=Count("id"))
        .order_by("-n")
        .first()["service_key"]
    )
    service_name = Service.objects.get(key=busiest).names["en"]
    sign_in_by_links(page, live_server.url, "esdc.supervisor@example.org", demo)

    # Channel appropriateness for one service.
    console_tool(page, "Published performance")
    page.get_by_role("link", name="The right channel for each client group").click()
    page.get_by_label("Service", exact=True).select_option(label=service_name)
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_label("Service", exact=True)).to_have_value(busiest)
    expect(page.get_by_role("table").first).to_be_visible()
    expect(page.get_by_text("Online and assisted completions per client group")).to_be_visible()
    expect(page.locator("[data-chart] svg.main-svg").first).to_be_visible()
    read(page, axe, screenshot, "planner-channels")

    # The staffing of the agency's offices, then of the first office listed.
    console_tool(page, "Your agency's dashboard")
    page.get_by_role("link", name="Staffing of the agency's offices").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Staffing of the offices of")
    expect(page.get_by_role("table").first).to_be_visible()
    read(page, axe, screenshot, "planner-agency-staffing")
    page.locator("table tbody th a").first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Staffing of")
    expect(page.locator("[data-chart] svg.main-svg").first).to_be_visible()
    expect(page.get_by_text("Agents needed").first).to_be_visible()
    read(page, axe, screenshot, "planner-office-staffing")

    # Where integration would pay: the agencies that serve the same people.
    console_tool(page, "Integration candidates")
    expect(page.locator("[data-chart] svg.main-svg").first).to_be_visible()
    expect(page.get_by_role("table").first).to_be_visible()
    read(page, axe, screenshot, "planner-integration")
