"""Staff journeys walked as staff walk them: sign in, then only links from the console (no
typed address), on a 1,280 px and a 375 px window. Every page: axe-core, no sideways scroll
of the page itself (a wide table scrolls in its own container), no Python repr or catalogue
key shown, a screenshot kept; then the same page in French (by the language button), whose
text must not repeat the English page's text node for node, apart from a short allow-list."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page

from .test_channels import demo, sign_in_staff  # noqa: F401 (the demo fixture, its sign-in)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

WALKERS = [
    "esdc.front-line@example.org",  # counter and phone agent
    "esdc.caseworker@example.org",
    "esdc.supervisor@example.org",
    "statcan.analyst@example.org",
]
WIDTHS = [1280, 375]
#: What a person may see as it is written in the code: a Python repr, a catalogue key.
LEAKS = re.compile(r"\{'|\[<|\bNone\b|\b(?:ca|au)\.[a-z]+(?:-[a-z]+)+\b")
#: Texts the same in both languages: names, codes, numbers, words French shares.
SAME_IN_FRENCH = re.compile(
    r"^(?:[\d\s.,:/%$€()\-–—+]*|[A-Z0-9][A-Z0-9 .\-]{0,12}|Joinedup|Canada|Ontario|Toronto|"
    r"Page|Service|Services|Total|Notes?|Date|Agence|Description|Documents?|Statut|"
    r"Actions?|Transactions?|Option|Minutes?|Information|Navigation|Question|"
    r"[A-ZÉ][\w'’.-]+(?: [A-ZÉ][\w'’.-]+)*@?[\w.]*|.*@example\.org)$"
)

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


def check_page(page: Page, axe, screenshot, name: str, problems: list[str]) -> list[str]:
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
        problems.append(f"{page.url}: the page scrolls sideways by {wide} px ({culprits})")
    texts = page.evaluate(TEXT_NODES)
    for text in texts:
        if LEAKS.search(text):
            problems.append(f"{page.url}: shows code, not words: {text[:120]!r}")
    return texts


def untranslated(english: list[str], french: list[str]) -> list[str]:
    left = set(english)
    return sorted(
        {
            text
            for text in french
            if text in left and len(text) > 3 and not SAME_IN_FRENCH.match(text)
        }
    )


def tools_of(page: Page) -> list[str]:
    return [link.inner_text() for link in page.locator(".jp-console a").all()]


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("username", WALKERS)
def test_staff_walk_by_links(
    browser: Browser,
    live_server,
    demo,  # noqa: F811 (the fixture imported above)
    axe,
    screenshot,
    username,
    width,
):
    context = browser.new_context(locale="en-CA", viewport={"width": width, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    base = live_server.url
    sign_in_staff(page, base + "/en/staff/", username, demo)
    who = username.split("@")[0]
    problems: list[str] = []
    check_page(page, axe, screenshot, f"walk-{who}-{width}-console", problems)
    tools = tools_of(page)
    assert tools, f"{username} sees no tools on the console"
    french_problems: list[str] = []
    for number, label in enumerate(tools):
        page.locator(".jp-console a", has_text=label).first.click()
        english = check_page(page, axe, screenshot, f"walk-{who}-{width}-{number}", problems)
        if width == WIDTHS[0]:
            page.locator("button.usa-language__link[lang=fr]").click()
            page.wait_for_load_state("domcontentloaded")
            french = check_page(page, axe, screenshot, f"walk-{who}-{width}-{number}-fr", problems)
            same = untranslated(english, french)
            if same:
                french_problems.append(f"{page.url}: English left in French: {same[:8]}")
            page.locator("button.usa-language__link[lang=en]").click()
            page.wait_for_load_state("domcontentloaded")
        page.go_back() if width != WIDTHS[0] else page.goto(base + "/en/staff/")
        page.wait_for_load_state("domcontentloaded")
    context.close()
    assert not problems, "\n".join(problems)
    assert not french_problems, "\n".join(french_problems)
