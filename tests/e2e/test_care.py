"""Human services in a real browser: a navigator opens a case with the person's consent,
builds a plan with actions for organisations of two levels of government, adds a provincial
colleague to the team and refers to a community food bank; the food bank accepts and closes
with an outcome; the person sees the plan in My services and withdraws consent for the
province, whose member then sees nothing more. Axe-core on every page; screenshots kept.
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


def test_a_plan_across_agencies_with_a_closed_loop_referral_and_consent_withdrawn(
    page: Page, live_server, world, axe, screenshot, browser
):
    base = live_server.url
    page.goto(f"{base}/en/find-help/?need=food")
    expect(page.get_by_role("heading", name="Community food bank")).to_be_visible()
    axe(settled(page))
    screenshot(page, "care-find-help")

    sign_in(page, base, world["navigator"], second_factor=True)
    page.goto(f"{base}/en/staff/care/")
    axe(settled(page))
    page.get_by_role("link", name="Open a case").click()
    page.get_by_label("Given names").fill("Jordan")
    page.get_by_label("Family name").fill("Mbeki")
    page.get_by_label("Birth date").fill("1988-06-01")
    choose(page, "The person's consent")
    for label in ("care plan: housing", "care plan: income and food"):
        page.locator("label.usa-checkbox__label", has_text=label).click()
    axe(settled(page))
    page.get_by_role("button", name="Open the case").click()
    expect(page.get_by_text("The case is open")).to_be_visible()
    case = IntegratedCase.objects.get()

    page.get_by_role("link", name="Add a member to the team").click()
    page.get_by_label("Professional").select_option(
        label="province@example.org — ServiceOntario (Caseworker)"
    )
    page.locator("label.usa-checkbox__label[for=mcat-housing]").click()
    page.locator("label.usa-checkbox__label[for=mcat-income]").click()
    axe(settled(page))
    page.get_by_role("button", name="Add to the team").click()
    expect(page.get_by_text("The member is added")).to_be_visible()

    page.get_by_role("link", name="Add a need to the plan").click()
    page.get_by_label("About", exact=True).select_option(label="Housing")
    page.locator("#need-description").fill("Keep the apartment")
    page.get_by_role("button", name="Add the need").click()
    page.get_by_role("link", name="Add a goal for the need: Keep the apartment").click()
    page.locator("#goal-description").fill("Rent arrears cleared by spring")
    page.get_by_role("button", name="Add the goal").click()
    for description, agency in [
        ("Apply to the provincial rent bank", "ServiceOntario"),
        ("Refer to the city's eviction prevention", "City of Toronto"),
        ("Weekly groceries while arrears are paid", "Helping Hands"),
    ]:
        page.get_by_role(
            "link", name="Add an action for the goal: Rent arrears cleared by spring"
        ).click()
        page.locator("#action-description").fill(description)
        page.locator("#action-agency").select_option(label=agency)
        page.locator("#action-due").fill("2027-02-01")
        page.get_by_role("button", name="Add the action").click()
        expect(page.get_by_text("The action is added to the plan.")).to_be_visible()

    page.get_by_role("link", name="Refer to a service").click()
    page.locator("#ref-service").select_option(label="Community food bank — Helping Hands")
    page.locator("#ref-reason").fill("Groceries this week while arrears are paid.")
    page.locator("#ref-urgency").select_option(label="Within a few days")
    page.locator("label.usa-checkbox__label[for=rcat-income]").click()
    axe(settled(page))
    page.get_by_role("button", name="Send the referral").click()
    expect(page.get_by_text("The referral is sent.")).to_be_visible()
    # The case page: the message shows before its deferred scripts (plotly, then the
    # tables' wrapping) have run; axe waits for them.
    axe(settled(page))
    screenshot(page, "care-case-page")
    referral = Referral.objects.get()
    # The referral is an application of the food bank's referral service, in its engine queue.
    assert referral.application.channel == "referral"
    assert referral.application.work_items.filter(status="open", kind="referral").count() == 1

    food = browser.new_context(locale="en-CA").new_page()
    sign_in(food, base, world["food"], second_factor=True)
    food.goto(f"{base}/en/staff/care/")
    food.get_by_role("link", name="Community food bank").click()
    # The click navigates: wait for the referral page itself, not the workspace leaving.
    expect(food.get_by_role("button", name="Record this step")).to_be_visible()
    axe(settled(food))
    food.locator("label.usa-radio__label", has_text="Accepted").click()
    food.get_by_role("button", name="Record this step").click()
    food.locator("label.usa-radio__label", has_text="Closed with an outcome").click()
    food.locator("#outcome").select_option(label="Got help")
    food.get_by_role("button", name="Record this step").click()
    expect(food.get_by_text("Closed with an outcome").first).to_be_visible()
    screenshot(food, "care-referral-closed")
    referral.refresh_from_db()
    assert (referral.status, referral.outcome) == ("closed", "got_help")
    referral.application.refresh_from_db()
    assert referral.application.status == "approved"  # the engine's process ended

    province = browser.new_context(locale="en-CA").new_page()
    sign_in(province, base, world["province"], second_factor=True)
    province.goto(f"{base}/en/staff/care/cases/{case.reference}/")
    expect(
        province.get_by_role("cell", name="Apply to the provincial rent bank", exact=True)
    ).to_be_visible()

    person = browser.new_context(locale="en-CA").new_page()
    sign_in(person, base, world["person"])
    person.goto(f"{base}/en/my/")
    person.get_by_role("link", name="My care plan, team and referrals").click()
    expect(person.get_by_text("Rent arrears cleared by spring")).to_be_visible()
    axe(settled(person))
    screenshot(person, "care-my-plan")
    person.get_by_role("button", name="Withdraw my consent for ServiceOntario").click()
    expect(person.get_by_text("Your consent is withdrawn")).to_be_visible()

    answer = province.goto(f"{base}/en/staff/care/cases/{case.reference}/")
    assert answer.status == 403
    expect(
        province.get_by_role("cell", name="Apply to the provincial rent bank", exact=True)
    ).to_have_count(0)
