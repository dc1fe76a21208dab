"""Facts and rollups from delivery's real events: submissions, decisions with the clock's
pauses across holidays, interactions' handle time, abandoned drafts, and a full
recomputation that gives exactly the rows the increments built."""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from django.utils import timezone

from joinedup.delivery import clock, queues
from joinedup.delivery.applications import submit_application
from joinedup.delivery.models import Draft
from joinedup.performance import kpis, measures, rollups, transactions
from joinedup.performance.models import (
    ChannelUnitCost,
    DailyRollup,
    GroupRollup,
    InteractionShare,
    MonthlyRollup,
    OverheadPool,
    StaffCostRate,
    SurveyRollup,
    Transaction,
)
from joinedup.sharing import dispatch, outbox
from tests.delivery.conftest import birth_answers, person_context

pytestmark = pytest.mark.django_db
TORONTO = ZoneInfo("America/Toronto")


def at(day: str, hour: int = 10) -> datetime.datetime:
    return datetime.datetime.fromisoformat(day).replace(hour=hour, tzinfo=TORONTO)


def submit(applicant, key: str, **answers):
    application, _ = submit_application(
        person_context(applicant), "ca.birth-registration", birth_answers(**answers), "online", key
    )
    return application


def decide_at(application, status: str, moment: datetime.datetime) -> None:
    """A decision taken at `moment` (the clock finished then), announced as delivery does."""
    from joinedup.delivery.applications import record_status

    with transaction.atomic():
        clock.finish(application, moment)
        application.completed_at = moment
        application.save()
        record_status(application, status, None)


def snapshot() -> dict:
    def rows(model, period):
        return sorted(
            (
                getattr(r, period),
                r.service_key,
                r.jurisdiction,
                r.agency,
                r.channel,
                *(getattr(r, name) for name in r.COUNTERS),
                tuple(r.histogram),
            )
            for r in model.objects.all()
        )

    surveys = sorted(
        (r.month, r.service_key, r.jurisdiction, r.channel, r.invited, r.responses, str(r.sums))
        for r in SurveyRollup.objects.all()
    )
    groups = sorted(
        (
            r.month,
            r.service_key,
            r.channel,
            r.dimension,
            r.value,
            *(getattr(r, name) for name in r.COUNTERS),
            tuple(r.histogram),
        )
        for r in GroupRollup.objects.all()
    )
    return {
        "daily": rows(DailyRollup, "day"),
        "monthly": rows(MonthlyRollup, "month"),
        "groups": groups,
        "surveys": surveys,
    }


def test_a_submission_starts_a_transaction_and_a_decision_ends_it(
    birth_registration, applicant, federation, make_staff
):
    # In force long before (by default from today in UTC, which is Toronto's tomorrow at night).
    ChannelUnitCost.objects.create(
        jurisdiction="CA", channel="online", amount=60, valid_from=datetime.date(2020, 1, 1)
    )
    application = submit(applicant, "one")
    dispatch.dispatch_pending()
    txn = Transaction.objects.get()
    assert (txn.service_key, txn.jurisdiction, txn.agency, txn.channel, txn.outcome) == (
        "ca.birth-registration",
        "CA-ON",
        "serviceontario",
        "online",
        "in_progress",
    )
    assert "applicant" not in {f.name for f in Transaction._meta.fields}  # no personal data
    registrar = make_staff(federation["serviceontario"], "caseworker")
    item = queues.queue(registrar, federation["serviceontario"]).get()
    queues.complete(registrar, item, "approve", "")
    dispatch.dispatch_pending()
    txn.refresh_from_db()
    application.refresh_from_db()
    assert txn.outcome == "completed"
    assert txn.elapsed_days == 0 and txn.met_standard is True
    assert txn.channel_cost == 60  # the CA unit cost, for this CA-ON transaction
    day = timezone.localdate(application.completed_at, TORONTO)
    row = DailyRollup.objects.get(day=day)
    assert (row.started, row.completed, row.with_standard, row.met_standard) == (1, 1, 1, 1)
    assert measures.unpack(row.histogram) == [1]
    month = MonthlyRollup.objects.get()
    assert month.month == day.replace(day=1) and month.completed == 1


