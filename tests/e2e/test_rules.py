"""Browser test of the benefits screener: an anonymous visitor uses it in French, sees the
benefits of every level with amounts, and reaches the right service; axe-core on each page,
screenshots kept."""

import pytest
from playwright.sync_api import Page, expect

from joinedup.federation.models import Jurisdiction, Service

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_an_anonymous_visitor_screens_in_french_and_reaches_the_service(
    page: Page, live_server, federation, axe, screenshot
):
    Service.objects.get_or_create(
        key="ca.child-benefit",
        defaults={
            "names": {"en": "Canada Child Benefit", "fr": "Allocation canadienne pour enfants"},
            "scope": Jurisdiction.objects.get(code="CA"),
            "frame": "transactional",
            "client_type": "person",
        },
    )
    page.goto(live_server.url + "/fr/what-could-i-get/")
    expect(page.get_by_role("heading", level=1)).to_have_text("À quoi ai-je droit ?")
    screenshot(page, "screener-fr")
    axe(page)

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
    screenshot(page, "screener-fr-answer")
    axe(page)

    answer.get_by_role("link", name="Faire la demande : Allocation canadienne pour enfants").click()
    expect(page).to_have_url(f"{live_server.url}/fr/services/ca.child-benefit/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Allocation canadienne pour enfants")
