"""Consent receipts, break-glass with its review, and retention."""

import datetime

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from joinedup.identity.models import Address
from joinedup.sharing import breakglass, dispatch, retention
from joinedup.sharing import consent as consents
from joinedup.sharing.gate import DisclosureRefused, disclose
from joinedup.sharing.models import AccessEvent, OutboxEvent, RetentionRecord

from .conftest import make_user, staff_context

pytestmark = pytest.mark.django_db


@pytest.fixture
def given(federation, person):
    return consents.record_consent(
        person,
        recipients=[federation["esdc"]],
        provider=federation["serviceontario"],
        purposes=["benefit-outreach"],
        categories=["contact", "income"],
        method="online",
        notice="We will use your e-mail address to tell you about benefits.",
    )


def test_consent_is_validated(federation, person):
    with pytest.raises(ValidationError) as error:
        consents.record_consent(
            person, recipients=[], purposes=["Bad Purpose"], categories=["shoes"], method="psychic"
        )
    assert set(error.value.message_dict) == {"recipients", "purposes", "categories", "method"}


def test_consent_announces_itself(given):
    event = OutboxEvent.objects.get(type="org.joinedup.consent.given")
    assert event.data["consent_id"] == str(given.pk)
    assert event.data["recipients"] == ["esdc"]


def test_receipt_has_the_27560_fields(given):
    receipt = consents.receipt(given)
    for key in (
        "record_id",
        "pii_principal",
        "controllers",
        "recipients",
        "purposes",
        "pii_categories",
        "legal_basis",
        "method",
        "given_at",
        "expires_at",
        "withdrawn_at",
        "events",
    ):
        assert key in receipt
    assert receipt["status"] == "active"
    assert receipt["recipients"][0]["id"] == "esdc"
    assert [c["id"] for c in receipt["pii_categories"]] == ["contact", "income"]
    receipt = consents.receipt(consents.withdraw_consent(given, method="online"))
    assert receipt["status"] == "withdrawn"
    assert [e["event"] for e in receipt["events"]] == ["given", "withdrawn"]


def test_receipt_pdf_in_french(given):
    pdf = consents.receipt_pdf(given, "fr")
    assert pdf.startswith(b"%PDF-")
    assert len(pdf) > 1000


def test_withdrawing_twice_changes_nothing(given):
    first = consents.withdraw_consent(given, method="online")
    second = consents.withdraw_consent(given, method="phone")
    assert first.withdrawn_at == second.withdrawn_at
    assert OutboxEvent.objects.filter(type="org.joinedup.consent.withdrawn").count() == 1


# --- Break-glass -------------------------------------------------------------------------


@pytest.fixture
def supervisor(federation):
    return staff_context(make_user("esdc-supervisor"), federation["esdc"], "supervisor")


def test_break_glass_needs_a_reason_and_a_limit(federation, person, esdc_caseworker):
    with pytest.raises(ValidationError) as error:
        breakglass.open_break_glass(
            esdc_caseworker, person, reason="urgent", categories=["health"], minutes=100000
        )
    assert set(error.value.message_dict) == {"reason", "minutes"}


def test_break_glass_opens_access_alerts_and_must_be_reviewed(
    federation, person, esdc_caseworker, supervisor
):
    with pytest.raises(DisclosureRefused):
        disclose(
            esdc_caseworker,
            person,
            ["relationships"],
            "child-safety",
            holder=federation["serviceontario"],
        )
    grant = breakglass.open_break_glass(
        esdc_caseworker,
        person,
        reason="A child may be at risk; the usual caseworker cannot be reached.",
        categories=["family"],
        minutes=30,
    )
    result = disclose(
        esdc_caseworker,
        person,
        ["relationships"],
        "child-safety",
        holder=federation["serviceontario"],
    )
    assert result.basis == "break_glass"
    assert result.event.break_glass_id == grant.pk
    # The supervisor is alerted by e-mail through the outbox.
    dispatch.dispatch_pending()
    assert [m.to for m in mail.outbox] == [["esdc-supervisor@example.org"]]
    # The case waits in the supervisor's queue, not in the caseworker's own.
    assert list(breakglass.review_queue(supervisor)) == [grant]
    with pytest.raises(PermissionDenied):
        breakglass.review(grant, esdc_caseworker, outcome="justified", notes="I was right to.")
    with pytest.raises(ValidationError):
        breakglass.review(grant, supervisor, outcome="", notes="")
    reviewed = breakglass.review(
        grant, supervisor, outcome="justified", notes="Confirmed with the police report."
    )
    assert reviewed.closed_at is not None
    assert list(breakglass.review_queue(supervisor)) == []
    # Once closed, the emergency access no longer opens anything.
    with pytest.raises(DisclosureRefused):
        disclose(
            esdc_caseworker,
            person,
            ["relationships"],
            "child-safety",
            holder=federation["serviceontario"],
        )


