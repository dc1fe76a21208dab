"""Fixtures for engagement: the small federation with ombudsmen, people, staff, consultations."""

from __future__ import annotations

import datetime

import pytest

from joinedup.federation.models import Agency, Jurisdiction
from joinedup.identity import acting
from tests.delivery.conftest import (  # noqa: F401 (fixtures shared with delivery's tests)
    delivery_settings,
    federation,
    make_applicant,
    make_staff,
    sign_in,
    staff_client,
)


@pytest.fixture
def ombudsmen(federation):
    """Ontario's ombudsman and Canada's (Toronto has none: Ontario's answers for it)."""
    made = {}
    for key, code, en, fr in (
        ("ombudsman-on", "CA-ON", "Ombudsman Ontario", "Ombudsman Ontario"),
        ("ombudsman-ca", "CA", "Federal Ombudsperson", "Ombudsman fédéral"),
    ):
        made[key] = Agency.objects.create(
            key=key,
            kind=Agency.Kind.OMBUDSMAN,
            jurisdiction=Jurisdiction.objects.get(code=code),
            names={"en": en, "fr": fr},
        )
    return made


def context_of(user):
    return acting.for_user(user)


def today() -> datetime.date:
    return datetime.date.today()
