"""Starting a bundle's legs: each leg's application made, and its agency's process started,
by the task workers, exactly once.

A bundle is accepted in the request (`submission.py`) with one event per agency,
`org.joinedup.bundle.legs_received`, naming that agency's legs. Its outbox subscriber
(`reactions.py`) calls `start_legs`, in the dispatcher's transaction with the record that it
succeeded: the legs still waiting are locked, and each gets its application (delivery's
`received` and `start`, with the time the bundle was received, so the due date promised is
kept) in a savepoint of its own. A worker that dies mid-way has its transaction undone, and
the next one starts the same legs again; a leg already started is skipped, and the leg's
application carries the leg as its idempotency key, so the database itself refuses a second.

A leg whose agency another government's node hosts (the trust list says so) is sent there
as a signed message instead (`crossing.py`), in the same savepoint, and shown as "Sent to
another government's system".

A leg that cannot start (its agency's process is gone or broken, nobody delivers the service
any more, the node hosting its agency has no valid key) is not dropped: it is marked held
up with the reason, shown so on the status page and in the API, logged, and retried with a
growing wait by the periodic job (`schedule.py`) until it starts.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable, Iterable

from django.db import IntegrityError, transaction
from django.utils import timezone

from joinedup.delivery import applications
from joinedup.delivery.models import Application
from joinedup.federation.routing import route_for
from joinedup.identity.acting import ActingContext
from joinedup.sharing import outbox

from . import crossing
from .models import BundleLeg

logger = logging.getLogger(__name__)

LEGS_RECEIVED = "org.joinedup.bundle.legs_received"
LEGS_STARTED = "org.joinedup.bundle.legs_started"
SOURCE = "/joinedup/bundles"
#: The leg's application's idempotency scope; its key is the leg's id.
SCOPE = "bundle-leg"
#: Waits between attempts to start a held-up leg: doubling from a minute, at most an hour.
RETRY_FIRST_SECONDS = 60
RETRY_MAX_SECONDS = 3600

#: Called in the leg's transaction, once its application exists: (leg, application). A
#: higher app fills it (the counter records the application on its visit).
when_started: list[Callable[[BundleLeg, Application], None]] = []


def retry_wait(attempts: int) -> datetime.timedelta:
    return datetime.timedelta(
        seconds=min(RETRY_MAX_SECONDS, RETRY_FIRST_SECONDS * 2 ** max(0, attempts - 1))
    )


def start_legs(leg_ids: Iterable[int]) -> list[BundleLeg]:
    """Start the legs of `leg_ids` not started yet, in the caller's transaction; returns
    those started now. Each leg in a savepoint: one that fails is held up, the others go.

    Tried first all together, without a savepoint per leg and with one update of the legs
    (two statements fewer per leg, one update for all): when anything fails there, all of it
    is undone and the legs are started again one savepoint each, as before."""
    ids = list(leg_ids)
    try:
        with transaction.atomic(), outbox.batch():
            return _started(_start_together(_waiting(ids)))
    except Exception:  # whatever it was, the careful way below says which leg it was
        logger.info("legs %s started one by one after a failure together", ids, exc_info=True)
    with transaction.atomic(), outbox.batch():
        return _started([leg for leg in _waiting(ids) if _start(leg)])


def _waiting(ids: list[int]) -> list[BundleLeg]:
    """The legs not started yet, locked."""
    return list(
        BundleLeg.objects.select_for_update(of=("self",))
        .filter(pk__in=ids, application__isnull=True)
        .exclude(state=BundleLeg.State.ELSEWHERE)
        .select_related(
            "submission__subject",
            "service",
            "version",
            "offering__agency",
            "place",
            "agency__jurisdiction",
            # Where the leg's first work item opens (its agency's delivery back-end).
            "agency__backend",
        )
        .order_by("submission_id", "position")
    )


def _started(started: list[BundleLeg]) -> list[BundleLeg]:
    """One event per submission naming its legs started now."""
    by_submission: dict = {}
    for leg in started:
        by_submission.setdefault(leg.submission_id, []).append(leg)
    for submission_id, items in by_submission.items():
        outbox.emit(
            LEGS_STARTED,
            source=SOURCE,
            subject=str(submission_id),
            data={
                "submission": str(submission_id),
                "legs": [{"leg": leg.key, "application": str(leg.application_id)} for leg in items],
            },
        )
    return started


#: The fields of a leg written when it starts.
STARTED_FIELDS = ["application", "state", "started_at", "last_error", "next_attempt_at"]


def _start_together(waiting: list[BundleLeg]) -> list[BundleLeg]:
    """Every leg started with no savepoint of its own; raises when one cannot start (the
    caller undoes them all)."""
    now = timezone.now()
    started = []
    made = []
    for leg in waiting:
        application = _make(leg, now)
        if application is not None:
            started.append(leg)
            made.append(application)
    if started:
        BundleLeg.objects.bulk_update(started, STARTED_FIELDS)
    for leg, application in zip(started, made, strict=True):
        for hook in when_started:
            hook(leg, application)
    return started


def _make(leg: BundleLeg, now: datetime.datetime) -> Application | None:
    """The leg's application made and its process started, the leg's fields set (not
    saved); None when the leg was sent to another government's node instead."""
    submission = leg.submission
    context = ActingContext.from_json(submission.actor or {})
    node = crossing.node_for(leg)
    if node is not None:
        # Its agency is on another government's node: the leg is sent there.
        crossing.send_leg(leg, node)
        return None
    offering = leg.offering
    if offering is None:
        # The offering routing chose is gone: route again (the leg may be held up).
        offering = route_for(leg.service, leg.place, explain=False).offering
    leg.version.service = leg.service
    application = applications.received(
        context,
        leg.version,
        submission.subject,
        leg.data,
        submission.channel,
        leg.place,
        offering,
        submitted_at=submission.submitted_at,
        language=submission.language,
        scope=SCOPE,
        key=str(leg.pk),
    )
    if offering.agency_id == leg.agency_id:
        application.agency = leg.agency
    applications.start(application, context)
    leg.application = application
    leg.state = BundleLeg.State.STARTED
    leg.started_at = now
    leg.last_error = ""
    leg.next_attempt_at = None
    return application


