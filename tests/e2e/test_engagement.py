"""Engagement in a real browser: a Toronto resident takes part in a consultation, the owner
adopts the proposal and links the change; a person complains and follows the complaint.
axe-core on every page, screenshots kept."""

from __future__ import annotations

import datetime

import pytest
from playwright.sync_api import Page, expect

from joinedup.delivery.models import Notification
from joinedup.engagement import decisions
from joinedup.engagement.models import Consultation, Phase, Proposal
from joinedup.federation.models import Agency, Jurisdiction, Service
from joinedup.identity.models import StaffMembership, User
from joinedup.sharing import dispatch
from tests.e2e.test_bundles import demo  # noqa: F401 (the Canadian demo, a fixture)
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


def test_newborn_bundle_consultation_adopted_into_a_new_bundle_version_and_a_counter_complaint(
    page: Page,
    live_server,
    demo,  # noqa: F811 (the fixture imported above)
    axe,
    screenshot,
):
    """A Toronto resident proposes in a consultation on the newborn bundle; the owner adopts
    the proposal and links it to the bundle's new definition (checksums before and after); a
    person complains at the counter about one leg and gets one answer."""
    from joinedup.bundles.loader import checksum
    from joinedup.bundles.models import Bundle
    from joinedup.channels import counter
    from joinedup.delivery.applications import submit_application
    from joinedup.engagement.models import Complaint
    from joinedup.identity import acting
    from tests.delivery.conftest import birth_answers

    newborn = Bundle.objects.get(key="newborn")
    Consultation.objects.create(
        key="newborn-bundle",
        titles={"en": "Registering your newborn", "fr": "Enregistrer votre nouveau-né"},
        questions={"en": "What would make it easier?", "fr": "Qu'est-ce qui aiderait?"},
        owner=Agency.objects.get(key="serviceontario"),
        bundle=newborn,
        place=Jurisdiction.objects.get(code="CA-ON-TOR"),
        audiences=["residents"],
    )
    Phase.objects.create(
        consultation=Consultation.objects.get(key="newborn-bundle"),
        kind="proposals",
        starts_on=datetime.date.today() - datetime.timedelta(days=3),
        ends_on=datetime.date.today() + datetime.timedelta(days=3),
    )
    amara = User.objects.get(username="amara@example.org")

    # 1. The resident takes part.
    sign_in(page, live_server.url, amara)
    page.goto(live_server.url + "/en/consultations/")
    axe(page)
    page.get_by_role("link", name="Registering your newborn").click()
    page.get_by_label("Title").fill("Ask the hospital once")
    page.get_by_label("Your proposal").fill("Let the hospital's notice start every leg.")
    axe(page)
    page.get_by_role("button", name="Send the proposal").click()
    expect(page.get_by_role("heading", name="Ask the hospital once")).to_be_visible()
    screenshot(page, "engagement-newborn-proposal")
    axe(page)

    # 2. The bundle is edited (a new definition), and the owner adopts and links it.
    before = newborn.checksum
    definition = dict(newborn.definition)
    definition["descriptions"] = {
        **(definition.get("descriptions") or {}),
        "en": "Register your newborn: the hospital's notice starts every leg.",
    }
    newborn.definition = definition
    newborn.checksum = checksum(definition)
    newborn.save()
    owner = User.objects.get(username="serviceontario.supervisor@example.org")
    page.context.clear_cookies()
    sign_in(page, live_server.url, owner, second_factor=True)
    page.goto(live_server.url + "/en/consultations/newborn-bundle/")
    axe(page)
    page.get_by_role("link", name="Ask the hospital once").click()
    page.get_by_label("Decision").select_option("adopted")
    page.get_by_label("Reasons").fill("Parents told us the same thing three times.")
    page.get_by_role("button", name="Publish the decision").click()
    page.get_by_label("Kind of change").select_option("bundle_edit")
    page.get_by_label("Bundle (for a bundle change)").fill("newborn")
    page.get_by_label("Checksum of the bundle's definition before the change").fill(before)
    page.get_by_label("What changed (English)").fill("The hospital's notice starts every leg.")
    page.get_by_role("button", name="Link the change").click()
    expect(page.get_by_test_id("bundle-checksums")).to_contain_text(before[:12])
    expect(page.get_by_test_id("bundle-checksums")).to_contain_text(newborn.checksum[:12])
    screenshot(page, "engagement-newborn-bundle-edit")
    axe(page)
    # Later, its measured effect: the platform's figures before and after, with the words.
    page.get_by_label("What the change achieved (English)").fill("Parents tell us once.")
    page.get_by_role("button", name="Record the effect").click()
    effect = page.locator("[data-testid^='effect-']")
    expect(effect).to_contain_text("as recorded")
    expect(effect).to_contain_text("Finished within the service standard")
    axe(page)
    page.goto(live_server.url + "/en/consultations/newborn-bundle/results/")
    expect(page.get_by_role("heading", name="What we heard, what we did")).to_be_visible()
    expect(page.get_by_text("Measured effect: Parents tell us once.")).to_be_visible()
    screenshot(page, "engagement-what-we-did")
    axe(page)
    page.goto(live_server.url + "/en/consultations/newborn-bundle/invitations/")
    axe(page)
    # The resident hears of the decision, the change and its effect once, in one digest.
    assert decisions.send_digests() == 1
    assert decisions.send_digests() == 0
    digest = Notification.objects.get(
        person=amara.person, event="engagement_digest", channel="email"
    )
    assert "Parents told us the same thing three times." in digest.body
    assert "The hospital's notice starts every leg." in digest.body

    # 3. At the counter, a person complains about one leg (birth registration).
    leg, _created = submit_application(
        acting.for_user(amara), "ca.birth-registration", birth_answers()
    )
    clerk = User.objects.get(username="serviceontario.front-line@example.org")
    clerk_context = acting.for_user(clerk, second_factor=True)
    visit = counter.start_visit(clerk_context, amara.person)
    page.context.clear_cookies()
    sign_in(page, live_server.url, clerk, second_factor=True)
    page.goto(live_server.url + f"/en/counter/visits/{visit.pk}/")
    page.get_by_role("link", name=f"Record a complaint or feedback about {leg.reference}").click()
    axe(page)
    page.get_by_label("What happened?").fill("The letter about the registration never came.")
    page.get_by_role("button", name="Send").click()
    screenshot(page, "engagement-counter-complaint")
    axe(page)
    complaint = Complaint.objects.get(application=leg)
    assert complaint.channel == "counter" and complaint.parts.count() == 1
    part = complaint.parts.get().application
    # The agency's staff acknowledge and answer it from their work item pages, where the
    # complaint's decisions are offered in words.
    for task, decision, reasons in (
        ("acknowledge", "Acknowledge the complaint", ""),
        (
            "respond",
            "Uphold the complaint",
            "We are sorry: the letter was sent to an old address. A new one is on its way.",
        ),
    ):
        item = part.work_items.get(task_name=task, status="open")
        worker = User.objects.filter(
            memberships__agency=part.agency, memberships__role=item.role
        ).first()
        page.context.clear_cookies()
        sign_in(page, live_server.url, worker, second_factor=True)
        page.goto(live_server.url + f"/en/staff/work-items/{item.pk}/")
        expect(page.locator("main")).to_contain_text(complaint.reference)
        axe(page)
        # By its label, as a person does (the design system hides the native button).
        page.locator("label.usa-radio__label").get_by_text(decision, exact=True).click()
        expect(page.get_by_label(decision, exact=True)).to_be_checked()
        if reasons:
            page.get_by_label("Reasons (the applicant will read them)").fill(reasons)
            screenshot(page, "engagement-complaint-answer")
        page.get_by_role("button", name="Record the decision").click()
        expect(page.locator("main")).to_contain_text("The decision is recorded.")

    # 4. The person sees one answer, is told of it once, accepts it and rates it.
    dispatch.dispatch_pending()
    told = Notification.objects.filter(person=amara.person, event__startswith="complaint_")
    assert sorted(told.filter(channel="email").values_list("event", flat=True)) == [
        "complaint_answered",
        "complaint_received",
    ]
    assert not Notification.objects.filter(application=part).exists()
    page.context.clear_cookies()
    sign_in(page, live_server.url, amara)
    page.goto(live_server.url + "/en/complaints/")
    axe(page)
    page.get_by_role("link", name=complaint.reference).click()
    expect(page.get_by_role("heading", name="Our answer")).to_have_count(1)
    expect(page.get_by_text("A new one is on its way.")).to_be_visible()
    screenshot(page, "engagement-counter-complaint-answered")
    axe(page)
    page.get_by_role("button", name="I accept this answer").click()
    expect(page.locator(".usa-intro")).to_have_text("Closed")
    page.locator("label.usa-radio__label", has_text="4").click()
    page.get_by_role("button", name="Rate").click()
    expect(page.get_by_label("4", exact=True)).to_be_checked()
    screenshot(page, "engagement-counter-complaint-rated")
    axe(page)
    complaint.refresh_from_db()
    assert complaint.closed_at is not None and complaint.rating == 4
    dispatch.dispatch_pending()
    assert told.filter(event="complaint_closed", channel="email").count() == 1
