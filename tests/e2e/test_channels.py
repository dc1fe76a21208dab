"""The counter and the phone centre in a real browser.

A counter visit: a Service Canada clerk finds David by his social insurance number, sees his
passport and driver's licence (his identity rises to level 3 for every agency), takes him
through the newborn life event's guided pages (the portal's journey, consents read out to
him and ticked as given in person) and submits it for him — legs of ServiceOntario and CRA
under the Ontario newborn joint-delivery agreement —, takes the certificate's fee at the
terminal and, once the registrar has decided, prints the birth certificate.

A phone call: the clerk verifies Amara by her date of birth, her postal code and a one-time
code sent to her verified e-mail address, looks up her applications and warm-transfers her
to ServiceOntario, whose agent takes the call with the context attached.
"""

from __future__ import annotations

import datetime
import re

import pytest
from django.core import mail
from playwright.sync_api import Browser, Page, expect

from joinedup.delivery import versions
from joinedup.demo import loading
from joinedup.federation.loader import load_federation

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CANADA = loading.federation_folder("canada")
CLERK = "esdc.front-line@example.org"


@pytest.fixture
def demo(transactional_db, settings, tmp_path) -> str:
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


def sign_in_staff(page: Page, url: str, username: str, password: str) -> None:
    page.goto(url)
    page.get_by_label("Email address").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_label("Six-digit code").fill(totp_now(username))
    page.get_by_role("button").filter(has_text=re.compile("Confirm")).first.click()
    page.goto(url)


def person_of(key: str):
    from joinedup.identity.models import User

    return User.objects.get(username=f"{key}@example.org").person


def sin_of(key: str) -> str:
    return person_of(key).identifiers.get(kind="ca-sin").value


def choose(page: Page, input_id: str) -> None:
    """Tick a design-system radio or checkbox the way a person does: by its label."""
    page.locator(f'label[for="{input_id}"]').click()


def fill_newborn_form(page: Page, axe) -> None:
    """Answer the unified form's pages with the person (what is prefilled stays), up to
    the preview."""
    born = datetime.date.today() - datetime.timedelta(days=3)
    texts = {
        "Baby's given names": "Noor",
        "Baby's family name": "Okafor",
        "Hospital or place of birth": "Toronto General Hospital",
        "City or town of birth": "Toronto",
        "Other parent's given names": "Amara",
        "Other parent's family name": "Okafor",
        "Family net income last year (dollars)": "85000",
    }
    parts = {"#f-birth-date-day": born.day, "#f-birth-date-month": born.month}
    parts["#f-birth-date-year"] = born.year
    # The form's first page has loaded (the click that led here may still be navigating).
    expect(page.get_by_role("button", name="Save and continue")).to_be_visible()
    for _page in range(8):
        if page.get_by_role("button", name="Save and continue").count() == 0:
            return
        axe(page)
        for label, value in texts.items():
            field = page.get_by_label(label, exact=True)
            if field.count() and not field.input_value():
                field.fill(value)
        for selector, value in parts.items():
            if page.locator(selector).count():
                page.locator(selector).fill(str(value))
        for radio in ("f-sex-1", "f-certificate-reason-1"):
            if page.locator(f"#{radio}").count():
                choose(page, radio)
        status = page.get_by_label("Your marital status")
        if status.count():
            status.select_option("single")
        with page.expect_navigation():
            page.get_by_role("button", name="Save and continue").click()
    raise AssertionError("the unified form never reached the preview")


