"""Funding in a real browser, walked by links from the home page and the staff console (no
address typed but the home page's): an analyst follows a federal program's money down to a
community organisation, reads its cost per outcome, reads it in French, builds a scenario
that moves 10 % between two programs and compares it, then opens the oversight reviews and
the outcome payments. One walk, part of it on a 1,280 px window and part on a 375 px one
(the header's menu button, the scenario's form on a phone); every page is checked on both:
what it must show visible, axe-core, no sideways scroll of the page itself, a screenshot
of each kept in test-artifacts/."""

import re

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from joinedup.demo import loading
from joinedup.federation.loader import load_federation
from tests.e2e.test_staff_walk import (
    check_on_both_widths,
    header_link,
    sign_in_by_links,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SUPERVISOR = "esdc.supervisor@example.org"
WIDE, NARROW = 1280, 375
# USWDS's language-selector script throws this when the header's menu button is used on a
# narrow window (see tests/e2e/test_places.py); it changes nothing on these pages.
KNOWN = 'No toggle target found with id: "null"'


@pytest.fixture
def demo(transactional_db, settings, tmp_path) -> str:
    from joinedup.demo.identities import create_demo_identities

    settings.DATA_DIR = tmp_path
    load_federation([loading.federation_folder("canada")])
    assert "refused" not in loading.load_demo_funding()
    return create_demo_identities()[0].password


def check(page: Page, axe, screenshot, name: str, *shown: Locator) -> None:
    check_on_both_widths(page, axe, screenshot, f"funding-{name}", *shown)


def footer_link(page: Page, name: str) -> None:
    page.locator("footer a", has_text=name).first.click()
    page.wait_for_load_state("domcontentloaded")


def language(page: Page, code: str) -> None:
    """The header's language button, the menu opened first on a narrow window."""
    button = page.locator(f"button.jp-language__link[lang={code}]")
    if not button.is_visible():
        page.locator("button.usa-menu-btn").click()
    button.click()
    page.wait_for_load_state("domcontentloaded")


def window(browser: Browser, width: int) -> tuple[Page, list[str]]:
    context = browser.new_context(locale="en-CA", viewport={"width": width, "height": 900})
    context.set_default_timeout(30_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    return page, errors


def test_an_analyst_follows_the_money_and_compares_a_scenario(
    browser: Browser, live_server, demo, axe, screenshot
):
    page, errors = window(browser, WIDE)
    sign_in_by_links(page, live_server.url, SUPERVISOR, demo)

    footer_link(page, "Where the money goes")
    heading = page.get_by_role("heading", name="Where the money goes", exact=True)
    expect(heading).to_be_visible()
    chart = page.locator("[data-chart] svg.main-svg").first
    expect(chart).to_be_visible(timeout=30_000)
    check(page, axe, screenshot, "explorer", heading, chart)

    page.locator("main").get_by_role("link", name="Labour Market Development Agreements").click()
    expect(page).to_have_url(re.compile(r"/en/funding/programs/labour-market-development/"))
    chain = page.get_by_role("table", name=re.compile("Each allocation"))
    # The federal funder at the top of the chain (a stacked table on a narrow window).
    expect(chain.locator("tbody tr").first).to_contain_text("Employment and Social Development")
    expect(chain).to_contain_text("Toronto Newcomer")
    cost = page.get_by_role("table", name=re.compile("Spending against outcomes"))
    expect(cost.get_by_role("row", name=re.compile("Cost per outcome"))).to_contain_text("CAD")
    check(page, axe, screenshot, "program", chain, cost)

    # On a phone from here: the language button behind the header's menu button.
    page.set_viewport_size({"width": NARROW, "height": 900})
    language(page, "fr")
    logic = page.get_by_role("heading", name=re.compile("Modèle logique"))
    expect(logic).to_be_visible()
    check(page, axe, screenshot, "program-fr", logic)
    language(page, "en")

    footer_link(page, "Where the money goes")
    page.locator("main").get_by_role("link", name="Allocation scenarios").click()
    check(page, axe, screenshot, "scenarios", page.get_by_label("Name"))
    page.get_by_label("Name").fill("Ten per cent to housing")
    page.get_by_role("button", name="Copy the allocations").click()
    expect(page.get_by_role("heading", name="Ten per cent to housing")).to_be_visible()
    page.get_by_label("From", exact=True).first.select_option(
        label="Labour Market Development Agreements"
    )
    page.get_by_label("To", exact=True).first.select_option(
        label="Housing stability services (Toronto)"
    )
    page.locator("#percent").fill("10")
    page.locator("button[value=move]").click()
    table = page.get_by_role("table").first
    row = table.get_by_role("row", name=re.compile("Labour Market Development"))
    # 10 % of ESDC's 13,500,000.00 for labour market development in 2025–26.
    expect(row).to_contain_text("-1,350,000.00 CAD")
    by_place = page.get_by_role("table", name=re.compile("by the place their money"))
    expect(by_place).to_be_visible()
    check(page, axe, screenshot, "scenario", by_place)
    page.get_by_role("button", name="Propose this scenario").click()
    expect(page.get_by_text("proposed")).to_be_visible()

    # The funder's own pages: oversight reviews it may read, outcome payments to decide.
    header_link(page, "Staff console")
    page.locator(".jp-console a", has_text="Oversight reviews").first.click()
    reviews = page.get_by_role("heading", name="Oversight reviews", exact=True)
    expect(reviews).to_be_visible()
    check(page, axe, screenshot, "oversight", reviews)
    # On the wide window again: the language button in the header itself.
    page.set_viewport_size({"width": WIDE, "height": 900})
    footer_link(page, "Where the money goes")
    page.locator("main").get_by_role("link", name="Outcome payments").click()
    expect(page.get_by_role("heading", name="Outcome payments", exact=True)).to_be_visible()
    language(page, "fr")
    payments = page.get_by_role("heading", name="Paiements aux résultats", exact=True)
    expect(payments).to_be_visible()
    check(page, axe, screenshot, "payments-fr", payments)
    page.context.close()
    assert [error for error in errors if error != KNOWN] == [], errors


def test_contracted_providers_beside_in_house_delivery(
    browser: Browser, live_server, demo, axe, screenshot
):
    """From the home page to a program and its service's providers: contracted
    organisations beside the cities that deliver the service themselves."""
    page, errors = window(browser, WIDE)
    page.goto(live_server.url + "/en/")
    footer_link(page, "Where the money goes")
    page.locator("main").get_by_role("link", name="Homelessness services (Vancouver)").click()
    page.get_by_role("link", name="Get help finding or keeping housing").click()
    expect(page).to_have_url(re.compile(r"/en/funding/services/ca\.housing-help/providers/"))
    heading = page.get_by_role("heading", name=re.compile("Contracted and in-house delivery"))
    expect(heading).to_be_visible()
    table = page.get_by_role("table", name=re.compile("Data of the chart"))
    expect(table).to_contain_text("Contracted")
    expect(table).to_contain_text("In house")
    expect(table).to_contain_text("All contracted providers")
    chart = page.locator("[data-chart] svg.main-svg").first
    expect(chart).to_be_visible(timeout=30_000)
    check(page, axe, screenshot, "providers", heading, chart)
    # On a phone: the language button behind the header's menu button.
    page.set_viewport_size({"width": NARROW, "height": 900})
    language(page, "fr")
    french = page.get_by_role("heading", name=re.compile("Prestation sous contrat et en régie"))
    expect(french).to_be_visible()
    check(page, axe, screenshot, "providers-fr", french)
    page.context.close()
    assert [error for error in errors if error != KNOWN] == [], errors
