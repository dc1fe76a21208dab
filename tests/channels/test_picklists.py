"""Pick lists filtered by jurisdiction: with both demo federations loaded, a Toronto agent
booking an appointment is offered Canada's services and offices only, their own office
first (not an Australian one); the warm-transfer list holds only Canada's agencies, those
serving the caller's place first; a person finding an office sees their own federation's
services; two services with one name are told apart by their jurisdiction."""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterator

import pytest
from django.db import transaction
from django.utils import timezone

from joinedup.channels import appointments, counter, phone
from joinedup.channels.models import Interaction
from joinedup.delivery import versions
from joinedup.demo import loading
from joinedup.federation.loader import load_federation
from joinedup.federation.models import Agency, Office, Service

from .conftest import build_world
from .test_appointment_pages import signed_in

pytestmark = pytest.mark.django_db

AUSTRALIA = loading.federation_folder("australia")


@pytest.fixture(scope="module")
def both(django_db_setup, django_db_blocker) -> Iterator:
    """Both demo federations, with times to book at offices of each."""
    with django_db_blocker.unblock(), transaction.atomic():
        load_federation([loading.federation_folder("canada"), AUSTRALIA])
        versions.load_paths([loading.SERVICE_VERSIONS])
        world = build_world()
        day = timezone.localdate() + datetime.timedelta(days=3)
        start = timezone.make_aware(datetime.datetime.combine(day, datetime.time(10, 0)))
        for office in Office.objects.all():
            appointments.open_slots(office, [start], capacity=2)
        yield world
        transaction.set_rollback(True)


def options(html: str, name: str) -> list[tuple[str, str]]:
    select = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', html, re.S).group(1)
    return re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', select)


def test_the_counter_booking_lists_only_the_agents_federation_own_office_first(both):
    clerk = both.staff(both.esdc_clerk)
    visit = counter.start_visit(clerk, both.amara.person)
    client = signed_in(both.esdc_clerk, second_factor=True)
    page = client.get(f"/en/counter/visits/{visit.pk}/appointment/").content.decode()
    offices = options(page, "office")
    assert offices[0][0] == "sc-toronto-downtown"  # the agent's own office is the default
    australian = set(
        Office.objects.filter(jurisdiction__code__startswith="AU").values_list("key", flat=True)
    )
    assert australian and not australian & {key for key, _label in offices}
    services = options(page, "service")
    keys = {key for key, _label in services}
    assert keys and all(
        code.startswith("CA")
        for code in Service.objects.filter(key__in=keys).values_list("scope__code", flat=True)
    )
    labels = [label for _key, label in services]
    assert len(labels) == len(set(labels)), "two services read alike"


def test_the_transfer_list_holds_the_agents_federation_nearest_first(both):
    clerk = both.staff(both.esdc_clerk)
    call = phone.start_call(clerk, both.amara.person)
    # Verified as the phone console verifies a caller (the steps have their own tests).
    Interaction.objects.filter(pk=call.pk).update(verified_at=timezone.now())
    client = signed_in(both.esdc_clerk, second_factor=True)
    page = client.get(f"/en/phone/calls/{call.pk}/").content.decode()
    listed = options(page, "agency")
    keys = [key for key, _label in listed]
    agencies = {a.key: a for a in Agency.objects.select_related("jurisdiction")}
    assert all(agencies[key].jurisdiction.code.startswith("CA") for key in keys)
    assert "esdc" not in keys  # not to the agent's own agency
    # Those serving Toronto (Canada, Ontario, the city) before any other province's.
    serving = [agencies[k].jurisdiction.code in {"CA", "CA-ON", "CA-ON-TOR"} for k in keys]
    assert serving == sorted(serving, reverse=True) and serving[0]
    labels = [label for _key, label in listed]
    assert len(labels) == len(set(labels))


def test_a_person_finds_offices_for_their_own_federations_services(both):
    client = signed_in(both.amara)
    page = client.get("/en/my/appointments/book/").content.decode()
    keys = {key for key, _label in options(page, "service") if key}
    assert keys
    scopes = set(Service.objects.filter(key__in=keys).values_list("scope__code", flat=True))
    assert all(code.startswith("CA") for code in scopes)
