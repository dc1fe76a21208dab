"""Starting a bundle's legs in the task workers: each leg exactly once, whatever the
redeliveries; a leg that cannot start is held up, shown so, and retried until it starts.
(A worker killed mid-way: test_starting_crash.py.)"""

from __future__ import annotations

import pytest
from django.utils import timezone

from joinedup.bundles import starting, submission
from joinedup.bundles.models import BundleLeg
from joinedup.delivery.models import Application, ServiceVersion
from joinedup.sharing.models import OutboxEvent

from .conftest import NEWBORN_LEGS, newborn_answers, newborn_screening, run_workers
from .test_api import client_for
from .test_pages import signed_in

pytestmark = pytest.mark.django_db


def submit(world, key="start-1"):
    made, _created = submission.submit_bundle(
        world.context(world.amara),
        "newborn",
        newborn_answers(),
        NEWBORN_LEGS,
        [],
        key,
        screening=newborn_screening(),
    )
    return made


def applications_of(world) -> int:
    return Application.objects.filter(applicant=world.amara.person).count()


def test_each_agency_starts_its_own_legs_once_whatever_the_redeliveries(world):
    made = submit(world)
    events = OutboxEvent.objects.filter(type=starting.LEGS_RECEIVED, subject=str(made.pk)).order_by(
        "time"
    )
    by_agency = {event.data["agency"]: event.data["legs"] for event in events}
    assert set(by_agency) == {"serviceontario", "esdc", "cra"}
    legs = {leg.pk: leg for leg in made.legs.all()}
    for agency, ids in by_agency.items():
        assert {legs[pk].agency.key for pk in ids} == {agency}
    ids = by_agency["serviceontario"]
    assert {leg.key for leg in starting.start_legs(ids)} == {
        "birth-registration",
        "birth-certificate",
    }
    assert applications_of(world) == 2
    # The same event again (a dispatcher whose lease ran out, a retry from the admin): nothing.
    assert starting.start_legs(ids) == []
    run_workers()  # every event, that one included
    assert applications_of(world) == 6
    assert starting.start_legs([pk for pks in by_agency.values() for pk in pks]) == []
    assert applications_of(world) == 6


def test_the_database_refuses_a_second_application_for_a_leg(world):
    """A leg whose application exists without being linked to it (a run that did not link
    it) gets that application, not a second one: the leg is the application's key."""
    made = submit(world)
    run_workers()
    leg = made.legs.get(key="child-benefit")
    first = leg.application_id
    BundleLeg.objects.filter(pk=leg.pk).update(application=None, state="received")
    assert starting.start_legs([leg.pk]) == []
    leg.refresh_from_db()
    assert leg.application_id == first and leg.state == "started"
    assert applications_of(world) == 6


def test_a_leg_that_cannot_start_is_held_up_shown_and_retried(world):
    made = submit(world)
    version = made.legs.get(key="birth-certificate").version
    kept = {"bpmn": version.bpmn, "spec": version.spec, "checksum": version.checksum}
    # The agency's process is gone (its definition no longer reads as a process).
    ServiceVersion.objects.filter(pk=version.pk).update(
        bpmn="<not-a-process/>", spec={}, checksum="gone"
    )
    run_workers()
    legs = {leg.key: leg for leg in made.legs.all()}
    held = legs.pop("birth-certificate")
    assert held.state == "held_up" and held.application_id is None
    assert held.attempts == 1 and held.last_error and held.next_attempt_at > timezone.now()
    # The other legs went on, the one of the same agency included.
    assert all(leg.state == "started" and leg.application_id for leg in legs.values())
    # The person sees it held up, not lost; so does the API.
    seen = client_for(world.amara).get(f"/api/v1/submissions/{made.pk}").json()
    assert seen["status"] != "completed"
    shown = {leg["leg"]: leg for leg in seen["legs"]}
    assert shown["birth-certificate"]["status"] == "held_up"
    assert shown["birth-certificate"]["status_label"] == "Held up: our staff are looking into it"
    assert shown["birth-certificate"]["due_date"] == held.due_date.isoformat()
    page = signed_in(world.amara).get(f"/en/my/bundles/{made.pk}/").content.decode()
    assert "We could not send it to the agency yet: we will try again." in page
    # Not due yet: the periodic job leaves it.
    assert starting.retry_held_up() == 0
    # Still broken when due: held up again, with a longer wait.
    BundleLeg.objects.filter(pk=held.pk).update(next_attempt_at=timezone.now())
    assert starting.retry_held_up() == 0
    held.refresh_from_db()
    assert held.state == "held_up" and held.attempts == 2
    assert starting.retry_wait(2) > starting.retry_wait(1)
    # The process is back: the next attempt starts it, once, keeping the promised due date.
    ServiceVersion.objects.filter(pk=version.pk).update(**kept)
    BundleLeg.objects.filter(pk=held.pk).update(next_attempt_at=timezone.now())
    assert starting.retry_held_up() == 1
    held.refresh_from_db()
    assert held.state == "started" and held.last_error == ""
    assert held.application.due_date == held.due_date
    assert starting.retry_held_up() == 0
    assert applications_of(world) == 6


def test_an_agencys_legs_start_together_with_one_update_and_no_savepoint_each(world):
    """A worker starts an agency's legs with no savepoint per leg and one update of the
    legs (the careful way, a savepoint each, only after a failure: see the test above)."""
    # Imported here: only this test counts statements.
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    made = submit(world)
    events = OutboxEvent.objects.filter(type=starting.LEGS_RECEIVED, subject=str(made.pk))
    ids = next(e.data["legs"] for e in events if e.data["agency"] == "esdc")
    assert len(ids) == 2
    with CaptureQueriesContext(connection) as counted:
        assert len(starting.start_legs(ids)) == 2
    sent = [q["sql"] for q in counted.captured_queries]
    updates = [sql for sql in sent if sql.startswith('UPDATE "bundles_bundleleg"')]
    savepoints = [sql for sql in sent if sql.startswith("SAVEPOINT")]
    assert len(updates) == 1, "\n".join(sent)
    # The worker's own block, and the one of the document's handler (one leg issues a
    # document): not one per leg.
    assert len(savepoints) <= len(ids), "\n".join(sent)
    # The savepoint and its release, the lock, the two legs (applications, work item,
    # status changes, the document and the second leg's update), the legs' update; the
    # events (on SQLite in the block, on PostgreSQL at the commit).
    assert len(sent) <= MAX_START_TWO, "\n".join(q[:100] for q in sent)


#: ESDC's two legs started by a worker: 13 on PostgreSQL, 14 on SQLite (was 18 and 19: a
#: savepoint and an update each).
MAX_START_TWO = 14
