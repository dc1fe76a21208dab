"""Fixtures shared by every app's tests."""

from pathlib import Path

import pytest
from django.utils import translation

from joinedup.federation.loader import load_federation

SMALL_FEDERATION = Path(__file__).parent / "federation" / "files" / "small"


@pytest.fixture(autouse=True)
def plain_static_files(settings):
    """Serve static files from the finders: tests do not run collectstatic first."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def english_between_tests():
    """Each test starts in the default language, whatever the previous one activated."""
    translation.activate("en")
    yield
    translation.activate("en")


@pytest.fixture
def small_federation(db):
    """The small Canadian test federation: CA, ON, QC, three cities, five agencies."""
    return load_federation([SMALL_FEDERATION])
