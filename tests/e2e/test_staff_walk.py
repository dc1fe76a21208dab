"""Staff journeys walked as staff walk them: from the home page, the header's sign-in, then
only links (the console's tools, the header's way back to the console; no address typed).
Every page is checked on a 375 px and a 1,280 px window: opened on the narrow one, then the
same page with the window widened (one walk, not one per width). Each time: axe-core, no
sideways scroll of the page itself (a wide table scrolls in its own container), no Python
repr or catalogue key shown, a screenshot kept; then the same page in French (by the
language button), whose text must not repeat the English page's text node for node, apart
from a short allow-list: numbers, codes, names the same in both languages and a few shared
words (tests/i18n/french_check.py)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.i18n.french_check import FrenchCheck

from .test_channels import demo, totp_now  # noqa: F401 (the demo fixture, its second factor)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

WALKERS = [
    "esdc.front-line@example.org",  # counter and phone agent
    "esdc.caseworker@example.org",
    "esdc.supervisor@example.org",
    "statcan.analyst@example.org",  # the cross-agency views of an analyst
    "tbs.auditor@example.org",  # and of an auditor
]
WIDE, NARROW = 1280, 375
#: What a person may see as it is written in the code: a Python repr, a catalogue key.
LEAKS = re.compile(r"\{'|\[<|\bNone\b|\b(?:ca|au)\.[a-z]+(?:-[a-z]+)+\b")


def names_in_both_languages() -> list[str]:
    """The names the data writes the same in English and French (an agency, an office, a
    place, a service), and the people's names: the French check's allow-list beyond
    numbers, codes and a few shared words (tests/i18n/french_check.py)."""
    from joinedup.federation.models import Agency, Jurisdiction, LifeSituation, Office, Service
    from joinedup.identity.models import Person

    names = []
    for model in (Agency, Jurisdiction, LifeSituation, Office, Service):
        for row in model.objects.values_list("names", flat=True):
            if row.get("en") and row.get("en") == row.get("fr"):
                names.append(row["en"])
    for row in Agency.objects.values_list("short_names", flat=True):
        if row and row.get("en") and row.get("en") == row.get("fr"):
            names.append(row["en"])
    for given, family in Person.objects.values_list("given_names", "family_name"):
        names += [f"{given} {family}", given, family]
    return names


TEXT_NODES = """() => {
  const walker = document.createTreeWalker(document.querySelector('main') || document.body,
    NodeFilter.SHOW_TEXT);
  const out = [];
  while (walker.nextNode()) {
    const node = walker.currentNode, parent = node.parentElement;
    if (!parent || ['SCRIPT', 'STYLE', 'NOSCRIPT'].includes(parent.tagName)) continue;
    const text = node.textContent.replace(/\\s+/g, ' ').trim();
    if (text) out.push(text);
  }
  return out;
}"""


def scrolls_sideways(page: Page) -> int:
    """How many pixels the page itself is wider than its window (0: it fits)."""
    return page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )


def check_on_both_widths(page: Page, axe, screenshot, name: str, *shown) -> None:
    """On each width, the window's own first: the locators `shown` visible, axe-core, no
    sideways scroll of the page itself, and a screenshot kept (`name` and the width); then
    the window back to the width it had."""
    page.wait_for_load_state("load")
    start = page.viewport_size["width"]
    for width in sorted((WIDE, NARROW), key=lambda width: width != start):
        page.set_viewport_size({"width": width, "height": 900})
        for locator in shown:
            expect(locator).to_be_visible()
        axe(page)
        screenshot(page, f"{name}-{width}")
        assert scrolls_sideways(page) <= 0, f"{page.url} scrolls sideways at {width} px"
    page.set_viewport_size({"width": start, "height": 900})


def check_page(
    page: Page, axe, screenshot, name: str, problems: list[str], width: int
) -> list[str]:
    page.wait_for_load_state("domcontentloaded")
    axe(page)
    screenshot(page, name)
    wide = scrolls_sideways(page)
    if wide > 0:
        culprits = page.evaluate(
            """() => [...document.querySelectorAll('body *')]
              .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth)
              .slice(0, 4).map(e => e.tagName + '.' + [...e.classList].join('.'))"""
        )
        problems.append(
            f"{page.url}: at {width} px the page scrolls sideways by {wide} px ({culprits})"
        )
    texts = page.evaluate(TEXT_NODES)
    for text in texts:
        if LEAKS.search(text):
            problems.append(f"{page.url}: shows code, not words: {text[:120]!r}")
    return texts


def header_link(page: Page, name: str) -> None:
    """Follow a link of the site's header, opening the menu first on a narrow window."""
    link = page.locator("header .usa-nav a.usa-nav-link", has_text=name).first
    if not link.is_visible():
        page.locator("button.usa-menu-btn").click()
    link.click()
    page.wait_for_load_state("domcontentloaded")


