"""Assessments as data: the two shipped sets, answers checked, scores over time filtered by
what the gate lets the reader see, and the assessment pages."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import ValidationError

from joinedup.care import assessments, team
from joinedup.care.models import Assessment, IntegratedCase
from joinedup.identity.models import StaffMembership

from .test_pages import staff_client

pytestmark = pytest.mark.django_db

SHANARRI = {
    "safe",
    "healthy",
    "achieving",
    "nurtured",
    "active",
    "respected",
    "responsible",
    "included",
}


@pytest.fixture
def lead(make_staff):
    return make_staff("toronto", "caseworker", "lead@toronto.example.org")


@pytest.fixture
def case(lead, person):
    return team.open_case(
        lead, person, basis=IntegratedCase.Basis.CONSENT, categories=["housing", "health"]
    )


def _sets():
    return {s.key: s for s in assessments.current_sets()}


def test_two_sets_ship_the_needs_screen_and_the_shanarri_indicators(db):
    sets = _sets()
    screen = sets["needs-screen"]
    assert {q["domain"] for q in screen.questions} == {
        "housing",
        "income",
        "food",
        "health",
        "safety",
        "employment",
        "education",
        "legal",
        "social",
    }
    assert {q["key"] for q in sets["child-wellbeing"].questions} == SHANARRI
    assert assessments.current_sets() and len(assessments.current_sets()) == 2  # loaded once


def test_every_question_needs_an_answer_on_the_scale(case, lead):
    screen = _sets()["needs-screen"]
    answers = {q["key"]: 3 for q in screen.questions}
    with pytest.raises(ValidationError, match="Answer every question"):
        assessments.record(lead, case, screen, {**answers, "housing": 9})
    with pytest.raises(ValidationError):
        assessments.record(lead, case, screen, {k: v for k, v in answers.items() if k != "food"})
    with pytest.raises(ValidationError):
        assessments.record(
            lead, case, screen, answers, datetime.date.today() + datetime.timedelta(days=2)
        )
    assert not Assessment.objects.exists()
    recorded = assessments.record(lead, case, screen, answers)
    assert recorded.answers["housing"] == 3


def test_scores_over_time_show_only_the_domains_the_reader_may_see(case, lead, make_staff):
    screen = _sets()["needs-screen"]
    for day, score in [(datetime.date(2026, 9, 1), 1), (datetime.date(2026, 10, 1), 3)]:
        assessments.record(lead, case, screen, {q["key"]: score for q in screen.questions}, day)
    ontario = make_staff("serviceontario", "caseworker")
    team.add_member(
        lead,
        case,
        StaffMembership.objects.get(pk=ontario.membership_id),
        "key_worker",
        categories=["housing"],
    )
    mine = assessments.history(case, team.read_case(lead, case).domains)[0]
    assert len(mine["headers"]) == 10
    assert mine["rows"] == [["2026-09-01"] + [1] * 9, ["2026-10-01"] + [3] * 9]
    theirs = assessments.history(case, team.read_case(ontario, case).domains)[0]
    assert theirs["headers"] == ["Date", "Housing"]
    assert [trace["name"] for trace in theirs["figure"]["data"]] == ["Housing"]


def test_the_assessment_pages(case, lead):
    browser = staff_client(lead)
    url = f"/en/staff/care/cases/{case.reference}/assessments/child-wellbeing/"
    assert "Nurtured" in browser.get(url).content.decode()
    refused = browser.post(url, {"safe": "2"})
    assert refused.status_code == 400 and "Answer every question" in refused.content.decode()
    answers = dict.fromkeys(SHANARRI, "4")
    assert browser.post(url, answers).status_code == 302
    page = browser.get(f"/en/staff/care/cases/{case.reference}/").content.decode()
    assert "Scores over time: Child wellbeing (SHANARRI)" in page
    french = browser.get(f"/fr/staff/care/cases/{case.reference}/assessments/needs-screen/")
    assert "Dépistage général des besoins" in french.content.decode()
    missing = f"/en/staff/care/cases/{case.reference}/assessments/horoscope/"
    assert browser.get(missing).status_code == 404
