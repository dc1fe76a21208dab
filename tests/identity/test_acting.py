"""Acting for someone: a parent for a child under a mandate, refused without one."""

import dataclasses
import datetime
import json

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from joinedup.federation.models import Office
from joinedup.identity import acting, mandates, policy, tokens
from joinedup.identity.acting import ActingContext
from joinedup.identity.client_registry import register_person
from joinedup.identity.models import Mandate, Person, StaffMembership

from .conftest import page_text, sign_in

pytestmark = pytest.mark.django_db

TODAY = datetime.date.today()


@pytest.fixture
def family(small_federation, make_account):
    """Two parents with accounts (level 2) and a child without one; only Amara has a mandate."""
    amara = make_account(email="amara@example.org", level=2)
    david = make_account(
        email="david@example.org", level=2, given_names="David", family_name="Okafor"
    )
    noor = register_person(
        given_names="Noor", family_name="Okafor", birth_date=TODAY.replace(year=TODAY.year - 4)
    )
    mandate = mandates.grant_parental_mandate(amara.person, noor, basis="Birth registration")
    return {"amara": amara, "david": david, "noor": noor, "mandate": mandate}


def test_a_parental_mandate_lasts_until_the_age_of_majority(family):
    mandate = family["mandate"]
    noor = family["noor"]
    assert mandate.valid_from == noor.birth_date
    assert mandate.valid_to == noor.birth_date.replace(year=noor.birth_date.year + 18) - (
        datetime.timedelta(days=1)
    )
    assert set(mandate.scopes) == {"view", "apply", "manage"}
    assert family["amara"].person.relationships.get().related_person == noor


def test_a_parent_acts_for_their_child_under_the_mandate(client, family):
    noor = family["noor"]
    sign_in(client, family["amara"])
    response = client.post(reverse("identity:choose-acting"), {"subject": noor.pk})
    assert response.status_code == 302
    page = page_text(client.get(reverse("identity:account")))
    assert "You are acting for Noor Okafor." in page

    record = client.get(reverse("identity:person", args=[noor.pk]))
    assert record.status_code == 200
    assert "Noor Okafor" in page_text(record)

    # Applying for a service for the child: allowed, and the page says for whom.
    response = client.get(reverse("identity:service-start", args=["ca.birth-registration"]))
    assert response.status_code == 200
    assert "You can apply for Noor Okafor" in page_text(response)

    # Back to acting for oneself.
    client.post(reverse("identity:choose-acting"), {"subject": ""})
    assert "You are acting for Noor" not in page_text(client.get(reverse("identity:account")))


def test_acting_for_a_child_is_refused_without_a_mandate(client, family):
    noor = family["noor"]
    sign_in(client, family["david"])  # a parent too, but no mandate is recorded
    response = client.post(reverse("identity:choose-acting"), {"subject": noor.pk})
    assert response.status_code == 403
    assert "You have no mandate in force to act for this person." in page_text(response)
    assert client.get(reverse("identity:person", args=[noor.pk])).status_code == 403


def test_a_mandate_that_ends_stops_working_at_once(client, family):
    noor = family["noor"]
    sign_in(client, family["amara"])
    client.post(reverse("identity:choose-acting"), {"subject": noor.pk})
    assert client.get(reverse("identity:person", args=[noor.pk])).status_code == 200
    Mandate.objects.filter(pk=family["mandate"].pk).update(
        valid_to=TODAY - datetime.timedelta(days=1)
    )
    assert client.get(reverse("identity:person", args=[noor.pk])).status_code == 403
    assert "You are acting for Noor" not in page_text(client.get(reverse("identity:account")))


def test_an_expired_mandate_cannot_be_recorded(family):
    with pytest.raises(ValidationError, match="already expired") as caught:
        mandates.grant_mandate(
            holder=family["david"].person,
            kind="guardian",
            subject=family["noor"],
            scopes=["view"],
            valid_from=datetime.date(2020, 1, 1),
            valid_to=datetime.date(2021, 1, 1),
        )
    assert "valid_to" in caught.value.message_dict
    assert not Mandate.objects.filter(holder=family["david"].person).exists()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"valid_from": "2020-01-01", "valid_to": "2021-01-01"}, "already expired"),
        ({"valid_from": "2024-02-30"}, "Enter a real date"),
        ({"valid_to": "2001-01-01"}, "cannot end before it starts"),
        ({"scopes": []}, "Choose at least one thing"),
        ({"holder": "999999"}, "No person has this registry number."),
    ],
)
def test_staff_recording_a_bad_mandate_get_a_clear_message(
    client, family, make_staff, fields, message
):
    sign_in(client, make_staff(agency="esdc", role="caseworker"))
    data = {
        "holder": family["david"].person.pk,
        "kind": "guardian",
        "scopes": ["view"],
        "valid_from": TODAY.isoformat(),
        "valid_to": "",
        "basis": "Court order",
        **fields,
    }
    url = reverse("identity-staff:record-mandate", args=[family["noor"].pk])
    response = client.post(url, data)
    assert response.status_code == 400
    assert message in page_text(response)
    assert not Mandate.objects.filter(holder=family["david"].person).exists()


