"""The identity pages in a real browser: no WCAG 2.1 A/AA violation axe-core can find, and
a person who signs in, sees their account, and is told how to step up."""

import pytest
from playwright.sync_api import Page, expect

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery staple"

PAGES = {
    "sign-in": "/en/account/sign-in/",
    "sign-up": "/en/account/sign-up/",
    "password-reset": "/en/account/password-reset/",
    "step-up-fr": "/fr/account/step-up/?service=ca.birth-registration",
}


@pytest.mark.parametrize("name", PAGES)
def test_identity_page_has_no_accessibility_violations(
    name, page: Page, live_server, federation, axe, screenshot
):
    response = page.goto(live_server.url + PAGES[name])
    assert response is not None and response.ok
    screenshot(page, f"identity-{name}")
    axe(page)


def test_bad_sign_up_input_is_explained_without_javascript(
    page_without_js: Page, live_server, federation
):
    page = page_without_js
    page.goto(live_server.url + PAGES["sign-up"])
    page.get_by_label("Email address").fill("lina@example.org")
    page.get_by_label("Given names").fill("Lina")
    page.get_by_label("Family name").fill("Haddad")
    page.get_by_label("Date of birth").fill("2999-01-01")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password again").fill(PASSWORD)
    page.get_by_role("button", name="Create the account").click()
    expect(page.get_by_text("A birth date cannot be in the future.")).to_be_visible()
    expect(page.get_by_label("Given names")).to_have_value("Lina")  # nothing typed is lost


def test_a_person_signs_in_and_is_told_how_to_step_up(
    page: Page, live_server, federation, axe, screenshot
):
    from joinedup.identity import assurance
    from joinedup.identity.client_registry import register_person
    from joinedup.identity.models import User

    person = register_person(given_names="Amara", family_name="Okafor")
    assurance.record_proofing(person, level=1, method="self_asserted")
    User.objects.create_user(
        username="amara@example.org", email="amara@example.org", password=PASSWORD, person=person
    )
    page.goto(live_server.url + "/en/account/services/ca.birth-registration/start/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    page.get_by_label("Email address").fill("amara@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Verify your identity")
    expect(page.get_by_text("Service Canada Centre Toronto")).to_be_visible()
    screenshot(page, "identity-step-up")
    axe(page)
    page.goto(live_server.url + "/en/account/")
    expect(page.get_by_text("Level 1", exact=True)).to_be_visible()
    axe(page)


def test_staff_set_up_their_second_factor(page: Page, live_server, federation, axe, screenshot):
    from joinedup.federation.models import Agency
    from joinedup.identity.models import StaffMembership, User

    user = User.objects.create_user(
        username="sam@example.org", email="sam@example.org", password=PASSWORD
    )
    StaffMembership.objects.create(
        user=user, agency=Agency.objects.get(key="esdc"), role="front_line"
    )
    page.goto(live_server.url + "/en/account/sign-in/")
    page.get_by_label("Email address").fill("sam@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Set up your second factor")
    expect(page.locator(".jp-qr svg")).to_be_visible()
    screenshot(page, "identity-two-factor-setup")
    axe(page)
