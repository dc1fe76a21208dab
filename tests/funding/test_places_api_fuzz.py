"""The API's contract fuzz (tests/api/test_openapi_fuzz.py) for the places and pilots
operations, called by an analyst, who gets past the policy (the project-wide run calls them
as a front-line client and a caseworker, who are refused), over synthetic places and a pilot:
no server error, only documented status codes, bodies matching their schemas."""

from __future__ import annotations

import datetime

import pytest
from django.test import Client

from joinedup.demo.history.places import write_places
from joinedup.federation.models import Agency
from joinedup.funding import places
from joinedup.identity import tokens
from joinedup.identity.models import StaffMembership, User
from tests.api.test_openapi_fuzz import (  # noqa: F401
    FULL_CONFIG,
    _operations,
    _run,
    _run_all,
    connections_kept,
    on_postgresql,
)

pytestmark = pytest.mark.django_db

PATHS = (
    "/api/v1/funding/places",
    "/api/v1/funding/places/{key}",
    "/api/v1/funding/places/{key}/residents",
    "/api/v1/funding/pilots",
    "/api/v1/funding/pilots/{key}",
)


def _analyst_with_places(settings) -> str:
    """Synthetic places with a pilot, and an analyst's personal token (its plain value)."""
    settings.PERSONAL_TOKEN_BURST = 100_000
    places.load_places([])
    months = [datetime.date(2024 + (m // 12), m % 12 + 1, 1) for m in range(12)]
    write_places(count=6, months=months, seed=5, pilot="navigators", effect=3.0, treated=2)
    analyst = User.objects.create_user(username="analyst@example.org", email="a@example.org")
    StaffMembership.objects.create(
        user=analyst, agency=Agency.objects.order_by("key").first(), role="analyst"
    )
    _token, value = tokens.create_personal_token(analyst, scopes=["read"])
    return value


def test_places_and_pilots_keep_the_contract_for_an_analyst(
    small_federation,
    settings,
    connections_kept,  # noqa: F811
):
    value = _analyst_with_places(settings)
    headers = {"Authorization": f"Bearer {value}"}
    failures, seen = [], set()
    for operation in _operations():
        if operation.path not in PATHS:
            continue
        seen.add(operation.path)
        for who in ({}, headers):
            try:
                _run(operation, who)
            except (Exception, BaseExceptionGroup) as error:
                failures.append(f"{operation.method.upper()} {operation.path}: {error}")
    assert seen == set(PATHS)
    # The token passes the policy: the operations were fuzzed beyond the refusal. (After the
    # run: the test client reconnects the signal that closes the database connection.)
    read = Client().get("/api/v1/funding/pilots/navigators", HTTP_AUTHORIZATION=f"Bearer {value}")
    assert read.status_code == 200 and read.json()["evaluated"]
    assert not failures, "\n\n".join(failures)


@on_postgresql
def test_places_and_pilots_keep_the_contract_under_every_check(
    small_federation,
    settings,
    connections_kept,  # noqa: F811
):
    """The full run's every check, valid and invalid data and hand-written hostile values
    (integers beyond 64 bits, other scripts' digits, NUL characters), as an analyst."""
    value = _analyst_with_places(settings)
    failures = []
    for operation in _operations(FULL_CONFIG):
        if operation.path not in PATHS:
            continue
        try:
            _run_all(operation, {"Authorization": f"Bearer {value}"})
        except (Exception, BaseExceptionGroup) as error:
            failures.append(f"{operation.method.upper()} {operation.path}: {error}")
    assert not failures, "\n\n".join(failures)
