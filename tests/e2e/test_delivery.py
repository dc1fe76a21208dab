"""Applying for a service and working the application, in a real browser.

An applicant fills in the birth registration form page by page (with a mistake on the way,
shown in the error summary and at the question), checks the answers and submits; a
caseworker of the delivering agency finds the application in the queue, opens it, claims it
and decides. Every page on the way must have no WCAG 2.1 A/AA violation that axe-core finds;
each is saved as a screenshot in test-artifacts/.

Signing in is done by giving the browser a session made on the server (the sign-in pages
are tested on their own): an applicant verified at level 2, a caseworker who confirmed their
second factor.
"""

from __future__ import annotations

import datetime
import re

import pytest
from django.conf import settings
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Page, expect

from joinedup.delivery import versions
from joinedup.delivery.applications import submit_application
from joinedup.delivery.models import Application
from joinedup.demo import loading
from joinedup.federation.models import Agency
from joinedup.identity import acting, assurance
from joinedup.identity.client_registry import AddressInput, register_person
from joinedup.identity.models import IdentityProofing, StaffMembership, User

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def birth_registration(federation) -> None:
    versions.load_file(loading.SERVICE_VERSIONS / "birth-registration.json")


@pytest.fixture
def applicant(federation) -> User:
    person = register_person(
        given_names="Amara",
        family_name="Okafor",
        birth_date=datetime.date(1990, 1, 2),
        address=AddressInput("100 Queen St W", "Toronto", jurisdiction_code="CA-ON-TOR"),
        contacts=[("email", "amara@example.org")],
    )
    assurance.record_proofing(person, level=2, method=IdentityProofing.Method.DOCUMENT_CHECK)
    return User.objects.create_user(
        "amara@example.org", "amara@example.org", "a long password 123", person=person
    )


@pytest.fixture
def caseworker(federation) -> User:
    user = User.objects.create_user("registrar@example.org", "registrar@example.org", "x" * 20)
    StaffMembership.objects.create(
        user=user, agency=Agency.objects.get(key="serviceontario"), role="caseworker"
    )
    return user


def sign_in(page: Page, base_url: str, user: User, *, second_factor: bool = False) -> None:
    """Put a server-made session for `user` into the browser."""
    client = Client()
    client.force_login(user)
    if second_factor:
        device = TOTPDevice.objects.create(user=user, name="phone")
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": base_url}]
    )


def choose(page: Page, label: str) -> None:
    """Pick a radio button as a person does: by clicking its label (the design system
    draws its own button and hides the native one)."""
    page.locator("label.usa-radio__label", has_text=label).click()
    expect(page.get_by_label(label)).to_be_checked()


