"""Pages speak people's language: the counter visit shows the person's address as an address
and their birth date as a date, never the data's shape (a dict, an ISO string)."""

from __future__ import annotations

import pytest

from joinedup.channels import counter

from .test_appointment_pages import signed_in

pytestmark = pytest.mark.django_db


def test_the_counter_visit_shows_the_address_as_an_address(world):
    clerk = world.staff(world.esdc_clerk)
    visit = counter.start_visit(clerk, world.amara.person, topic="New baby")
    client = signed_in(world.esdc_clerk, second_factor=True)
    html = client.get(f"/en/counter/visits/{visit.pk}/").content.decode()
    assert "<dd>40 Bay St, Toronto ON M5J 2X2</dd>" in html
    assert "street_address" not in html and "{&#x27;" not in html
    assert "<dd>March 14, 1988</dd>" in html
    french = client.get(f"/fr/counter/visits/{visit.pk}/").content.decode()
    assert "<dd>14 mars 1988</dd>" in french