def test_clock_pauses_across_a_holiday_give_the_elapsed_days(birth_registration, applicant):
    # Received Friday 13 February 2026 in Ontario; Monday 16 February is Family Day there.
    # Paused from Tuesday 17 to Monday 23 February (4 business days: 18, 19, 20, 23).
    met = submit(applicant, "met")
    missed = submit(applicant, "missed")
    for application in (met, missed):
        application.submitted_at = at("2026-02-13")
        clock.start(application)
        application.save()
        clock.pause(application, "waiting", at=at("2026-02-17"))
        clock.resume(application, at=at("2026-02-23"))
    # Business days d with 13 Feb < d ≤ 12 Mar in Ontario: 18 (19 weekdays, less Family
    # Day); less 4 paused = 14 ≤ 15: met. To Monday 16 March: 20 − 4 = 16 > 15: missed.
    decide_at(met, "approved", at("2026-03-12"))
    decide_at(missed, "refused", at("2026-03-16"))
    dispatch.dispatch_pending()
    facts = {t.source: t for t in Transaction.objects.all()}
    first = facts[transactions.application_source(met.pk)]
    second = facts[transactions.application_source(missed.pk)]
    assert (first.elapsed_days, first.met_standard, first.outcome) == (14, True, "completed")
    assert (second.elapsed_days, second.met_standard, second.outcome) == (
        16,
        False,
        "not_eligible",
    )
    assert first.start_day == datetime.date(2026, 2, 13)
    figures = kpis.compute(kpis.parse_period("2026-03"), by=("service_key",))[0]
    assert figures.completions == 2 and figures.within_standard == 0.5
    assert figures.histogram[14] == 1 and figures.histogram[16] == 1
    assert figures.percentile(50) == 14 and figures.percentile(90) == 16
    assert figures.mean_days == 15


def test_withdrawn_is_abandoned_and_the_completion_rate_counts_it(birth_registration, applicant):
    done = submit(applicant, "done")
    gone = submit(applicant, "gone")
    refused = submit(applicant, "refused")
    decide_at(done, "approved", at("2026-03-02"))
    decide_at(gone, "withdrawn", at("2026-03-03"))
    decide_at(refused, "refused", at("2026-03-04"))
    dispatch.dispatch_pending()
    outcomes = sorted(Transaction.objects.values_list("outcome", flat=True))
    assert outcomes == ["abandoned", "completed", "not_eligible"]
    figures = kpis.compute(kpis.parse_period("2026-03"), by=())[0]
    assert figures.completion_rate == pytest.approx(2 / 3)
    assert figures.with_standard == 2  # the abandoned one has no clock verdict
    # Told again, nothing changes.
    assert transactions.record_decided(done.pk, "approved") is None
    assert MonthlyRollup.objects.get(month=datetime.date(2026, 3, 1)).completed == 1


