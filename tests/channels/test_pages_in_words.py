"""Pages speak people's language: the counter visit shows the person's address as an address
and their birth date as a date, never the data's shape (a dict, an ISO string)."""

from __future__ import annotations

import datetime
import re

import pytest

from joinedup.channels import appointments, counter
from joinedup.federation.models import Office

from .test_appointment_pages import signed_in

pytestmark = pytest.mark.django_db
TIMES = re.compile(r'usa-radio__label" for="slot-\d+">([^<]*)<')


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


def test_appointment_times_are_the_offices_clock_across_a_dst_change(world):
    """Toronto opens at 8:30 before and after clocks go forward (14 March 2027): the pages
    show 8:30 a.m. with the zone's name (EST, then EDT), never the UTC hour."""
    office = Office.objects.select_related("jurisdiction").get(key="sc-toronto-downtown")
    before, after = datetime.date(2027, 3, 12), datetime.date(2027, 3, 15)
    times = appointments.times_in_hours(office, before, 4)
    appointments.open_slots(office, times, capacity=1)
    client = signed_in(world.amara)
    url = "/en/my/appointments/offices/sc-toronto-downtown/"
    first = client.get(url, {"day": before.isoformat()}).content.decode()
    shown = [label.strip() for label in TIMES.findall(first)]
    # Opening to the last half hour before closing (16:00), in Toronto's time, zone named.
    assert shown[0] == "8:30 a.m. EST" and shown[-1] == "3:30 p.m. EST" and len(shown) == 15
    second = client.get(url, {"day": after.isoformat()}).content.decode()
    shown = [label.strip() for label in TIMES.findall(second)]
    assert shown[0] == "8:30 a.m. EDT" and shown[-1] == "3:30 p.m. EDT" and len(shown) == 15
    # Only the office's own day: the evening's UTC hours of the day before are not listed.
    assert " EST" not in second
    french = client.get(url.replace("/en/", "/fr/"), {"day": after.isoformat()}).content.decode()
    assert "08:30 EDT" in french
    clerk = world.staff(world.esdc_clerk)
    visit = counter.start_visit(clerk, world.amara.person)
    staff = signed_in(world.esdc_clerk, second_factor=True)
    booked = staff.post(
        f"/en/counter/visits/{visit.pk}/appointment/",
        {"office": "sc-toronto-downtown", "service": _a_service(), "day": after.isoformat()},
    )
    page = booked.content.decode()
    assert "8:30 a.m. EDT" in page


def _a_service() -> str:
    return appointments.bookable_services()[0].key


@pytest.mark.parametrize("console", ["counter", "phone"])
def test_find_a_person_offers_the_agents_countrys_kinds_as_visible_text(world, console):
    client = signed_in(world.esdc_clerk, second_factor=True)
    page = client.get(f"/en/{console}/").content.decode()
    assert re.findall(r'<option value="([^"]+)"', page) == ["ca-sin", "health-card"]
    field = re.search(r'<input[^>]*name="value"[^>]*>', page).group(0)
    assert 'type="text"' in field
    assert "Social insurance number: 9 digits, written 000 000 000." in page
    refused = client.post(f"/en/{console}/", {"kind": "au-tfn", "value": "123456782"})
    assert refused.status_code == 400
    found = client.post(f"/en/{console}/", {"kind": "ca-sin", "value": "046 454 286"})
    assert found.status_code == 404  # a valid number nobody holds: said, not echoed
    assert "Nobody in the registry holds this number." in found.content.decode()
    assert "046 454 286" not in found.content.decode()
