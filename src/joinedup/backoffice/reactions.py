"""What the back office does when the engine's events are delivered from the outbox: a
request taken up is its response; a request past its level alerts the provider's
supervisors (a record on their dashboard and a message by the engine's notifications)."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone

from joinedup.delivery.models import Application
from joinedup.delivery.notifications import sending
from joinedup.delivery.party import applicant_name
from joinedup.federation.localization import pick
from joinedup.identity.models import StaffMembership
from joinedup.sharing.subscribers import Event, subscriber

from .models import BreachAlert, Request
from .requests import mark_taken_up


@subscriber("org.joinedup.workitem.claimed", name="backoffice.taken-up")
def taken_up(event: Event) -> None:
    application = event.data.get("application")
    if application:
        mark_taken_up(Application(pk=application), at=timezone.now())


def supervisors_of(request: Request) -> list[StaffMembership]:
    return [
        membership
        for membership in StaffMembership.objects.filter(
            agency=request.provider, role=StaffMembership.Role.SUPERVISOR
        ).select_related("user__person")
        if membership.is_in_force()
    ]


@subscriber("org.joinedup.application.breached", name="backoffice.breach-alert")
def alert_supervisors(event: Event) -> None:
    request = (
        Request.objects.select_related(
            "application__service", "application__version", "client", "provider"
        )
        .filter(application_id=event.data.get("application"))
        .first()
    )
    if request is None:
        return
    application = request.application
    for membership in supervisors_of(request):
        try:
            with transaction.atomic():
                BreachAlert.objects.create(request=request, supervisor=membership.user)
        except IntegrityError:
            continue  # alerted already (the event was delivered again)
        person = getattr(membership.user, "person", None)
        if person is None:
            continue
        language = person.preferred_language or "en"
        sending.notify(
            person,
            "sla_breached",
            f"{event.id}:{membership.user_id}",
            {
                "reference": application.reference,
                "service": pick(application.service.names, language),
                "client": applicant_name(application),
                "due_date": str(application.due_date or ""),
                "name": person.preferred_name or person.given_names,
            },
            application,
        )
