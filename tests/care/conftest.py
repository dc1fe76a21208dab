"""Fixtures for the care tests: the small federation, the demo directory, people and staff."""

from __future__ import annotations

import datetime
import json
from functools import cache
from pathlib import Path

import jsonschema
import pytest

from joinedup.demo.loading import DATA
from joinedup.federation.models import Agency, Jurisdiction
from joinedup.identity.acting import ActingContext
from joinedup.identity.client_registry import AddressInput, register_person
from joinedup.identity.models import StaffMembership, User

SCHEMAS = Path(__file__).parent / "data"
DEMO_DIRECTORY = DATA / "care" / "directory"
SMALL_DIRECTORY = Path(__file__).parent / "files" / "small-directory"


@cache
def schema_validator(name: str) -> jsonschema.protocols.Validator:
    """A validator for one of the published HSDS 3 schemas (tests/care/data)."""
    schema = json.loads((SCHEMAS / f"{name}.json").read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def assert_valid(name: str, document: dict) -> None:
    errors = sorted(schema_validator(name).iter_errors(document), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]


def staff_context(user: User, agency: Agency, role: str, areas=()) -> ActingContext:
    membership, _created = StaffMembership.objects.get_or_create(
        user=user, agency=agency, role=role
    )
    if areas:
        membership.areas.set(Jurisdiction.objects.filter(code__in=areas))
    return ActingContext(
        user_id=user.pk,
        needs_second_factor=True,
        second_factor=True,
        membership_id=membership.pk,
        agency_key=agency.key,
        agency_jurisdiction=agency.jurisdiction.code if agency.jurisdiction_id else None,
        role=role,
        area_codes=tuple(areas),
    )


@pytest.fixture
def agencies(small_federation):
    return {a.key: a for a in Agency.objects.select_related("jurisdiction")}


@pytest.fixture
def make_staff(agencies):
    def make(agency_key: str, role: str = "caseworker", username: str | None = None, areas=()):
        agency = agencies[agency_key]
        username = username or f"{role}.{agency_key}@example.org"
        user, _created = User.objects.get_or_create(username=username, defaults={"email": username})
        if _created:
            user.set_password("x" * 20)
            user.save()
        return staff_context(user, agency, role, areas)

    return make


@pytest.fixture
def person(agencies):
    return register_person(
        given_names="Jordan",
        family_name="Mbeki",
        birth_date=datetime.date(1988, 6, 1),
        address=AddressInput(
            street_address="10 King St E", locality="Toronto", jurisdiction_code="CA-ON-TOR"
        ),
        contacts=[("email", "jordan@example.org")],
    )
