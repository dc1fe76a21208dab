"""Human services in a real browser, walked by following links only (each person starts at
the home page): a navigator opens a case with the person's consent, adds a provincial
colleague to the team, records the general needs screen, builds a plan whose goals are
served by the province (ServiceOntario), the city (City of Toronto) and a community
organisation (Helping Hands), and refers to the community food bank and the provincial
income assistance; each receiver accepts and closes its referral with an outcome (the loop
closed, the navigator sees it); the person sees the plan in My services and withdraws consent
for ServiceOntario, whose member is then refused the case. Axe-core on every page at 1,280
and 375 px; screenshots kept.
"""

from __future__ import annotations

import datetime

import pytest
from playwright.sync_api import Page, expect

from joinedup.care.models import IntegratedCase, Referral
from joinedup.care.packages import load_package
from joinedup.federation.models import Agency, Jurisdiction
from joinedup.identity import assurance
from joinedup.identity.client_registry import AddressInput, register_person
from joinedup.identity.models import IdentityProofing, StaffMembership, User

from ..care.conftest import SMALL_DIRECTORY
from .test_delivery import choose, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

#: True once the page's own scripts are done with the DOM: every table wrapped in its
#: scrolling box (web/tables.js, at DOMContentLoaded, which waits for the deferred plotly of
#: the case page) and every chart drawn (charts.js).
SETTLED = """() => document.readyState === "complete"
    && Array.from(document.querySelectorAll("table")).every(t => t.parentElement
        && (t.parentElement.classList.contains("jp-table-scroll")
            || t.parentElement.classList.contains("usa-table-container--scrollable")))
    && Array.from(document.querySelectorAll("[data-chart]")).every(
        c => typeof window.Plotly === "undefined" || c.querySelector(".main-svg"))"""


#: The window widths every page is checked at: a desktop and a small phone.
WIDTHS = (1280, 375)


def settled(page: Page) -> Page:
    """Wait for the page to be loaded and left alone by its scripts before axe-core walks
    it: a text may be visible while the deferred scripts still move the tables, and axe
    walking a DOM that changes under it fails ("reading 'nthChild'")."""
    page.wait_for_load_state("load")
    page.wait_for_function(SETTLED)
    return page


@pytest.fixture
def world(federation) -> dict:
    load_package(SMALL_DIRECTORY)
    person = register_person(
        given_names="Jordan",
        family_name="Mbeki",
        birth_date=datetime.date(1988, 6, 1),
        address=AddressInput("10 King St E", "Toronto", jurisdiction_code="CA-ON-TOR"),
        contacts=[("email", "jordan@example.org")],
    )
    assurance.record_proofing(person, level=2, method=IdentityProofing.Method.DOCUMENT_CHECK)
    people = {
        "person": User.objects.create_user(
            "jordan@example.org", "jordan@example.org", "x" * 20, person=person
        )
    }
    for name, agency, role in [
        ("navigator", "toronto", "caseworker"),
        ("province", "serviceontario", "caseworker"),
        ("food", "helping-hands", "caseworker"),
    ]:
        user = User.objects.create_user(f"{name}@example.org", f"{name}@example.org", "x" * 20)
        membership = StaffMembership.objects.create(
            user=user, agency=Agency.objects.get(key=agency), role=role
        )
        if agency == "helping-hands":
            membership.areas.set([Jurisdiction.objects.get(code="CA-ON-TOR")])
        people[name] = user
    return people


def checked(page: Page, axe, screenshot=None, name: str = "") -> Page:
    """Axe-core on the page at each width (then back to the desktop width the walk uses)."""
    size = page.viewport_size or {"width": 1280, "height": 900}
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": size["height"]})
        axe(settled(page))
        if screenshot is not None and name:
            screenshot(page, f"{name}-{width}")
    page.set_viewport_size({"width": WIDTHS[0], "height": size["height"]})
    return page


def home(page: Page, base: str, link: str) -> None:
    """Start at the home page and follow one link of the header."""
    page.goto(f"{base}/en/")
    page.get_by_role("link", name=link, exact=True).first.click()


