"""The staff console: finding people by identifier, within the scope of one's agency."""

import datetime
import io
import logging
import re

import pytest
from django.urls import reverse

from joinedup.identity import identifiers
from joinedup.identity.client_registry import AddressInput, add_identifier, move

from .conftest import VALID_SIN, page_text, sign_in

pytestmark = pytest.mark.django_db

FIND = "identity-staff:find-person"


@pytest.fixture
def amara(small_federation, make_account):
    person = make_account().person
    add_identifier(person, "ca-sin", VALID_SIN)
    move(
        person,
        AddressInput("1 King St W", "Toronto", "ON", jurisdiction_code="CA-ON-TOR"),
        datetime.date.today(),
    )
    return person


def test_front_line_staff_find_a_person_by_sin(client, amara, make_staff):
    sign_in(client, make_staff(agency="esdc", role="front_line"))
    response = client.post(reverse(FIND), {"kind": "ca-sin", "value": "046-454-286"})
    assert response.status_code == 302
    assert response["Location"] == reverse("identity-staff:person", args=[amara.pk])
    page = page_text(client.get(response["Location"]))
    assert "Amara Okafor" in page
    assert "••••••286" in page and "046454286" not in page and "046 454 286" not in page


def test_the_kinds_offered_are_the_agents_countrys_and_the_number_is_visible(
    client, amara, make_staff
):
    sign_in(client, make_staff(agency="esdc", role="front_line"))
    page = client.get(reverse(FIND)).content.decode()
    offered = re.findall(r'<option value="([^"]+)"', page)
    # A Canadian agent is offered Canada's number and the health card, not Australia's.
    assert offered == ["ca-sin", "health-card"]
    assert ">Social insurance number<" in page and "tax file number" not in page.lower()
    field = re.search(r'<input[^>]*name="value"[^>]*>', page).group(0)
    assert 'type="text"' in field and "password" not in field
    # The way each kind is written is shown beside the field, and read out by its hint.
    assert "Social insurance number: 9 digits, written 000 000 000." in page
    assert "Health card number: 10 digits, sometimes followed by two letters" in page
    assert 'aria-describedby="id_value_helptext"' in field
    # Another country's kind is refused as a choice, with a 400 and a message.
    refused = client.post(reverse(FIND), {"kind": "au-tfn", "value": "123 456 782"})
    assert refused.status_code == 400
    assert "Select a valid choice" in page_text(refused)
    # A number refused is not written back into the page.
    wrong = client.post(reverse(FIND), {"kind": "ca-sin", "value": "046 454 287"})
    assert "046 454 287" not in page_text(wrong) and 'value="046' not in page_text(wrong)
    french = page_text(client.get(reverse(FIND).replace("/en/", "/fr/")))
    assert "Numéro d'assurance sociale : 9 chiffres, écrits 000 000 000." in french


def test_the_kinds_of_a_country_and_of_none():
    australian = [t.key for t in identifiers.for_country("AU")]
    assert australian == ["au-tfn", "health-card"]
    assert [t.key for t in identifiers.for_country("ca")] == ["ca-sin", "health-card"]
    assert {t.key for t in identifiers.for_country(None)} == {"ca-sin", "au-tfn", "health-card"}


def test_an_invalid_or_unknown_number_gets_a_clear_answer(client, amara, make_staff):
    sign_in(client, make_staff(agency="esdc", role="front_line"))
    invalid = client.post(reverse(FIND), {"kind": "ca-sin", "value": "046 454 287"})
    assert invalid.status_code == 400
    assert "This social insurance number is not valid" in page_text(invalid)
    assert "046 454 287" not in page_text(invalid)
    unknown = client.post(reverse(FIND), {"kind": "ca-sin", "value": "130 692 544"})
    assert unknown.status_code == 404
    assert "Nobody in the registry holds this number." in page_text(unknown)


def test_analysts_and_citizens_cannot_look_people_up(client, amara, make_staff, make_account):
    sign_in(client, make_staff(agency="esdc", role="analyst"))
    assert client.post(reverse(FIND), {"kind": "ca-sin", "value": VALID_SIN}).status_code == 403
    assert client.get(reverse("identity-staff:person", args=[amara.pk])).status_code == 403
    citizen = client.__class__()
    sign_in(citizen, make_account(email="other@example.org"))
    assert citizen.get(reverse("identity:person", args=[amara.pk])).status_code == 403


def test_staff_see_only_people_where_their_agency_serves(client, amara, make_staff):
    url = reverse("identity-staff:person", args=[amara.pk])
    ontario = client.__class__()
    sign_in(ontario, make_staff(agency="serviceontario", role="caseworker"))
    assert ontario.get(url).status_code == 200  # Toronto is in Ontario
    quebec = client.__class__()
    sign_in(quebec, make_staff(agency="dgeq", role="caseworker"))
    assert quebec.get(url).status_code == 403
    limited = client.__class__()
    sign_in(limited, make_staff(agency="helping-hands", role="caseworker", areas=["CA-ON-OTT"]))
    assert limited.get(url).status_code == 403
    local = client.__class__()
    sign_in(
        local,
        make_staff(
            agency="helping-hands",
            role="front_line",
            areas=["CA-ON-TOR"],
            username="hh2@example.org",
        ),
    )
    assert local.get(url).status_code == 200


def test_identifiers_typed_in_requests_never_reach_the_logs(client, amara, make_staff):
    handler = next(h for h in logging.getLogger().handlers if h.get_name() == "console")
    stream = io.StringIO()
    previous = handler.setStream(stream)
    try:
        client.get("/en/services/046454286/")  # a 404, logged with its path
        client.get("/en/services/046-454-286/")
        sign_in(client, make_staff(agency="esdc", role="front_line"))
        client.post(reverse(FIND), {"kind": "ca-sin", "value": "046 454 287"})  # a 400
    finally:
        handler.setStream(previous)
    output = stream.getvalue()
    assert "Not Found" in output and "Bad Request" in output
    for shape in ("046454286", "046-454-286", "046 454 287", "046454287"):
        assert shape not in output