def test_break_glass_ends_by_itself(federation, person, esdc_caseworker):
    grant = breakglass.open_break_glass(
        esdc_caseworker,
        person,
        reason="An emergency at the counter, the person is unconscious.",
        categories=["family"],
        minutes=5,
    )
    type(grant).objects.filter(pk=grant.pk).update(
        opened_at=timezone.now() - datetime.timedelta(minutes=10),
        expires_at=timezone.now() - datetime.timedelta(minutes=5),
    )
    with pytest.raises(DisclosureRefused):
        disclose(
            esdc_caseworker,
            person,
            ["relationships"],
            "child-safety",
            holder=federation["serviceontario"],
        )
    assert AccessEvent.objects.filter(break_glass_id=grant.pk).count() == 0


def test_analysts_cannot_break_glass(federation, person):
    analyst = staff_context(make_user("analyst"), federation["esdc"], "analyst")
    with pytest.raises(PermissionDenied):
        breakglass.open_break_glass(
            analyst, person, reason="I would like to see it please.", categories=["identity"]
        )


# --- Retention ---------------------------------------------------------------------------


def test_retention_deletes_expired_addresses_and_records_it(person):
    today = timezone.localdate()
    old = Address.objects.create(
        person=person,
        street_address="1 Old Rd",
        locality="Ottawa",
        valid_from=today - datetime.timedelta(days=5000),
        valid_to=today - datetime.timedelta(days=3000),
    )
    recent = Address.objects.create(
        person=person,
        street_address="2 Recent Rd",
        locality="Ottawa",
        valid_from=today - datetime.timedelta(days=900),
        valid_to=today - datetime.timedelta(days=100),
    )
    retention.apply_retention()
    assert not Address.objects.filter(pk=old.pk).exists()
    assert Address.objects.filter(pk=recent.pk).exists()
    record = RetentionRecord.objects.get(rule="identity.past-addresses")
    assert (record.action, record.count) == ("delete", 1)
    assert OutboxEvent.objects.filter(type="org.joinedup.retention.applied").exists()


def test_retention_anonymises_old_delivered_events(given):
    event = OutboxEvent.objects.get(type="org.joinedup.consent.given")
    OutboxEvent.objects.filter(pk=event.pk).update(
        status="delivered", time=timezone.now() - datetime.timedelta(days=200)
    )
    retention.apply_retention()
    event.refresh_from_db()
    assert event.data == {} and event.subject == ""
    assert RetentionRecord.objects.get(rule="sharing.delivered-events").count == 1


def test_several_consents_are_recorded_together(federation, person):
    grants = [
        consents.Grant([federation["esdc"]], ["benefit-outreach"], ["contact"], "To ESDC."),
        consents.Grant([federation["serviceontario"]], ["service-delivery"], ["identity"]),
    ]
    records = consents.record_consents(person, grants, method="counter")
    assert [sorted(a.key for a in r.recipients.all()) for r in records] == [
        ["esdc"],
        ["serviceontario"],
    ]
    assert [list(r.controllers.all()) for r in records] == [
        [federation["esdc"]],
        [federation["serviceontario"]],
    ]
    assert records[0].notice == "To ESDC." and records[1].method == "counter"
    assert all(r.events.count() == 1 for r in records)
    announced = OutboxEvent.objects.filter(type="org.joinedup.consent.given")
    assert sorted(e.data["consent_id"] for e in announced) == sorted(str(r.pk) for r in records)


def test_one_bad_consent_among_several_records_none(federation, person):
    grants = [
        consents.Grant([federation["esdc"]], ["benefit-outreach"], ["contact"]),
        consents.Grant([federation["serviceontario"]], ["service-delivery"], ["shoes"]),
    ]
    with pytest.raises(ValidationError) as error:
        consents.record_consents(person, grants, method="online")
    assert set(error.value.message_dict) == {"categories"}
    assert not person.consents.exists()
    assert not OutboxEvent.objects.exists()
