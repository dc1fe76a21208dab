"""The performance pages in a real browser: charts drawn under the page's own Content
Security Policy (no console error), no accessibility violation, and tables without
JavaScript."""

import pytest
from playwright.sync_api import Page, expect

from joinedup.performance import history

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PAGES = {
    "performance": "/en/performance/",
    "performance-service": "/en/performance/services/ca.birth-registration/",
    "performance-service-fr": (
        "/fr/performance/services/ca.birth-registration/?measure=completion_rate"
    ),
    "performance-place": "/en/performance/jurisdictions/CA-ON/",
}


@pytest.fixture
def figures(federation) -> None:
    history.generate_history(4000, years=2, seed=11)


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