def test_an_applicant_fills_in_the_form_with_a_mistake_and_submits(
    page: Page, live_server, birth_registration, applicant, axe, screenshot
):
    sign_in(page, live_server.url, applicant)
    page.goto(live_server.url + "/en/services/ca.birth-registration/apply/")

    # 1. About the child.
    expect(page.get_by_role("heading", level=1)).to_have_text("About the child")
    screenshot(page, "apply-1-child")
    axe(page)
    page.get_by_label("Child's given names").fill("Noor")
    page.get_by_label("Child's family name").fill("Okafor")
    born = datetime.date.today() - datetime.timedelta(days=3)
    page.get_by_label("Day").fill(str(born.day))
    page.get_by_label("Month").fill(str(born.month))
    page.get_by_label("Year").fill(str(born.year))
    choose(page, "Female")
    page.get_by_role("button", name="Save and continue").click()

    # 2. Where the child was born.
    expect(page.get_by_role("heading", level=1)).to_have_text("Where the child was born")
    axe(page)
    choose(page, "Ontario")
    page.get_by_label("Hospital or place of birth").fill("Toronto General Hospital")
    page.get_by_role("button", name="Save and continue").click()

    # 3. The parents: a repeating group, one row added and removed again.
    expect(page.get_by_role("heading", level=1)).to_have_text("The parents")
    page.get_by_label("Parent's given names").fill("Amara")
    page.get_by_label("Parent's family name").fill("Okafor")
    page.get_by_role("button", name="Add another").click()
    expect(page.get_by_label("Parent's given names")).to_have_count(2)
    screenshot(page, "apply-3-parents-two-rows")
    axe(page)
    page.get_by_role("button", name="Remove").nth(1).click()
    expect(page.get_by_label("Parent's given names")).to_have_count(1)
    page.get_by_role("button", name="Save and continue").click()

    # 4. Documents and mail, with a postal code that is not one.
    expect(page.get_by_role("heading", level=1)).to_have_text("Documents and mail")
    page.get_by_label("Street address").fill("100 Queen St W")
    page.get_by_label("City or town").fill("Toronto")
    page.get_by_label("Postal code").fill("12345")
    page.get_by_role("button", name="Check your answers").click()
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("There is a problem")
    expect(summary.get_by_role("link")).to_have_text(["Enter a postal code like K1A 0B1."])
    expect(page).to_have_title("Error: Documents and mail | Joinedup")
    screenshot(page, "apply-4-error")
    axe(page)
    # The summary's link leads to the question, which says what is wrong.
    summary.get_by_role("link").click()
    expect(page.get_by_label("Postal code")).to_have_attribute("aria-invalid", "true")
    page.get_by_label("Postal code").fill("M5H 2N2")
    page.get_by_role("button", name="Check your answers").click()

    # 5. Check your answers, then submit.
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your answers")
    expect(page.get_by_role("row", name="Child's given names")).to_contain_text("Noor")
    screenshot(page, "apply-5-check")
    axe(page)
    page.get_by_role("button", name="Submit the application").click()

    # 6. The status page: received, with its due date.
    application = Application.objects.get()
    expect(page).to_have_url(
        re.compile(re.escape(f"{live_server.url}/en/applications/{application.pk}/") + "(#.*)?$")
    )
    expect(page.get_by_role("heading", level=1)).to_have_text("Register a birth")
    expect(page.locator("main")).to_contain_text(application.reference)
    expect(page.locator("main")).to_contain_text("Being worked on")
    screenshot(page, "apply-6-status")
    axe(page)
    assert application.data["mailing_address"]["postal_code"] == "M5H 2N2"
    assert application.agency.key == "serviceontario"


def test_a_caseworker_works_the_application_from_the_queue(
    page: Page, live_server, birth_registration, applicant, caseworker, axe, screenshot
):
    application, _ = submit_application(
        acting.for_user(applicant),
        "ca.birth-registration",
        {
            "child_given_names": "Noor",
            "child_family_name": "Okafor",
            "birth_date": (datetime.date.today() - datetime.timedelta(days=3)).isoformat(),
            "sex": "female",
            "birth_province": "CA-ON",
            "birth_place": "Toronto General Hospital",
            "parents": [{"given_names": "Amara", "family_name": "Okafor"}],
            "mailing_address": {
                "street_address": "100 Queen St W",
                "locality": "Toronto",
                "postal_code": "M5H 2N2",
            },
        },
        "online",
        "e2e",
    )
    sign_in(page, live_server.url, caseworker, second_factor=True)
    page.goto(live_server.url + "/en/staff/queue/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Work queue — ServiceOntario")
    screenshot(page, "staff-1-queue")
    axe(page)

    page.get_by_role("link", name="Review the statement of live birth").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Review the statement of live birth")
    main = page.locator("main")
    expect(main).to_contain_text(application.reference)
    expect(main).to_contain_text("Amara")  # the applicant, through the data gate
    expect(main).to_contain_text("Toronto General Hospital")  # the answers
    axe(page)
    page.get_by_role("button", name="Claim").click()
    expect(page.get_by_role("button", name="Release")).to_be_visible()

    # Refusing without reasons is refused, with the reason why.
    choose(page, "Refuse")
    page.get_by_role("button", name="Record the decision").click()
    expect(page.get_by_role("alert")).to_contain_text("Give the reasons for this decision.")
    screenshot(page, "staff-2-work-item-error")
    axe(page)

    choose(page, "Approve")
    page.get_by_label("Reasons (the applicant will read them)").fill("All in order.")
    page.get_by_role("button", name="Record the decision").click()
    expect(page).to_have_url(f"{live_server.url}/en/staff/queue/")
    expect(page.locator("main")).to_contain_text("The decision is recorded.")
    expect(page.locator("main")).to_contain_text("Nothing is waiting.")
    screenshot(page, "staff-3-queue-done")
    axe(page)
    application.refresh_from_db()
    assert application.status == "approved"
    assert application.documents.count() == 1
