"""The newborn bundle in a real browser, end to end.

A demo parent registers her newborn in one visit: at least five services, at least three
agencies, two jurisdictions. A registrar completes the birth registration; the benefit the
parent had left out is offered to her; she accepts it in one step; the statuses follow. Every
page is checked with axe-core, and a screenshot of each step is kept in test-artifacts/.
"""

from __future__ import annotations

import datetime
import re

import pytest
from playwright.sync_api import Browser, Page, expect

from joinedup.delivery import versions
from joinedup.demo import loading
from joinedup.federation.loader import load_federation

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CANADA = loading.federation_folder("canada")


@pytest.fixture
def demo(transactional_db, settings, tmp_path) -> str:
    """The Canadian demo federation, its service versions, the demo bundles and the demo
    identities (committed, so the live server sees them); returns the demo password."""
    from joinedup.demo.identities import create_demo_identities

    settings.DATA_DIR = tmp_path
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    load_federation([CANADA])
    versions.load_paths([loading.SERVICE_VERSIONS])
    loading.load_demo_bundles()
    return create_demo_identities()[0].password


def totp_now(username: str) -> str:
    from django_otp.oath import totp
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.get(user__username=username, confirmed=True)
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):06d}"


def sign_in(page: Page, base: str, username: str, password: str) -> None:
    page.get_by_label("Email address").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def choose(page: Page, input_id: str) -> None:
    """Tick a design-system radio or checkbox the way a person does: by its label."""
    page.locator(f'label[for="{input_id}"]').click()


