"""Fixtures for the funding tests: the small Canadian federation, two programs, and a
federal → provincial → municipal → community chain of allocations (hand-checkable sums)."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from joinedup.federation.loader import load_federation
from joinedup.federation.models import Agency, Jurisdiction, Program
from joinedup.funding import flows
from joinedup.funding.models import Allocation
from joinedup.identity.models import StaffMembership, User
from tests.conftest import SMALL_FEDERATION


@pytest.fixture(autouse=True)
def english():
    from django.utils import translation

    translation.activate("en")
    yield
    translation.activate("en")


def allocate(key, funder, recipient, program, amount, *, source=None, year=2025, **extra):
    """Save an allocation through the rules, as a funder's staff would."""
    allocation = Allocation(
        key=key,
        kind=Allocation.Kind.ALLOCATION
        if source or extra.get("from_pool")
        else Allocation.Kind.APPROPRIATION,
        funder=funder,
        recipient=recipient,
        program=program,
        fiscal_year=year,
        calendar=extra.pop("calendar", None) or funder.jurisdiction,
        currency=extra.pop("currency", "CAD"),
        amount=Decimal(amount),
        instrument=extra.pop("instrument", Allocation.Instrument.TRANSFER),
        condition=extra.pop("condition", Allocation.Condition.RING_FENCED),
        source=source,
        **extra,
    )
    return flows.save_allocation(allocation, user_id=None, agency=funder.key, reason="test")


@pytest.fixture
def world(db):
    load_federation([SMALL_FEDERATION])
    agencies = {a.key: a for a in Agency.objects.all()}
    esdc, ontario, toronto, hands = (
        agencies["esdc"],
        agencies["serviceontario"],
        agencies["toronto"],
        agencies["helping-hands"],
    )
    if hands.jurisdiction is None:
        hands.jurisdiction = Jurisdiction.objects.get(code="CA-ON-TOR")
        hands.save()
    jobs = Program.objects.create(key="jobs", agency=esdc, names={"en": "Jobs", "fr": "Emplois"})
    housing = Program.objects.create(
        key="housing", agency=esdc, names={"en": "Housing", "fr": "Logement"}
    )
    federal = allocate("fed-jobs", esdc, ontario, jobs, "100.00")
    provincial = allocate("on-jobs", ontario, toronto, jobs, "60.00", source=federal)
    municipal = allocate("tor-jobs", toronto, hands, jobs, "40.00", source=provincial)
    housing_money = allocate("fed-housing", esdc, ontario, housing, "50.00")
    return SimpleNamespace(
        esdc=esdc,
        ontario=ontario,
        toronto=toronto,
        hands=hands,
        jobs=jobs,
        housing=housing,
        federal=federal,
        provincial=provincial,
        municipal=municipal,
        housing_money=housing_money,
    )


def staff_client(agency: Agency, role: str) -> tuple[Client, User]:
    """A signed-in staff member of the agency, second factor given."""
    email = f"{role}@{agency.key}.example"
    user = User.objects.create_user(username=email, email=email, password="x" * 20)
    StaffMembership.objects.create(user=user, agency=agency, role=role)
    device = TOTPDevice.objects.create(user=user)
    client = Client()
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client, user
