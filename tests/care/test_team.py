"""The integrated case and its team: what each member sees is the data gate's decision, by
agency, role, sensitivity and consent; every read is in the person's ledger; leaving the team
or a withdrawn consent ends access at the next read."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from joinedup.care import plans, team
from joinedup.care.models import IntegratedCase, Note, TeamMember
from joinedup.identity.models import StaffMembership
from joinedup.sharing import ledger
from joinedup.sharing.models import AccessEvent, ConsentRecord

pytestmark = pytest.mark.django_db

NOTES = {
    "housing": "Rent arrears of two months; landlord has served notice.",
    "health": "Takes medication for depression; sees a psychiatrist monthly.",
    "food": "Uses a food bank twice a month.",
    "legal": "Court date for a small claims matter in March.",
    "safety": "Former partner made threats last week.",
}


@pytest.fixture
def lead(make_staff):
    return make_staff("toronto", "caseworker", "lead@toronto.example.org")


@pytest.fixture
def case(lead, person):
    case = team.open_case(
        lead,
        person,
        basis=IntegratedCase.Basis.CONSENT,
        categories=["housing", "income", "health", "family", "justice"],
    )
    for domain, text in NOTES.items():
        plans.add_note(lead, case, domain, text)
    return case


@pytest.fixture
def ontario(make_staff):
    return make_staff("serviceontario", "caseworker", "worker@ontario.example.org")


@pytest.fixture
def food_bank(make_staff):
    return make_staff(
        "helping-hands", "caseworker", "worker@helping.example.org", areas=("CA-ON-TOR",)
    )


def _membership(context) -> StaffMembership:
    return StaffMembership.objects.get(pk=context.membership_id)


def _seen(context, case) -> set[str]:
    view = team.read_case(context, case)
    return {note.domain for note in view.notes}


def test_opening_a_case_records_the_consent_and_makes_the_opener_lead(case, lead, person):
    member = case.team.get()
    assert member.role == TeamMember.Role.LEAD
    assert member.consent.subject == person
    assert "care-coordination" in member.consent.purposes
    assert set(member.consent.categories) >= {"housing", "health"}
    with pytest.raises(ValidationError, match="already has an open case"):
        team.open_case(lead, person, basis="consent", categories=["housing"])


def test_opening_needs_a_basis_and_case_staff(make_staff, person):
    lead = make_staff("toronto", "caseworker")
    food_bank = make_staff("helping-hands", "front_line", areas=("CA-ON-TOR",))
    with pytest.raises(ValidationError):
        team.open_case(lead, person, basis="whim", categories=["housing"])
    with pytest.raises(ValidationError):
        team.open_case(lead, person, basis="consent", categories=[])
    with pytest.raises(ValidationError):
        team.open_case(lead, person, basis="consent", categories=["horoscope"])
    with pytest.raises(PermissionDenied):
        team.open_case(food_bank, person, basis="consent", categories=["housing"])
    assert not IntegratedCase.objects.exists()


def test_each_member_sees_what_the_person_consented_to_share_with_their_agency(
    case, lead, ontario, food_bank
):
    team.add_member(
        lead, case, _membership(ontario), "key_worker", categories=["housing", "income"]
    )
    team.add_member(lead, case, _membership(food_bank), "specialist", categories=["income"])
    # The holding agency's caseworker sees every domain (their own record, within their role).
    assert _seen(lead, case) == set(NOTES)
    # The province: housing and income (food), not the health note, not the legal matter.
    assert _seen(ontario, case) == {"housing", "food"}
    # The food bank: income (food) only.
    assert _seen(food_bank, case) == {"food"}
    view = team.read_case(ontario, case)
    assert "health" in view.withheld and "justice" in view.withheld
    assert view.person_name == "Jordan Mbeki"


def test_a_front_line_member_sees_only_what_their_role_reaches(case, lead, make_staff):
    volunteer = make_staff(
        "helping-hands", "front_line", "volunteer@helping.example.org", areas=("CA-ON-TOR",)
    )
    team.add_member(
        lead, case, _membership(volunteer), "specialist", categories=["income", "housing"]
    )
    # Income (and so food) is highly sensitive: beyond a front-line role's reach.
    assert _seen(volunteer, case) == {"housing"}


def test_special_categories_need_a_case_role_even_with_consent(case, lead, make_staff):
    clerk = make_staff("serviceontario", "front_line", "clerk@ontario.example.org")
    team.add_member(lead, case, _membership(clerk), "specialist", categories=["health", "housing"])
    assert _seen(clerk, case) == {"housing"}


def test_every_read_lands_in_the_persons_ledger(case, lead, ontario, person):
    team.add_member(lead, case, _membership(ontario), "key_worker", categories=["housing"])
    before = AccessEvent.objects.filter(subject_id=person.pk).count()
    team.read_case(ontario, case)
    events = list(ledger.events_for(person.pk))
    assert len(events) == before + 1
    event = events[0]
    assert event.actor_agency == "serviceontario"
    assert event.purpose == "care-coordination"
    assert event.legal_basis == "consent"
    assert "care.housing" in event.fields and "care.health" not in event.fields


def test_a_member_who_leaves_loses_access_at_once(case, lead, ontario):
    member = team.add_member(lead, case, _membership(ontario), "key_worker", categories=["housing"])
    assert _seen(ontario, case) == {"housing"}
    team.remove_member(lead, member)
    with pytest.raises(team.NotOnTeam):
        team.read_case(ontario, case)


def test_withdrawn_consent_ends_the_agencys_access_at_the_next_read(case, lead, ontario, person):
    team.add_member(lead, case, _membership(ontario), "key_worker", categories=["housing"])
    assert _seen(ontario, case) == {"housing"}
    assert team.withdraw_agency(case, ontario_agency(ontario), method="online") == 1
    with pytest.raises(team.NotOnTeam):
        team.read_case(ontario, case)
    refused = AccessEvent.objects.filter(subject_id=person.pk, actor_agency="serviceontario")
    assert refused.filter(outcome=AccessEvent.Outcome.REFUSED, reason="no_consent").exists()
    # The lead's own agency is not affected.
    assert _seen(lead, case) == set(NOTES)


def ontario_agency(context):
    return _membership(context).agency


def test_a_statutory_case_shares_without_consent_but_special_categories_only_to_case_roles(
    make_staff, person
):
    lead = make_staff("toronto", "case_manager", "cp@toronto.example.org")
    case = team.open_case(lead, person, basis=IntegratedCase.Basis.STATUTE)
    for domain, text in NOTES.items():
        plans.add_note(lead, case, domain, text)
    worker = make_staff("serviceontario", "caseworker", "cp-worker@ontario.example.org")
    clerk = make_staff("serviceontario", "front_line", "cp-clerk@ontario.example.org")
    team.add_member(lead, case, _membership(worker), "key_worker")
    team.add_member(lead, case, _membership(clerk), "specialist")
    assert _seen(worker, case) == set(NOTES)
    # Front-line staff reach moderate data only: housing here (income, family are high).
    assert _seen(clerk, case) == {"housing"}
    assert not ConsentRecord.objects.filter(subject=person).exists()


def test_someone_not_on_the_team_sees_nothing(case, ontario):
    with pytest.raises(team.NotOnTeam):
        team.read_case(ontario, case)


def test_only_coordinators_shape_the_team(case, lead, ontario, food_bank):
    team.add_member(lead, case, _membership(ontario), "key_worker", categories=["housing"])
    with pytest.raises(PermissionDenied):
        team.add_member(ontario, case, _membership(food_bank), "specialist", categories=["income"])
    with pytest.raises(ValidationError, match="already on the team"):
        team.add_member(lead, case, _membership(ontario), "specialist", categories=["housing"])
    with pytest.raises(ValidationError):
        team.add_member(lead, case, _membership(food_bank), "specialist", categories=[])
    with pytest.raises(ValidationError):
        team.add_member(lead, case, _membership(food_bank), "lead", categories=["income"])
    assert case.team.filter(left_at__isnull=True).count() == 2


def test_alerts_reach_every_member_entitled_to_their_domain(case, lead, ontario, food_bank):
    team.add_member(lead, case, _membership(ontario), "key_worker", categories=["family"])
    team.add_member(lead, case, _membership(food_bank), "specialist", categories=["income"])
    plans.raise_alert(lead, case, "safety", "Do not disclose the address to the former partner.")
    assert len(team.read_case(ontario, case).alerts) == 1
    assert team.read_case(food_bank, case).alerts == []


def test_the_plan_needs_goals_actions_and_reviews(case, lead, ontario, agencies):
    member = team.add_member(
        lead, case, _membership(ontario), "key_worker", categories=["housing", "income"]
    )
    need = plans.add_need(lead, case, "housing", "Keep the apartment")
    goal = plans.add_goal(lead, need, "Arrears paid off", datetime.date(2027, 3, 1))
    action = plans.add_action(
        lead, goal, "Apply for the rent bank", agencies["serviceontario"], datetime.date(2027, 1, 5)
    )
    # The responsible agency's member updates its own action; not the plan itself.
    plans.set_action_status(ontario, action, "in_progress")
    with pytest.raises(PermissionDenied):
        plans.add_goal(ontario, need, "Something else", None)
    with pytest.raises(ValidationError):
        plans.set_action_status(ontario, action, "maybe")
    plans.record_outcome(lead, goal, "partly")
    review = plans.record_review(
        lead,
        case,
        held_on=datetime.date(2027, 1, 10),
        attendee_ids=[member.pk, case.team.get(role="lead").pk],
        decisions="Continue the rent bank application.",
        next_review=datetime.date(2027, 4, 10),
    )
    case.refresh_from_db()
    assert case.review_date == datetime.date(2027, 4, 10)
    assert review.attendees.count() == 2
    view = team.read_case(ontario, case)
    assert view.needs[0].goals.all()[0].actions.all()[0].status == "in_progress"


def test_bad_plan_input_writes_nothing(case, lead, agencies):
    need = plans.add_need(lead, case, "housing", "Keep the apartment")
    with pytest.raises(ValidationError):
        plans.add_need(lead, case, "astrology", "?")
    with pytest.raises(ValidationError):
        plans.add_goal(lead, need, "   ", None)
    with pytest.raises(ValidationError):
        plans.record_review(
            lead,
            case,
            held_on=datetime.date(2027, 1, 10),
            attendee_ids=[],
            decisions="x",
            next_review=None,
        )
    with pytest.raises(ValidationError):
        plans.add_note(lead, case, "housing", "")
    assert need.goals.count() == 0
    assert case.reviews.count() == 0
    assert Note.objects.filter(case=case).count() == len(NOTES)
