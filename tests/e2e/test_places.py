"""Places and pilots in a real browser, walked by links as an analyst walks them: from the
home page, the header's sign-in and the staff console (no address typed but the home page's).
The analyst opens the places, reads the map and its table, opens a municipality — its map
among its neighbours, its money, its services and its gaps — compares it with a neighbour,
goes back by links to the places, opens a pilot and reads its result, then reads it in
French. One walk, on a 1,280 px window up to the comparison and on a 375 px one after it
(the header's menu button); every page is checked on both: what it must show visible,
axe-core, no sideways scroll of the page itself, a screenshot of each kept in
test-artifacts/."""

import datetime
import re

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from joinedup.demo import loading
from joinedup.demo.history.places import write_places
from joinedup.federation.loader import load_federation
from tests.e2e.test_staff_walk import check_on_both_widths, sign_in_by_links

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ANALYST = "statcan.analyst@example.org"
WIDE, NARROW = 1280, 375


@pytest.fixture
def demo(transactional_db, settings, tmp_path) -> str:
    from joinedup.demo.identities import create_demo_identities

    settings.DATA_DIR = tmp_path
    load_federation([loading.federation_folder("canada")])
    assert "refused" not in loading.load_demo_funding()
    assert "refused" not in loading.load_demo_places()
    months = [datetime.date(2024 + m // 12, m % 12 + 1, 1) for m in range(18)]
    write_places(count=12, months=months, seed=2, pilot="navigators", effect=4.0, treated=3)
    # The evaluation (a 999-draw bootstrap) is kept in the cache once computed; computing it
    # here, not in the browser's first request, keeps the walk within its timeouts on a
    # busy machine (the page reads the same cached numbers; see docs/places-and-pilots.md).
    from joinedup.funding import pilots
    from joinedup.funding.models import Pilot

    assert not pilots.evaluate(Pilot.objects.get(key="navigators")).error
    return create_demo_identities()[0].password


def check(page: Page, axe, screenshot, name: str, *shown: Locator) -> None:
    check_on_both_widths(page, axe, screenshot, f"places-{name}", *shown)


def test_an_analyst_reads_a_place_compares_it_and_reads_a_pilot(
    browser: Browser, live_server, demo, axe, screenshot
):
    context = browser.new_context(locale="en-CA", viewport={"width": WIDE, "height": 900})
    context.set_default_timeout(30_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    sign_in_by_links(page, live_server.url, ANALYST, demo)
    check(page, axe, screenshot, "console")

    page.locator(".jp-console a", has_text="Places and pilots").first.click()
    heading = page.get_by_role("heading", name="Places and pilots", exact=True)
    expect(heading).to_be_visible()
    drawn = page.locator("svg path").first
    expect(drawn).to_be_visible()
    places = page.get_by_role("table", name=re.compile("Places, with their (latest )?value"))
    expect(places).to_contain_text("Synthetic place 12")
    check(page, axe, screenshot, "list", heading, drawn)

    # A municipality: its map among its neighbours with the table beside it, its counts.
    places.get_by_role("link", name="Toronto", exact=True).click()
    expect(page).to_have_url(re.compile(r"/en/funding/places/ca-on-tor/$"))
    shown = [
        page.get_by_role("heading", name="Toronto", level=1),
        page.get_by_role("heading", name="The place on the map"),
        page.locator("figure svg path").first,
    ]
    for locator in shown:
        expect(locator).to_be_visible()
    on_map = page.get_by_role("table", name="The places on the map and their value")
    expect(on_map).to_contain_text("Toronto (this place)")
    ottawa = on_map.get_by_role("link", name="Ottawa", exact=True)
    expect(ottawa).to_be_visible()
    money = page.get_by_role("table", name=re.compile("Money allocated into the place"))
    expect(money).to_contain_text("CAD")
    services = page.get_by_role("table", name=re.compile("Services offered in the place"))
    first_service = services.locator("tbody tr").first
    expect(first_service).to_be_visible()
    gaps = page.get_by_role("table", name=re.compile("Needs found in the screens"))
    expect(gaps).to_be_visible()
    check(page, axe, screenshot, "toronto", *shown, ottawa, first_service, gaps)

    # Side by side with a neighbour (a municipality of the same province).
    page.get_by_role("link", name="Compare with another place").click()
    page.get_by_label("Compare with").select_option(label="Ottawa")
    page.get_by_role("button", name="Compare", exact=True).click()
    side = page.get_by_role("table", name=re.compile("Toronto and Ottawa, side by side"))
    expect(side).to_contain_text("Services offered")
    expect(side).to_contain_text("Population")
    check(page, axe, screenshot, "compare", side)

    # On a phone from here. Back by links: the place, then the places, then the pilot.
    page.set_viewport_size({"width": NARROW, "height": 900})
    page.locator("main").get_by_role("link", name="Toronto", exact=True).click()
    page.locator("main").get_by_role("link", name="Places and pilots", exact=True).click()
    page.get_by_role("link", name="Synthetic pilot navigators").click(timeout=120_000)
    result = page.get_by_role("table", name=re.compile("Difference in differences"))
    expect(result).to_contain_text("95 % confidence interval")
    # The chart is drawn by script after the page loads: slow on a busy machine.
    chart = page.locator("[data-chart] svg.main-svg").first
    expect(chart).to_be_visible(timeout=30_000)
    few = page.get_by_text(re.compile("Only 12 places are compared"))
    expect(few).to_be_visible()
    check(page, axe, screenshot, "pilot", chart, few)

    # The same result in French, by the language button (behind the header's menu button).
    language = page.locator("button.jp-language__link[lang=fr]")
    if not language.is_visible():
        page.locator("button.usa-menu-btn").click()
    language.click()
    french = page.get_by_role("heading", name="Résultat", exact=True)
    expect(french).to_be_visible()
    check(page, axe, screenshot, "pilot-fr", french)
    context.close()
    assert errors == [], errors
