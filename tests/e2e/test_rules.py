"""Rules as code in a real browser, walked by links from the home page as a person walks
(no typed address but the home page and the staff console), on a 1,280 px and a 375 px
window; axe-core on every page and a screenshot of each kept in test-artifacts/. The
visitor's and the parent's walks are walked once each (the visitor on the wide window, the
parent on the narrow one, through the header's menu button) with every page checked on both
widths; the caseworker's is walked on each, as it records a different decision on each.

- An anonymous visitor uses the benefits screener in French, sees the benefits of every
  level with amounts and why, and reaches the right service from a result.
- A signed-in parent finds the screener prefilled with what the platform holds (the place,
  the partner, the child's age), and the offer a population run made of the child benefit,
  with its amount and how it was estimated, in plain words.
- A caseworker of the Canada Revenue Agency opens a child benefit application from the
  queue, sees what the rules compute from its answers with their trace (in French too, from
  the parameter files' French descriptions), and records that the decision follows the
  rules (on the narrow window: that it departs from them, with a reason and a note).
"""

from __future__ import annotations

import datetime
import re

import pytest
from playwright.sync_api import Browser, Page, expect

from joinedup.delivery import versions
from joinedup.delivery.applications import submit_application
from joinedup.delivery.models import WorkItem
from joinedup.demo import loading
from joinedup.federation.loader import load_federation
from joinedup.federation.models import Agency
from joinedup.identity import acting, mandates
from joinedup.identity.client_registry import AddressInput, register_person
from joinedup.identity.models import Relationship, StaffMembership, User

from .test_delivery import sign_in as sign_in_with_session
from .test_staff_walk import check_on_both_widths

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

WIDE, NARROW = 1280, 375
WIDTHS = [WIDE, NARROW]
CANADA = loading.federation_folder("canada")


@pytest.fixture
def demo(transactional_db, settings, tmp_path) -> str:
    """The Canadian demo federation, its service versions, bundles and identities
    (committed, so the live server sees them); returns the demo password."""
    from joinedup.demo.identities import create_demo_identities

    settings.DATA_DIR = tmp_path
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    load_federation([CANADA])
    versions.load_paths([loading.SERVICE_VERSIONS])
    loading.load_demo_bundles()
    return create_demo_identities()[0].password


def open_tab(browser: Browser, width: int, locale: str = "en-CA") -> Page:
    context = browser.new_context(locale=locale, viewport={"width": width, "height": 900})
    context.set_default_timeout(15_000)
    return context.new_page()


def nav(page: Page, name: str) -> None:
    """Follow a link of the site's navigation, opening the menu first on a narrow window."""
    menu = page.locator("button.usa-menu-btn")
    if menu.is_visible():
        menu.click()
    page.locator("nav").get_by_role("link", name=name, exact=True).first.click()


def check(page: Page, axe, screenshot, name: str) -> None:
    page.wait_for_load_state("domcontentloaded")
    axe(page)
    screenshot(page, name)


def test_an_anonymous_visitor_screens_in_french_and_reaches_the_service(
    browser: Browser, live_server, demo, axe, screenshot
):
    page = open_tab(browser, WIDE, "fr-CA")
    base = live_server.url
    page.goto(base + "/fr/")
    check_on_both_widths(page, axe, screenshot, "rules-anon-home-fr")
    page.locator("main").get_by_role("link", name="À quoi ai-je droit ?").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("À quoi ai-je droit ?")
    expect(page.locator("#prefilled")).to_have_count(0)  # nothing known of a visitor
    check_on_both_widths(page, axe, screenshot, "rules-anon-screener-fr")

    page.get_by_label("Où habitez-vous?").select_option("CA-ON-TOR")
    page.get_by_label("Âge de l'enfant 1").fill("3")
    page.get_by_label("Âge de l'enfant 2").fill("8")
    page.get_by_label("Le revenu de votre famille l'an dernier, avant impôt").fill("45000")
    page.get_by_role("button", name="Voir à quoi j'ai droit").click()

    answer = page.locator("#answer")
    expect(answer).to_contain_text("Allocation canadienne pour enfants")
    expect(answer).to_contain_text("Prestation ontarienne pour enfants")
    expect(answer).to_contain_text("Rabais de transport Fair Pass")
    expect(answer).to_contain_text("par mois")
    federal = answer.locator(".benefit", has_text="Allocation canadienne pour enfants")
    federal.get_by_text("Pourquoi ce montant").click()
    expect(federal).to_contain_text("L’âge des enfants")
    expect(federal).to_contain_text("3, 8")
    check_on_both_widths(page, axe, screenshot, "rules-anon-answer-fr")

    federal.get_by_role("link", name=re.compile("^Faire la demande")).click()
    expect(page).to_have_url(f"{base}/fr/services/ca.child-benefit/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Allocation canadienne pour enfants")
    check_on_both_widths(page, axe, screenshot, "rules-anon-service-fr")
    page.context.close()


