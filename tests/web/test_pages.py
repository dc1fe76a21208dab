"""The public catalogue pages, as a visitor gets them, in English and in French."""

import html
import re

import pytest

from joinedup import kept
from joinedup.federation.models import Agreement, Jurisdiction, Service

PAGES = [
    "",
    "services/",
    "services/?q=birth",
    "services/?jurisdiction=CA-ON-TOR&frame=transactional&life_situation=having-a-baby",
    "services/ca.birth-registration/",
    "services/ca.birth-registration/?place=CA-ON-TOR",
    "services/ca.parking-permit/",
    "places/",
    "places/CA/",
    "places/CA-ON/",
    "places/CA-ON-TOR/",
    "life-situations/",
    "life-situations/having-a-baby/",
    "agencies/esdc/",
    "agencies/helping-hands/",
]


def text(response) -> str:
    """The page as a person reads it: tags removed, entities decoded, spaces collapsed."""
    body = response.content.decode()
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", body, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", body))).replace("\xa0", " ")


@pytest.mark.parametrize("language", ["en", "fr"])
@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_in_both_languages(client, small_federation, language, page):
    response = client.get(f"/{language}/{page}")
    assert response.status_code == 200
    body = response.content.decode()
    assert f'<html lang="{language}">' in body
    assert "<title>" in body and " | Joinedup</title>" in body
    assert 'class="usa-skipnav" href="#main-content"' in body
    assert 'id="main-content"' in body


def test_root_redirects_to_the_readers_language(client, db):
    assert client.get("/").headers["Location"] == "/en/"
    french = client.get("/", headers={"accept-language": "fr-CA,fr;q=0.9"})
    assert french.headers["Location"] == "/fr/"


def test_french_pages_are_in_french(client, small_federation):
    home = text(client.get("/fr/"))
    assert "Par lieu" in home and "Par situation de vie" in home
    assert "Avoir un bébé" in home
    assert "Données de démonstration." in home

    service = text(client.get("/fr/services/ca.birth-registration/"))
    assert "Enregistrer une naissance" in service
    assert "Qui offre ce service là où j'habite?" in service
    assert "15 jours ouvrables, cible de 90 %" in service
    assert "Niveau 2 : vérifié à distance" in service
    assert "Rôle de chaque partenaire" in service
    assert "Responsable des politiques" in service
    assert "Directeur de l'état civil" in service
    assert "Register a birth" not in service


def test_english_service_page_shows_the_facts(client, small_federation):
    page = text(client.get("/en/services/ca.birth-registration/"))
    assert "Register a birth" in page
    assert "15 business days, target 90%" in page
    assert "Level 2: verified remotely" in page
    assert "Online, By mail" in page
    # Who delivers it where: Ontario and Quebec, with Quebec's own standard.
    assert "ServiceOntario" in page and "Quebec Registrar of Civil Status" in page
    assert "20 business days" in page
    # Each partner's role and the agreement covering the service.
    assert "Policy maker" in page and "Service provider" in page
    assert "Birth information for social insurance numbers" in page
    assert "In force" in page


def test_fees_are_written_the_local_way(client, small_federation):
    assert "$18.50" in text(client.get("/en/services/ca.parking-permit/"))
    assert "18,50 $" in text(client.get("/fr/services/ca.parking-permit/"))
    assert "Free" in text(client.get("/en/services/ca.birth-registration/"))
    assert "Gratuit" in text(client.get("/fr/services/ca.birth-registration/"))


def test_offices_show_address_and_hours(client, small_federation):
    page = text(client.get("/en/services/ca.social-insurance-number/"))
    assert "Service Canada Centre Toronto" in page
    assert "1 Front St W" in page
    assert "Monday: 08:30–16:00" in page
    french = text(client.get("/fr/agencies/esdc/"))
    assert "Centre Service Canada Toronto" in french
    assert "lundi : 08:30–16:00" in french