def test_interactions_add_handle_time_and_untouched_ones_become_overheads(
    birth_registration, applicant
):
    StaffCostRate.objects.create(agency="serviceontario", hourly=5200)
    StaffCostRate.objects.create(agency="esdc", hourly=6000)
    first = submit(applicant, "first")
    second = submit(applicant, "second")
    decide_at(first, "approved", at("2026-03-02"))
    dispatch.dispatch_pending()
    with transaction.atomic():
        # 30 minutes on the phone about both applications: 26.00 split 13.00 / 13.00.
        outbox.emit(
            "org.joinedup.interaction.recorded",
            data={
                "channel": "phone",
                "agency": "serviceontario",
                "office": "",
                "minutes": 30,
                "applications": [str(first.pk), str(second.pk)],
            },
        )
        # 10 minutes at an ESDC counter touching nothing: 10.00 of ESDC overhead.
        outbox.emit(
            "org.joinedup.interaction.recorded",
            data={"channel": "counter", "agency": "esdc", "minutes": 10, "applications": []},
        )
        outbox.emit(
            "org.joinedup.interaction.recorded",
            data={"channel": "fax", "agency": "esdc", "minutes": 3},
        )
    dispatch.dispatch_pending()
    facts = {t.source: t for t in Transaction.objects.all()}
    done = facts[transactions.application_source(first.pk)]
    open_ = facts[transactions.application_source(second.pk)]
    assert (done.handle_seconds, done.handle_cost) == (900, 1300)
    assert (open_.handle_seconds, open_.handle_cost) == (900, 1300)
    # The ended transaction's row grew at once; the open one's cost waits for its end.
    assert MonthlyRollup.objects.get(completed=1).handle_cost == 1300
    assert InteractionShare.objects.get(service_key="").cost == 1000
    decide_at(second, "approved", at("2026-03-05"))
    dispatch.dispatch_pending()
    figures = kpis.compute(kpis.parse_period("2026-03"), by=())[0]
    assert figures.handle_cost == 2600 and figures.cost_per_transaction == 1300


def test_overheads_are_apportioned_by_share_of_transactions(birth_registration, applicant):
    for key in ("a", "b", "c", "d"):
        decide_at(submit(applicant, key), "approved", at("2026-03-02"))
    dispatch.dispatch_pending()
    OverheadPool.objects.create(
        agency="serviceontario", month=datetime.date(2026, 3, 1), amount=800
    )
    figures = kpis.compute(kpis.parse_period("2026-03"), by=("service_key",))[0]
    assert figures.overhead == 800 and figures.cost_per_transaction == 200
    assert figures.digital_cost_per_transaction == 200  # all online


def test_abandoned_drafts_are_swept_once(birth_registration, applicant, settings):
    settings.PERFORMANCE_DRAFT_TIMEOUT_DAYS = 30
    draft = Draft.objects.create(
        user=applicant, applicant=applicant.person, version=birth_registration, data={}
    )
    Draft.objects.filter(pk=draft.pk).update(updated_at=timezone.now() - datetime.timedelta(40))
    Draft.objects.create(user=applicant, applicant=applicant.person, version=birth_registration)
    assert transactions.sweep_abandoned_drafts() == 1
    assert transactions.sweep_abandoned_drafts() == 0
    txn = Transaction.objects.get()
    assert (txn.outcome, txn.channel, txn.jurisdiction, txn.agency) == (
        "abandoned",
        "online",
        "CA-ON",
        "serviceontario",
    )


def test_recomputation_gives_the_rows_the_increments_built(birth_registration, applicant, settings):
    settings.PERFORMANCE_SURVEY_RATE = 1.0
    ChannelUnitCost.objects.create(jurisdiction="", channel="online", amount=75)
    StaffCostRate.objects.create(agency="serviceontario", hourly=4800)
    apps = [submit(applicant, f"r{n}") for n in range(6)]
    decide_at(apps[0], "approved", at("2026-02-27"))
    decide_at(apps[1], "refused", at("2026-03-02"))
    decide_at(apps[2], "withdrawn", at("2026-03-02"))
    decide_at(apps[3], "approved", at("2026-03-10"))
    with transaction.atomic():
        outbox.emit(
            "org.joinedup.interaction.recorded",
            data={
                "channel": "phone",
                "agency": "serviceontario",
                "minutes": 7.5,
                "applications": [str(apps[0].pk), str(apps[4].pk), str(apps[5].pk)],
            },
        )
    dispatch.dispatch_pending()
    assert SurveyRollup.objects.filter(invited__gt=0).exists()
    before = snapshot()
    assert before["daily"] and before["monthly"] and before["groups"]
    rollups.recompute_rollups()
    assert snapshot() == before