def test_staff_record_a_mandate_that_works_at_once(client, family, make_staff):
    sign_in(client, make_staff(agency="esdc", role="caseworker"))
    url = reverse("identity-staff:record-mandate", args=[family["noor"].pk])
    data = {
        "holder": family["david"].person.pk,
        "kind": "guardian",
        "scopes": ["view"],
        "valid_from": TODAY.isoformat(),
    }
    assert client.post(url, data).status_code == 302
    david = client.__class__()
    sign_in(david, family["david"])
    assert (
        david.post(reverse("identity:choose-acting"), {"subject": family["noor"].pk}).status_code
        == 302
    )
    # A view-only mandate does not cover applying.
    response = david.get(reverse("identity:service-start", args=["ca.birth-registration"]))
    assert response.status_code == 403
    assert "Your mandate does not cover applying" in page_text(response)


def test_the_api_acts_for_a_child_with_a_header_and_refuses_without_mandate(client, family):
    _token, amara_token = tokens.create_personal_token(family["amara"])
    _token, david_token = tokens.create_personal_token(family["david"])
    noor = family["noor"]
    me = client.get(
        "/api/v1/me",
        headers={"Authorization": f"Bearer {amara_token}", "X-Acting-For": str(noor.pk)},
    )
    assert me.status_code == 200, me.content
    assert me.json()["acting_for"] == {"id": noor.pk, "name": "Noor Okafor"}
    assert me.json()["mandate"] == family["mandate"].pk
    record = client.get(
        f"/api/v1/people/{noor.pk}", headers={"Authorization": f"Bearer {amara_token}"}
    )
    assert record.status_code == 200
    refused = client.get(
        "/api/v1/me",
        headers={"Authorization": f"Bearer {david_token}", "X-Acting-For": str(noor.pk)},
    )
    assert refused.status_code == 403
    assert refused.json() == {"detail": "You have no mandate in force to act for this person."}
    assert (
        client.get(
            f"/api/v1/people/{noor.pk}", headers={"Authorization": f"Bearer {david_token}"}
        ).status_code
        == 403
    )


def test_the_context_travels_to_a_background_task_as_json(client, family, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    sign_in(client, family["amara"])
    client.post(reverse("identity:choose-acting"), {"subject": family["noor"].pk})
    response = client.post(reverse("identity:email-record", args=[family["noor"].pk]))
    assert response.status_code == 302
    assert mail.outbox[-1].to == ["amara@example.org"]
    assert "Noor Okafor" in mail.outbox[-1].body


def test_a_task_checks_the_policy_again_when_it_runs(family):
    from joinedup.identity.tasks import send_record_copy

    context = acting.for_user(family["amara"], subject_id=family["noor"].pk)
    payload = context.to_json()
    assert ActingContext.from_json(payload) == context
    Mandate.objects.update(revoked_at=datetime.datetime.now(datetime.UTC))
    with pytest.raises(policy.PolicyDenied):
        send_record_copy.call(payload, family["noor"].pk)


def test_contexts_say_who_acts_for_whom(family):
    context = acting.for_user(family["amara"], subject_id=family["noor"].pk)
    assert context.person_id == family["amara"].person.pk
    assert context.subject_id == family["noor"].pk
    assert context.mandate_id == family["mandate"].pk
    assert context.assurance == 2
    assert context.acting_for_other
    fallback = acting.for_user(family["david"], subject_id=family["noor"].pk)
    assert fallback.subject_id == family["david"].person.pk
    with pytest.raises(acting.ActingError):
        acting.for_user(family["david"], subject_id=family["noor"].pk, strict=True)
    assert Person.objects.count() == 3


def test_a_staff_context_holds_its_offices_areas_and_agency(small_federation, make_staff):
    """The offices and areas come from one statement, and the agency's row from the
    membership read with them: the gate and the header ask for it without reading it again.
    The row is no part of the value: the JSON a task receives is the same, and a context
    rebuilt from it reads the agency once."""
    user = make_staff("esdc", "caseworker", areas=("CA-ON", "CA-ON-TOR"))
    membership = StaffMembership.objects.get(user=user)
    membership.offices.set(Office.objects.filter(key="esdc-toronto"))
    context = acting.for_user(user, second_factor=True)
    assert context.office_keys == ("esdc-toronto",)
    assert context.area_codes == ("CA-ON", "CA-ON-TOR")
    with CaptureQueriesContext(connection) as queries:
        agency = acting.agency_of(context)
    assert agency.key == "esdc" and len(queries) == 0
    rebuilt = ActingContext.from_json(context.to_json())
    assert rebuilt == context
    assert set(json.loads(context.to_json())) == {f.name for f in dataclasses.fields(context)}
    with CaptureQueriesContext(connection) as queries:
        assert acting.agency_of(rebuilt).pk == agency.pk
        assert acting.agency_of(rebuilt).pk == agency.pk
    assert len(queries) == 1
    assert acting.agency_of(ActingContext()) is None
