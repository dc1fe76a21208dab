"""Appointment times are offered in an office's opening hours, on its working days, in its
local time: by `joinedup open-slots`, by the demo, and in the admin."""

from __future__ import annotations

import datetime
import io
import zoneinfo

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from joinedup.channels import appointments
from joinedup.channels.models import Slot
from joinedup.demo.loading import open_demo_appointments
from joinedup.federation.models import Office

pytestmark = pytest.mark.django_db

TORONTO = zoneinfo.ZoneInfo("America/Toronto")
# The week of Canada Day 2027: Thursday 1 July is a holiday; 3 and 4 July are a weekend.
MONDAY = datetime.date(2027, 6, 28)


def local_times(office: Office) -> list[tuple[datetime.date, str]]:
    return [
        (s.starts_at.astimezone(TORONTO).date(), s.starts_at.astimezone(TORONTO).strftime("%H:%M"))
        for s in Slot.objects.filter(office=office).order_by("starts_at")
    ]


def test_times_follow_the_opening_hours_holidays_and_weekends(world):
    office = Office.objects.get(key="sc-toronto-downtown")  # 08:30–16:00, Monday to Friday
    added = appointments.open_hours(office, MONDAY, 7, every=30, capacity=3)
    times = local_times(office)
    assert added == len(times) == 4 * 15  # four working days, 08:30 … 15:30
    days = sorted({day for day, _time in times})
    assert days == [MONDAY + datetime.timedelta(days=n) for n in (0, 1, 2, 4)]
    assert times[0] == (MONDAY, "08:30") and times[14] == (MONDAY, "15:30")
    assert all(s.capacity == 3 and s.minutes == 30 for s in Slot.objects.filter(office=office))


def test_opening_again_keeps_what_is_booked(world):
    office = Office.objects.get(key="sc-toronto-downtown")
    appointments.open_hours(office, MONDAY, 1, capacity=1)
    first = Slot.objects.filter(office=office).order_by("starts_at").first()
    assert appointments.open_hours(office, MONDAY, 2, capacity=5) == 15  # Tuesday only
    first.refresh_from_db()
    assert first.capacity == 1


@pytest.mark.parametrize(
    ("every", "capacity"), [(2, 1), (300, 1), (30, 0)], ids=["too short", "too long", "nobody"]
)
def test_impossible_times_are_refused(world, every, capacity):
    office = Office.objects.get(key="sc-toronto-downtown")
    with pytest.raises(appointments.BookingError):
        appointments.open_hours(office, MONDAY, 1, every=every, capacity=capacity)
    assert not Slot.objects.filter(office=office).exists()


def test_the_command_opens_the_offices_named_or_every_counter(world):
    out = io.StringIO()
    call_command(
        "open_slots", "sc-toronto-downtown", "--from", "2027-06-28", "--days", "1", stdout=out
    )
    assert "15 appointment times added at 1 offices" in out.getvalue()
    with pytest.raises(CommandError, match="No office has the key: nowhere"):
        call_command("open_slots", "nowhere", stdout=io.StringIO())
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("open_slots", "--from", "28/06/2027", stdout=io.StringIO())
    call_command("open_slots", "--from", "2027-06-28", "--days", "1", stdout=io.StringIO())
    with_times = set(Slot.objects.values_list("office__key", flat=True))
    counters = {o.key for o in appointments.counter_offices()}
    assert with_times == {o for o in counters if Office.objects.get(key=o).hours.get("mon")}
    assert "sc-toronto-downtown" in with_times


def test_the_demo_offers_times_to_book(world):
    said = open_demo_appointments(days=3)
    assert "times added" in said
    assert Slot.objects.exists()
    assert "0 times added" in open_demo_appointments(days=3)  # a second run adds nothing


def test_the_admin_lists_times_with_their_bookings(world, client, django_user_model):
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    office = Office.objects.get(key="sc-toronto-downtown")
    appointments.open_hours(office, MONDAY, 1)
    user = django_user_model.objects.create_superuser("root", "root@example.org", "x" * 16)
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = TOTPDevice.objects.create(user=user).persistent_id
    session.save()
    slot = Slot.objects.first()
    for name, args in [
        ("admin:channels_slot_changelist", []),
        ("admin:channels_slot_change", [slot.pk]),
        ("admin:channels_appointment_changelist", []),
        ("admin:channels_interaction_changelist", []),
        ("admin:channels_calltask_changelist", []),
        ("admin:channels_birthnotice_changelist", []),
    ]:
        assert (
            client.get(reverse(name, args=args), {"q": "to"} if not args else {}).status_code == 200
        )