def test_a_parent_registers_her_newborn_and_accepts_the_offer_that_follows(
    page: Page, browser: Browser, live_server, demo, axe, screenshot
):
    from joinedup.sharing import dispatch

    base = live_server.url
    born = datetime.date.today() - datetime.timedelta(days=4)

    # 1. From the home page to the newborn bundle; sign in to start.
    page.goto(base + "/en/")
    page.get_by_role("link", name="Life events").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Life events")
    screenshot(page, "bundle-00-life-events")
    axe(page)
    page.get_by_role("link", name=re.compile("Register your newborn")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Register your newborn")
    screenshot(page, "bundle-01-start")
    axe(page)
    page.get_by_role("link", name="Sign in to start").click()
    sign_in(page, base, "amara@example.org", demo)
    expect(page.get_by_role("heading", level=1)).to_have_text("Register your newborn")
    page.get_by_role("button", name="Start now").click()

    # 2. A few screening questions.
    expect(page.get_by_role("heading", level=1)).to_have_text("A few questions")
    screenshot(page, "bundle-02-questions")
    axe(page)
    choose(page, "f-birth-province-1")  # Ontario
    choose(page, "f-lives-with-child-1")  # Yes
    choose(page, "f-wants-certificate-1")  # Yes
    page.get_by_role("button", name="Continue").click()

    # 3. The parent's own list of services.
    expect(page.get_by_role("heading", level=1)).to_have_text("What you will apply for")
    expect(page.get_by_text("6 services apply to you, delivered by 3 agencies")).to_be_visible()
    screenshot(page, "bundle-03-services")
    axe(page)
    page.get_by_role("link", name="Continue").click()

    # 4. One unified form, prefilled from her verified identity.
    page.get_by_label("Baby's given names").fill("Noor")
    page.get_by_label("Baby's family name").fill("Okafor")
    page.locator("#f-birth-date-day").fill(str(born.day))
    page.locator("#f-birth-date-month").fill(str(born.month))
    page.locator("#f-birth-date-year").fill(str(born.year))
    choose(page, "f-sex-1")
    page.get_by_label("Hospital or place of birth").fill("Toronto General Hospital")
    page.get_by_label("City or town of birth").fill("Toronto")
    screenshot(page, "bundle-04-form-child")
    axe(page)
    page.get_by_role("button", name="Save and continue").click()
    expect(page.get_by_label("Your given names")).to_have_value("Amara")  # asked nothing twice
    page.get_by_label("Other parent's given names").fill("David")
    page.get_by_label("Other parent's family name").fill("Okafor")
    screenshot(page, "bundle-05-form-parents")
    axe(page)
    page.get_by_role("button", name="Save and continue").click()
    # The address and e-mail are known: that page is not asked; the certificate's is.
    choose(page, "f-certificate-reason-1")
    page.get_by_role("button", name="Save and continue").click()
    page.get_by_label("Your marital status").select_option("single")
    page.get_by_label("Family net income last year (dollars)").fill("85000")
    page.get_by_role("button", name="Save and continue").click()

    # 5. The preview per agency, with a consent per leg; she leaves the federal benefit out.
    expect(page.get_by_role("heading", level=1)).to_have_text("Check what goes where")
    expect(
        page.get_by_text("Your answers go to 6 services, at 3 agencies in 2 jurisdictions")
    ).to_be_visible()
    expect(page.get_by_text("40 Bay St").first).to_be_visible()
    screenshot(page, "bundle-06-preview")
    axe(page)
    page.locator('button[name="drop"][value="child-benefit"]').click()
    expect(
        page.get_by_text("Your answers go to 5 services, at 3 agencies in 2 jurisdictions")
    ).to_be_visible()
    for box in page.locator("input[name=consent]").all():
        choose(page, box.get_attribute("id"))
    screenshot(page, "bundle-07-preview-consented")
    page.get_by_role("button", name="Send to these agencies").click()

    # 6. The status page: each leg, its agency and due date, and the bundle's own.
    expect(page.get_by_role("heading", level=1)).to_have_text("Register your newborn")
    rows = page.locator("#legs tbody tr")
    expect(rows).to_have_count(5)
    expect(page.get_by_text("3 agencies, 2 jurisdictions")).to_be_visible()
    for agency in (
        "ServiceOntario",
        "Employment and Social Development Canada",
        "Canada Revenue Agency",
    ):
        expect(page.locator("#legs").get_by_text(agency).first).to_be_visible()
    expect(page.locator("#legs")).to_contain_text("Due")
    # Accepted: the legs are on their way; the task workers make their applications, and
    # the page follows by itself (it refreshes while a leg is on its way).
    expect(page.locator("#legs")).to_contain_text("Being sent to the agency.")
    screenshot(page, "bundle-08-status")
    axe(page)
    dispatch.dispatch_pending()
    expect(page.locator("#legs")).not_to_contain_text("Being sent to the agency.", timeout=15000)
    expect(page.locator("#legs")).to_contain_text("Waiting for you")  # the certificate's fee
    status_url = page.url

    # 7. A registrar of ServiceOntario completes the birth registration.
    staff_context = browser.new_context(locale="en-CA", viewport={"width": 1280, "height": 900})
    registrar = staff_context.new_page()
    registrar.goto(base + "/en/staff/queue/")
    sign_in(registrar, base, "serviceontario.caseworker@example.org", demo)
    registrar.get_by_label("Six-digit code").fill(totp_now("serviceontario.caseworker@example.org"))
    registrar.get_by_role("button").filter(
        has_text=re.compile("Confirm|Continue|Sign in")
    ).first.click()
    registrar.goto(base + "/en/staff/queue/")
    registrar.get_by_role(
        "link", name=re.compile("Review the statement of live birth")
    ).first.click()
    choose(registrar, "decision-approve")
    registrar.get_by_label("Reasons (the applicant will read them)").fill(
        "Statement of live birth matches the hospital's notice."
    )
    screenshot(registrar, "bundle-09-registrar")
    axe(registrar)
    registrar.get_by_role("button", name="Record the decision").click()
    expect(registrar.get_by_text("The decision is recorded.")).to_be_visible()
    staff_context.close()
    dispatch.dispatch_pending()  # the outbox delivers the registration to its subscribers

    # 8. The child-benefit offer appears in My services; she accepts it in one step.
    page.goto(base + "/en/my/")
    expect(page.get_by_role("heading", name="Canada Child Benefit")).to_be_visible()
    screenshot(page, "bundle-10-offer-in-my-services")
    axe(page)
    page.get_by_role("link", name=re.compile("See the offer")).click()
    expect(page.get_by_text("What Canada Revenue Agency receives")).to_be_visible()
    screenshot(page, "bundle-11-offer")
    axe(page)
    choose(page, "consent")
    page.get_by_role("button", name="Accept and send").click()
    expect(page.get_by_text("Sent to Canada Revenue Agency")).to_be_visible()
    expect(page.get_by_role("heading", name="Canada Child Benefit")).to_have_count(0)
    screenshot(page, "bundle-12-accepted")
    axe(page)

    # 9. The statuses moved: the registration is approved; the benefit is received.
    page.goto(status_url)
    expect(page.locator("#legs")).to_contain_text("Approved")
    screenshot(page, "bundle-13-status-after")
    page.goto(base + "/en/my/")
    expect(page.locator("#applications").locator("..")).to_contain_text("Canada Child Benefit")

    # 10. She now acts for her newborn under the mandate the registration created.
    from joinedup.bundles.models import RegisteredBirth

    child = RegisteredBirth.objects.get().child
    page.get_by_label("Act for").select_option(value=str(child.pk))
    page.get_by_role("button", name="Switch").click()
    expect(page.get_by_text("You are acting for Noor Okafor.").first).to_be_visible()
    screenshot(page, "bundle-14-acting-for-the-child")
    axe(page)


def test_the_portal_in_french_on_a_phone_without_javascript(
    browser: Browser, live_server, demo, axe, screenshot
):
    context = browser.new_context(
        locale="fr-CA", viewport={"width": 390, "height": 844}, java_script_enabled=False
    )
    page = context.new_page()
    page.goto(live_server.url + "/fr/life-events/")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.get_by_role("heading", level=1)).to_have_text("Événements de la vie")
    page.get_by_role("link", name=re.compile("Enregistrer votre nouveau-né")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Enregistrer votre nouveau-né")
    screenshot(page, "bundle-fr-phone-start")
    context.close()
    # axe needs scripts: checked with JavaScript on, same page, same size.
    checked = browser.new_context(locale="fr-CA", viewport={"width": 390, "height": 844})
    tab = checked.new_page()
    tab.goto(live_server.url + "/fr/life-events/newborn/")
    axe(tab)
    checked.close()
