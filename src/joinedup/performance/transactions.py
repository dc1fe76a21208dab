"""The fact table, filled from what delivery announces: one row per transaction.

A transaction starts when an application is submitted (or, when it was resumed from a saved
draft, when that draft was started) and ends with the decision: approved or referred count as
completed, refused as completed with a "not eligible" outcome, withdrawn as abandoned. A draft
left untouched for `JOINEDUP_PERFORMANCE_DRAFT_TIMEOUT_DAYS` is an abandoned transaction too.
The row keeps no personal data: only the service, where, by whom, how, when, and the clock.

Every function here changes the fact and its rollups together, in the caller's transaction.
"""

from __future__ import annotations

import datetime
import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from joinedup.delivery import clock
from joinedup.delivery.models import Application, Draft
from joinedup.federation.calendars import calendar_for
from joinedup.federation.models import Agency, Jurisdiction, Service
from joinedup.federation.routing import RoutingError, route_for

from . import costs, groups, rollups
from .models import Outcome, Transaction

logger = logging.getLogger(__name__)

#: How each decision ends a transaction.
DECISIONS = {
    "approved": Outcome.COMPLETED,
    "referred": Outcome.COMPLETED,
    "refused": Outcome.NOT_ELIGIBLE,
    "withdrawn": Outcome.ABANDONED,
}


def application_source(application_id) -> str:
    return f"application:{application_id}"


def delivering_jurisdiction(agency: Agency, fallback: Jurisdiction | None) -> Jurisdiction | None:
    """The government that delivers: the agency's own, else (a community organisation) the
    area it served."""
    return agency.jurisdiction if agency.jurisdiction_id else fallback


def _local_day(jurisdiction: Jurisdiction | None, moment: datetime.datetime) -> datetime.date:
    if jurisdiction is None:
        return timezone.localdate(moment, datetime.UTC)
    return calendar_for(jurisdiction).local_date(moment)


def _load(application_id) -> Application | None:
    return (
        Application.objects.select_related(
            "service",
            "agency__jurisdiction",
            "offering__area",
            "place",
            "applicant",
            "applicant_business",
        )
        .defer("process_state", "data")
        .filter(pk=application_id)
        .first()
    )


def _start(application: Application) -> Transaction:
    """The fact row for an application, created (and counted as started) if new."""
    source = application_source(application.pk)
    existing = Transaction.objects.select_for_update().filter(source=source).first()
    if existing is not None:
        return existing
    fallback = application.offering.area if application.offering_id else application.place
    jurisdiction = delivering_jurisdiction(application.agency, fallback)
    draft = Draft.objects.filter(submitted=application).only("created_at").first()
    started_at = min(draft.created_at, application.submitted_at) if draft else None
    started_at = started_at or application.submitted_at
    txn = Transaction.objects.create(
        source=source,
        service_key=application.service.key,
        jurisdiction=jurisdiction.code if jurisdiction else "",
        agency=application.agency.key,
        channel=application.channel,
        started_at=started_at,
        start_day=_local_day(jurisdiction, started_at),
        standard_days=application.standard_days,
        **groups.derive(application),
    )
    rollups.add_started(txn)
    return txn


def record_submitted(application_id) -> Transaction | None:
    """An application was received: its transaction starts (once, however often told)."""
    with transaction.atomic():
        application = _load(application_id)
        if application is None:
            logger.warning("no application %s to record as started", application_id)
            return None
        return _start(application)


def record_decided(
    application_id, verb: str, when: datetime.datetime | None = None
) -> Transaction | None:
    """A decision ended the application's transaction. Returns it, or None when there was
    nothing to change (no such application, not a decision, or it had already ended)."""
    outcome = DECISIONS.get(verb)
    if outcome is None:
        return None
    with transaction.atomic():
        application = _load(application_id)
        if application is None:
            logger.warning("no application %s to record as decided", application_id)
            return None
        txn = _start(application)
        if txn.outcome != Outcome.IN_PROGRESS:
            return None
        ended_at = application.completed_at or when or timezone.now()
        jurisdiction = Jurisdiction.objects.filter(code=txn.jurisdiction).first()
        txn.outcome = outcome
        txn.ended_at = ended_at
        txn.end_day = _local_day(jurisdiction, ended_at)
        if outcome != Outcome.ABANDONED:
            txn.elapsed_days = clock.elapsed(application, ended_at)
            txn.standard_days = application.standard_days
            txn.met_standard = (
                txn.elapsed_days <= application.standard_days
                if application.standard_days is not None
                else None
            )
        txn.channel_cost = costs.UnitCosts().cost(txn.jurisdiction, txn.channel, txn.end_day)
        txn.save()
        rollups.add_ended(txn)
        return txn


def sweep_abandoned_drafts(now: datetime.datetime | None = None) -> int:
    """Drafts left untouched past the timeout become abandoned transactions (once each)."""
    now = now or timezone.now()
    timeout = datetime.timedelta(days=settings.PERFORMANCE_DRAFT_TIMEOUT_DAYS)
    stale = (
        Draft.objects.filter(submitted__isnull=True, updated_at__lt=now - timeout)
        .select_related("version__service__scope", "applicant")
        .order_by("updated_at")
    )
    unit_costs = costs.UnitCosts()
    recorded = 0
    for draft in stale.iterator(chunk_size=500):
        source = f"draft:{draft.pk}"
        if Transaction.objects.filter(source=source).exists():
            continue
        service = draft.version.service
        agency, jurisdiction = _draft_route(service, draft)
        ended_at = draft.updated_at + timeout
        with transaction.atomic():
            txn = Transaction.objects.create(
                source=source,
                service_key=service.key,
                jurisdiction=jurisdiction.code if jurisdiction else service.scope.code,
                agency=agency.key if agency else "",
                channel="online",
                started_at=draft.created_at,
                start_day=_local_day(jurisdiction, draft.created_at),
                ended_at=ended_at,
                end_day=_local_day(jurisdiction, ended_at),
                outcome=Outcome.ABANDONED,
                standard_days=service.standard_days,
                age_band=groups.age_band(
                    draft.applicant.birth_date if draft.applicant else None,
                    draft.created_at.date(),
                ),
            )
            txn.channel_cost = unit_costs.cost(txn.jurisdiction, "online", txn.end_day)
            txn.save(update_fields=["channel_cost"])
            rollups.add_started(txn)
            rollups.add_ended(txn)
        recorded += 1
    return recorded


def _draft_route(service: Service, draft: Draft) -> tuple[Agency | None, Jurisdiction | None]:
    """Who would have delivered the draft: routed from where the applicant lives (a
    business's draft, the back office's: its service's scope)."""
    if draft.applicant is None:
        return None, service.scope
    address = draft.applicant.current_address()
    if address is not None and address.jurisdiction_id is not None:
        try:
            route = route_for(service, address.jurisdiction)
        except RoutingError:
            pass
        else:
            return route.agency, delivering_jurisdiction(route.agency, route.offering.area)
    return None, service.scope
