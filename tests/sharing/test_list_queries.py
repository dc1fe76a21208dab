"""A person's "Who used my data" and "My consents", on the site and in the API, and a
supervisor's queue of break-glass cases to review, send as many SQL statements with 200 rows
as with 10."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from joinedup.identity.models import User
from joinedup.identity.tokens import create_personal_token
from joinedup.sharing import breakglass, ledger
from joinedup.sharing import consent as consents
from joinedup.sharing.gate import disclose
from joinedup.sharing.models import AccessEvent, BreakGlass, ConsentRecord, SharingRule
from tests.delivery.conftest import sign_in

from .conftest import make_user, staff_context


def sign_in_staff(user: User) -> Client:
    return sign_in(Client(), user, second_factor=True)


pytestmark = pytest.mark.django_db


@pytest.fixture
def account(person):
    user = make_user("amelia")
    user.person = person
    user.save()
    return user


@pytest.fixture
def outreach(federation, person) -> ConsentRecord:
    SharingRule.objects.create(
        provider=federation["serviceontario"],
        recipient=federation["esdc"],
        categories=["contact"],
        purposes=["benefit-outreach"],
        legal_basis="consent",
        valid_from="2020-01-01",
    )
    return consents.record_consent(
        person,
        recipients=[federation["esdc"]],
        provider=federation["serviceontario"],
        purposes=["benefit-outreach"],
        categories=["contact"],
        method="online",
    )


def add_consents(template: ConsentRecord):
    """n more consents of the person: copies of one, with its recipients and controllers."""
    recipients = list(template.recipients.all())
    controllers = list(template.controllers.all())

    def add(count: int) -> None:
        fields = {f.attname: getattr(template, f.attname) for f in ConsentRecord._meta.fields}
        made = ConsentRecord.objects.bulk_create(
            ConsentRecord(**{**fields, "id": None}) for _n in range(count)
        )
        for relation, agencies in (
            (ConsentRecord.recipients, recipients),
            (ConsentRecord.controllers, controllers),
        ):
            through = relation.through
            ends = [f.attname for f in through._meta.fields if f.attname != "id"]
            consent_end = next(e for e in ends if e.startswith("consentrecord"))
            agency_end = next(e for e in ends if e != consent_end)
            through.objects.bulk_create(
                through(**{consent_end: c.pk, agency_end: a.pk}) for c in made for a in agencies
            )

    return add


def add_accesses(person, esdc_caseworker, federation):
    """n more reads of the person's data by ESDC, in the ledger."""
    disclose(
        esdc_caseworker, person, ["identity"], "sin-issuance", holder=federation["serviceontario"]
    )
    first = AccessEvent.objects.get(subject_id=person.pk)
    values = {
        f.attname: getattr(first, f.attname)
        for f in AccessEvent._meta.fields
        if f.attname not in {"id", "chain", "seq", "prev_hash", "hash", "occurred_at"}
    }
    made = [1]

    def add(count: int) -> None:
        for _n in range(count - len(made)):
            ledger.append(**values)
        made.clear()

    return add


def test_my_consents_does_not_query_per_consent(account, outreach, queries_at_10_and_200):
    browser = Client()
    browser.force_login(account)
    _token, value = create_personal_token(account, scopes=["read"])
    auth = {"HTTP_AUTHORIZATION": f"Bearer {value}"}

    def read():
        count = ConsentRecord.objects.filter(subject=account.person).count()
        listed = browser.get("/api/v1/me/consents?limit=100", **auth).json()
        assert listed["count"] == count
        assert len(listed["items"]) == min(100, count)
        assert all(c["recipients"] for c in listed["items"])
        page = browser.get("/en/my-data/consents/").content.decode()
        assert page.count("Employment and Social Development Canada") >= min(count, 50)

    at_10, at_200 = queries_at_10_and_200(add_consents(outreach), read, start=1)
    assert at_200 == at_10


def test_who_used_my_data_does_not_query_per_access(
    account, person, esdc_caseworker, federation, queries_at_10_and_200
):
    browser = Client()
    browser.force_login(account)
    _token, value = create_personal_token(account, scopes=["read"])
    auth = {"HTTP_AUTHORIZATION": f"Bearer {value}"}

    def read():
        count = AccessEvent.objects.filter(subject_id=person.pk).count()
        listed = browser.get("/api/v1/me/access-log?limit=500", **auth).json()
        assert listed["count"] == count and len(listed["items"]) == count
        page = browser.get("/api/v1/me/access-log?limit=5&offset=3", **auth).json()
        assert page["count"] == count and len(page["items"]) == 5
        assert [e["seq"] for e in page["items"]] == [e["seq"] for e in listed["items"][3:8]]
        assert browser.get("/en/my-data/access/").status_code == 200

    at_10, at_200 = queries_at_10_and_200(add_accesses(person, esdc_caseworker, federation), read)
    assert at_200 == at_10
    with CaptureQueriesContext(connection) as captured:
        browser.get("/api/v1/me/access-log?limit=5", **auth)
    reads = [q["sql"] for q in captured if 'FROM "sharing_accessevent"' in q["sql"]]
    assert reads and all("COUNT(" in sql or "LIMIT 5" in sql for sql in reads)  # one page


def test_the_break_glass_review_queue_does_not_query_per_case(
    federation, person, esdc_caseworker, queries_at_10_and_200
):
    supervisor = staff_context(make_user("esdc-supervisor"), federation["esdc"], "supervisor")
    browser = sign_in_staff(User.objects.get(pk=supervisor.user_id))
    case = breakglass.open_break_glass(
        esdc_caseworker,
        person,
        reason="A child may be at risk; the usual caseworker cannot be reached.",
        categories=["family"],
        minutes=30,
    )
    fields = {f.attname: getattr(case, f.attname) for f in BreakGlass._meta.fields}

    def add(count: int) -> None:
        BreakGlass.objects.bulk_create(BreakGlass(**{**fields, "id": None}) for _n in range(count))

    def read():
        page = browser.get("/en/staff/break-glass/").content.decode()
        assert page.count("A child may be at risk") == BreakGlass.objects.count()

    at_10, at_200 = queries_at_10_and_200(add, read, start=1)
    assert at_200 == at_10
