"""Complaints about a visit or a call, and about a care plan; and the links that lead to the
form from the service page, My services, the care plan and the counter and phone consoles."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse

from joinedup.care.models import IntegratedCase, TeamMember
from joinedup.channels.models import Interaction
from joinedup.engagement.complaints import ComplaintError, file_complaint
from joinedup.engagement.models import Complaint
from joinedup.federation.models import Service
from joinedup.identity import tokens
from joinedup.identity.models import StaffMembership, User

from .conftest import context_of, sign_in


@pytest.fixture
def resident(make_applicant):
    return make_applicant(email="sub@example.org", place="CA-ON-TOR")


def _visit(make_staff, agency, person) -> Interaction:
    clerk = make_staff(agency, "front_line", f"desk.{agency.key}@example.org")
    return Interaction.objects.create(
        channel=Interaction.Channel.COUNTER,
        agent_id=clerk.user_id,
        agency=agency,
        role="front_line",
        person=person,
    )


def _case(make_staff, federation, person) -> IntegratedCase:
    lead = make_staff(federation["serviceontario"], "caseworker", "lead@example.org")
    case = IntegratedCase.objects.create(
        reference="CASE-1",
        person=person,
        agency=federation["serviceontario"],
        basis=IntegratedCase.Basis.STATUTE,
        opened_by_id=lead.user_id,
    )
    member = make_staff(federation["toronto"], "caseworker", "member@example.org")
    TeamMember.objects.create(
        case=case,
        membership=StaffMembership.objects.get(pk=member.membership_id),
        role=TeamMember.Role.KEY_WORKER,
    )
    return case


def test_a_complaint_about_a_visit_goes_to_the_agency_that_served(federation, resident, make_staff):
    visit = _visit(make_staff, federation["toronto"], resident.person)
    parking = Service.objects.get(key="ca.parking-permit")
    complaint = file_complaint(
        context_of(resident),
        resident.person,
        "I waited an hour.",
        interaction=visit,
        service=parking,
    )
    assert complaint.interaction == visit
    assert [p.agency.key for p in complaint.parts.all()] == ["toronto"]


def test_a_complaint_about_someone_elses_visit_is_refused(
    federation, resident, make_applicant, make_staff
):
    other = make_applicant(email="other@example.org")
    visit = _visit(make_staff, federation["toronto"], other.person)
    with pytest.raises(ComplaintError) as refused:
        file_complaint(
            context_of(resident),
            resident.person,
            "Not mine.",
            interaction=visit,
            service=Service.objects.get(key="ca.parking-permit"),
        )
    assert refused.value.code == "not_yours"
    assert not Complaint.objects.exists()


def test_a_complaint_about_a_care_plan_has_a_part_per_agency_of_the_team(
    federation, resident, make_staff
):
    case = _case(make_staff, federation, resident.person)
    complaint = file_complaint(
        context_of(resident),
        resident.person,
        "Nobody told me who does what.",
        case=case,
        service=Service.objects.get(key="ca.parking-permit"),
    )
    assert complaint.case == case
    assert sorted(p.agency.key for p in complaint.parts.all()) == ["serviceontario", "toronto"]
    # Each part is an application of that agency's complaints service.
    assert sorted(p.application.service.key for p in complaint.parts.all()) == [
        "complaints.serviceontario",
        "complaints.toronto",
    ]


def test_the_service_page_links_to_the_complaint_form(client, federation):
    page = client.get(reverse("web:service", args=["ca.parking-permit"]))
    assert page.status_code == 200
    assert (reverse("engagement:complaint-new") + "?service=ca.parking-permit").encode() in (
        page.content
    )


def test_the_care_plan_page_links_to_a_complaint_about_the_plan(federation, resident, make_staff):
    case = _case(make_staff, federation, resident.person)
    browser = sign_in(Client(), resident)
    page = browser.get(reverse("care:mine"))
    assert page.status_code == 200
    link = reverse("engagement:complaint-new") + f"?case={case.reference}"
    assert link.encode() in page.content
    form = browser.get(link)
    assert form.status_code == 200 and b"CASE-1" in form.content
    made = browser.post(
        reverse("engagement:complaint-new"),
        {"case": case.reference, "service": "ca.parking-permit", "text": "Too slow."},
    )
    assert made.status_code == 302
    assert Complaint.objects.get().parts.count() == 2


def test_my_services_links_to_complaints(federation, resident):
    browser = sign_in(Client(), resident)
    page = browser.get(reverse("bundles:my-services"))
    assert page.status_code == 200
    assert reverse("engagement:complaints").encode() in page.content


def test_a_link_naming_something_that_does_not_exist_is_a_404(federation, resident):
    browser = sign_in(Client(), resident)
    for query in ("application=NOPE", "submission=NOPE", "interaction=999999", "case=NOPE"):
        page = browser.get(reverse("engagement:complaint-new") + "?" + query)
        assert page.status_code == 404, query
    assert not Complaint.objects.exists()


def test_the_counter_visit_page_offers_to_record_a_complaint(federation, resident, staff_client):
    clerk, context = staff_client(federation["toronto"], "front_line", "counter@example.org")
    visit = Interaction.objects.create(
        channel=Interaction.Channel.COUNTER,
        agent=User.objects.get(pk=context.user_id),
        agency=federation["toronto"],
        role="front_line",
        person=resident.person,
    )
    page = clerk.get(reverse("channels:visit", args=[visit.pk]))
    assert page.status_code == 200
    link = (
        reverse("engagement:complaint-new")
        + f"?person={resident.person.pk}&amp;interaction={visit.pk}"
    )
    assert link.encode() in page.content
    form = clerk.get(link.replace("&amp;", "&"))
    assert form.status_code == 200
    made = clerk.post(
        reverse("engagement:complaint-new"),
        {
            "person": resident.person.pk,
            "interaction": visit.pk,
            "service": "ca.parking-permit",
            "text": "The person says the queue was not managed.",
        },
    )
    assert made.status_code == 200
    complaint = Complaint.objects.get()
    assert complaint.interaction == visit and complaint.channel == "counter"


def test_the_api_takes_a_complaint_about_a_care_plan_and_refuses_unknown_ones(
    client, federation, resident, make_staff
):
    case = _case(make_staff, federation, resident.person)
    _token, secret = tokens.create_personal_token(resident, name="t", scopes=["read", "write"])
    headers = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
    unknown = client.post(
        "/api/v1/complaints",
        json.dumps({"text": "x", "service": "ca.parking-permit", "case": "NOPE"}),
        content_type="application/json",
        **headers,
    )
    assert unknown.status_code == 404 and unknown.json()["detail"]
    made = client.post(
        "/api/v1/complaints",
        json.dumps({"text": "Plan", "service": "ca.parking-permit", "case": case.reference}),
        content_type="application/json",
        **headers,
    )
    assert made.status_code == 201, made.content
    assert sorted(p["agency"] for p in made.json()["parts"]) == ["serviceontario", "toronto"]
