"""The clock in the delivering jurisdiction's business days, pauses while waiting for the
applicant, breaches seen coming and found, and money-back guarantees refunding the fee."""

from __future__ import annotations

import datetime
import json
from zoneinfo import ZoneInfo

import pytest

from joinedup.delivery import clock, queues, versions
from joinedup.delivery.applications import submit_application
from joinedup.delivery.models import Payment
from joinedup.delivery.payments import flows
from joinedup.delivery.payments.contrib.sandbox import SUCCEEDING_CARD, SandboxProvider
from joinedup.federation.models import Offering
from joinedup.sharing.models import OutboxEvent

from .conftest import DEMO, birth_answers, person_context

pytestmark = pytest.mark.django_db
TORONTO = ZoneInfo("America/Toronto")


def at(day: str, hour: int = 10) -> datetime.datetime:
    return datetime.datetime.fromisoformat(day).replace(hour=hour, tzinfo=TORONTO)


def received_on(application, moment):
    """Pretend the application arrived at `moment` (its clock restarted from then)."""
    application.submitted_at = moment
    clock.start(application)
    application.save(update_fields=["submitted_at", "standard_days", "due_date", "paused_days"])
    return application


def test_due_dates_skip_the_jurisdictions_own_holidays(birth_registration, applicant):
    context = person_context(applicant)
    ontario, _ = submit_application(
        context, "ca.birth-registration", birth_answers(), "online", "on"
    )
    quebec, _ = submit_application(
        context, "ca.birth-registration", birth_answers(birth_province="CA-QC"), "online", "qc"
    )
    # Friday 13 February 2026; Monday 16 February is Family Day in Ontario, not in Quebec.
    received_on(ontario, at("2026-02-13"))
    received_on(quebec, at("2026-02-13"))
    quebec.standard_days = 15
    quebec.due_date = clock.due_date_of(quebec)
    assert ontario.due_date == datetime.date(2026, 3, 9)
    assert quebec.due_date == datetime.date(2026, 3, 6)


def test_pauses_stop_the_clock_and_push_the_due_date(birth_registration, applicant):
    application, _ = submit_application(
        person_context(applicant), "ca.birth-registration", birth_answers(), "online", "p"
    )
    received_on(application, at("2026-02-13"))
    clock.pause(application, "waiting", at=at("2026-02-17"))
    assert clock.state(application, at("2026-02-18")).code == "on_track"
    assert clock.elapsed(application, at("2026-02-20")) == 1  # only the 17th ran
    paused = clock.resume(application, at=at("2026-02-23"))
    assert paused == 4  # 18, 19, 20 and 23 February
    assert application.due_date == datetime.date(2026, 3, 13)
    assert clock.state(application, at("2026-03-11")).code == "at_risk"
    assert clock.state(application, at("2026-03-02")).code == "on_track"
    assert clock.state(application, at("2026-03-16")).code == "breached"
    clock.finish(application, at("2026-03-12"))
    assert application.met_standard is True  # 18 business days run, less 4 paused


def test_breaches_are_found_once_and_announced(birth_registration, applicant):
    application, _ = submit_application(
        person_context(applicant), "ca.birth-registration", birth_answers(), "online", "b"
    )
    received_on(application, at("2026-02-13"))
    assert clock.find_breaches(at("2026-03-09", 12)) == []
    found = clock.find_breaches(at("2026-03-10", 12))
    assert [a.pk for a in found] == [application.pk]
    assert clock.find_breaches(at("2026-03-11", 12)) == []
    assert OutboxEvent.objects.filter(type="org.joinedup.application.breached").count() == 1


@pytest.fixture
def paid_service(federation):
    """Birth registration with a fee and a money-back guarantee (the birth-certificate flow)."""
    Offering.objects.filter(service__key="ca.birth-registration").update(fee_amount=25)
    data = json.loads((DEMO / "birth-certificate.json").read_text())
    return versions.deploy(
        "ca.birth-registration",
        (DEMO / data["process"]).read_text(),
        data["form"],
        place_field="birth_province",
        money_back_guarantee=True,
        documents=data["documents"],
    ).version


def _paid_application(paid_service, applicant):
    answers = {
        "given_names": "A",
        "family_name": "B",
        "birth_date": "1990-01-01",
        "birth_province": "CA-ON",
        "birth_place": "Toronto",
        "reason": "school",
    }
    application, _ = submit_application(
        person_context(applicant), "ca.birth-registration", answers, version=paid_service
    )
    payment = application.payments.get()
    provider = SandboxProvider()
    intent = provider.pay(payment.intent_id, SUCCEEDING_CARD)
    flows.handle_webhook("sandbox", *provider.webhook(intent, "payment.succeeded"))
    payment.refresh_from_db()
    assert payment.status == "succeeded"
    return application, payment


def test_a_breach_refunds_the_fee_once(paid_service, applicant):
    from joinedup.delivery import reactions
    from joinedup.sharing import dispatch

    application, payment = _paid_application(paid_service, applicant)
    received_on(application, at("2026-02-13"))
    clock.find_breaches(at("2026-03-20", 12))
    dispatch.dispatch_pending()  # the breach event reaches the guarantee
    payment.refresh_from_db()
    assert payment.status == "refunded"
    assert payment.refund_id.startswith("re_")
    assert reactions.refund_on_breach
    assert OutboxEvent.objects.filter(type="org.joinedup.payment.refunded").count() == 1
    assert SandboxProvider().refund  # the processor's books say refunded too
    from joinedup.delivery.models import SandboxIntent

    assert SandboxIntent.objects.get(pk=payment.intent_id).refunded == 2500


def test_completing_late_refunds_and_completing_on_time_does_not(
    paid_service, applicant, make_applicant, federation, make_staff
):
    late, late_payment = _paid_application(paid_service, applicant)
    received_on(late, at("2025-01-06"))  # long past its 15 business days
    on_time, on_time_payment = _paid_application(
        paid_service, make_applicant(email="b@example.org")
    )
    clerk = make_staff(federation["serviceontario"], "front_line")
    for item in list(queues.queue(clerk, federation["serviceontario"])):
        queues.complete(clerk, item, "approve")
    late.refresh_from_db()
    on_time.refresh_from_db()
    assert (late.met_standard, on_time.met_standard) == (False, True)
    late_payment.refresh_from_db()
    on_time_payment.refresh_from_db()
    assert late_payment.status == Payment.Status.REFUNDED
    assert on_time_payment.status == Payment.Status.SUCCEEDED
