"""Engagement in a real browser: a Toronto resident takes part in a consultation, the owner
adopts the proposal and links the change; a person complains and follows the complaint.
axe-core on every page, screenshots kept."""

from __future__ import annotations

import datetime

import pytest
from playwright.sync_api import Page, expect

from joinedup.engagement.models import Consultation, Phase, Proposal
from joinedup.federation.models import Agency, Jurisdiction, Service
from joinedup.identity.models import StaffMembership, User
from tests.e2e.test_delivery import applicant, sign_in  # noqa: F401

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def consultation(federation) -> Consultation:
    made = Consultation.objects.create(
        key="birth-online",
        titles={"en": "Registering a birth online", "fr": "Enregistrer une naissance en ligne"},
        questions={"en": "What would make it easier?", "fr": "Qu'est-ce qui aiderait?"},
        owner=Agency.objects.get(key="serviceontario"),
        service=Service.objects.get(key="ca.birth-registration"),
        place=Jurisdiction.objects.get(code="CA-ON-TOR"),
        audiences=["residents"],
    )
    today = datetime.date.today()
    Phase.objects.create(
        consultation=made,
        kind="proposals",
        starts_on=today - datetime.timedelta(days=3),
        ends_on=today + datetime.timedelta(days=3),
    )
    return made


def test_a_resident_proposes_and_the_owner_adopts(
    page: Page,
    live_server,
    consultation,
    applicant,  # noqa: F811
    axe,
    screenshot,
):
    sign_in(page, live_server.url, applicant)
    page.goto(live_server.url + "/en/consultations/")
    axe(page)
    page.get_by_role("link", name="Registering a birth online").click()
    page.get_by_label("Title").fill("Save my answers")
    page.get_by_label("Your proposal").fill("Let me stop and come back later.")
    screenshot(page, "engagement-consultation")
    axe(page)
    page.get_by_role("button", name="Send the proposal").click()
    expect(page.get_by_role("heading", name="Save my answers")).to_be_visible()
    axe(page)
    page.get_by_role("button", name="Support this proposal").click()
    expect(page.get_by_text("1 person supports it.")).to_be_visible()

    owner = User.objects.create_user("sup@so.example", "sup@so.example", "x" * 20)
    StaffMembership.objects.create(
        user=owner, agency=Agency.objects.get(key="serviceontario"), role="supervisor"
    )
    page.context.clear_cookies()
    sign_in(page, live_server.url, owner, second_factor=True)
    proposal = Proposal.objects.get()
    page.goto(live_server.url + f"/en/consultations/{consultation.key}/proposals/{proposal.pk}/")
    page.get_by_label("Decision").select_option("adopted")
    page.get_by_label("Reasons").fill("Many parents asked for it.")
    page.get_by_role("button", name="Publish the decision").click()
    expect(page.get_by_text("Many parents asked for it.")).to_be_visible()
    page.get_by_label("Kind of change").select_option("pilot")
    page.get_by_label("What changed (English)").fill("Answers are saved as you go.")
    page.get_by_role("button", name="Link the change").click()
    expect(page.get_by_text("Answers are saved as you go.")).to_be_visible()
    screenshot(page, "engagement-decision")
    axe(page)
    page.goto(live_server.url + f"/en/consultations/{consultation.key}/results/")
    expect(page.locator("[data-chart] svg.main-svg").first).to_be_visible()
    axe(page)
    page.goto(live_server.url + f"/en/consultations/{consultation.key}/moderation/")
    axe(page)


def test_a_person_complains_and_follows_it(
    page: Page,
    live_server,
    federation,
    applicant,  # noqa: F811
    axe,
    screenshot,
):
    sign_in(page, live_server.url, applicant)
    page.goto(live_server.url + "/en/complaints/new/?service=ca.parking-permit")
    axe(page)
    page.get_by_label("What happened?").fill("The permit page kept failing.")
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_text("City of Toronto")).to_be_visible()
    expect(page.get_by_text("Being looked at")).to_be_visible()
    screenshot(page, "engagement-complaint")
    axe(page)
    page.goto(live_server.url + "/fr/complaints/")
    expect(page.get_by_role("heading", name="Mes plaintes")).to_be_visible()
    axe(page)
