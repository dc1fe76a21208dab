"""Booking an appointment from My services in a real browser.

Amara looks for an office in Toronto, sees the free times of the first day with room and
the places left, books one, finds it in her appointments and cancels it. Every page passes
axe-core; the same pages work on a phone, in French, without JavaScript (where axe-core,
a script, cannot run).
"""

from __future__ import annotations

import datetime
import re
import zoneinfo

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from joinedup.demo import loading
from joinedup.federation.loader import load_federation

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CANADA = loading.federation_folder("canada")
OFFICE = "Service Canada Centre Toronto Downtown"


@pytest.fixture
def demo(transactional_db, settings, tmp_path) -> str:
    """The Canadian federation, the demo identities and two times at an office, with one
    place each (committed, so the live server sees them); returns the demo password."""
    from joinedup.channels import appointments
    from joinedup.demo.identities import create_demo_identities
    from joinedup.federation.models import Office

    settings.DATA_DIR = tmp_path
    settings.MEDIA_ROOT = tmp_path / "media"
    load_federation([CANADA])
    password = create_demo_identities()[0].password
    day = timezone.localdate() + datetime.timedelta(days=2)
    # The office's own hours: times are shown and taken in its time zone.
    starts = [
        datetime.datetime.combine(day, datetime.time(hour, 30), tzinfo=TORONTO) for hour in (9, 10)
    ]
    appointments.open_slots(Office.objects.get(key="sc-toronto-downtown"), starts, capacity=1)
    return password


TORONTO = zoneinfo.ZoneInfo("America/Toronto")


def sign_in(page: Page, url: str, password: str, *, french: bool = False) -> None:
    page.goto(url)
    page.get_by_label("Adresse courriel" if french else "Email address").fill("amara@example.org")
    page.get_by_label("Mot de passe" if french else "Password").fill(password)
    page.get_by_role("button", name="Se connecter" if french else "Sign in").click()
    page.goto(url)


def test_a_person_books_and_cancels_an_appointment(page: Page, live_server, demo, axe, screenshot):
    from joinedup.channels.models import Appointment

    base = live_server.url
    sign_in(page, base + "/en/my/", demo)
    expect(page.get_by_role("heading", level=1)).to_have_text("My services")
    page.get_by_role("link", name="My appointments at an office").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My appointments")
    axe(page)
    page.get_by_role("link", name="Book an appointment").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Book an appointment")
    page.get_by_label("Town, postal code or place code").fill("Toronto")
    page.get_by_role("button", name="Find offices").click()
    screenshot(page, "appointments-01-offices")
    axe(page)
    page.get_by_role("link", name=re.compile(f"See free times.*{OFFICE}")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Free times at {OFFICE}")
    expect(page.get_by_text("15 minutes, 1 place left")).to_have_count(2)
    screenshot(page, "appointments-02-free-times")
    axe(page)
    page.locator("label", has_text="10:30").click()
    page.get_by_role("button", name="Book this time").click()

    expect(page.get_by_text("Your appointment is booked.")).to_be_visible()
    row = page.get_by_test_id("appointment")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(OFFICE)
    booked = Appointment.objects.get(person__family_name="Okafor", status="booked")
    assert booked.slot.starts_at.astimezone(TORONTO).hour == 10
    screenshot(page, "appointments-03-booked")
    axe(page)

    row.get_by_role("button", name=re.compile("Cancel")).click()
    expect(page.get_by_text("Your appointment is cancelled.")).to_be_visible()
    expect(page.get_by_test_id("appointment")).to_have_count(0)
    booked.refresh_from_db()
    assert booked.status == "cancelled"
    axe(page)


def test_booking_on_a_phone_in_french_without_javascript(
    browser: Browser, live_server, demo, screenshot
):
    from joinedup.channels.models import Appointment

    context = browser.new_context(
        locale="fr-CA", viewport={"width": 390, "height": 844}, java_script_enabled=False
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    base = live_server.url
    sign_in(page, base + "/fr/my/appointments/book/", demo, french=True)
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    page.locator("input[name=place]").fill("M4T")
    page.locator("#main-content form[method=get] button[type=submit]").click()
    page.locator("a[href*='/fr/my/appointments/offices/sc-toronto-downtown/']").click()
    page.locator("label[for^=slot-]").first.click()
    page.locator("#main-content form[method=post] button[type=submit]").click()
    expect(page.get_by_test_id("appointment")).to_have_count(1)
    screenshot(page, "appointments-04-phone-fr")
    assert Appointment.objects.filter(status="booked").count() == 1
    context.close()