def test_language_toggle_switches_to_the_same_page_in_french(client, small_federation):
    page = client.get("/en/services/ca.birth-registration/").content.decode()
    assert 'action="/i18n/setlang/"' in page
    assert 'name="next" value="/en/services/ca.birth-registration/"' in page
    assert 'name="language" value="fr"' in page

    response = client.post(
        "/i18n/setlang/", {"language": "fr", "next": "/en/services/ca.birth-registration/"}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/fr/services/ca.birth-registration/"
    french = client.get(response.headers["Location"])
    assert "Enregistrer une naissance" in text(french)
    assert 'name="language" value="en"' in french.content.decode()
    # The choice is remembered: the bare address now leads to French.
    assert client.get("/").headers["Location"] == "/fr/"


@pytest.mark.parametrize(
    ("place", "agency", "area"),
    [
        ("CA-ON-TOR", "ServiceOntario", "Ontario"),
        ("CA-QC-MTL", "Quebec Registrar of Civil Status", "Quebec"),
        ("ca-qc-mtl", "Quebec Registrar of Civil Status", "Quebec"),
    ],
)
def test_routing_form_shows_the_competent_agency(client, small_federation, place, agency, area):
    response = client.get(f"/en/services/ca.birth-registration/?place={place}")
    assert response.status_code == 200
    page = text(response)
    assert f"{agency} delivers this service for {area}." in page
    assert "How we found this" in page
    assert f"{area}): delivered by {agency}. Chosen: the most specific area." in page


def test_routing_form_in_french(client, small_federation):
    page = text(client.get("/fr/services/ca.birth-registration/?place=CA-QC-MTL"))
    assert "Directeur de l'état civil offre ce service" in page
    assert "Retenu : le territoire le plus précis." in page


def test_routing_says_clearly_when_nobody_delivers_there(client, small_federation):
    response = client.get("/en/services/ca.parking-permit/?place=CA-QC-MTL")
    assert response.status_code == 200
    page = text(response)
    assert "Nobody delivers this service there" in page
    assert "Nobody delivers “Residential parking permit” in Montreal." in page
    assert "CA-QC-MTL (Montreal): no offering here." in page


@pytest.mark.parametrize("place", ["XX-NOPE", "", "<script>"])
def test_routing_form_rejects_unknown_places(client, small_federation, place):
    response = client.get("/en/services/ca.birth-registration/", {"place": place})
    assert response.status_code == 400
    page = text(response)
    assert "There is no place with the code" in page or "Choose a place." in page
    assert "<script>" not in response.content.decode().split("<main", 1)[1]


@pytest.mark.parametrize(
    "url",
    [
        "/en/services/no.such-service/",
        "/en/places/XX/",
        "/en/places/CA-ON-NOPE/",
        "/en/life-situations/no-such-situation/",
        "/en/agencies/no-such-agency/",
        "/fr/services/no.such-service/",
        "/en/no-such-page/",
        "/no-such-page/",
    ],
)
def test_unknown_codes_and_keys_give_a_designed_404(client, small_federation, url):
    response = client.get(url, follow=True)
    assert response.status_code == 404
    body = response.content.decode()
    assert "usa-header" in body
    assert "Page not found" in body or "Page introuvable" in body


def test_404_says_what_was_not_found(client, small_federation):
    page = text(client.get("/en/services/no.such-service/"))
    assert "There is no service with the catalogue key “no.such-service”." in page
    french = text(client.get("/fr/places/XX/"))
    assert "Page introuvable" in french
    assert "Aucune administration ne porte le code « XX »." in french


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("frame=bogus", "There is no kind of service called “bogus”."),
        ("jurisdiction=XX-NOPE", "There is no place with the code “XX-NOPE”."),
        ("life_situation=nope", "There is no life situation called “nope”."),
        ("q=" + "x" * 201, "Use at most 200 characters to search."),
    ],
)
def test_bad_filters_get_a_clear_message(client, small_federation, query, message):
    response = client.get(f"/en/services/?{query}")
    assert response.status_code == 400
    page = text(response)
    assert "Some filters could not be used" in page
    assert message in page


def test_bad_filters_are_explained_in_french(client, small_federation):
    response = client.get("/fr/services/?frame=bogus")
    assert response.status_code == 400
    assert "Il n'existe aucun type de service appelé « bogus »." in text(response)


@pytest.mark.parametrize("page", ["abc", "0", "-1", "999", "1.5"])
def test_odd_page_numbers_give_a_page(client, small_federation, page):
    assert client.get(f"/en/services/?page={page}").status_code == 200


def test_filters_narrow_the_catalogue(client, small_federation):
    montreal = text(client.get("/en/services/?jurisdiction=CA-QC-MTL"))
    assert "Register a birth" in montreal and "Get a social insurance number" in montreal
    assert "Residential parking permit" not in montreal

    toronto = text(client.get("/en/services/?jurisdiction=ca-on-tor"))
    assert "Residential parking permit" in toronto
    assert "3 services found." in toronto

    assert "1 service found." in text(client.get("/en/services/?q=parking"))
    assert "1 service found." in text(client.get("/en/services/?q=stationnement"))
    assert "No service matches" in text(client.get("/en/services/?frame=human_services"))


