"""The gate's batch call: the same decisions and the same ledger rows as asking one by one,
written in one insert, fewer statements, and the chain still verifies."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from joinedup.clientindex.access import PURPOSE
from joinedup.identity.models import StaffMembership
from joinedup.sharing import consent as consents
from joinedup.sharing import ledger
from joinedup.sharing.gate import DisclosureRefused, Request, disclose, disclose_many
from joinedup.sharing.models import AccessEvent, ConsentRecord, SharingRule

from .conftest import make_user, staff_context

Role = StaffMembership.Role

pytestmark = pytest.mark.django_db

#: The columns of a ledger row that say what was decided (not where in the chain it sits).
DECIDED = (
    "subject_id",
    "actor_user_id",
    "actor_agency",
    "actor_role",
    "holder_agency",
    "action",
    "categories",
    "fields",
    "purpose",
    "legal_basis",
    "agreement_key",
    "consent_id",
    "outcome",
    "reason",
)


@pytest.fixture
def requests(federation):
    SharingRule.objects.create(
        provider=federation["serviceontario"],
        recipient=federation["esdc"],
        categories=["contact"],
        purposes=["benefit-outreach"],
        legal_basis="consent",
        valid_from="2020-01-01",
    )
    ontario = federation["serviceontario"]
    return [
        Request(("identity", "birth"), "sin-issuance", ontario),  # statute
        Request(("given_names", "email", "address"), "sin-issuance", ontario),  # withheld
        Request(("email",), "benefit-outreach", ontario),  # consent: refused until given
        Request(("identity",), "another-purpose", ontario),  # no agreement
        Request(("email",), "benefit-outreach", None),  # own agency (none held by esdc)
        Request(("no_such_field",), "sin-issuance", ontario),  # refused, not recorded
        Request(("identity",), "", ontario),  # no purpose, not recorded
    ]


def _one_by_one(context, person, requests):
    answers = []
    for request in requests:
        try:
            answers.append(
                disclose(context, person, request.requested, request.purpose, holder=request.holder)
            )
        except DisclosureRefused as refused:
            answers.append(refused)
    return answers


def _summary(answer):
    if isinstance(answer, DisclosureRefused):
        return ("refused", answer.code)
    return ("disclosed", answer.fields, answer.withheld, answer.basis)


def _rows(person, since):
    return [
        tuple(getattr(e, name) for name in DECIDED)
        for e in AccessEvent.objects.filter(subject_id=person.pk, pk__gt=since).order_by("pk")
    ]


def _last():
    return AccessEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def test_the_batch_decides_and_records_as_one_by_one(federation, person, esdc_caseworker, requests):
    for with_consent in (False, True):
        if with_consent:
            consents.record_consent(
                person,
                recipients=[federation["esdc"]],
                provider=federation["serviceontario"],
                purposes=["benefit-outreach"],
                categories=["contact"],
                method="online",
            )
        start = _last()
        single = _one_by_one(esdc_caseworker, person, requests)
        single_rows = _rows(person, start)
        middle = _last()
        batch = disclose_many(esdc_caseworker, person, requests)
        batch_rows = _rows(person, middle)
        assert [_summary(a) for a in batch] == [_summary(a) for a in single]
        assert batch_rows == single_rows
        assert len(batch_rows) == 5  # the two malformed requests are not recorded
    # The consent made the third request pass, in both ways of asking.
    assert _summary(batch[2])[0] == "disclosed" and batch[2].basis == "consent"
    assert ledger.verify().ok


def test_a_withdrawn_consent_refuses_at_the_next_batch(
    federation, person, esdc_caseworker, requests
):
    record = consents.record_consent(
        person,
        recipients=[federation["esdc"]],
        purposes=["benefit-outreach"],
        categories=["contact"],
        method="online",
    )
    assert not isinstance(disclose_many(esdc_caseworker, person, requests)[2], DisclosureRefused)
    consents.withdraw_consent(record, method="online")
    refused = disclose_many(esdc_caseworker, person, requests)[2]
    assert isinstance(refused, DisclosureRefused) and refused.code == "no_consent"
    assert refused.event.outcome == "refused"


def test_the_batch_reads_fewer_statements_and_inserts_once(
    federation, person, esdc_caseworker, requests
):
    with CaptureQueriesContext(connection) as single:
        _one_by_one(esdc_caseworker, person, requests)
    with CaptureQueriesContext(connection) as batch:
        disclose_many(esdc_caseworker, person, requests)
    inserts = [q for q in batch.captured_queries if "INSERT INTO" in q["sql"]]
    assert len(inserts) == 1
    assert len(batch) < len(single) / 2


def _compare(context, person, requests):
    """Ask one by one, then in one batch: the answers and the ledger rows are the same."""
    start = _last()
    single = _one_by_one(context, person, requests)
    single_rows = _rows(person, start)
    middle = _last()
    batch = disclose_many(context, person, requests)
    assert [_summary(a) for a in batch] == [_summary(a) for a in single]
    assert _rows(person, middle) == single_rows
    return batch


def test_a_data_stewards_batch_is_decided_as_one_by_one(federation, person):
    # The client index registers its keepers with the gate: data stewards read the
    # register's categories for its purpose only, whichever agency holds the record.
    steward = staff_context(make_user("steward"), federation["serviceontario"], Role.DATA_STEWARD)
    ontario, esdc = federation["serviceontario"], federation["esdc"]
    batch = _compare(
        steward,
        person,
        [
            Request(("identity", "birth"), PURPOSE, esdc),  # another agency's record
            Request(("given_names", "income"), PURPOSE, ontario),  # income withheld
            Request(("health",), PURPOSE, ontario),  # outside the register: refused
            Request(("identity",), "sin-issuance", ontario),  # another purpose: refused
        ],
    )
    assert _summary(batch[0])[0] == "disclosed" and batch[0].basis == "public_task"
    assert "given_names" in batch[1].fields
    assert batch[1].withheld and not set(batch[1].withheld) & set(batch[1].fields)
    assert [a.code for a in batch[2:]] == ["need_to_know", "not_allowed"]


def test_consent_decides_a_batch_as_it_decides_one_read(federation, person, esdc_caseworker):
    ontario, esdc = federation["serviceontario"], federation["esdc"]
    SharingRule.objects.create(
        provider=ontario,
        recipient=esdc,
        categories=["contact", "address", "housing"],
        purposes=["benefit-outreach"],
        legal_basis="consent",
        valid_from="2020-01-01",
    )
    # Contact: consented for this provider. Address: consented for another provider only.
    # Housing: consented, but the consent has expired.
    consents.record_consent(
        person,
        recipients=[esdc],
        provider=ontario,
        purposes=["benefit-outreach"],
        categories=["contact"],
        method="online",
    )
    consents.record_consent(
        person,
        recipients=[esdc],
        provider=federation["toronto"],
        purposes=["benefit-outreach"],
        categories=["address"],
        method="online",
    )
    expired = consents.record_consent(
        person,
        recipients=[esdc],
        provider=ontario,
        purposes=["benefit-outreach"],
        categories=["housing"],
        method="online",
    )
    ConsentRecord.objects.filter(pk=expired.pk).update(
        expires_at=timezone.now() - datetime.timedelta(minutes=1)
    )
    requests = [
        Request(("email",), "benefit-outreach", ontario),
        Request(("address",), "benefit-outreach", ontario),
        Request(("email", "address"), "benefit-outreach", ontario),
        Request(("housing",), "benefit-outreach", ontario),
        Request(("email",), "another-purpose", ontario),
    ]
    batch = _compare(esdc_caseworker, person, requests)
    assert _summary(batch[0])[0] == "disclosed" and batch[0].basis == "consent"
    assert [getattr(a, "code", None) for a in batch[1:]] == [
        "no_consent",
        "no_consent",
        "no_consent",
        "no_agreement",
    ]
    assert ledger.verify().ok
