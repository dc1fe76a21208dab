"""Fixtures for the performance tests: delivery's federation, people, staff and processes."""

from __future__ import annotations

import pytest

from tests.delivery.conftest import (  # noqa: F401 (fixtures)
    applicant,
    birth_registration,
    delivery_settings,
    english,
    federation,
    make_applicant,
    make_staff,
)


@pytest.fixture(autouse=True)
def performance_settings(settings):
    settings.PERFORMANCE_MIN_COUNT = 10
    settings.PERFORMANCE_SURVEY_RATE = 0.0
    settings.PERFORMANCE_DIGITAL_CHANNELS = ["online", "partner"]
    settings.PERFORMANCE_ROSTER_FILE = ""  # no roster unless a test writes one
    settings.PERFORMANCE_CASEWORK_ROSTER_FILE = ""
