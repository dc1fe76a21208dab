"""Satisfaction by client group: an invitation knows its transaction's groups, the answer
adds to each group's survey sums (never to the stored response), the groups reconcile with
the survey rollup, and the groups page shows satisfaction and a funnel plot by group."""

from __future__ import annotations

import datetime

import pytest
from django.test import Client

from joinedup.demo.history.run import generate_history
from joinedup.performance import insight, kpis, rollups, surveys
from joinedup.performance.models import (
    SurveyGroupRollup,
    SurveyInvitation,
    SurveyResponse,
    SurveyRollup,
)
from joinedup.sharing import dispatch

from .test_transactions import at, decide_at, submit

pytestmark = pytest.mark.django_db


def test_an_answer_adds_to_its_groups_and_the_response_stays_without_them(
    birth_registration, applicant, settings
):
    settings.PERFORMANCE_SURVEY_RATE = 1.0
    applicant.person.birth_date = datetime.date(1950, 3, 1)
    applicant.person.save()
    decide_at(submit(applicant, "sg"), "approved", at("2026-03-02"))
    dispatch.dispatch_pending()
    invitation = SurveyInvitation.objects.get()
    assert invitation.groups["age_band"] == "65_plus"
    assert invitation.groups["mandate"] == "self"
    invited = SurveyGroupRollup.objects.filter(dimension="age_band")
    assert [(r.value, r.invited, r.responses) for r in invited] == [("65_plus", 1, 0)]
    surveys.respond(invitation, surveys.clean_answers({"satisfaction": "4"}), "portal")
    assert SurveyGroupRollup.objects.count() == len(rollups.GROUP_DIMENSIONS)
    row = SurveyGroupRollup.objects.get(dimension="age_band")
    assert (row.value, row.invited, row.responses, row.sums["satisfaction"]) == (
        "65_plus",
        1,
        1,
        [4, 1],
    )
    assert not {"groups", "age_band", "dimension"} & {f.name for f in SurveyResponse._meta.fields}
    period = kpis.parse_period("12m")  # answered today, decided in March
    cells = kpis.compute(period, ("group",), dimension="age_band")
    older = next(c for c in cells if c.key["group"] == "65_plus")
    assert (older.responses, older.invited, older.satisfaction) == (1, 1, 75.0)
    # A rebuild of the rollups keeps the groups' sums (the responses carry no group).
    rollups.recompute_rollups()
    assert SurveyGroupRollup.objects.get(dimension="age_band").responses == 1


@pytest.fixture
def generated(small_federation):
    generate_history(3000, years=2, seed=11)
    return kpis.parse_period("12m")


def test_each_dimension_of_the_survey_sums_adds_up_to_the_survey_rollup(generated):
    invited = sum(SurveyRollup.objects.values_list("invited", flat=True))
    answered = sum(SurveyRollup.objects.values_list("responses", flat=True))
    assert answered > 20
    for dimension in rollups.GROUP_DIMENSIONS:
        rows = SurveyGroupRollup.objects.filter(dimension=dimension)
        assert sum(r.invited for r in rows) == invited, dimension
        assert sum(r.responses for r in rows) == answered, dimension
    total = kpis.compute(generated, ())[0]
    cells = kpis.compute(generated, ("group",), dimension="age_band")
    assert sum(c.responses for c in cells) == total.responses
    for question in ("satisfaction", "trust"):
        assert [sum(c.answers.get(question, (0, 0))[i] for c in cells) for i in (0, 1)] == list(
            total.answers[question]
        )


def test_the_groups_page_shows_satisfaction_and_a_funnel_by_group(generated, settings):
    settings.PERFORMANCE_MIN_COUNT = 5
    data = insight.by_group(generated, "age_band", "digital_take_up")
    ids = [chart.id for chart in data["charts"]]
    assert ids == ["chart-groups", "chart-group-funnel", "chart-group-satisfaction"]
    funnel = data["charts"][1]
    assert funnel.headers[0] == "Group" and len(funnel.rows) >= 3
    # Older clients complete far less online: outside the limits of chance, below.
    position = {row[0]: row[4] for row in funnel.rows}
    assert position["65 and over"] == "Below" and position["25 to 44"] == "Above"
    satisfaction = data["charts"][2]
    published = {r["name"]: r["satisfaction"] for r in data["rows"]}
    for name, value in satisfaction.rows:
        assert value == ("—" if published[name] is None else f"{published[name]:.1f}")
    for language, words in (("en", "Satisfaction by age band"), ("fr", "Satisfaction par")):
        page = Client().get(f"/{language}/performance/groups/?dimension=age_band")
        assert page.status_code == 200
        text = page.content.decode()
        assert words in text and "chart-group-funnel" in text


def test_satisfaction_by_group_is_suppressed_like_the_other_measures(generated, settings):
    settings.PERFORMANCE_MIN_COUNT = 25
    data = insight.by_group(generated, "age_band", "completion_rate")
    hidden = [r for r in data["rows"] if "satisfaction" in r["suppressed"]]
    assert len(hidden) != 1
