"""A person's correction request answered by a data steward in the console: accepted (a
record unlinked, another id linked, each a reversible decision) or declined with a reason;
the person reads the answer in My services. And every steward's read goes through the gate,
on its purpose and basis, into the person's ledger."""

from __future__ import annotations

import pytest
from django.urls import reverse

from joinedup.clientindex import access
from joinedup.clientindex.loading import load
from joinedup.clientindex.models import Cluster, CorrectionRequest, Decision, SourceRecord
from joinedup.identity.client_registry import register_person
from joinedup.sharing.gate import DisclosureRefused
from joinedup.sharing.models import AccessEvent, OutboxEvent

pytestmark = pytest.mark.django_db


def _linked(agencies, person, agency_keys, key="CI-ASKED00001"):
    rows = []
    for agency_key in agency_keys:
        load(
            agencies[agency_key],
            [{"record_id": f"{agency_key}-9", "given_names": "Marie", "family_name": "Tremblay"}],
            channel="api",
        )
        rows.append(SourceRecord.objects.get(record_id=f"{agency_key}-9"))
    cluster = Cluster.objects.create(key=key, person=person)
    SourceRecord.objects.filter(pk__in=[r.pk for r in rows]).update(cluster=cluster)
    return cluster, rows


def test_a_stewards_read_goes_through_the_gate_with_purpose_and_basis(
    agencies, steward, caseworker
):
    person = register_person(given_names="Marie", family_name="Tremblay")
    _cluster, rows = _linked(agencies, person, ["esdc", "toronto"])
    records = list(
        SourceRecord.objects.filter(pk__in=[r.pk for r in rows]).select_related("agency", "cluster")
    )
    assert access.record_use(steward, records) == 2
    events = AccessEvent.objects.filter(subject_id=person.pk, purpose="client-index")
    assert {e.holder_agency for e in events} == {"esdc", "toronto"}
    assert {(e.legal_basis, e.outcome, e.actor_role) for e in events} == {
        ("public_task", "disclosed", "data_steward")
    }
    # A caseworker is not a register's keeper: the gate refuses, and says so in the ledger.
    with pytest.raises(DisclosureRefused):
        access.record_use(caseworker, records)
    assert AccessEvent.objects.filter(
        subject_id=person.pk, purpose="client-index", outcome="refused", actor_role="caseworker"
    ).exists()


def test_a_steward_accepts_a_correction_and_the_person_reads_the_answer(
    client, agencies, signed_in
):
    user = signed_in(None)
    cluster, (esdc, toronto) = _linked(agencies, user.person, ["esdc", "toronto"])
    other_person = register_person(given_names="Marie", family_name="Tremblay")
    other, (housing,) = _linked(agencies, other_person, ["serviceontario"], key="CI-OTHER00001")
    sent = client.post(
        reverse("clientindex:my-records"),
        {"message": "Toronto's record is not me; ServiceOntario's is.", "agency": ""},
    )
    assert sent.status_code == 302
    request = CorrectionRequest.objects.get()

    signed_in("data_steward", username="steward@example.org")
    queue = client.get(reverse("clientindex:corrections")).content.decode()
    assert reverse("clientindex:correction", args=[request.pk]) in queue
    page = client.get(reverse("clientindex:correction", args=[request.pk]))
    assert page.status_code == 200 and "Tremblay" in page.content.decode()
    assert AccessEvent.objects.filter(
        subject_id=user.person.pk, purpose="client-index", legal_basis="public_task"
    ).exists()
    # An answer is required; nothing moves without one.
    empty = client.post(
        reverse("clientindex:answer-correction", args=[request.pk]),
        {"outcome": "accepted", "records": [toronto.pk]},
        follow=True,
    )
    assert "Write the answer the person will read." in empty.content.decode()
    assert SourceRecord.objects.get(pk=toronto.pk).cluster_id == cluster.pk
    answered = client.post(
        reverse("clientindex:answer-correction", args=[request.pk]),
        {
            "outcome": "accepted",
            "records": [toronto.pk],
            "link": other.key,
            "answer": "Toronto's record was another Marie Tremblay; ServiceOntario's is yours.",
        },
    )
    assert answered.status_code == 302
    request.refresh_from_db()
    assert request.outcome == "accepted" and request.answered_by.username == "steward@example.org"
    assert SourceRecord.objects.get(pk=toronto.pk).cluster_id != cluster.pk
    assert SourceRecord.objects.get(pk=housing.pk).cluster_id == cluster.pk
    assert SourceRecord.objects.get(pk=esdc.pk).cluster_id == cluster.pk
    kinds = sorted(d.kind for d in request.decisions.all())
    assert kinds == ["merge", "split"]
    assert all("another Marie Tremblay" in d.reason for d in Decision.objects.all())
    assert OutboxEvent.objects.filter(type="org.joinedup.clientindex.correction.answered").exists()
    # Answered once only.
    again = client.post(
        reverse("clientindex:answer-correction", args=[request.pk]),
        {"outcome": "declined", "answer": "No."},
        follow=True,
    )
    assert "already answered" in again.content.decode()

    from tests.identity.conftest import sign_in

    sign_in(client, user)
    mine = client.get(reverse("clientindex:my-records")).content.decode()
    assert "another Marie Tremblay" in mine and "Accepted" in mine
    assert agencies["toronto"].name not in mine.split("<h2")[0]


def test_a_steward_declines_a_correction_with_a_reason_and_nothing_moves(
    client, agencies, signed_in
):
    user = signed_in(None)
    cluster, (esdc,) = _linked(agencies, user.person, ["esdc"])
    CorrectionRequest.objects.create(person=user.person, message="ESDC's record is not me.")
    request = CorrectionRequest.objects.get()
    signed_in("data_steward", username="steward@example.org")
    # Declining while ticking records is refused: a decline changes no link.
    mixed = client.post(
        reverse("clientindex:answer-correction", args=[request.pk]),
        {"outcome": "declined", "records": [esdc.pk], "answer": "It is you."},
        follow=True,
    )
    assert "changes no link" in mixed.content.decode()
    declined = client.post(
        reverse("clientindex:answer-correction", args=[request.pk]),
        {"outcome": "declined", "answer": "Your SIN and birth date match ESDC's record."},
    )
    assert declined.status_code == 302
    request.refresh_from_db()
    assert request.outcome == "declined" and request.status == "closed"
    assert SourceRecord.objects.get(pk=esdc.pk).cluster_id == cluster.pk
    assert not Decision.objects.exists()
    from tests.identity.conftest import sign_in

    sign_in(client, user)
    mine = client.get(reverse("clientindex:my-records")).content.decode()
    assert "Declined" in mine and "birth date match" in mine


def test_only_stewards_answer_corrections(client, agencies, signed_in):
    person = register_person(given_names="Marie", family_name="Tremblay")
    request = CorrectionRequest.objects.create(person=person, message="Wrong.")
    signed_in("caseworker")
    assert client.get(reverse("clientindex:corrections")).status_code == 403
    assert client.get(reverse("clientindex:correction", args=[request.pk])).status_code == 403
    refused = client.post(
        reverse("clientindex:answer-correction", args=[request.pk]),
        {"outcome": "declined", "answer": "No."},
    )
    assert refused.status_code == 403
    request.refresh_from_db()
    assert request.status == "open"
