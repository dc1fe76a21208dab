"""A pilot a consultation produced names the funding pilot it belongs to: the owner picks it
on the proposal page, the proposal page links to the pilot's evaluation (for those who read
pilots), and funding's pilot page links back to the proposal — in English and French."""

from __future__ import annotations

import datetime

import pytest
from django.test import Client

from joinedup.engagement import decisions, participation
from joinedup.engagement.models import Change
from joinedup.funding import places
from joinedup.funding.models import Pilot, Place
from joinedup.sharing.models import OutboxEvent

from .conftest import context_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def adopted(consultation, make_applicant, make_staff, federation):
    resident = make_applicant(email="res@example.org", place="CA-ON-TOR")
    owner = make_staff(federation["serviceontario"], "supervisor", "sup@serviceontario.example")
    proposal = participation.submit_proposal(
        context_of(resident), consultation, "One counter", "Serve us at one counter."
    )
    decisions.decide(owner, proposal, "adopted", "Many asked for it.")
    return proposal


@pytest.fixture
def pilot(federation):
    places.load_places([])
    made = Pilot.objects.create(
        key="joint-counter",
        names={"en": "Joint counter", "fr": "Comptoir commun"},
        change="channel",
        starts_on=datetime.date(2025, 1, 1),
        measure="take_up",
    )
    made.treated.set(Place.objects.filter(key="ca-on-tor"))
    return made


def test_a_pilot_change_links_the_funding_pilot_both_ways(
    adopted, pilot, consultation, staff_client, federation
):
    browser, _context = staff_client(federation["serviceontario"], "supervisor")
    base = f"/en/consultations/{consultation.key}/proposals/{adopted.pk}/"
    assert 'value="joint-counter"' in browser.get(base).content.decode()  # the form's choice
    unknown = browser.post(
        base + "change/", {"kind": "pilot", "pilot": "nowhere", "description_en": "Tried."}
    )
    assert unknown.status_code == 400
    assert "Choose the pilot from the list." in unknown.content.decode()
    assert not Change.objects.exists()
    made = browser.post(
        base + "change/",
        {"kind": "pilot", "pilot": "joint-counter", "description_en": "Tried at two counters."},
    )
    assert made.status_code == 302
    change = Change.objects.get(proposal=adopted)
    assert change.pilot == pilot
    event = OutboxEvent.objects.get(type="org.joinedup.engagement.change.linked")
    assert event.data["pilot"] == "joint-counter"

    # The proposal page: the pilot's evaluation linked for staff who read pilots ...
    page = browser.get(base).content.decode()
    assert 'href="/en/funding/pilots/joint-counter/"' in page
    # ... named, not linked, for the public (the pilot's page is not theirs).
    public = Client().get(f"/fr/consultations/{consultation.key}/proposals/{adopted.pk}/")
    text = public.content.decode()
    assert "Le projet pilote : Comptoir commun" in text and "/funding/pilots/" not in text

    # Funding's pilot page links back to the proposal, in both languages.
    for language, heading, label in (
        ("en", "Where the pilot came from", "the adopted proposal “One counter”"),
        ("fr", "D’où vient le projet pilote", "la proposition adoptée « One counter »"),
    ):
        back = browser.get(f"/{language}/funding/pilots/joint-counter/")
        assert back.status_code == 200
        body = back.content.decode()
        assert heading in body and label in body
        assert (
            f'href="/{language}/consultations/{consultation.key}/proposals/{adopted.pk}/"' in body
        )


def test_a_pilot_without_a_funding_pilot_is_still_described(adopted, make_staff, federation):
    owner = make_staff(federation["serviceontario"], "administrator", "adm@serviceontario.example")
    change = decisions.link_change(owner, adopted, "pilot", {"en": "Tried at two counters."})
    assert change.pilot is None
    # A funding pilot given to another kind of change is not kept.
    pilot = Pilot.objects.create(
        key="other",
        names={"en": "Other"},
        change="other",
        starts_on=datetime.date(2025, 1, 1),
        measure="take_up",
    )
    assert decisions.pilot_links(pilot) == []