def test_a_plan_across_agencies_with_closed_loop_referrals_and_consent_withdrawn(
    page: Page, live_server, world, axe, screenshot, browser
):
    base = live_server.url
    page.goto(f"{base}/en/find-help/?need=food")
    expect(page.get_by_role("heading", name="Community food bank")).to_be_visible()
    checked(page, axe, screenshot, "care-find-help")

    # The navigator opens the case, with the person's consent for housing, income and food.
    sign_in(page, base, world["navigator"], second_factor=True)
    home(page, base, "My cases")
    expect(page.get_by_role("heading", name="Care workspace")).to_be_visible()
    checked(page, axe)
    page.get_by_role("link", name="Open a case").click()
    page.get_by_label("Given names").fill("Jordan")
    page.get_by_label("Family name").fill("Mbeki")
    page.get_by_label("Birth date").fill("1988-06-01")
    choose(page, "The person's consent")
    for label in ("care plan: housing", "care plan: income and food"):
        page.locator("label.usa-checkbox__label", has_text=label).click()
    checked(page, axe)
    page.get_by_role("button", name="Open the case").click()
    expect(page.get_by_text("The case is open")).to_be_visible()
    case = IntegratedCase.objects.get()

    # A provincial colleague joins the team; the person agrees to share housing and income.
    page.get_by_role("link", name="Add a member to the team").click()
    page.get_by_label("Professional").select_option(
        label="province@example.org — ServiceOntario (Caseworker)"
    )
    page.locator("label.usa-checkbox__label[for=mcat-housing]").click()
    page.locator("label.usa-checkbox__label[for=mcat-income]").click()
    checked(page, axe)
    page.get_by_role("button", name="Add to the team").click()
    expect(page.get_by_text("The member is added")).to_be_visible()

    # The general needs screen: every life domain answered.
    page.get_by_role("link", name="Run the General needs screen").click()
    expect(page.get_by_role("heading", name="General needs screen")).to_be_visible()
    questions = page.locator("form fieldset")
    for n in range(questions.count()):
        questions.nth(n).locator("label.usa-radio__label").nth(1 if n < 3 else 2).click()
    checked(page, axe)
    page.get_by_role("button", name="Record the assessment").click()
    expect(page.get_by_text("The assessment is recorded.")).to_be_visible()
    expect(page.get_by_role("table", name="Scores over time: General needs screen")).to_be_visible()

    # The plan: a need, a goal and an action for each of the three organisations.
    plan = [
        (
            "Income",
            "Income below rent",
            "Income assistance in place",
            "ServiceOntario",
            "Apply to the provincial income assistance",
        ),
        (
            "Housing",
            "Keep the apartment",
            "Rent arrears cleared by spring",
            "City of Toronto",
            "Eviction prevention meeting with the city",
        ),
        (
            "Food",
            "Not enough food",
            "Enough food every week",
            "Helping Hands",
            "Weekly groceries from the food bank",
        ),
    ]
    for n, (domain, need, goal, agency, action) in enumerate(plan):
        page.get_by_role("link", name="Add a need to the plan").click()
        page.get_by_label("About", exact=True).select_option(label=domain)
        page.locator("#need-description").fill(need)
        if n == 0:
            checked(page, axe)
        page.get_by_role("button", name="Add the need").click()
        page.get_by_role("link", name=f"Add a goal for the need: {need}").click()
        page.locator("#goal-description").fill(goal)
        page.locator("#goal-target").fill("2027-04-30")
        if n == 0:
            checked(page, axe)
        page.get_by_role("button", name="Add the goal").click()
        page.get_by_role("link", name=f"Add an action for the goal: {goal}").click()
        page.locator("#action-description").fill(action)
        page.locator("#action-agency").select_option(label=agency)
        page.locator("#action-due").fill("2027-02-01")
        if n == 0:
            checked(page, axe)
        page.get_by_role("button", name="Add the action").click()
        expect(page.get_by_text("The action is added to the plan.")).to_be_visible()
    for _domain, _need, _goal, agency, action in plan:
        expect(page.get_by_role("cell", name=action, exact=True)).to_be_visible()
        expect(page.get_by_role("cell", name=agency, exact=True)).to_be_visible()

    # Referrals to the community food bank and to the province's income assistance.
    referrals = [
        ("Community food bank — Helping Hands", "Groceries this week.", ["income"]),
        ("Income assistance — ServiceOntario", "Rent is above income.", ["income", "housing"]),
    ]
    for n, (service, reason, shared) in enumerate(referrals):
        page.get_by_role("link", name="Refer to a service").click()
        page.locator("#ref-service").select_option(label=service)
        page.locator("#ref-reason").fill(reason)
        page.locator("#ref-urgency").select_option(label="Within a few days")
        for category in shared:
            page.locator(f"label.usa-checkbox__label[for=rcat-{category}]").click()
        if n == 0:
            checked(page, axe)
        page.get_by_role("button", name="Send the referral").click()
        expect(page.get_by_text("The referral is sent.")).to_be_visible()
    # The case page: the message shows before its deferred scripts (plotly, then the
    # tables' wrapping) have run; axe waits for them.
    checked(page, axe, screenshot, "care-case-page")
    sent = {r.service.name: r for r in Referral.objects.select_related("service", "application")}
    assert set(sent) == {"Community food bank", "Income assistance"}
    for referral in sent.values():
        # Each is an application of the receiver's referral service, in its engine queue.
        assert referral.application.channel == "referral"
        assert referral.application.work_items.filter(status="open", kind="referral").count() == 1

    # Each receiver accepts and closes its referral, from its own workspace.
    for who, service in (("food", "Community food bank"), ("province", "Income assistance")):
        receiver = browser.new_context(locale="en-CA").new_page()
        sign_in(receiver, base, world[who], second_factor=True)
        home(receiver, base, "My cases")
        receiver.get_by_role("link", name=service).click()
        # The click navigates: wait for the referral page itself, not the workspace leaving.
        expect(receiver.get_by_role("button", name="Record this step")).to_be_visible()
        checked(receiver, axe)
        receiver.locator("label.usa-radio__label", has_text="Accepted").click()
        receiver.get_by_role("button", name="Record this step").click()
        receiver.locator("label.usa-radio__label", has_text="Closed with an outcome").click()
        receiver.locator("#outcome").select_option(label="Got help")
        receiver.get_by_role("button", name="Record this step").click()
        expect(receiver.get_by_text("The referral is updated")).to_be_visible()
        checked(receiver, axe, screenshot, f"care-referral-closed-{who}")
        referral = sent[service]
        referral.refresh_from_db()
        assert (referral.status, referral.outcome) == ("closed", "got_help")
        referral.application.refresh_from_db()
        assert referral.application.status == "approved"  # the engine's process ended
        receiver.context.close()

    # The loop is closed: the navigator sees both outcomes on the case.
    page.reload()
    expect(page.get_by_text("Closed with an outcome: Got help")).to_have_count(2)

    # The provincial member sees the plan from their workspace.
    province = browser.new_context(locale="en-CA").new_page()
    sign_in(province, base, world["province"], second_factor=True)
    home(province, base, "My cases")
    province.get_by_role("link", name=case.reference).click()
    rent_bank = province.get_by_role("cell", name=plan[0][4], exact=True)
    expect(rent_bank).to_be_visible()
    checked(province, axe)

    # The person sees their plan and withdraws consent for ServiceOntario.
    person = browser.new_context(locale="en-CA").new_page()
    sign_in(person, base, world["person"])
    home(person, base, "My services")
    person.get_by_role("link", name="My care plan, team and referrals").click()
    expect(person.get_by_text("Rent arrears cleared by spring")).to_be_visible()
    checked(person, axe, screenshot, "care-my-plan")
    person.get_by_role("button", name="Withdraw my consent for ServiceOntario").click()
    expect(person.get_by_text("Your consent is withdrawn")).to_be_visible()
    checked(person, axe)

    # ServiceOntario's member follows the same link again: refused, nothing of the plan.
    home(province, base, "My cases")
    # The list shown first: otherwise the wait below may start while "My cases" still loads.
    expect(province.get_by_role("link", name=case.reference)).to_be_visible()
    with province.expect_navigation() as refused:
        province.get_by_role("link", name=case.reference).click()
    assert refused.value.status == 403
    expect(province.get_by_role("cell", name=plan[0][4], exact=True)).to_have_count(0)
    expect(province.get_by_text("Income assistance in place")).to_have_count(0)
    checked(province, axe)
