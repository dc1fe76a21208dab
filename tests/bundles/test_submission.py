"""Submitting a bundle: accepted at once (one submission, one consent and one leg per service
kept, each "received" with its due date), then one application per leg in each competent
agency, made by the task workers — the acceptance all or nothing, once per idempotency key,
with clear refusals."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection

from joinedup.bundles import submission
from joinedup.bundles.models import BundleLeg, BundleSubmission
from joinedup.delivery.models import Application
from joinedup.identity.policy import PolicyDenied
from joinedup.sharing.models import ConsentRecord, OutboxEvent

from .conftest import NEWBORN_LEGS, newborn_answers, newborn_screening, run_workers

pytestmark = pytest.mark.django_db


def submit(world, key="k-1", consents=NEWBORN_LEGS, dropped=(), answers=None, **screening):
    return submission.submit_bundle(
        world.context(world.amara),
        "newborn",
        answers if answers is not None else newborn_answers(),
        list(consents),
        list(dropped),
        key,
        screening=newborn_screening(**screening),
    )


def counts():
    return (
        BundleSubmission.objects.count(),
        Application.objects.count(),
        ConsentRecord.objects.count(),
        OutboxEvent.objects.count(),
    )


def test_one_application_per_leg_in_each_competent_agency(world):
    made, created = submit(world)
    assert created
    # Accepted: each leg received, with the due date it promises; no application yet.
    accepted = list(made.legs.all())
    assert accepted and all(leg.status == "received" and leg.due_date for leg in accepted)
    assert not Application.objects.filter(applicant=world.amara.person).exists()
    assert OutboxEvent.objects.filter(type="org.joinedup.bundle.legs_received").count() == 3
    run_workers()
    legs = {leg.key: leg for leg in made.legs.select_related("agency__jurisdiction", "application")}
    assert set(legs) == set(NEWBORN_LEGS)
    agencies = {leg.key: leg.agency.key for leg in legs.values()}
    assert agencies == {
        "birth-registration": "serviceontario",
        "birth-certificate": "serviceontario",
        "social-insurance-number": "esdc",
        "child-benefit": "cra",
        "provincial-child-benefit": "cra",
        "education-savings": "esdc",
    }
    assert {leg.agency.jurisdiction.code for leg in legs.values()} == {"CA", "CA-ON"}
    for leg in legs.values():
        assert leg.application.applicant_id == world.amara.person_id
        assert leg.application.due_date is not None
        assert leg.state == "started"
        assert leg.application.submitted_at == made.submitted_at
        assert leg.application.channel == "online"
        assert leg.consent is not None and leg.consent.recipients.get() == leg.agency
    # Each agency received its own form's answers, mapped from the one unified form.
    assert legs["social-insurance-number"].application.data == {
        "given_names": "Noor",
        "family_name": "Okafor",
        "birth_date": newborn_answers()["birth_date"],
        "primary_document": "birth_certificate",
    }
    registration = legs["birth-registration"].application.data
    assert registration["parents"] == [
        {"given_names": "Amara", "family_name": "Okafor", "birth_date": "1988-03-14"},
        {"given_names": "David", "family_name": "Okafor"},
    ]
    assert registration["mailing_address"]["street_address"] == "40 Bay St"  # prefilled
    assert "income_last_year" not in registration
    assert OutboxEvent.objects.filter(type="org.joinedup.bundle.submitted").count() == 1


def test_the_same_key_returns_the_first_submission(world):
    first, created = submit(world)
    before = counts()
    again, created_again = submit(world)
    assert created and not created_again
    assert again.pk == first.pk
    assert counts() == before


def test_the_same_key_with_other_answers_is_refused(world):
    submit(world)
    with pytest.raises(submission.BundleError) as refused:
        submit(world, answers=newborn_answers(child_given_names="Ada"))
    assert refused.value.code == "idempotency_conflict"


def test_a_failure_in_the_acceptance_writes_nothing(world):
    """The database refuses the legs: the submission, its consents and its events are all
    rolled back. (A leg whose application cannot be made later is held up, not lost:
    test_starting.py.)"""
    before = counts()
    inserted = []

    def fail_legs(execute, sql, params, many, context):
        # Alone (SQLite) or inside the acceptance's one statement (PostgreSQL).
        if 'INSERT INTO "bundles_bundleleg"' in sql:
            inserted.append(sql)
            raise IntegrityError("the database refused the legs")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(fail_legs), pytest.raises(IntegrityError):
        submit(world, key="")
    assert len(inserted) == 1
    assert counts() == before
    assert not BundleLeg.objects.exists()


def test_bad_answers_are_all_reported_and_nothing_is_written(world):
    before = counts()
    with pytest.raises(submission.BundleError) as refused:
        submit(world, answers=newborn_answers(income_last_year=-5, child_given_names=""))
    error = refused.value
    assert error.code == "invalid"
    fields = {e["field"] for e in error.errors}
    assert {"child_given_names", "income_last_year"} <= fields
    assert all(e["message"] for e in error.errors)
    assert counts() == before


def test_consent_is_needed_for_every_leg_kept(world):
    with pytest.raises(submission.BundleError) as refused:
        submit(world, consents=[leg for leg in NEWBORN_LEGS if leg != "child-benefit"])
    assert refused.value.code == "consent_missing"
    assert [e["leg"] for e in refused.value.errors] == ["child-benefit"]


def test_a_leg_left_out_is_not_applied_for(world):
    made, _created = submit(
        world,
        dropped=["child-benefit", "education-savings"],
        consents=[*NEWBORN_LEGS[:3], "provincial-child-benefit"],
    )
    assert sorted(made.legs.values_list("key", flat=True)) == sorted(
        [
            "birth-registration",
            "birth-certificate",
            "social-insurance-number",
            "provincial-child-benefit",
        ]
    )
    assert made.dropped == ["child-benefit", "education-savings"]


def test_the_registration_cannot_be_left_out(world):
    with pytest.raises(submission.BundleError) as refused:
        submit(world, dropped=["birth-registration"])
    assert refused.value.code == "required_leg"


def test_unknown_legs_and_bundles_are_refused(world):
    with pytest.raises(submission.BundleError) as refused:
        submit(world, dropped=["no-such-leg"])
    assert refused.value.code == "unknown_leg"
    with pytest.raises(submission.BundleError) as unknown:
        submission.submit_bundle(world.context(world.amara), "no-such-bundle", {}, [], [], "k")
    assert unknown.value.code == "unknown_bundle"


def test_bad_screening_answers_are_refused(world):
    with pytest.raises(submission.BundleError) as refused:
        submit(world, birth_province="CA-XX")
    assert refused.value.code == "invalid_screening"
    assert refused.value.errors[0]["field"] == "birth_province"


def test_a_service_above_the_actors_level_is_not_on_the_list(world):
    """David is verified remotely (level 2): the social insurance number needs level 3."""
    made, _created = submission.submit_bundle(
        world.context(world.david),
        "newborn",
        newborn_answers(other_parent_given_names="Amara"),
        NEWBORN_LEGS,
        [],
        "k-david",
        screening=newborn_screening(),
    )
    assert "social-insurance-number" not in set(made.legs.values_list("key", flat=True))


def test_anonymous_and_staff_cannot_submit(world):
    from joinedup.identity.acting import ANONYMOUS

    with pytest.raises(PolicyDenied):
        submission.submit_bundle(ANONYMOUS, "newborn", {}, [], [], "k")


def test_status_follows_the_legs(world):
    made, _created = submit(world)
    legs = submission.legs_of(made)
    code, _label = submission.status_of(legs)
    assert code == "submitted"  # accepted: every leg received
    promised = {leg.key: leg.due_date for leg in legs}
    assert submission.due_date_of(legs) == max(promised.values())
    run_workers()
    legs = submission.legs_of(made)
    # Each application keeps the due date its leg promised when the bundle was accepted.
    assert {leg.key: leg.application.due_date for leg in legs} == promised
    code, _label = submission.status_of(legs)
    # The certificate's fee is to be paid: the bundle waits for the parent.
    assert code == "waiting_for_applicant"
    due = submission.due_date_of(legs)
    assert due == max(leg.application.due_date for leg in legs if not leg.application.is_closed)
