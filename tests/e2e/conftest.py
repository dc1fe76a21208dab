"""Browser tests: Debian's Chromium driven by Playwright against the live test server.

No browser is ever downloaded: the tests use the system's Chromium (`make system` installs
it). Accessibility is checked with axe-core from node_modules, injected into the page.
"""

import json
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urljoin

import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from playwright.sync_api import Error as PlaywrightError

from joinedup.federation.loader import load_federation
from tests.runs import browser_walks_run

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("JOINEDUP_CHROMIUM", "/usr/bin/chromium"))
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = ROOT / "test-artifacts"
SMALL_FEDERATION = ROOT / "tests" / "federation" / "files" / "small"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-gpu",
    "--no-first-run",
]
AXE_URL = "/__axe-core__/axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test in this folder drives a browser: mark it so it can be selected or skipped;
    the walks run once, in the suite's SQLite run (tests/runs.py says why)."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.e2e)
            item.add_marker(browser_walks_run)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, started once per test module.

    Playwright's synchronous API keeps an event loop running in the test's thread, so Django
    would refuse database access from it; the tests touch the database only between browser
    calls, never concurrently, so that check is lifted while (and only while) a browser runs.
    """
    if not CHROMIUM.exists():
        pytest.fail(
            f"Chromium is not installed at {CHROMIUM}: run `make system` "
            "(or apt-get install chromium). Browsers are never downloaded."
        )
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            launched = playwright.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
            )
            yield launched
            launched.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser tab (own cookies), as a person in Canada with English would open.

    Any script error or console error (a resource refused by the Content Security Policy,
    a script that failed) fails the test: the page must run cleanly under its own policy.
    A page answered with a 4xx on purpose (a form sent back with its errors) is the test's
    to check; Chromium's console line about that page's own status is not counted.
    """
    context = browser.new_context(locale="en-CA", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    tab = context.new_page()
    messages: list[tuple[str, str]] = []
    client_errors: set[str] = set()
    tab.on(
        "console",
        lambda message: (
            messages.append((message.text, message.location.get("url", "")))
            if message.type == "error"
            else None
        ),
    )
    tab.on(
        "response",
        lambda response: (
            client_errors.add(response.url)
            if response.request.resource_type == "document" and 400 <= response.status < 500
            else None
        ),
    )
    tab.on("pageerror", lambda error: messages.append((str(error), "")))
    yield tab
    context.close()
    errors = [
        text
        for text, url in messages
        if not (text.startswith("Failed to load resource") and url in client_errors)
    ]
    if errors:
        pytest.fail("The browser reported errors:\n" + "\n".join(errors), pytrace=False)


@pytest.fixture
def page_without_js(browser: Browser) -> Iterator[Page]:
    """A tab with JavaScript switched off: the pages must work without it."""
    context = browser.new_context(
        locale="en-CA", viewport={"width": 1280, "height": 900}, java_script_enabled=False
    )
    context.set_default_timeout(15_000)
    tab = context.new_page()
    yield tab
    context.close()


@pytest.fixture
def federation(transactional_db) -> None:
    """The small test federation, committed so the live server's thread sees it."""
    load_federation([SMALL_FEDERATION])


@pytest.fixture
def screenshot() -> Callable[[Page, str], Path]:
    """save(page, name): the whole page as test-artifacts/NAME.png, for a person to look at."""

    def save(page: Page, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '-', name)}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return save


def _describe(violations: list[dict]) -> str:
    lines = []
    for violation in violations:
        lines.append(
            f"- {violation['id']} ({violation.get('impact') or 'n/a'}): {violation['help']}"
            f"\n  {violation['helpUrl']}"
        )
        for node in violation["nodes"][:5]:
            target = " ".join(map(str, node["target"]))
            summary = (node.get("failureSummary") or "").replace("\n", " ")
            lines.append(f"    at {target}: {summary}")
        if len(violation["nodes"]) > 5:
            lines.append(f"    … and {len(violation['nodes']) - 5} more")
    return "\n".join(lines)


def _run_axe(page: Page) -> dict:
    """Inject axe-core into the settled page and run it.

    A click that navigates returns once the new document is committed, not loaded: axe
    injected then finds no <head>, or walks nodes the parser is still adding. So the check
    waits for the load event; should the page still change under axe (a redirect after a
    form), it waits for the network to settle and runs once more.
    """
    for attempt in (1, 2):
        page.wait_for_load_state("load")
        # Served as if from the site itself, so the page's Content Security Policy (scripts
        # from 'self' only) lets it run and stays in force for the test.
        url = urljoin(page.url, AXE_URL)
        page.route(url, lambda route: route.fulfill(path=str(AXE), content_type="text/javascript"))
        try:
            page.add_script_tag(url=url)
            return page.evaluate(
                "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG_TAGS
            )
        except PlaywrightError:
            if attempt == 2:
                raise
            page.wait_for_load_state("networkidle")
    raise AssertionError("unreachable")


@pytest.fixture
def axe() -> Callable[[Page], list[dict]]:
    """check(page): run axe-core with the WCAG 2.0/2.1 A and AA rules; fail on any violation."""

    def check(page: Page) -> list[dict]:
        # Served as if from the site itself, so the page's Content Security Policy (scripts
        # from 'self' only) lets it run and stays in force for the test.
        results = _run_axe(page)
        violations = results["violations"]
        if violations:
            ARTIFACTS.mkdir(exist_ok=True)
            (ARTIFACTS / "axe-violations.json").write_text(json.dumps(violations, indent=2))
            pytest.fail(
                f"axe-core found {len(violations)} accessibility violation(s) on {page.url}:\n"
                + _describe(violations),
                pytrace=False,
            )
        return violations

    return check