def sign_in_by_links(page: Page, base: str, username: str, password: str) -> None:
    """From the home page, the header's Sign in, the second factor, then the header's Staff
    console: no address typed after the home page's."""
    page.goto(base + "/en/")
    header_link(page, "Sign in")
    page.get_by_label("Email address").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_label("Six-digit code").fill(totp_now(username))
    page.get_by_role("button").filter(has_text=re.compile("Confirm")).first.click()
    page.wait_for_load_state("domcontentloaded")
    header_link(page, "Staff console")


def tools_of(page: Page) -> list[str]:
    return [link.inner_text() for link in page.locator(".jp-console a").all()]


def check_at_both_widths(page: Page, axe, screenshot, name: str, problems: list[str]) -> list[str]:
    """The page's checks on the narrow window it was opened on, then on the wide one (the
    window widened: the page's own layout follows it), each screenshot named `name` with the
    width in it; the window is left wide. Returns the text read on the wide window."""
    assert page.viewport_size["width"] == NARROW
    check_page(page, axe, screenshot, name.format(width=NARROW), problems, NARROW)
    page.set_viewport_size({"width": WIDE, "height": 900})
    return check_page(page, axe, screenshot, name.format(width=WIDE), problems, WIDE)


@pytest.mark.parametrize("username", WALKERS)
def test_staff_walk_by_links(
    browser: Browser,
    live_server,
    demo,  # noqa: F811 (the fixture imported above)
    axe,
    screenshot,
    username,
):
    context = browser.new_context(locale="en-CA", viewport={"width": NARROW, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    base = live_server.url
    # Signed in on the narrow window: the header's links behind its menu button.
    sign_in_by_links(page, base, username, demo)
    french_check = FrenchCheck(names_in_both_languages())
    who = username.split("@")[0]
    problems: list[str] = []
    check_at_both_widths(page, axe, screenshot, f"walk-{who}-{{width}}-console", problems)
    tools = tools_of(page)
    assert tools, f"{username} sees no tools on the console"
    french_problems: list[str] = []
    for number, label in enumerate(tools):
        page.set_viewport_size({"width": NARROW, "height": 900})
        page.locator(".jp-console a", has_text=label).first.click()
        page.wait_for_load_state("domcontentloaded")
        english = check_at_both_widths(
            page, axe, screenshot, f"walk-{who}-{{width}}-{number}", problems
        )
        page.locator("button.jp-language__link[lang=fr]").click()
        page.wait_for_load_state("domcontentloaded")
        french = check_page(page, axe, screenshot, f"walk-{who}-{WIDE}-{number}-fr", problems, WIDE)
        same = french_check.untranslated(english, french)
        if same:
            french_problems.append(f"{page.url}: English left in French: {same[:8]}")
        page.locator("button.jp-language__link[lang=en]").click()
        page.wait_for_load_state("domcontentloaded")
        header_link(page, "Staff console")  # back by the header, not a typed address
    context.close()
    assert not problems, "\n".join(problems)
    assert not french_problems, "\n".join(french_problems)
