"""Fixtures shared by every app's tests."""

from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from joinedup import kept
from joinedup.federation.loader import load_federation

from .processes import Templates, postgres_server

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


@pytest.fixture(autouse=True)
def nothing_kept_between_tests():
    """Catalogue rows kept per process (`joinedup.kept`) do not outlive a test: its rows are
    rolled back after it, which sends no signal."""
    kept.forget_all()
    yield
    kept.forget_all()


@pytest.fixture(autouse=True)
def no_roster_file(settings):
    """The synthetic history writes no roster (agents, caseworker hours) into the data folder
    unless a test asks."""
    settings.PERFORMANCE_ROSTER_FILE = ""
    settings.PERFORMANCE_CASEWORK_ROSTER_FILE = ""


@pytest.fixture(scope="session", autouse=True)
def migrated_templates(django_db_setup, django_db_blocker, tmp_path_factory):
    """Migrated template databases, one per kind, for tests that run real processes: the
    test database is kept as it is now, migrated and empty, before any test writes to it."""
    from joinedup.sharing import dispatch

    templates = Templates(tmp_path_factory.mktemp("templates"))
    dispatch.stop_wakers()  # a template, like a database dropped, must have no session open
    with django_db_blocker.unblock():
        templates.snapshot(connection)
    yield templates
    templates.close()
    dispatch.stop_wakers()


@pytest.fixture(params=["sqlite", "postgres"])
def process_database(request, migrated_templates, tmp_path):
    """A migrated database of its own (URL) for the project's processes a test starts: a
    SQLite file on both runs, and a PostgreSQL database on the PostgreSQL run."""
    if request.param == "postgres" and not postgres_server():
        pytest.skip("the PostgreSQL variant runs in the PostgreSQL test run")
    url = migrated_templates.copy(request.param, tmp_path)
    yield url
    migrated_templates.drop(url)


@pytest.fixture
def small_federation(db):
    """The small Canadian test federation: CA, ON, QC, three cities, five agencies."""
    return load_federation([SMALL_FEDERATION])


@pytest.fixture
def queries_at_10_and_200():
    """measure(add, read): the SQL statements of `read()` with 10 rows, then with 200.

    `add(n)` writes n more rows of what the page lists (bulk inserts: keep it quick);
    `start` is how many the test already made. `read` is called once before counting, so
    that per-process caches (calendars, content types, the catalogue version) are warm in
    both measurements. A list page must send the same statements whatever the rows."""

    def measure(add, read, start: int = 0) -> tuple[int, int]:
        add(10 - start)
        read()
        with CaptureQueriesContext(connection) as at_10:
            read()
        add(200 - 10)
        with CaptureQueriesContext(connection) as at_200:
            read()
        print(f"queries with 10 rows: {len(at_10)}, with 200: {len(at_200)}")
        return len(at_10), len(at_200)

    return measure


def _fields(record) -> dict:
    return {f.attname: getattr(record, f.attname) for f in record._meta.concrete_fields}


@pytest.fixture
def add_services(db):
    """add_services(n, like): n more services of the catalogue, each a copy of the service
    `like` (a key) with its offerings, under its own key; bulk inserted, so the catalogue's
    version is bumped by hand (bulk inserts send no signals)."""
    from joinedup.api.caching import bump_catalogue_version
    from joinedup.federation.models import Offering, Service

    def add(count: int, like: str) -> list:
        template = Service.objects.get(key=like)
        offerings = list(template.offerings.all())
        start = Service.objects.count()
        made = Service.objects.bulk_create(
            Service(**{**_fields(template), "id": None, "key": f"{like}-{start + n}"})
            for n in range(count)
        )
        Offering.objects.bulk_create(
            Offering(**{**_fields(offering), "id": None, "service_id": service.pk})
            for service in made
            for offering in offerings
        )
        bump_catalogue_version()
        return made

    return add
