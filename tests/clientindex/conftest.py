"""Fixtures for the client index: the small federation, staff contexts, records to load."""

from __future__ import annotations

import pytest

from joinedup.federation.models import Agency
from joinedup.identity.acting import ActingContext
from joinedup.identity.models import StaffMembership, User

#: Valid social insurance numbers (Luhn check digit), for records that carry one.
SIN_A = "046454286"
SIN_B = "130692544"

HEADER = (
    "record_id,given_names,family_name,birth_date,sex,street_address,locality,postal_code,"
    "phone,email,identifier_kind,identifier\n"
)


def context_for(username: str, agency_key: str, role: str) -> ActingContext:
    """A staff member's acting context (second factor passed)."""
    user = User.objects.create_user(username, f"{username}@example.org", "a long password 123")
    agency = Agency.objects.get(key=agency_key)
    membership = StaffMembership.objects.create(user=user, agency=agency, role=role)
    return ActingContext(
        user_id=user.pk,
        needs_second_factor=True,
        second_factor=True,
        membership_id=membership.pk,
        agency_key=agency.key,
        agency_jurisdiction=agency.jurisdiction.code if agency.jurisdiction_id else None,
        role=role,
    )


@pytest.fixture
def agencies(small_federation):
    return {a.key: a for a in Agency.objects.all()}


@pytest.fixture
def steward(agencies):
    return context_for("steward", "esdc", "data_steward")


@pytest.fixture
def caseworker(agencies):
    return context_for("caseworker", "esdc", "caseworker")


@pytest.fixture
def signed_in(client, agencies):
    """Sign a new account in through the real pages, as staff in a role or as a person."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from joinedup.identity.client_registry import register_person
    from tests.identity.conftest import PASSWORD, sign_in

    def make(role: str | None, agency: str = "esdc", username: str | None = None):
        username = username or f"{role or 'person'}@example.org"
        user = User.objects.create_user(username, username, PASSWORD)
        if role:
            StaffMembership.objects.create(
                user=user, agency=Agency.objects.get(key=agency), role=role
            )
            TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
        else:
            user.person = register_person(given_names="Marie", family_name="Tremblay")
            user.save()
        sign_in(client, user)
        return user

    return make
