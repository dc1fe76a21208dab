"""Repeated effort: the same questions asked of one linked person by different agencies."""

from __future__ import annotations

import datetime
import itertools

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from joinedup.clientindex.models import Cluster
from joinedup.delivery.models import Application, ServiceVersion
from joinedup.federation.models import Agency, Jurisdiction, Service
from joinedup.identity.models import Person
from joinedup.performance import repeated

from .test_pages_and_api import _staff_client

pytestmark = pytest.mark.django_db

_serial = itertools.count(1)
FORMS = {
    "ca.birth-registration": ["given_names", "family_name", "birth_date", "child_name"],
    "ca.social-insurance-number": ["given_names", "family_name", "birth_date", "maiden_name"],
    "ca.parking-permit": ["family_name", "street_address", "licence_plate"],
}
AGENCY = {
    "ca.birth-registration": "serviceontario",
    "ca.social-insurance-number": "esdc",
    "ca.parking-permit": "toronto",
}


def make_versions() -> dict[str, ServiceVersion]:
    """A version of each of the three services, its form asking the fields of FORMS."""
    return {
        key: ServiceVersion.objects.create(
            service=Service.objects.get(key=key),
            number=90,
            form={
                "schema": {"type": "object", "properties": {n: {"type": "string"} for n in names}}
            },
            bpmn="",
            process_id="p",
            checksum=key,
        )
        for key, names in FORMS.items()
    }


@pytest.fixture
def versions(federation):
    return make_versions()


def person(versions, *services, linked=True, place="CA-ON-TOR", days_ago=30):
    """A person who applied to the services named (each `days_ago` days back)."""
    number = next(_serial)
    someone = Person.objects.create(
        given_names="Léa", family_name=f"Roy{number}", birth_date=datetime.date(1980, 1, 1)
    )
    if linked:
        Cluster.objects.create(key=f"CI-R{number:06d}", person=someone)
    where = Jurisdiction.objects.get(code=place)
    agencies = {a.key: a for a in Agency.objects.all()}
    ago = [days_ago] * len(services) if isinstance(days_ago, int) else days_ago
    Application.objects.bulk_create(
        Application(
            reference=f"T-{number}-{index}",
            service=versions[key].service,
            version=versions[key],
            applicant=someone,
            channel="online",
            place=where,
            agency=agencies[AGENCY[key]],
            submitted_at=timezone.now() - datetime.timedelta(days=days),
        )
        for index, (key, days) in enumerate(zip(services, ago, strict=True))
    )
    return someone


BIRTH, SIN, PARKING = FORMS


@pytest.fixture
def applied(versions):
    person(versions, BIRTH, SIN, PARKING)
    person(versions, BIRTH, SIN)
    person(versions, BIRTH, SIN)
    person(versions, BIRTH, SIN, linked=False)  # the index links no record of them
    person(versions, BIRTH, SIN, days_ago=[10, 400])  # not within the year
    person(versions, BIRTH, SIN, place="CA-QC-MTL")  # elsewhere
    return versions


def test_repeated_answers_are_counted_by_pair_of_services_and_by_question(applied):
    found = repeated.effort(Jurisdiction.objects.get(code="CA-ON"))
    pairs = {(p.names[0], p.names[2]): (p.people, p.repeated, p.labels) for p in found["pairs"]}
    assert pairs == {
        ("Register a birth", "Get a social insurance number"): (
            3,
            9,
            ["Birth date", "Family name", "Given names"],
        ),
        ("Register a birth", "Residential parking permit"): (1, 1, ["Family name"]),
        ("Get a social insurance number", "Residential parking permit"): (1, 1, ["Family name"]),
    }
    fields = {f.name: (f.people, f.repeated) for f in found["fields"]}
    # Family name: asked by three agencies of the first person (twice again), by two of the others.
    assert fields == {"given_names": (3, 3), "family_name": (3, 4), "birth_date": (3, 3)}
    # The same agency asking twice is not repeated effort across agencies.
    assert "child_name" not in fields


def test_rows_on_few_people_are_left_out(applied):
    shown = repeated.published(Jurisdiction.objects.get(code="CA-ON"), min_count=2)
    assert [(p.names[0], p.names[2]) for p in shown["bundles"]] == [
        ("Register a birth", "Get a social insurance number")
    ]
    assert shown["bundles_left_out"] == 2
    assert [f.name for f in shown["fields"]] == ["family_name", "birth_date", "given_names"]
    assert repeated.published(Jurisdiction.objects.get(code="CA-QC"), min_count=2)["bundles"] == []


@pytest.mark.parametrize("language", ["en", "fr"])
def test_the_suggestions_on_the_page_in_both_languages(applied, settings, language):
    settings.PERFORMANCE_MIN_COUNT = 2
    planner = _staff_client("esdc", "analyst")
    text = planner.get(f"/{language}/performance/jurisdictions/CA-ON/integration/").content
    text = text.decode()
    assert "Roy" not in text and "CI-R" not in text
    if language == "en":
        assert (
            "Register a birth (ServiceOntario) with Get a social insurance number "
            "(Employment and Social Development Canada)"
        ) in text
        assert "Questions asked twice" in text
    else:
        assert (
            "Enregistrer une naissance (ServiceOntario) avec Obtenir un numéro d'assurance "
            "sociale (Emploi et Développement social Canada)"
        ) in text.replace("&#x27;", "'")
        assert "Questions posées deux fois" in text


def test_the_effort_does_not_query_per_person(versions, queries_at_10_and_200):
    def add(count: int) -> None:
        for index in range(count):
            person(versions, *(FORMS if index % 2 else (BIRTH, SIN)))

    ontario = Jurisdiction.objects.get(code="CA-ON")

    planner = _staff_client("esdc", "analyst")

    def read():
        assert planner.get("/en/performance/jurisdictions/CA-ON/integration/").status_code == 200

    at_10, at_200 = queries_at_10_and_200(add, read)
    assert at_10 == at_200
    with CaptureQueriesContext(connection) as seen:
        assert repeated.published(ontario, min_count=2)["bundles"]
    assert len(seen) <= 5  # the applications, the forms, the services, the agencies
