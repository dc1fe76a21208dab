"""Every mapping of every demo bundle, field by field: the unified form is filled in as a
person would, and each leg's answers are exactly what that leg's agency should receive — the
parent's own answer to "a birth certificate now?", the town of birth (not the hospital) on
the certificate, the province moved from and to, the owner's names, and nothing else."""

from __future__ import annotations

import datetime

import pytest

from joinedup.bundles import submission
from joinedup.bundles.models import Bundle
from tests.bundles.conftest import newborn_answers, newborn_screening

pytestmark = pytest.mark.django_db

TODAY = datetime.date.today()
BORN = (TODAY - datetime.timedelta(days=3)).isoformat()


def legs_sent(world, user, key: str, answers: dict, screening: dict) -> dict[str, dict]:
    """What each leg would receive, checked as a submission is (nothing is written)."""
    bundle = Bundle.objects.get(key=key)
    every_leg = [leg["key"] for leg in bundle.definition["legs"]]
    checked = submission.check(world.context(user), bundle, answers, every_leg, [], screening)
    return {leg.key: leg.data for leg in checked.legs}


def test_the_newborn_legs_receive_the_parents_answers_field_by_field(world):
    sent = legs_sent(
        world,
        world.amara,
        "newborn",
        newborn_answers(birth_date=BORN, birth_town="Toronto"),
        newborn_screening(),
    )
    assert sorted(sent) == [
        "birth-certificate",
        "birth-registration",
        "child-benefit",
        "education-savings",
        "provincial-child-benefit",
        "social-insurance-number",
    ]
    mailing = sent["birth-registration"]["mailing_address"]
    assert mailing["street_address"] == "40 Bay St" and mailing["postal_code"] == "M5J 2X2"
    assert sent["birth-registration"] == {
        "child_given_names": "Noor",
        "child_family_name": "Okafor",
        "birth_date": BORN,
        "sex": "female",
        "birth_province": "CA-ON",
        "birth_place": "Toronto General Hospital",
        "parents": [
            {"given_names": "Amara", "family_name": "Okafor", "birth_date": "1988-03-14"},
            {"given_names": "David", "family_name": "Okafor"},
        ],
        "mailing_address": mailing,
        # The parent said yes to "Do you want a birth certificate now?": the registrar is told.
        "wants_certificate": True,
        "certificate_copies": 1,
    }
    assert sent["birth-certificate"] == {
        "given_names": "Noor",
        "family_name": "Okafor",
        "birth_date": BORN,
        "birth_province": "CA-ON",
        "birth_place": "Toronto",  # "City or town of birth": the town, not the hospital
        "reason": "passport",
    }
    assert sent["social-insurance-number"] == {
        "given_names": "Noor",
        "family_name": "Okafor",
        "birth_date": BORN,
        "primary_document": "birth_certificate",
    }
    assert sent["child-benefit"] == {
        "children": [{"given_names": "Noor", "birth_date": BORN}],
        "marital_status": "married",
        "spouse_name": "David Okafor",
        "income_last_year": 85000,
    }
    assert sent["provincial-child-benefit"] == {
        "children": [{"given_names": "Noor", "birth_date": BORN}],
        "marital_status": "married",
        "income_last_year": 85000,
    }
    assert sent["education-savings"] == {
        "child_given_names": "Noor",
        "child_birth_date": BORN,
        "contact_email": "amara@example.org",
    }


def test_no_certificate_now_is_said_to_the_registrar_and_no_town_is_asked(world):
    answers = newborn_answers(birth_date=BORN)
    del answers["certificate_reason"]
    sent = legs_sent(
        world, world.amara, "newborn", answers, newborn_screening(wants_certificate=False)
    )
    assert "birth-certificate" not in sent
    registration = sent["birth-registration"]
    assert registration["wants_certificate"] is False
    assert "certificate_copies" not in registration


