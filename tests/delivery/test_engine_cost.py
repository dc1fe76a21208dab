"""What one application costs the database: a bounded number of statements per submission
and per step, the same for the hundredth application as for the first (no N+1), the
process definition read once per process, and no PDF rendered until someone asks for it."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from joinedup.delivery import clock, queues, versions
from joinedup.delivery.applications import submit_application
from joinedup.delivery.models import Application, Document, WorkItem
from joinedup.delivery.workflows import engine as workflow

from .conftest import person_context

pytestmark = pytest.mark.django_db

#: A caseworker's three steps, then a document issued: what the engine's cost is measured on
#: (bench/delivery.py runs the same process).
THREE_STEPS = (Path(__file__).parent / "files" / "three_steps.bpmn").read_text()

#: Upper bounds, statements included (BEGIN/COMMIT, savepoints, the outbox's events and task
#: row; the wake-up is sent after the commit by the process's waker thread, on a connection of
#: its own). A submission (8): the idempotency key, the address, the savepoint, the work
#: item, the application inserted once with its first step, both timeline rows in one
#: INSERT, its three events in one INSERT with the dispatch task's row (written only when no
#: task waits for a worker), the release. The service's current version and
#: the offering routing chose (with its agency, the calendar's jurisdiction and the
#: back-end) are kept per process after the first submission, and the applicant is the
#: person the acting context holds. A step (7):
#: the savepoint, the locked item with its application, its agency's back-end and whether a
#: pause is open; the item, the next item, the application, the two events (with the task
#: row) in one INSERT; the release. The last step (11) adds the document's savepoint, the
#: applicant, the document and the timeline row. (Until 7 December 2026 the events went by
#: COPY, which these counts do not see, and the task row was an INSERT of its own: the same
#: numbers now hold one statement fewer per transaction.)
MAX_SUBMIT = 8
MAX_STEP = 7
MAX_LAST_STEP = 11


@pytest.fixture
def three_steps(federation):
    return versions.deploy(
        "ca.birth-registration",
        THREE_STEPS,
        {"schema": {"type": "object", "properties": {"note": {"type": "string"}}}},
        documents={"confirmation": {"title": {"en": "Confirmation"}}},
    ).version


def _carry(context, staff, number: int) -> list[int]:
    """Submit and complete one application; the statements each part took."""
    counts = []
    with CaptureQueriesContext(connection) as submitted:
        application, _ = submit_application(
            context, "ca.birth-registration", {"note": str(number)}, "online", f"k{number}"
        )
    counts.append(len(submitted.captured_queries))
    for _step in range(3):
        item = WorkItem.objects.select_related("agency").get(
            application=application, status=WorkItem.Status.OPEN
        )
        with CaptureQueriesContext(connection) as step:
            queues.complete(staff, item, "approve")
        counts.append(len(step.captured_queries))
        read = " ".join(q["sql"] for q in step.captured_queries)
        assert '"delivery_serviceversion"."spec"' not in read, (
            "a step read its process definition again: it is kept once per process"
        )
    return counts


def test_statements_per_application_are_bounded_and_do_not_grow(
    three_steps, applicant, make_staff, federation
):
    context = person_context(applicant)
    staff = make_staff(federation["serviceontario"], "caseworker")
    _carry(context, staff, 0)  # the first reads the calendar and the process definition
    second = _carry(context, staff, 1)
    for number in range(2, 5):
        _carry(context, staff, number)
    fifth = _carry(context, staff, 5)
    assert second == fifth, "the cost of an application grew with the number before it"
    submit, *steps, last = fifth
    assert submit <= MAX_SUBMIT, fifth
    assert all(step <= MAX_STEP for step in steps), fifth
    assert last <= MAX_LAST_STEP, fifth
    assert Application.objects.filter(status="approved").count() == 6


def test_documents_are_signed_at_once_and_rendered_when_first_asked_for(
    three_steps, applicant, make_staff, federation
):
    from joinedup.delivery import documents

    _carry(person_context(applicant), make_staff(federation["serviceontario"]), 0)
    document = Document.objects.get()
    assert document.signature and not document.pdf and not document.pdf_sha256
    assert documents.pdf_for(document).startswith(b"%PDF")
    document.refresh_from_db()
    assert document.pdf and document.pdf_sha256


def test_the_process_definition_is_restored_once_per_version(
    three_steps, applicant, make_staff, federation
):
    workflow._SPECS.clear()
    context = person_context(applicant)
    staff = make_staff(federation["serviceontario"])
    _carry(context, staff, 0)
    first = workflow.spec_for(three_steps)
    _carry(context, staff, 1)
    assert workflow.spec_for(three_steps) is first
    assert [key for key in workflow._SPECS if key[0] == three_steps.pk] == [
        (three_steps.pk, three_steps.checksum)
    ]


def test_a_calendar_change_is_seen_at_once(three_steps, applicant, federation):
    from joinedup.federation.models import Jurisdiction

    application, _ = submit_application(
        person_context(applicant), "ca.birth-registration", {"note": "x"}, "online", "cal"
    )
    before = clock.calendar_of(application)
    ontario = Jurisdiction.objects.get(code=application.agency.jurisdiction.code)
    ontario.holiday_subdivision = "QC" if ontario.holiday_subdivision != "QC" else "ON"
    ontario.save()
    application = Application.objects.select_related("agency__jurisdiction").get(pk=application.pk)
    after = clock.calendar_of(application)
    assert after != before


def test_the_task_waiting_on_an_application_is_found_in_one_statement(
    three_steps, applicant, make_staff, federation
):
    staff = make_staff(federation["serviceontario"], "caseworker")
    application, _ = submit_application(
        person_context(applicant), "ca.birth-registration", {"note": "x"}, "online", "wait"
    )
    seen = []
    for _step in range(3):
        expected = WorkItem.objects.get(application=application, status=WorkItem.Status.OPEN)
        with CaptureQueriesContext(connection) as read:
            item = queues.waiting_item(application.pk)
            agency = item.agency.key  # read with the item
        assert len(read.captured_queries) == 1
        assert item.pk == expected.pk and agency == "serviceontario"
        assert queues.waiting_item(str(application.pk), kind=expected.kind).pk == expected.pk
        assert queues.waiting_item(application.pk, kind="no such kind") is None
        seen.append(item.task_name)
        queues.complete(staff, item, "approve")
    assert len(set(seen)) == 3, "each step's task, one after the other"
    assert queues.waiting_item(application.pk) is None  # approved: nothing waits
