"""The service-standard clock of an application, in the delivering jurisdiction's calendar.

The clock starts when the application is received (day 0) and counts business days (or
calendar days, when the standard says so) in the calendar of the delivering agency's
jurisdiction: Ontario's Family Day stops an Ontario clock, not a federal one. While the agency
waits for the applicant (more information, a fee to pay) the clock stands still: each pause
adds the days it lasted to the due date. On completion the application records whether it
met its standard; before that, supervisors see which applications are about to miss it.
"""

from __future__ import annotations

import datetime
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from joinedup.federation.calendars import Calendar, calendar_for
from joinedup.federation.models import Agency, Jurisdiction, Offering

from . import timeline
from .models import Application, ClockPause, ServiceVersion

BUSINESS = "business"

#: Working calendars by jurisdiction id, kept per process: finding one reads the
#: jurisdiction and, when it has no holiday calendar of its own, its ancestors, and every
#: clock (a submission, a queue page of 200 rows) needs it. A change to any jurisdiction
#: in this process clears them at once; other processes see it within the time below.
CALENDAR_SECONDS = 300
_CALENDARS: dict[int, tuple[float, Calendar]] = {}
_CALENDARS_LOCK = threading.Lock()


@receiver(post_save, sender=Jurisdiction, dispatch_uid="delivery.clock.calendars")
@receiver(post_delete, sender=Jurisdiction, dispatch_uid="delivery.clock.calendars-deleted")
def forget_calendars(**_kwargs) -> None:
    """A jurisdiction changed (its holidays, time zone or place in the tree): forget them."""
    with _CALENDARS_LOCK:
        _CALENDARS.clear()


def calendar_of(application: Application) -> Calendar:
    """The working calendar of the delivering agency (its jurisdiction, else the place)."""
    # The place is read only when the calendar is not kept (a queue page: none per row).
    return _calendar(application.agency, application.place_id, lambda: application.place)


def calendar_at(agency: Agency, place: Jurisdiction) -> Calendar:
    """The working calendar of `agency` (its jurisdiction, else the place it serves)."""
    return _calendar(agency, place.pk, lambda: place)


def _calendar(agency: Agency, place_id: int, place: Callable[[], Jurisdiction]) -> Calendar:
    jurisdiction_id = agency.jurisdiction_id or place_id
    now = time.monotonic()
    found = _CALENDARS.get(jurisdiction_id)
    if found is not None and found[0] > now:
        return found[1]
    jurisdiction = agency.jurisdiction or place()
    calendar = calendar_for(jurisdiction)
    with _CALENDARS_LOCK:
        _CALENDARS[jurisdiction_id] = (now + CALENDAR_SECONDS, calendar)
    return calendar


def count_days(application: Application, start: datetime.datetime, end: datetime.datetime) -> int:
    """Days d with start < d ≤ end, in the kind of days the standard counts."""
    calendar = calendar_of(application)
    if application.standard_day_kind == BUSINESS:
        return max(0, calendar.count(start, end))
    return max(0, (calendar.local_date(end) - calendar.local_date(start)).days)


def due_date_of(application: Application) -> datetime.date | None:
    """Received date + standard + days paused so far, in the standard's kind of days."""
    return _due_date(
        calendar_of(application),
        application.standard_days,
        application.standard_day_kind,
        application.paused_days,
        application.submitted_at,
    )


def _due_date(
    calendar: Calendar,
    standard_days: int | None,
    kind: str,
    paused_days: int,
    received_at: datetime.datetime,
) -> datetime.date | None:
    if standard_days is None:
        return None
    days = standard_days + paused_days
    if kind == BUSINESS:
        return calendar.add(received_at, days)
    return calendar.local_date(received_at) + datetime.timedelta(days=days)


def start(application: Application) -> None:
    """Set the standard (the offering's, else the service's) and the first due date."""
    offering = application.offering
    standard = offering.effective_standard_days if offering else application.service.standard_days
    application.standard_days = standard
    application.standard_day_kind = application.service.standard_day_kind
    application.paused_days = 0
    application.due_date = due_date_of(application)


def promised_due_date(
    version: ServiceVersion, offering: Offering, place: Jurisdiction, received_at: datetime.datetime
) -> datetime.date | None:
    """The due date an application of this version and offering, received at `received_at`
    for `place`, will have when it starts (`applications.received`, then `start`): what a
    bundle's leg promises when the bundle is accepted, its application made later by a
    worker with the same time received. Computed without making the application."""
    offering.service = version.service  # as `received` sets it: the standard falls back to it
    return _due_date(
        calendar_at(offering.agency, place),
        offering.effective_standard_days,
        offering.service.standard_day_kind,
        0,
        received_at,
    )


def open_pause(application: Application) -> ClockPause | None:
    return application.pauses.filter(ended_at__isnull=True).first()


