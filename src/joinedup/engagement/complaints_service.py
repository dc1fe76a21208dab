"""Each agency's complaints service: a catalogue service of the agency, offered where the
agency serves, whose versions run the complaint process. A complaint to an agency is an
application of that service, so it has the engine's queue, clock and timeline — no second
queue or clock.

The service is made the first time someone complains to the agency; its response standard
(business days, on the agency's jurisdiction's calendar) is ENGAGEMENT_RESPONSE_DAYS.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from joinedup.delivery import versions
from joinedup.delivery.models import ServiceVersion
from joinedup.delivery.notifications.templates import EVENTS
from joinedup.federation.models import Agency, Offering, Service

PROCESS = Path(__file__).parent / "processes" / "complaint.bpmn"

#: The answers a complaint application carries (the complaint itself is engagement's record).
FORM = {
    "schema": {
        "type": "object",
        "additionalProperties": False,
        "required": ["complaint"],
        "properties": {
            "complaint": {"type": "string", "minLength": 1, "maxLength": 20},
            "about": {"type": "string", "maxLength": 200},
        },
    },
    "ui": {
        "fields": {
            "complaint": {"label": {"en": "Complaint reference", "fr": "Numéro de la plainte"}},
            "about": {"label": {"en": "About", "fr": "Au sujet de"}},
        }
    },
}


#: Delivery does not tell the person of a complaint application's steps: a complaint to
#: several agencies is several applications, and the person would hear of each. Engagement
#: tells them once per complaint, in its own words (complaint_notices).
NOTIFICATIONS = dict.fromkeys(EVENTS, False)


class NoComplaintsService(Exception):
    """The agency cannot take complaints through the platform (no jurisdiction)."""


def service_key(agency: Agency) -> str:
    return "complaints." + agency.key.replace("_", "-")


def response_days() -> int:
    return int(getattr(settings, "ENGAGEMENT_RESPONSE_DAYS", 20))


def complaints_version(agency: Agency) -> ServiceVersion:
    """The agency's complaints service and its current version, made when first needed."""
    if agency.jurisdiction_id is None:
        raise NoComplaintsService(
            _("%(agency)s does not take complaints through this platform.")
            % {"agency": agency.name}
        )
    key = service_key(agency)
    with transaction.atomic():
        service, created = Service.objects.get_or_create(
            key=key,
            defaults={
                "scope": agency.jurisdiction,
                "names": {
                    "en": f"Complaints to {agency.names.get('en') or agency.name}",
                    "fr": f"Plaintes — {agency.names.get('fr') or agency.name}",
                },
                "frame": Service.Frame.TRANSACTIONAL,
                "client_type": Service.ClientType.PERSON,
                "channels": ["online", "counter", "phone"],
                "standard_days": response_days(),
                "standard_day_kind": Service.DayKind.BUSINESS,
                "required_assurance": 1,
            },
        )
        if created:
            Offering.objects.create(service=service, area=agency.jurisdiction, agency=agency)
        version = (
            ServiceVersion.objects.filter(service=service, active=True)
            .defer("bpmn", "spec")
            .order_by("-number")
            .first()
        )
        if version is None or key not in _DEPLOYED:
            # Once per process: deploying parses the BPMN, and finds the identical version.
            version = versions.deploy(
                key,
                PROCESS.read_text(encoding="utf-8"),
                FORM,
                notifications=NOTIFICATIONS,
                source="engagement complaint",
            ).version
            _DEPLOYED.add(key)
    return version


#: Complaints services whose version this process has checked against the process file.
_DEPLOYED: set[str] = set()