def test_place_page_lists_children_agencies_and_services(client, small_federation):
    page = text(client.get("/en/places/CA-ON/"))
    assert "Toronto" in page and "Ottawa" in page
    assert "ServiceOntario" in page
    # Delivered at the place (birth registration), above it (SIN), within it (parking).
    for name in ("Register a birth", "Get a social insurance number", "Residential parking permit"):
        assert name in page
    quebec = text(client.get("/en/places/CA-QC/"))
    assert "Residential parking permit" not in quebec


def test_life_situation_groups_services_by_frame(client, small_federation):
    page = text(client.get("/en/life-situations/having-a-baby/"))
    assert "Having a baby" in page
    assert "Transactional" in page
    assert "Register a birth" in page
    assert "Residential parking permit" not in page


def test_agency_page_lists_offices_services_and_programs(client, small_federation):
    page = text(client.get("/en/agencies/serviceontario/"))
    assert "ServiceOntario" in page
    assert "Register a birth" in page
    assert "Vital statistics" in page
    assert "No offices are listed." in page
    esdc = text(client.get("/en/agencies/esdc/"))
    assert "Service Canada Centre Toronto" in esdc
    assert "Get a social insurance number" in esdc


def test_service_list_is_paginated(client, small_federation):
    canada = Jurisdiction.objects.get(code="CA")
    for number in range(25):
        Service.objects.create(
            key=f"ca.extra-{number:02d}",
            scope=canada,
            names={"en": f"Extra service {number:02d}"},
            frame=Service.Frame.TRANSACTIONAL,
            client_type=Service.ClientType.PERSON,
            channels=["online"],
        )
    first = client.get("/en/services/?q=extra")
    body = first.content.decode()
    assert "25 services found." in text(first)
    assert 'class="usa-pagination"' in body
    assert 'href="?q=extra&amp;page=2"' in body
    assert "Extra service 19" in body and "Extra service 20" not in body
    second = client.get("/en/services/?q=extra&page=2")
    assert "Extra service 20" in second.content.decode()
    assert 'aria-current="page">2<' in second.content.decode()


def test_notice_shows_only_for_illustrative_data(client, small_federation):
    assert "Demonstration data." in text(client.get("/en/"))
    Jurisdiction.objects.update(illustrative=False)
    # The answer is kept per process; `update` sends no signal (a load saves each row).
    kept.forget_all()
    assert "Demonstration data." not in text(client.get("/en/"))


def test_pages_work_on_an_empty_catalogue(client, db):
    for url in ("/en/", "/en/services/", "/en/places/", "/en/life-situations/"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "Demonstration data." not in text(response)


def test_tables_have_captions_and_scoped_headers(client, small_federation):
    body = client.get("/en/services/ca.birth-registration/").content.decode()
    tables = re.findall(r"<table\b.*?</table>", body, flags=re.S)
    assert len(tables) == 3
    for table in tables:
        assert "<caption" in table
        assert '<th scope="col">' in table
        assert '<th scope="row"' in table


def test_pages_cost_a_fixed_number_of_queries(
    client, small_federation, django_assert_max_num_queries
):
    """The number of queries does not grow with the catalogue (no query per row)."""
    canada = Jurisdiction.objects.get(code="CA")
    for number in range(30):
        Service.objects.create(
            key=f"ca.more-{number:02d}",
            scope=canada,
            names={"en": f"More {number:02d}"},
            frame=Service.Frame.HUMAN_SERVICES,
            client_type=Service.ClientType.PERSON,
            channels=["online"],
        )
    for url, most in [
        ("/en/services/", 8),
        ("/en/services/ca.birth-registration/?place=CA-ON-TOR", 16),
        ("/en/places/CA/", 10),
        ("/en/agencies/esdc/", 7),
    ]:
        with django_assert_max_num_queries(most):
            assert client.get(url).status_code == 200


def test_text_missing_in_french_is_marked_as_english(client, small_federation):
    """A title entered in English only (data files must carry both languages, an agency's
    edit in the admin need not): a French page marks it lang="en"."""
    agreement = Agreement.objects.get(key="sin-at-birth")
    agreement.names = {"en": agreement.names["en"]}
    agreement.save(update_fields=["names"])
    french = client.get("/fr/services/ca.birth-registration/").content.decode()
    assert '<span lang="en">Birth information for social insurance numbers</span>' in french
    assert "<span lang=" not in french.split("<h1", 1)[1].split("</h1>", 1)[0]
    english = client.get("/en/services/ca.birth-registration/").content.decode()
    assert '<span lang="en">' not in english


def test_every_page_links_to_the_published_performance(client, small_federation):
    for language, words in (("en", "How our services perform"), ("fr", "La performance")):
        html = client.get(f"/{language}/").content.decode()
        footer = html[html.index("<footer") :]
        assert f'href="/{language}/performance/">{words}' in footer
    assert client.get("/en/performance/").status_code == 200
