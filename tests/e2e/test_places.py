"""Places and pilots in a real browser: an analyst opens the places, reads the map and its
table, opens a municipality and its counts, compares it with a neighbour, opens a pilot and
reads its result; axe-core on every page, screenshots kept."""

import datetime
import re

import pytest
from playwright.sync_api import Page, expect

from joinedup.demo import loading
from joinedup.demo.history.places import write_places
from joinedup.federation.loader import load_federation
from tests.e2e.test_channels import sign_in_staff

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ANALYST = "statcan.analyst@example.org"


@pytest.fixture
def demo(transactional_db, settings, tmp_path) -> str:
    from joinedup.demo.identities import create_demo_identities

    settings.DATA_DIR = tmp_path
    load_federation([loading.federation_folder("canada")])
    assert "refused" not in loading.load_demo_funding()
    assert "refused" not in loading.load_demo_places()
    months = [datetime.date(2024 + m // 12, m % 12 + 1, 1) for m in range(18)]
    write_places(count=12, months=months, seed=2, pilot="navigators", effect=4.0, treated=3)
    return create_demo_identities()[0].password


def test_an_analyst_reads_a_place_compares_it_and_reads_a_pilot(
    page: Page, live_server, demo, axe, screenshot
):
    sign_in_staff(page, live_server.url + "/en/funding/places/", ANALYST, demo)
    expect(page.get_by_role("heading", name="Places and pilots", exact=True)).to_be_visible()
    expect(page.locator("svg path").first).to_be_visible()
    places = page.get_by_role("table", name=re.compile("Places, with their (latest )?value"))
    expect(places).to_contain_text("Synthetic place 12")
    screenshot(page, "places-list")
    axe(page)

    places.get_by_role("link", name="Toronto", exact=True).click()
    expect(page).to_have_url(re.compile(r"/en/funding/places/ca-on-tor/"))
    money = page.get_by_role("table", name=re.compile("Money allocated into the place"))
    expect(money).to_contain_text("CAD")
    screenshot(page, "place-toronto")
    axe(page)

    page.get_by_role("link", name="Compare with another place").click()
    page.get_by_label("Compare with").select_option(label="Ottawa")
    page.get_by_role("button", name="Compare", exact=True).click()
    side = page.get_by_role("table", name=re.compile("side by side"))
    expect(side).to_contain_text("Services offered")
    screenshot(page, "place-compare")
    axe(page)

    page.goto(live_server.url + "/en/funding/places/")
    page.get_by_role("link", name="Synthetic pilot navigators").click()
    result = page.get_by_role("table", name=re.compile("Difference in differences"))
    expect(result).to_contain_text("95 % confidence interval")
    expect(page.locator("[data-chart] svg.main-svg").first).to_be_visible()
    expect(page.get_by_text(re.compile("Only 12 places are compared"))).to_be_visible()
    screenshot(page, "pilot")
    axe(page)

    page.goto(live_server.url + "/fr/funding/pilots/navigators/")
    expect(page.get_by_role("heading", name="Résultat", exact=True)).to_be_visible()
    axe(page)
