"""A person finds a service and who delivers it where they live, in a real browser.

Every page checked here must have no WCAG 2.1 A/AA violation that axe-core can find.
"""

import pytest
from playwright.sync_api import Page, expect

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PAGES = {
    "home": "/en/",
    "service-search": "/en/services/?q=birth",
    "service": "/en/services/ca.birth-registration/",
    "service-routed": "/en/services/ca.birth-registration/?place=CA-ON-TOR",
    "place": "/en/places/CA-ON/",
    "service-fr": "/fr/services/ca.birth-registration/",
}


@pytest.mark.parametrize("name", PAGES)
def test_page_has_no_accessibility_violations(
    name, page: Page, live_server, federation, axe, screenshot
):
    response = page.goto(live_server.url + PAGES[name])
    assert response is not None and response.ok
    screenshot(page, name)
    axe(page)


def test_french_service_page_is_in_french(page: Page, live_server, federation):
    page.goto(live_server.url + PAGES["service-fr"])
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.get_by_role("heading", level=1)).to_have_text("Enregistrer une naissance")
    expect(page).to_have_title("Enregistrer une naissance | Joinedup")


def test_visitor_finds_who_delivers_a_service_where_they_live(
    page: Page, live_server, federation, axe, screenshot
):
    page.goto(live_server.url + "/en/")
    page.get_by_label("Search for a service").fill("birth")
    page.get_by_role("button", name="Search").click()
    expect(page).to_have_url(f"{live_server.url}/en/services/?q=birth")

    page.get_by_role("link", name="Register a birth").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Register a birth")

    page.evaluate("window.stillTheSamePage = true")
    page.get_by_label("Where do you live?").select_option("CA-ON-TOR")
    page.get_by_role("button", name="Find who delivers it").click()
    result = page.locator("#routing-result")
    expect(result).to_contain_text("ServiceOntario delivers this service for Ontario")
    # With JavaScript, htmx swaps in the answer and keeps the address shareable.
    assert page.evaluate("window.stillTheSamePage === true")
    expect(page).to_have_url(
        f"{live_server.url}/en/services/ca.birth-registration/?place=CA-ON-TOR"
    )
    expect(result.get_by_role("link", name="ServiceOntario")).to_be_visible()
    screenshot(page, "journey-routed")
    axe(page)

    page.get_by_label("Where do you live?").select_option("CA-QC-MTL")
    page.get_by_role("button", name="Find who delivers it").click()
    expect(result).to_contain_text("Quebec Registrar of Civil Status delivers this service")


def test_routing_works_without_javascript(page_without_js: Page, live_server, federation):
    page = page_without_js
    page.goto(live_server.url + "/en/services/ca.birth-registration/")
    page.get_by_label("Where do you live?").select_option("CA-QC-MTL")
    page.get_by_role("button", name="Find who delivers it").click()
    expect(page).to_have_url(
        f"{live_server.url}/en/services/ca.birth-registration/?place=CA-QC-MTL#who-delivers"
    )
    expect(page.locator("#routing-result")).to_contain_text("Quebec Registrar of Civil Status")


def test_language_toggle_keeps_the_page(page_without_js: Page, live_server, federation):
    page = page_without_js
    page.goto(live_server.url + "/en/places/CA-QC/")
    page.get_by_role("button", name="Français").click()
    expect(page).to_have_url(f"{live_server.url}/fr/places/CA-QC/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Québec")
    page.get_by_role("button", name="English").click()
    expect(page).to_have_url(f"{live_server.url}/en/places/CA-QC/")
