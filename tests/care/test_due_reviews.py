"""Plan reviews that come due: the platform opens the review task in the lead agency's queue
of the engine (once per review date, on the calendar of the place), the lead professional sees
it in the workspace, and holding the review answers it."""

from __future__ import annotations

import datetime
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command

from joinedup.care import mine, plans, team
from joinedup.care.models import IntegratedCase, PlanRequest
from joinedup.delivery.models import WorkItem
from joinedup.identity.acting import ActingContext
from joinedup.sharing import schedule

pytestmark = pytest.mark.django_db

UTC = datetime.UTC
REVIEW = datetime.date(2027, 3, 1)


@pytest.fixture
def lead(make_staff):
    return make_staff("toronto", "caseworker", "lead@toronto.example.org")


@pytest.fixture
def case(lead, person):
    case = team.open_case(lead, person, basis=IntegratedCase.Basis.CONSENT, categories=["housing"])
    case.review_date = REVIEW
    case.save(update_fields=["review_date"])
    return case


def _at(day: datetime.date, hour: int) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour), tzinfo=UTC)


def test_a_review_date_that_came_opens_one_task_in_the_lead_agencys_queue(case, lead):
    opened = plans.open_due_reviews(_at(REVIEW, 15))
    assert [(r.case, r.kind, r.due_on) for r in opened] == [(case, "due_review", REVIEW)]
    request = opened[0]
    assert request.application.applicant_id == case.person_id
    assert request.application.service.key == "care-reviews.toronto"
    item = WorkItem.objects.get(application=request.application, status="open")
    assert (item.agency_id, item.kind) == (case.agency_id, "plan_review")
    # Idempotent: the job runs every hour, and a second scheduler may run it at once.
    assert plans.open_due_reviews(_at(REVIEW, 16)) == []
    assert plans.open_due_reviews(_at(REVIEW + datetime.timedelta(days=3), 9)) == []
    assert PlanRequest.objects.filter(case=case).count() == 1
    assert not plans.due_reviews(_at(REVIEW, 17)).exists()


def test_the_review_date_counts_on_the_lead_agencys_calendar(case):
    # 02:00 UTC on the review date is still the evening before in Toronto.
    assert plans.open_due_reviews(_at(REVIEW, 2)) == []
    assert plans.open_due_reviews(_at(REVIEW - datetime.timedelta(days=2), 12)) == []
    assert len(plans.open_due_reviews(_at(REVIEW, 6))) == 1


def test_holding_the_review_answers_it_and_the_next_date_opens_a_new_one(case, lead):
    (request,) = plans.open_due_reviews(_at(REVIEW, 15))
    next_review = REVIEW + datetime.timedelta(days=90)
    plans.record_review(
        lead,
        case,
        held_on=REVIEW,
        attendee_ids=[case.team.get(role="lead").pk],
        decisions="Housing goal on track.",
        next_review=next_review,
    )
    request.refresh_from_db()
    assert request.handled_at is not None
    assert not WorkItem.objects.filter(application=request.application, status="open").exists()
    assert plans.open_due_reviews(_at(REVIEW + datetime.timedelta(days=30), 15)) == []
    (again,) = plans.open_due_reviews(_at(next_review, 15))
    assert again.due_on == next_review and again.pk != request.pk


def test_closed_cases_and_cases_without_a_review_date_get_none(case, person, lead):
    case.status = IntegratedCase.Status.CLOSED
    case.save(update_fields=["status"])
    assert plans.open_due_reviews(_at(REVIEW, 15)) == []
    case.status = IntegratedCase.Status.OPEN
    case.review_date = None
    case.save(update_fields=["status", "review_date"])
    assert plans.open_due_reviews(_at(REVIEW, 15)) == []


def test_the_command_opens_them_once(case):
    case.review_date = datetime.date.today() - datetime.timedelta(days=1)
    case.save(update_fields=["review_date"])
    out = StringIO()
    call_command("open_due_reviews", stdout=out)
    assert f"{case.reference}: {case.review_date.isoformat()}" in out.getvalue()
    assert "opened: 1" in out.getvalue()
    out = StringIO()
    call_command("open_due_reviews", stdout=out)
    assert "opened: 0" in out.getvalue()


def test_the_hourly_job_is_enqueued_only_when_a_review_is_due(case):
    job = next(job for job in schedule.JOBS if job.name == "care.due-reviews")
    assert job.every() == datetime.timedelta(hours=1)
    case.review_date = datetime.date.today() + datetime.timedelta(days=30)
    case.save(update_fields=["review_date"])
    assert "care.due-reviews" not in schedule.run_due()
    case.review_date = datetime.date.today() - datetime.timedelta(days=1)
    case.save(update_fields=["review_date"])
    later = datetime.datetime.now(UTC) + datetime.timedelta(hours=2)
    assert "care.due-reviews" in schedule.run_due(later)


def test_a_person_cannot_ask_for_a_due_review_themselves(case, person):
    context = ActingContext(user_id=None, person_id=person.pk, subject_id=person.pk)
    with pytest.raises(ValidationError):
        mine.ask(context, "due_review", "Open it")
    assert not PlanRequest.objects.exists()