def pause(application: Application, reason: str, at: datetime.datetime | None = None) -> None:
    """Stop the clock (idempotent: an open pause stays the one pause)."""
    if open_pause(application) is None:
        ClockPause.objects.create(
            application=application, started_at=at or timezone.now(), reason=reason[:200]
        )


def resume(
    application: Application,
    at: datetime.datetime | None = None,
    *,
    save: bool = True,
    current: ClockPause | None = None,
) -> int:
    """Restart the clock; the days paused push the due date back. Returns those days.
    `save=False`: the caller saves the application (with the rest of its step)."""
    current = current or open_pause(application)
    if current is None:
        return 0
    at = at or timezone.now()
    current.ended_at = at
    current.days = count_days(application, current.started_at, at)
    current.save(update_fields=["ended_at", "days"])
    application.paused_days += current.days
    application.due_date = due_date_of(application)
    if save:
        application.save(update_fields=["paused_days", "due_date", "updated_at"])
    return current.days


_UNKNOWN = object()


def elapsed(application: Application, at: datetime.datetime | None = None, current=_UNKNOWN) -> int:
    """Days the clock has run: since receipt, less every pause (an open one up to `at`).
    `current`: the open pause, when the caller already knows it (None: there is none)."""
    at = at or application.completed_at or timezone.now()
    days = count_days(application, application.submitted_at, at) - application.paused_days
    if current is _UNKNOWN:
        current = open_pause(application)
    if current is not None:
        days -= count_days(application, current.started_at, at)
    return max(0, days)


def finish(application: Application, at: datetime.datetime | None = None, current=_UNKNOWN) -> None:
    """On completion: close any pause and record whether the standard was met (the caller
    saves the application). `current`: the open pause, when the caller already knows it
    (None: there is none)."""
    at = at or timezone.now()
    if current is _UNKNOWN:
        current = open_pause(application)
    if current is not None:
        resume(application, at, save=False, current=current)
    if application.standard_days is not None:
        application.met_standard = (
            elapsed(application, at, current=None) <= application.standard_days
        )


def today_for(application: Application, at: datetime.datetime | None = None) -> datetime.date:
    return calendar_of(application).local_date(at or timezone.now())


def is_breached(application: Application, at: datetime.datetime | None = None) -> bool:
    """Open, with a due date, and the due date has passed in the agency's own calendar."""
    if application.is_closed or application.due_date is None:
        return False
    if open_pause(application) is not None:
        return False
    return today_for(application, at) > application.due_date


def days_left(application: Application, at: datetime.datetime | None = None) -> int | None:
    """Days until the due date (negative once missed), in the standard's kind of days."""
    if application.due_date is None:
        return None
    today = today_for(application, at)
    calendar = calendar_of(application)
    if application.standard_day_kind == BUSINESS:
        return calendar.count(today, application.due_date)
    return (application.due_date - today).days


@dataclass(frozen=True)
class ClockState:
    """What a person sees of the clock."""

    code: str  # on_track, at_risk, breached, paused, met, missed, none
    label: str
    due_date: datetime.date | None
    days_left: int | None


STATE_LABELS = {
    "none": _("No service standard"),
    "on_track": _("On track"),
    "at_risk": _("Due soon"),
    "breached": _("Past its due date"),
    "paused": _("Clock stopped: waiting for the applicant"),
    "met": _("Completed within the standard"),
    "missed": _("Completed after the due date"),
}


def state(application: Application, at: datetime.datetime | None = None) -> ClockState:
    """The clock's state for pages and the API (breach forecasting included)."""
    if application.standard_days is None:
        code = "none"
    elif application.is_closed:
        code = "met" if application.met_standard else "missed"
    elif application.status == "waiting_for_applicant":
        code = "paused"
    else:
        left = days_left(application, at)
        if left is not None and left < 0:
            code = "breached"
        elif left is not None and left <= settings.DELIVERY_AT_RISK_DAYS:
            code = "at_risk"
        else:
            code = "on_track"
    left = None if application.is_closed else days_left(application, at)
    return ClockState(code, str(STATE_LABELS[code]), application.due_date, left)


def find_breaches(at: datetime.datetime | None = None) -> list[Application]:
    """Open applications that have just passed their due date: mark them (once) and return
    them, so that the guarantee and the notifications can follow."""
    at = at or timezone.now()
    horizon = at.date() + datetime.timedelta(days=1)
    candidates = (
        Application.objects.filter(
            breached_at__isnull=True, due_date__lt=horizon, completed_at__isnull=True
        )
        .exclude(status__in=["approved", "refused", "referred", "withdrawn"])
        .select_related("agency__jurisdiction", "place", "service")
        .defer("process_state")
    )
    found = []
    for application in candidates:
        if not is_breached(application, at):
            continue
        with transaction.atomic():
            locked = Application.objects.select_for_update().get(pk=application.pk)
            if locked.breached_at is not None:
                continue
            locked.breached_at = at
            locked.save(update_fields=["breached_at", "updated_at"])
            timeline.announce(locked, "breached", {"due_date": str(locked.due_date)})
        found.append(locked)
    return found
