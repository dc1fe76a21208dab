"""Funding in a real browser: an analyst follows a federal program's money down to a
community organisation, reads its cost per outcome, builds a scenario that moves 10 %
between two programs and compares it; axe-core on every page, screenshots kept."""

import re

import pytest
from playwright.sync_api import Page, expect

from joinedup.demo import loading
from joinedup.federation.loader import load_federation
from tests.e2e.test_channels import sign_in_staff

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SUPERVISOR = "esdc.supervisor@example.org"


@pytest.fixture
def demo(transactional_db, settings, tmp_path) -> str:
    from joinedup.demo.identities import create_demo_identities

    settings.DATA_DIR = tmp_path
    load_federation([loading.federation_folder("canada")])
    assert "refused" not in loading.load_demo_funding()
    return create_demo_identities()[0].password


def test_an_analyst_follows_the_money_and_compares_a_scenario(
    page: Page, live_server, demo, axe, screenshot
):
    page.goto(live_server.url + "/en/funding/")
    expect(page.get_by_role("heading", name="Where the money goes", exact=True)).to_be_visible()
    expect(page.locator("[data-chart] svg.main-svg").first).to_be_visible()
    screenshot(page, "funding-explorer")
    axe(page)

    page.get_by_role("link", name="Labour Market Development Agreements").click()
    expect(page).to_have_url(re.compile(r"/en/funding/programs/labour-market-development/"))
    chain = page.get_by_role("table", name=re.compile("Each allocation"))
    expect(chain.get_by_role("row").nth(1)).to_contain_text("Employment and Social Development")
    expect(chain).to_contain_text("Toronto Newcomer")
    cost = page.get_by_role("table", name=re.compile("Spending against outcomes"))
    expect(cost.get_by_role("row", name=re.compile("Cost per outcome"))).to_contain_text("CAD")
    screenshot(page, "funding-program")
    axe(page)

    page.goto(live_server.url + "/fr/funding/programs/labour-market-development/")
    expect(page.get_by_role("heading", name=re.compile("Modèle logique"))).to_be_visible()
    axe(page)

    sign_in_staff(page, live_server.url + "/en/funding/scenarios/", SUPERVISOR, demo)
    page.goto(live_server.url + "/en/funding/")
    page.get_by_role("link", name="Allocation scenarios").click()
    axe(page)
    page.get_by_label("Name").fill("Ten per cent to housing")
    page.get_by_role("button", name="Copy the allocations").click()
    expect(page.get_by_role("heading", name="Ten per cent to housing")).to_be_visible()
    page.get_by_label("From", exact=True).select_option(
        label="Labour Market Development Agreements"
    )
    page.get_by_label("To", exact=True).select_option(label="Housing stability services (Toronto)")
    page.get_by_label("Share to move (%)").fill("10")
    page.get_by_role("button", name="Move").click()
    table = page.get_by_role("table")
    row = table.get_by_role("row", name=re.compile("Labour Market Development"))
    # 10 % of ESDC's 13,500,000.00 for labour market development in 2025–26.
    expect(row).to_contain_text("-1,350,000.00 CAD")
    screenshot(page, "funding-scenario")
    axe(page)
    page.get_by_role("button", name="Propose this scenario").click()
    expect(page.get_by_text("proposed")).to_be_visible()

    # The funder's own pages: oversight reviews it may read, outcome payments to decide.
    page.goto(live_server.url + "/en/funding/oversight/")
    expect(page.get_by_role("heading", name="Oversight reviews", exact=True)).to_be_visible()
    axe(page)
    page.goto(live_server.url + "/fr/funding/payments/")
    expect(page.get_by_role("heading", name="Paiements aux résultats", exact=True)).to_be_visible()
    screenshot(page, "funding-payments")
    axe(page)


def test_contracted_providers_beside_in_house_delivery(
    page: Page, live_server, demo, axe, screenshot
):
    """From a program to its service's providers: contracted organisations beside the
    cities that deliver the service themselves, with the chart and its table."""
    page.goto(live_server.url + "/en/funding/programs/vancouver-homelessness-services/")
    page.get_by_role("link", name="Get help finding or keeping housing").click()
    expect(page).to_have_url(re.compile(r"/en/funding/services/ca\.housing-help/providers/"))
    expect(
        page.get_by_role("heading", name=re.compile("Contracted and in-house delivery"))
    ).to_be_visible()
    table = page.get_by_role("table", name=re.compile("Data of the chart"))
    expect(table).to_contain_text("Contracted")
    expect(table).to_contain_text("In house")
    expect(table).to_contain_text("All contracted providers")
    expect(page.locator("[data-chart] svg.main-svg").first).to_be_visible()
    screenshot(page, "funding-providers")
    axe(page)
    page.goto(live_server.url + "/fr/funding/services/ca.housing-help/providers/")
    expect(
        page.get_by_role("heading", name=re.compile("Prestation sous contrat et en régie"))
    ).to_be_visible()
    axe(page)