def test_the_moving_legs_field_by_field(world):
    moved_on = (TODAY - datetime.timedelta(days=5)).isoformat()
    new_address = {
        "street_address": "10 rue Saint-Jean",
        "locality": "Québec",
        "region": "QC",
        "postal_code": "G1R 1N8",
    }
    sent = legs_sent(
        world,
        world.amara,
        "moving",
        {"new_address": new_address, "moved_on": moved_on},
        {"new_municipality": "CA-QC-QUE", "has_health_card": True, "drives": True, "voter": True},
    )
    assert sent["revenue-agency"] == {
        "new_address": new_address,
        "old_province": "CA-ON",  # where she lives now (prefilled)
        "new_province": "CA-QC",  # where she moves to
        "moved_on": moved_on,
    }
    for key in ("health-card", "driver-licence"):
        assert sent[key] == {"new_address": new_address, "moved_on": moved_on, "province": "CA-QC"}
    assert sent["voters-list"] == {
        "new_address": new_address,
        "moved_on": moved_on,
        "birth_date": "1988-03-14",
        "citizen": True,
    }
    assert sent["city"] == {
        "new_address": new_address,
        "moved_on": moved_on,
        "municipality": "CA-QC-QUE",
    }


def test_the_death_legs_field_by_field(world):
    died = (TODAY - datetime.timedelta(days=2)).isoformat()
    deceased = {
        "deceased_given_names": "Grace",
        "deceased_family_name": "Okafor",
        "deceased_birth_date": "1950-02-01",
        "date_of_death": died,
    }
    sent = legs_sent(
        world,
        world.amara,
        "death",
        {**deceased, "place_of_death": "Toronto General Hospital", "relationship": "child"},
        {
            "already_registered": False,
            "survivor": True,
            "had_driver_licence": True,
            "had_passport": True,
        },
    )
    assert sent["death-registration"] == {
        **deceased,
        "province": "CA-ON",
        "place_of_death": "Toronto General Hospital",
        "informant_relationship": "child",
    }
    assert sent["stop-pensions"] == deceased
    assert sent["survivor-benefit"] == {**deceased, "relationship": "child"}
    named = {k: deceased[k] for k in ("deceased_given_names", "deceased_family_name")}
    for key in ("health-card", "driver-licence"):
        assert sent[key] == {**named, "date_of_death": died, "province": "CA-ON"}
    assert sent["passport"] == {**named, "date_of_death": died}


def test_the_business_legs_field_by_field(world):
    starts = (TODAY + datetime.timedelta(days=20)).isoformat()
    premises = {"street_address": "12 Queen St W", "postal_code": "M5H 2N2"}
    sent = legs_sent(
        world,
        world.amara,
        "starting-a-business",
        {
            "business_name": "Noor's Bakery",
            "start_date": starts,
            "employees": 3,
            "premises": premises,
            "work": "A new shop front and an oven vent.",
        },
        {
            "municipality": "CA-ON-TOR",
            "structure": "sole_proprietorship",
            "activity": "food",
            "renovating": True,
        },
    )
    assert sent["registration"] == {
        "business_name": "Noor's Bakery",
        "structure": "sole_proprietorship",
        "activity": "food",
        "province": "CA-ON",
        "owner_given_names": "Amara",  # prefilled from who she is
        "owner_family_name": "Okafor",
    }
    assert sent["business-number"] == {
        "business_name": "Noor's Bakery",
        "structure": "sole_proprietorship",
        "start_date": starts,
        "employees": 3,
    }
    assert sent["business-licence"] == {
        "business_name": "Noor's Bakery",
        "activity": "food",
        "municipality": "CA-ON-TOR",
        "premises": premises,
        "employees": 3,
    }
    assert sent["building-permit"] == {
        "municipality": "CA-ON-TOR",
        "premises": premises,
        "work": "A new shop front and an oven vent.",
    }


def test_a_baby_born_in_1950_is_refused_with_a_clear_message(world):
    bundle = Bundle.objects.get(key="newborn")
    every_leg = [leg["key"] for leg in bundle.definition["legs"]]
    with pytest.raises(submission.BundleError) as refused:
        submission.check(
            world.context(world.amara),
            bundle,
            newborn_answers(birth_date="1950-01-01"),
            every_leg,
            [],
            newborn_screening(),
        )
    said = {e["field"]: e["message"] for e in refused.value.errors}
    assert said["birth_date"].startswith("“Date of birth” cannot be before “Your date of birth”")
    late = (TODAY - datetime.timedelta(days=60)).isoformat()
    with pytest.raises(submission.BundleError) as refused:
        submission.check(
            world.context(world.amara),
            bundle,
            newborn_answers(birth_date=late),
            every_leg,
            [],
            newborn_screening(),
        )
    said = {e["field"]: e["message"] for e in refused.value.errors}
    assert "within the last 30 days" in said["birth_date"]
