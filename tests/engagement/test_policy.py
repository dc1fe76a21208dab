"""The authorisation matrix of engagement's rules: who may do what, by role and agency."""

from __future__ import annotations

import pytest

from joinedup.engagement.complaints import file_complaint
from joinedup.federation.models import Service
from joinedup.identity.acting import ANONYMOUS
from joinedup.identity.policy import decide

from .conftest import context_of


@pytest.mark.parametrize(
    ("agency", "role", "moderate"),
    [
        ("serviceontario", "supervisor", True),
        ("serviceontario", "administrator", True),
        ("serviceontario", "front_line", False),
        ("serviceontario", "analyst", False),
        ("toronto", "supervisor", False),
    ],
)
def test_moderating_and_deciding_is_for_the_owners_supervisors(
    consultation, make_staff, federation, agency, role, moderate
):
    context = make_staff(federation[agency], role)
    assert decide(context, "engagement.moderate", consultation).allowed is moderate
    assert decide(context, "engagement.decide", consultation).allowed is moderate


def test_people_and_staff_take_part_anonymous_do_not(
    consultation, make_applicant, make_staff, federation
):
    assert not decide(ANONYMOUS, "engagement.contribute").allowed
    assert decide(ANONYMOUS, "engagement.contribute").code == "sign_in"
    assert decide(context_of(make_applicant()), "engagement.contribute").allowed
    assert decide(make_staff(federation["esdc"], "caseworker"), "engagement.contribute").allowed


def test_complaint_matrix(federation, make_applicant, make_staff):
    person = make_applicant()
    complaint = file_complaint(
        context_of(person), person.person, "x", service=Service.objects.get(key="ca.parking-permit")
    )
    stranger = context_of(make_applicant(email="s@example.org"))
    rows = [
        (context_of(person), True, True, False),
        (stranger, False, False, False),
        (make_staff(federation["toronto"], "front_line"), True, False, True),
        (make_staff(federation["toronto"], "analyst"), False, False, False),
        (make_staff(federation["esdc"], "front_line"), False, False, False),
        (ANONYMOUS, False, False, False),
    ]
    for context, view, reply, tag in rows:
        assert decide(context, "engagement.complaint.view", complaint).allowed is view, context
        assert decide(context, "engagement.complaint.reply", complaint).allowed is reply, context
        assert decide(context, "engagement.complaint.tag", complaint).allowed is tag, context


def test_measures_and_initiatives_are_for_staff(make_applicant, make_staff, federation):
    assert decide(make_staff(federation["toronto"], "analyst"), "engagement.measures").allowed
    assert not decide(
        make_staff(federation["toronto"], "front_line"), "engagement.measures"
    ).allowed
    assert not decide(context_of(make_applicant()), "engagement.initiative").allowed
    assert decide(make_staff(federation["toronto"], "caseworker"), "engagement.initiative").allowed