def test_a_counter_visit(page: Page, live_server, demo, axe, screenshot):
    from joinedup.delivery import queues
    from joinedup.delivery.models import Application
    from joinedup.federation.models import Agency
    from joinedup.identity import acting
    from joinedup.identity.models import User
    from joinedup.sharing import dispatch

    base = live_server.url
    sign_in_staff(page, base + "/en/counter/", CLERK, demo)
    expect(page.get_by_role("heading", level=1)).to_have_text("Counter")
    axe(page)
    page.get_by_label("Kind of identifier").select_option("ca-sin")
    page.get_by_label("Number").fill(sin_of("david"))
    page.get_by_role("button", name="Find and start a visit").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Visit: David Okafor")
    expect(page.get_by_test_id("level")).to_have_text("2")
    screenshot(page, "counter-01-visit")
    axe(page)

    # Documents seen: his identity is verified in person, for every agency.
    page.locator("label", has_text="Passport").click()
    page.locator("label", has_text="Driver's licence").click()
    page.get_by_role("button", name="Record the documents seen").click()
    expect(page.get_by_text("The identity is verified in person (level 3).")).to_be_visible()
    expect(page.get_by_test_id("level")).to_have_text("3")

    # The newborn life event, for him, at the counter: the portal's guided journey.
    page.get_by_role("link", name="A life event (several services at once)").click()
    axe(page)
    page.get_by_label("Life event", exact=True).select_option("newborn")
    page.get_by_role("button", name="Start").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("First questions")
    axe(page)
    choose(page, "f-birth-province-1")  # Ontario
    choose(page, "f-lives-with-child-1")  # Yes
    choose(page, "f-wants-certificate-1")  # Yes
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Services for the person")
    axe(page)
    page.get_by_role("link", name="Continue").click()
    fill_newborn_form(page, axe)
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Check with the person what goes where"
    )
    screenshot(page, "counter-02-preview")
    axe(page)
    # Each consent read out to him and ticked as he agrees.
    for box in page.locator("input[name=consent]").all():
        choose(page, box.get_attribute("id"))
    page.get_by_role("button", name="Submit for the person").click()
    expect(page.get_by_text("The life event is submitted")).to_be_visible()
    screenshot(page, "counter-02-submitted")
    axe(page)

    # Accepted: the task workers make each leg's application (here, the dispatcher at once).
    dispatch.dispatch_pending()
    # No reload: the visit page refreshes itself while the legs are on their way, and shows
    # each leg's application, the certificate's fee with it.
    expect(page.get_by_role("button", name=re.compile("Take the fee"))).to_be_visible(
        timeout=15_000
    )

    # The certificate's fee, at the terminal.
    certificate = Application.objects.get(
        applicant=person_of("david"), service__key="ca.birth-certificate"
    )
    assert certificate.channel == "counter"
    page.get_by_label("Card number (terminal)").fill("4242 4242 4242 4242")
    page.get_by_role("button", name=re.compile("Take the fee")).click()
    expect(page.get_by_text(re.compile("The fee of .* is paid"))).to_be_visible()

    # ServiceOntario's back office decides the registration and checks the certificate.
    dispatch.dispatch_pending()
    serviceontario = Agency.objects.get(key="serviceontario")
    for username in (
        "serviceontario.caseworker@example.org",
        "serviceontario.front-line@example.org",
    ):
        staff = acting.for_user(User.objects.get(username=username), second_factor=True)
        for item in queues.queue(staff, serviceontario).filter(
            application__applicant=person_of("david")
        ):
            queues.complete(staff, item, "approve", "Matches the register.")
        dispatch.dispatch_pending()

    page.reload()
    link = page.get_by_role("link", name=re.compile("Print Birth certificate"))
    expect(link).to_be_visible()
    screenshot(page, "counter-03-certificate")
    axe(page)
    response = page.request.get(base + link.get_attribute("href"))
    assert response.status == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.body()[:5] == b"%PDF-"

    page.get_by_label("Outcome").select_option("submitted")
    page.get_by_role("button", name="End the visit").click()
    expect(page.get_by_text("The contact is recorded.")).to_be_visible()


def test_a_phone_call_verified_and_warm_transferred(
    page: Page, browser: Browser, live_server, demo, axe, screenshot
):
    base = live_server.url
    sign_in_staff(page, base + "/en/phone/", CLERK, demo)
    expect(page.get_by_role("heading", level=1)).to_have_text("Phone centre")
    axe(page)
    page.get_by_label("Kind of identifier").select_option("ca-sin")
    page.get_by_label("Number").fill(sin_of("amara"))
    page.get_by_role("button", name="Find and start the call").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Call: Amara Okafor")
    axe(page)

    # A wrong code is refused with a 400, and nothing is told. (Posted beside the page, with
    # its session: the page fixture counts any 4xx the page loads as a browser error.)
    page.get_by_role("button", name="Send the code").click()
    form = page.locator('form[action$="/verify/"]')
    answer = page.request.post(
        base + form.get_attribute("action"),
        form={
            "csrfmiddlewaretoken": form.locator("[name=csrfmiddlewaretoken]").input_value(),
            "birth_date": "1988-03-14",
            "postal_code": "M5J 2X2",
            "code": "000000",
        },
        headers={"Referer": page.url},
    )
    assert answer.status == 400
    assert "Attempts left: 2" in answer.text()
    assert "Applications with every agency" not in answer.text()
    page.reload()
    expect(page.get_by_text("Attempts left: 2", exact=True)).to_be_visible()

    page.get_by_role("button", name="Send the code").click()
    code = re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)
    page.get_by_label("Date of birth (YYYY-MM-DD)").fill("1988-03-14")
    page.get_by_label("Postal code of their address").fill("m5j 2x2")
    page.get_by_label("One-time code the caller reads out").fill(code)
    page.get_by_role("button", name="Verify", exact=True).click()
    expect(page.get_by_text("The caller is verified.")).to_be_visible()
    expect(page.get_by_role("heading", name="Applications with every agency")).to_be_visible()
    screenshot(page, "phone-01-verified")
    axe(page)

    page.get_by_label("Transfer to").select_option("serviceontario")
    page.get_by_label("What the caller needs").first.fill("Asks how to order a birth certificate.")
    page.get_by_role("button", name="Transfer with the call's context").click()
    expect(
        page.get_by_text(re.compile("The caller is transferred to ServiceOntario"))
    ).to_be_visible()

    # ServiceOntario's agent takes the call: the caller is already verified.
    other = browser.new_context(locale="en-CA", viewport={"width": 1280, "height": 900})
    agent = other.new_page()
    sign_in_staff(agent, base + "/en/phone/", "serviceontario.front-line@example.org", demo)
    row = agent.get_by_role("row").filter(has_text="Asks how to order a birth certificate.")
    expect(row).to_be_visible()
    screenshot(agent, "phone-02-transfer-queue")
    axe(agent)
    row.get_by_role("button", name="Take the call").click()
    expect(agent.get_by_role("heading", level=1)).to_have_text("Call: Amara Okafor")
    expect(agent.get_by_text("Caller verified")).to_be_visible()
    other.close()