@pytest.fixture
def family(demo):
    """Amara and David's child, born in February 2024, in Toronto; each parent holds a
    parental mandate, under which the screener reads the child's birth date."""
    child = register_person(
        given_names="Zola",
        family_name="Okafor",
        birth_date=datetime.date(2024, 2, 1),
        address=AddressInput("40 Bay St", "Toronto", "ON", "M5J 2X2", "CA", "CA-ON-TOR"),
    )
    parents = [User.objects.get(username=f"{k}@example.org") for k in ("amara", "david")]
    for parent in parents:
        Relationship.objects.create(
            person=parent.person,
            kind=Relationship.Kind.PARENT_OF,
            related_person=child,
            valid_from=datetime.date(2024, 2, 1),
        )
        mandates.grant_parental_mandate(parent.person, child)
    return child


def test_a_parent_sees_prefilled_answers_and_the_offer_with_its_amount(
    browser: Browser, live_server, demo, family, axe, screenshot
):
    from joinedup.rules.entitlements import run_population
    from joinedup.rules.models import Entitlement
    from joinedup.rules.screener import _age_on, current_period
    from joinedup.sharing import dispatch

    period = current_period()
    amara, david = (User.objects.get(username=f"{k}@example.org") for k in ("amara", "david"))
    run_population("CA-ON-TOR", period, {amara.person.pk: {2025: 30000}})
    dispatch.dispatch_pending()
    federal = Entitlement.objects.get(benefit="ca_child_benefit")
    parent = amara if federal.person_id == amara.person.pk else david
    age = _age_on(datetime.date(2024, 2, 1), datetime.date.fromisoformat(period + "-01"))

    page = open_tab(browser, NARROW)
    base = live_server.url
    page.goto(base + "/en/")
    nav(page, "Sign in")
    page.get_by_label("Email address").fill(parent.username)
    page.get_by_label("Password").fill(demo)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state("domcontentloaded")
    page.get_by_role("link", name="Joinedup").first.click()

    # The screener starts from what the platform holds: the place, the partner, the child.
    page.locator("main").get_by_role("link", name="What could I get?").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("What could I get?")
    expect(page.locator("#prefilled")).to_contain_text("We filled in what we already know")
    expect(page.get_by_label("Where do you live?")).to_have_value("CA-ON-TOR")
    expect(page.get_by_label("How many adults in the household (1 or 2)?")).to_have_value("2")
    expect(page.get_by_label("Age of child 1")).to_have_value(str(age))
    expect(page.get_by_label("Your family's income last year, before tax")).to_have_value("")
    check_on_both_widths(page, axe, screenshot, "rules-parent-screener-prefilled")
    page.get_by_label("Your family's income last year, before tax").fill("30000")
    page.get_by_role("button", name="See what I could get").click()
    expect(page.locator("#answer")).to_contain_text("Canada Child Benefit")
    check_on_both_widths(page, axe, screenshot, "rules-parent-screener-answer")

    # The offer the population run made, with its amount and how it was estimated.
    nav(page, "My services")
    amount = f"Estimated at ${federal.amount:,.2f} a month."
    offer = page.locator(".usa-alert", has_text="Canada Child Benefit")
    expect(offer).to_contain_text(amount)
    check_on_both_widths(page, axe, screenshot, "rules-parent-my-services")
    offer.get_by_role("link", name=re.compile("^See the offer")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Canada Child Benefit")
    expect(page.locator(".offer-amount")).to_have_text(amount)
    explanation = page.get_by_test_id("offer-explanation")
    explanation.get_by_text("How we estimated it").click()
    expect(explanation).to_contain_text("The children's ages")
    expect(explanation).to_contain_text("$30,000.00")
    expect(explanation).to_contain_text("And the law in force that month")
    check_on_both_widths(page, axe, screenshot, "rules-parent-offer")
    page.context.close()


@pytest.fixture
def application(demo):
    """Amara's child benefit application (one child of about one, 30,000 last year), and a
    caseworker of the Canada Revenue Agency, which decides it."""
    cra = Agency.objects.get(key="cra")
    caseworker = User.objects.create_user("cra.worker@example.org", "cra.worker@example.org")
    StaffMembership.objects.create(user=caseworker, agency=cra, role="caseworker")
    amara = User.objects.get(username="amara@example.org")
    born = (datetime.date.today() - datetime.timedelta(days=400)).isoformat()
    made, _ = submit_application(
        acting.for_user(amara),
        "ca.child-benefit",
        {
            "children": [{"given_names": "Noor", "birth_date": born}],
            "marital_status": "single",
            "income_last_year": 30000,
        },
    )
    return made, caseworker


@pytest.mark.parametrize("width", WIDTHS)
def test_a_caseworker_sees_the_rules_trace_and_records_the_decision_follows_them(
    browser: Browser, live_server, application, axe, screenshot, width
):
    made, caseworker = application
    item = WorkItem.objects.get(application=made, status="open", role="caseworker")
    page = open_tab(browser, width)
    base = live_server.url
    sign_in_with_session(page, base, caseworker, second_factor=True)
    page.goto(base + "/en/staff/")
    check(page, axe, screenshot, f"rules-staff-{width}-console")
    page.locator(".jp-console a", has_text="Work queue").first.click()
    check(page, axe, screenshot, f"rules-staff-{width}-queue")
    page.get_by_role("link", name=item.title).first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(item.title)

    support = page.get_by_test_id("decision-support")
    # One child under 6, a single parent with 30,000: the maximum, 8,157 / 12 a month.
    expect(support).to_contain_text("$679.75 a month")
    expect(support).to_contain_text("How the rules computed it")
    expect(support.locator("li").first).to_contain_text("in force since")
    expect(support.get_by_role("link").first).to_be_visible()  # the law's source
    check(page, axe, screenshot, f"rules-staff-{width}-work-item")
    if width == WIDTHS[0]:
        # In French, the trace reads each parameter's French description.
        page.locator("button.jp-language__link[lang=fr]").click()
        support = page.get_by_test_id("decision-support")
        expect(support).to_contain_text("Ce que calculent les règles")
        # The amount said by locale, not as the parameter file writes it (8157).
        expect(support).to_contain_text(
            "Maximum annuel par enfant de moins de 6 ans : 8\xa0157,00\xa0$"
        )
        expect(support).to_contain_text("en vigueur depuis le")
        check(page, axe, screenshot, f"rules-staff-{width}-work-item-fr")
        page.locator("button.jp-language__link[lang=en]").click()
        support = page.get_by_test_id("decision-support")
        expect(support).to_contain_text("Yearly maximum per child under 6: $8,157.00")

    page.get_by_role("button", name="Claim").click()
    expect(page.get_by_role("button", name="Release")).to_be_visible()
    page.locator('label[for="decision-approve"]').click()
    page.get_by_label("Reasons (the applicant will read them)").fill("All in order.")
    if width == WIDTHS[0]:
        page.locator('label[for="follows-rules-yes"]').click()
        recorded = ("approve", True, "", "")
    else:
        # On the narrow window the decision departs from the rules, with its reason.
        page.locator('label[for="follows-rules-no"]').click()
        page.get_by_label("If not, why not").select_option("facts")
        page.get_by_label("Note on the departure (staff only)").fill("The NOA shows 31,000.")
        recorded = ("approve", False, "facts", "The NOA shows 31,000.")
    page.get_by_role("button", name="Record the decision").click()
    expect(page.locator("main")).to_contain_text("The decision is recorded.")
    check(page, axe, screenshot, f"rules-staff-{width}-decided")
    item.refresh_from_db()
    assert (item.decision, item.follows_rules, item.rules_departure, item.rules_note) == recorded
    assert str(item.rules_per_month) == "679.75"
    page.context.close()
