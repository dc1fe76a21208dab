"""Partner systems: a hospital's notice of birth, matched with the parents' registration;
and webhooks of application status changes for an agency's own systems.

Matching rule (a notice and a birth registration are the same birth when ALL hold):
- the child's date of birth is the same;
- the province of birth is the same (the registration's `birth_province`);
- one of the parents named in the registration has the mother's given and family names
  (compared without case, accents kept, runs of spaces folded);
- the registration's place of birth names the hospital (one contains the other, compared the
  same way).
A notice matches at most one registration and a registration at most one notice; when
several could match, none is taken (a registrar decides). Matching runs when the notice
arrives and again when a birth registration is submitted, whichever comes second.
"""

from __future__ import annotations

import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from joinedup.delivery.models import Application
from joinedup.federation.models import Agency, Service
from joinedup.identity import policy
from joinedup.identity.acting import ActingContext
from joinedup.identity.models import ApiClient
from joinedup.sharing import outbox, webhooks
from joinedup.sharing.models import WebhookEndpoint

from .models import BirthNotice

#: What a birth registration produces, in the catalogue's terms (a service's `evidence`): the
#: services that list it are those whose applications a hospital's notice is matched with.
REGISTRATION_EVIDENCE = "birth-registration"
EVENT_PREFIX = "org.joinedup.birth_notice."
SOURCE = "/joinedup/channels"


class PartnerError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def _norm(text: str) -> str:
    return " ".join(str(text or "").split()).casefold()


def same_birth(notice: BirthNotice, registration: Application) -> bool:
    data = registration.data or {}
    if data.get("birth_date") != notice.child_birth_date.isoformat():
        return False
    if (data.get("birth_province") or "") != notice.province:
        return False
    mother = (_norm(notice.mother_given_names), _norm(notice.mother_family_name))
    parents = [p for p in data.get("parents") or [] if isinstance(p, dict)]
    if not any(
        (_norm(p.get("given_names", "")), _norm(p.get("family_name", ""))) == mother
        for p in parents
    ):
        return False
    place, hospital = _norm(data.get("birth_place", "")), _norm(notice.hospital)
    return bool(place and hospital) and (hospital in place or place in hospital)


def registration_services() -> list[str]:
    """The catalogue keys of the services that register a birth (their evidence says so)."""
    return [
        key
        for key, evidence in Service.objects.values_list("key", "evidence")
        if REGISTRATION_EVIDENCE in (evidence or [])
    ]


def _candidates_for_notice(notice: BirthNotice) -> list[Application]:
    apps = Application.objects.filter(
        service__key__in=registration_services(),
        birth_notice__isnull=True,
        submitted_at__date__gte=notice.child_birth_date,
    ).select_related("agency")
    return [app for app in apps if same_birth(notice, app)]


def _record_match(notice: BirthNotice, registration: Application) -> BirthNotice:
    notice.registration = registration
    notice.matched_at = timezone.now()
    notice.save(update_fields=["registration", "matched_at"])
    outbox.emit(
        EVENT_PREFIX + "matched",
        source=SOURCE,
        subject=str(notice.pk),
        data={
            "notice": notice.pk,
            "sender": notice.agency.key,
            "notice_id": notice.notice_id,
            "registration": str(registration.pk),
            "reference": registration.reference,
            "registrar": registration.agency.key,
        },
    )
    return notice


def match_notice(notice: BirthNotice) -> BirthNotice:
    """Match a waiting notice with the one registration it describes (if exactly one)."""
    if notice.registration_id is not None:
        return notice
    found = _candidates_for_notice(notice)
    if len(found) != 1:
        return notice
    with transaction.atomic():
        return _record_match(notice, found[0])


def match_registration(registration: Application) -> BirthNotice | None:
    """When a birth registration arrives: the one waiting notice it matches, if exactly one."""
    if REGISTRATION_EVIDENCE not in (registration.service.evidence or []):
        return None
    waiting = BirthNotice.objects.filter(registration__isnull=True).select_related("agency")
    found = [n for n in waiting if same_birth(n, registration)]
    if len(found) != 1:
        return None
    with transaction.atomic():
        return _record_match(found[0], registration)


def receive_birth_notice(context: ActingContext, notice: dict) -> tuple[BirthNotice, bool]:
    """Record a hospital's notice (once per sender's reference) and try to match it.
    Returns (notice, created)."""
    policy.require(context, "channels.partner.write")
    client = ApiClient.objects.select_related("agency").get(pk=context.api_client_id)
    birth_date = notice["child_birth_date"]
    if birth_date > timezone.localdate():
        raise PartnerError("future", _("A birth cannot be notified before it happens."))
    if birth_date < timezone.localdate() - datetime.timedelta(days=366):
        raise PartnerError("too_old", _("Notices are sent within a year of the birth."))
    existing = BirthNotice.objects.filter(client=client, notice_id=notice["notice_id"]).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            record = BirthNotice.objects.create(
                client=client,
                agency=client.agency,
                notice_id=notice["notice_id"],
                mother_given_names=notice["mother_given_names"],
                mother_family_name=notice["mother_family_name"],
                child_birth_date=birth_date,
                child_sex=notice.get("child_sex") or "",
                hospital=notice["hospital"],
                province=notice["province"],
            )
            outbox.emit(
                EVENT_PREFIX + "received",
                source=SOURCE,
                subject=str(record.pk),
                data={"notice": record.pk, "sender": client.agency.key},
            )
    except IntegrityError:
        return BirthNotice.objects.get(client=client, notice_id=notice["notice_id"]), False
    return match_notice(record), True


def notice_of(context: ActingContext, notice_pk: int) -> BirthNotice | None:
    """A sender sees only its own notices."""
    policy.require(context, "channels.partner.read")
    return (
        BirthNotice.objects.select_related("registration", "registration__agency")
        .filter(pk=notice_pk, client_id=context.api_client_id)
        .first()
    )


# --- Webhooks of application status changes ------------------------------------------------

STATUS_PREFIX = "org.joinedup.partner."


def status_event_type(agency_key: str, verb: str) -> str:
    """Each agency's status events have their own type, so that an agency's endpoints
    receive only its own applications' changes."""
    return f"{STATUS_PREFIX}{agency_key}.application.{verb}"


def forward_status(event_type: str, data: dict) -> None:
    """Announce an application's status change to its delivering agency's partner systems
    (identifiers and status only, never the answers)."""
    verb = event_type.rsplit(".", 1)[-1]
    agency = data.get("agency")
    if not agency:
        return
    outbox.emit(
        status_event_type(agency, verb),
        source=SOURCE,
        subject=str(data.get("application") or ""),
        data={
            key: data.get(key)
            for key in ("application", "reference", "service", "agency", "status", "due_date")
        },
    )


def register_webhook(context: ActingContext, name: str, url: str) -> WebhookEndpoint:
    """A partner system of an agency asks for its applications' status changes at `url`."""
    policy.require(context, "channels.partner.write")
    agency = Agency.objects.get(key=context.agency_key)
    return webhooks.create_endpoint(
        name[:100] or agency.key, url, [status_event_type(agency.key, "*")], agency
    )
