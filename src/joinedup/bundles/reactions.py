"""What the bundles app does when delivery's events arrive from the outbox.

- A birth registered (`org.joinedup.application.birth_registered`): the child enters the
  registry with a mandate for each parent (`births.py`), and each parent is offered the
  benefits for the child they have not applied for yet.
- An address changed (`org.joinedup.application.address_changed`, announced by a change of
  address's process once the new address is confirmed; its answers `new_province` and
  `moved_on` say where and since when): the moving services not yet asked for at the new
  place are offered.
- A death registered (`org.joinedup.application.death_registered`): the informant is offered
  the survivor's services.
- Entitlements found by the rules' population run (`org.joinedup.rules.entitlements.found`,
  up to 1,000 per event): each person is offered the benefit's service with the estimated
  amount, once per benefit and month, the batch's offers written in bulk
  (`offers.offer_entitlements`).
- A bundle accepted (`org.joinedup.bundle.legs_received`, one per agency): that agency's legs
  get their applications and processes (`starting.py`), or are sent to the node hosting the
  agency (`crossing.py`).
- An application's status changed (`org.joinedup.application.*`), when this node exchanges
  with others: if the application is a leg another node sent, its status is reported there
  (`crossing.report_status`).

Each runs as an outbox subscriber, in a transaction with the record of its success, so it
happens once per event; the offers are unique per event and service, so a replay adds none.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.utils import timezone

from joinedup.delivery.models import Application
from joinedup.federation.models import Jurisdiction
from joinedup.sharing.subscribers import Event, subscriber

from . import births, crossing, offers, starting
from .models import Offer


def _application(event: Event) -> Application | None:
    return (
        Application.objects.select_related("applicant", "service", "agency", "place")
        .filter(pk=event.data.get("application"))
        .first()
    )


def _home(person) -> Jurisdiction | None:
    address = person.current_address()
    return address.jurisdiction if address is not None else None


def _start_of(day: str | None, fallback: datetime.datetime) -> datetime.datetime:
    try:
        date = datetime.date.fromisoformat(day or "")
    except ValueError:
        return fallback
    return timezone.make_aware(datetime.datetime.combine(date, datetime.time.min))


@subscriber("org.joinedup.application.birth_registered", name="bundles.birth-registered")
def on_birth_registered(event: Event) -> None:
    application = _application(event)
    if application is None:
        return
    birth = births.record_birth(application)
    since = _start_of(application.data.get("birth_date"), application.submitted_at)
    for parent in birth.parents.all():
        offers.make_offers(
            parent,
            Offer.Trigger.BIRTH_REGISTERED,
            event.id,
            place=_home(parent),
            since=since,
            source_application=application,
            about=birth.child,
        )


@subscriber("org.joinedup.application.address_changed", name="bundles.address-changed")
def on_address_changed(event: Event) -> None:
    application = _application(event)
    if application is None:
        return
    code = application.data.get("new_province") or ""
    place = Jurisdiction.objects.filter(code=code).first() if code else None
    offers.make_offers(
        application.applicant,
        Offer.Trigger.ADDRESS_CHANGED,
        event.id,
        place=place or _home(application.applicant),
        since=_start_of(application.data.get("moved_on"), application.submitted_at),
        source_application=application,
    )


@subscriber("org.joinedup.application.death_registered", name="bundles.death-registered")
def on_death_registered(event: Event) -> None:
    application = _application(event)
    if application is None:
        return
    offers.make_offers(
        application.applicant,
        Offer.Trigger.DEATH_REGISTERED,
        event.id,
        place=_home(application.applicant),
        since=_start_of(application.data.get("date_of_death"), application.submitted_at),
        source_application=application,
    )


@subscriber(starting.LEGS_RECEIVED, name="bundles.start-legs")
def on_legs_received(event: Event) -> None:
    starting.start_legs(event.data.get("legs") or [])


@subscriber("org.joinedup.application.*", name="bundles.foreign-leg-status")
def on_application_changed(event: Event) -> None:
    if not settings.EXCHANGE_NODE_ID or "status" not in event.data:
        return  # a deployment alone has no leg from another node
    crossing.report_status(str(event.data.get("application") or ""), at=event.time)


@subscriber("org.joinedup.rules.entitlements.found", name="bundles.entitlements-found")
def on_entitlements_found(event: Event) -> None:
    offers.offer_entitlements(event.data.get("entitlements") or [])


@subscriber("org.joinedup.rules.entitlement.found", name="bundles.entitlement-found")
def on_entitlement_found(event: Event) -> None:
    """An event of one entitlement, as runs announced them before they were batched."""
    offers.offer_entitlement(event.id, event.data)
