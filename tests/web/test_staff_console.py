"""Staff reach their work: the console and the header offer exactly the tools their role
allows — every link shown opens, every tool not shown would have refused them."""

import re
from types import SimpleNamespace

import pytest
from django.urls import reverse

from joinedup.identity import console
from tests.identity.conftest import page_text, sign_in

pytestmark = pytest.mark.django_db

#: The views across agencies for the staff who analyse, plan and audit.
CROSS_AGENCY = {
    "performance-integration",
    "funding-places",
    "funding-scenarios",
    "funding-oversight",
    "engagement-measures",
}
EXPECTED = {
    "front_line": {
        "identity-find-person",
        "care-workspace",
        "channels-counter",
        "channels-phone",
        "delivery-queue",
    },
    "caseworker": {
        "identity-find-person",
        "care-workspace",
        "channels-counter",
        "channels-phone",
        "delivery-queue",
    },
    "supervisor": {
        "identity-find-person",
        "care-workspace",
        "channels-counter",
        "channels-phone",
        "delivery-queue",
        "delivery-supervisor",
        "sharing-break-glass",
        "performance-dashboard",
        "rules-what-if",
        *CROSS_AGENCY,
    },
    # An analyst plans and studies: their agency's figures and the cross-agency views.
    "analyst": {"performance-dashboard", "rules-what-if", *CROSS_AGENCY},
    # An auditor reads, across agencies, what the money did and what reviews found; they
    # do not plan services (no integration candidates, no what-if) nor run a dashboard.
    "auditor": CROSS_AGENCY - {"performance-integration"},
}


def _links(html: str, marker: str) -> set[str]:
    """The hrefs inside the element whose class names `marker` (the console's tool list)."""
    start = html.index(marker)
    block = html[start : html.index("</ul>", start)]
    return set(re.findall(r'href="([^"]+)"', block))


@pytest.mark.parametrize("role", sorted(EXPECTED))
def test_the_console_offers_exactly_what_the_role_may_open(
    client, small_federation, make_staff, role
):
    sign_in(client, make_staff(agency="esdc", role=role))
    page = client.get(reverse("identity-staff:home"))
    assert page.status_code == 200
    html = page_text(page)
    shown = _links(html, "jp-console") if "jp-console" in html else set()
    if "identity-find-person" in EXPECTED[role]:
        assert 'action="' + reverse("identity-staff:find-person") + '"' in html
    by_url = {}
    esdc = SimpleNamespace(agency_key="esdc", agency_jurisdiction="CA")
    for entry in console.entries():
        kwargs = entry.url_kwargs(esdc) if entry.url_kwargs else {}
        by_url[reverse(entry.url_name, kwargs=kwargs)] = entry.key
    expected = EXPECTED[role] | {"performance-published"}
    assert {by_url[url] for url in shown} == expected - {"identity-find-person"}
    # Every tool shown opens; every tool not shown would have refused.
    for url, key in by_url.items():
        answer = client.get(url)
        if key in expected:
            assert answer.status_code == 200, (role, key, answer.status_code)
        else:
            assert answer.status_code == 403, (role, key, answer.status_code)


def test_staff_see_the_staff_header_with_sign_out(client, small_federation, make_staff):
    sign_in(client, make_staff(agency="esdc", role="supervisor"))
    html = page_text(client.get(reverse("web:home")))
    header = html[html.index("<header") : html.index("</header>")]
    assert reverse("identity-staff:home") in header
    assert reverse("delivery:supervisor") in header and reverse("delivery:queue") in header
    assert "Life events" not in header  # not the citizen header
    assert reverse("identity:sign-out") in header and "Sign out" in header
    # The header keeps the daily work (six tools at most, so it fits a window); the
    # console it links to lists every tool, the figures and the cross-agency views too.
    nav = header[header.index("jp-staff-nav") :]
    assert len(re.findall(r'class="usa-nav-link', nav[: nav.index("</ul>")])) <= 1 + 6 + 2
    assert reverse("funding:oversight") not in header
    assert reverse("funding:oversight") in page_text(client.get(reverse("identity-staff:home")))


def test_a_citizen_has_account_and_sign_out_in_the_header(client, small_federation, make_account):
    sign_in(client, make_account())
    html = page_text(client.get(reverse("web:home")))
    header = html[html.index("<header") : html.index("</header>")]
    assert reverse("identity:account") in header and reverse("identity:sign-out") in header
    assert reverse("identity-staff:home") not in header
    signed_out = client.post(reverse("identity:sign-out"))
    assert signed_out.status_code == 302
    anonymous = page_text(client.get(reverse("web:home")))
    assert reverse("identity:sign-out") not in anonymous[: anonymous.index("</header>")]


def test_staff_without_their_second_factor_see_no_tools(client, small_federation, make_staff):
    sign_in(client, make_staff(agency="esdc", role="supervisor"), second_factor=False)
    html = page_text(client.get(reverse("web:home")))
    assert reverse("delivery:supervisor") not in html


def test_the_staff_account_page_lists_the_roles(client, small_federation, make_staff):
    sign_in(client, make_staff(agency="esdc", role="supervisor"))
    html = page_text(client.get(reverse("identity:account")))
    roles = html[html.index('data-testid="staff-roles"') :]
    roles = roles[: roles.index("</ul>")]
    assert "Supervisor at " in roles and "(your role now)" in roles
    assert "Level of assurance" not in html  # a staff account without a person record


def test_a_missing_record_is_named_in_words_not_by_its_class(client, small_federation, make_staff):
    sign_in(client, make_staff(agency="esdc", role="supervisor"))
    missing = client.get("/en/staff/work-items/999999/")
    assert missing.status_code == 404
    text = page_text(missing)
    assert "We found no work item at this address." in text
    assert "matches the given query" not in text and "WorkItem" not in text
    french = page_text(client.get("/fr/staff/work-items/999999/"))
    assert "Introuvable à cette adresse : tâche." in french


def test_the_home_page_has_one_card_per_life_situation_with_its_description(client, db):
    from joinedup.demo import loading
    from joinedup.federation.loader import load_federation

    load_federation([loading.federation_folder("canada")])
    load_federation([loading.federation_folder("australia")])
    for language, baby in (("en", "Having a baby"), ("fr", "Avoir un bébé")):
        html = page_text(client.get(f"/{language}/"))
        start = html.index('aria-labelledby="situations-heading"')
        section = html[start : html.index("</section>", start)]
        cards = re.findall(r'<h3 class="usa-card__heading"><a[^>]*>([^<]+)</a>', section)
        assert cards.count(baby) == 1, cards
        assert len(cards) == len(set(cards)) == 12
        assert section.count("usa-card__body") == len(cards)  # each card has its description
