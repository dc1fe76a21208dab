"""Fixtures for the sharing tests: the small federation, a person, staff of two agencies."""

from __future__ import annotations

import datetime

import pytest

from joinedup.federation.models import Agency
from joinedup.identity.acting import ActingContext
from joinedup.identity.client_registry import AddressInput, register_person
from joinedup.identity.models import StaffMembership, User
from joinedup.sharing import sharing_rules


def staff_context(user: User, agency: Agency, role: str) -> ActingContext:
    """The acting context of a staff member who passed their second factor."""
    StaffMembership.objects.get_or_create(user=user, agency=agency, role=role)
    return ActingContext(
        user_id=user.pk,
        needs_second_factor=True,
        second_factor=True,
        membership_id=StaffMembership.objects.get(user=user, agency=agency, role=role).pk,
        agency_key=agency.key,
        agency_jurisdiction=agency.jurisdiction.code if agency.jurisdiction_id else None,
        role=role,
    )


def make_user(username: str) -> User:
    return User.objects.create_user(username, f"{username}@example.org", "a long password 123")


@pytest.fixture
def federation(small_federation):
    """The small federation with the rules of its data-sharing agreement derived."""
    sharing_rules.sync_all()
    return {a.key: a for a in Agency.objects.all()}


@pytest.fixture
def person(federation):
    return register_person(
        given_names="Amelia",
        family_name="Tremblay",
        birth_date=datetime.date(1990, 4, 2),
        address=AddressInput(
            street_address="100 Queen St W", locality="Toronto", jurisdiction_code="CA-ON-TOR"
        ),
        contacts=[("email", "amelia@example.org")],
    )


@pytest.fixture
def esdc_caseworker(federation):
    return staff_context(make_user("esdc-caseworker"), federation["esdc"], "caseworker")


@pytest.fixture
def ontario_front_line(federation):
    return staff_context(make_user("on-front-line"), federation["serviceontario"], "front_line")


@pytest.fixture(autouse=True)
def ledger_witness(settings, tmp_path):
    """Each test's checkpoints go to a witness directory of its own (never the checkout's)."""
    settings.LEDGER_WITNESSES = [f"file:{tmp_path / 'witness'}"]
    (tmp_path / "witness").mkdir()
    return tmp_path / "witness"