def _start(leg: BundleLeg) -> bool:
    now = timezone.now()
    try:
        with transaction.atomic():
            application = _make(leg, now)
            if application is None:
                return False
            leg.save(update_fields=STARTED_FIELDS)
            for hook in when_started:
                hook(leg, application)
        return True
    except IntegrityError:
        made = Application.objects.filter(idempotency_scope=SCOPE, idempotency_key=str(leg.pk))
        if made.exists():
            # Its application exists (made by a run that did not link it): link it, once.
            leg.application = made.get()
            leg.state, leg.started_at = BundleLeg.State.STARTED, now
            leg.save(update_fields=["application", "state", "started_at"])
            return False
        _hold_up(leg, now, "IntegrityError")
        return False
    except Exception as error:
        # Whatever stops a leg, it is held up and retried, never dropped (the reason kept).
        _hold_up(leg, now, f"{type(error).__name__}: {error}")
        return False


def _hold_up(leg: BundleLeg, now: datetime.datetime, reason: str) -> None:
    leg.attempts += 1
    leg.state = BundleLeg.State.HELD_UP
    leg.last_error = reason[:2000]
    leg.next_attempt_at = now + retry_wait(leg.attempts)
    leg.save(update_fields=["attempts", "state", "last_error", "next_attempt_at"])
    logger.error(
        "leg %s of bundle %s could not start (attempt %s): %s",
        leg.key,
        leg.submission.reference,
        leg.attempts,
        reason,
    )


def held_up_due(now: datetime.datetime | None = None):
    """Legs held up whose next attempt is due."""
    return BundleLeg.objects.filter(
        application__isnull=True,
        state=BundleLeg.State.HELD_UP,
        next_attempt_at__lte=now or timezone.now(),
    )


def retry_held_up(limit: int = 100) -> int:
    """Try again the held-up legs that are due; returns how many started."""
    ids = list(held_up_due().order_by("next_attempt_at").values_list("pk", flat=True)[:limit])
    return len(start_legs(ids)) if ids else 0
