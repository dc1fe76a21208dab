"""Screening: from a few answers and the person's place to their own list of legs.

Each leg may carry a condition (`when`) in the restricted expression language the process
engine uses (`delivery.workflows.scripting`: no attribute access, no imports, no loops), over:

    answers       the screening answers               answers.get("lives_with_child") == True
    place         the place's codes, root first        "CA-QC" in place
    province      the province's code, or ""           province == "CA-QC"
    municipality  the municipality's code, or ""       municipality in ["CA-ON-TOR"]
    offered       the services delivered at the place  "ca.provincial-child-benefit" in offered
    assurance     the actor's level of assurance       assurance >= 2
    eligible()    whether the rules give the household  eligible("ca.child-benefit")
                  a benefit (by service key or rule variable), from the answers
                  (`rules.eligibility`: income, children, adults)

The place is where the person lives, or the jurisdiction named by the screening question the
bundle gives as `place_from` (where the baby was born, where the person moves to).
"""

from __future__ import annotations

import ast
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from joinedup import kept
from joinedup.delivery import applications as delivery_applications
from joinedup.delivery import formdefs
from joinedup.delivery.models import ServiceVersion
from joinedup.delivery.workflows import scripting
from joinedup.federation.localization import pick
from joinedup.federation.models import Agency, Jurisdiction, Offering, Service
from joinedup.federation.routing import RoutingError, route_for
from joinedup.identity.acting import ActingContext
from joinedup.identity.models import Person
from joinedup.rules.eligibility import Eligibility

from .models import Bundle

logger = logging.getLogger(__name__)

#: Catalogue rows every screening reads, kept per process (`joinedup.kept`): a bundle's
#: services with their current versions, what is offered at a place (by its codes), and
#: jurisdictions by code. A change through the ORM in this process forgets them at once.
SERVICES = kept.Kept("screening.services", (Service, ServiceVersion))
OFFERED = kept.Kept("screening.offered", (Offering, Service))
PLACES = kept.Kept("screening.places", (Jurisdiction,))


def jurisdiction(code: str) -> Jurisdiction | None:
    """A jurisdiction by code (upper case), kept per process."""
    return PLACES.get(code, lambda: Jurisdiction.objects.filter(code=code).first())


VARIABLES = frozenset(
    {"answers", "place", "province", "municipality", "offered", "assurance", "eligible"}
)


class OfferedAt:
    """`"ca.x" in offered`: whether anyone delivers the service at the place (or above it).

    Asked lazily: a condition that names no service costs nothing.
    """

    def __init__(self, place: Jurisdiction | None):
        self.codes = place.ancestor_codes if place is not None else []
        self._offered: set[str] | None = None

    def __contains__(self, service_key: object) -> bool:
        if not isinstance(service_key, str) or not self.codes:
            return False
        if self._offered is None:  # every service offered there, in one query, when first asked
            codes = self.codes
            self._offered = OFFERED.get(
                tuple(codes),
                lambda: frozenset(
                    Offering.objects.filter(area__code__in=codes).values_list(
                        "service__key", flat=True
                    )
                ),
            )
        return service_key in self._offered


def check_expression(source: str) -> str | None:
    """Why a condition cannot be used (syntax, refused construct, unknown name), or None."""
    try:
        scripting.validate_expression(source)
    except scripting.ScriptError as error:
        return str(error)
    for node in ast.walk(ast.parse(source.strip(), mode="eval")):
        if (
            isinstance(node, ast.Name)
            and node.id not in VARIABLES
            and node.id not in scripting.FUNCTIONS
            and node.id not in scripting.CONSTANTS
        ):
            return _("%(name)s is not known; conditions may use: %(known)s.") % {
                "name": node.id,
                "known": ", ".join(sorted(VARIABLES)),
            }
    return None


def place_for(bundle: Bundle, subject: Person | None, screening: Mapping[str, Any]):
    """Where the legs are delivered: the `place_from` answer, else where the person lives."""
    field = bundle.definition.get("place_from")
    code = screening.get(field) if field else None
    if isinstance(code, str) and code:
        found = jurisdiction(code.upper())
        if found is not None:
            return found
    if subject is None:
        return None
    address = subject.current_address()
    return address.jurisdiction if address is not None else None


def place_facts(place: Jurisdiction | None) -> dict[str, Any]:
    """The place as mapping paths see it (`place.province`, `place.municipality`)."""
    codes = place.ancestor_codes if place is not None else []
    return {
        "code": place.code if place is not None else "",
        "country": codes[0] if codes else "",
        "province": codes[1] if len(codes) > 1 else "",
        "municipality": codes[2] if len(codes) > 2 else "",
    }


def variables(
    screening: Mapping[str, Any], place: Jurisdiction | None, assurance: int = 0
) -> dict[str, Any]:
    facts = place_facts(place)
    return {
        "answers": dict(screening),
        "place": place.ancestor_codes if place is not None else [],
        "province": facts["province"],
        "municipality": facts["municipality"],
        "offered": OfferedAt(place),
        "assurance": assurance,
        # Computed only when a condition calls it (the rules load on first use).
        "eligible": Eligibility(screening, facts["code"]),
    }


def holds(condition: str | None, values: Mapping[str, Any]) -> bool:
    """Whether a condition holds; one that cannot be evaluated does not (and is logged)."""
    if not condition:
        return True
    try:
        return bool(scripting.evaluate(condition, values))
    except scripting.ScriptError as error:
        logger.warning("a bundle condition could not be evaluated (%s): %s", condition, error)
        return False


@dataclass
class LegPlan:
    """One leg of a person's list: included or not, and why; where it would go."""

    key: str
    leg: dict
    service: Service
    version: ServiceVersion | None
    included: bool
    reason: str = ""
    #: Why it is left out, for machines: condition, not_delivered, not_available, step_up.
    code: str = ""
    agency: Agency | None = None
    required: bool = False

    @property
    def why(self) -> str:
        return pick(self.leg.get("why") or {})


def plan(
    bundle: Bundle,
    context: ActingContext,
    subject: Person | None,
    screening: Mapping[str, Any],
    *,
    route: bool = True,
) -> list[LegPlan]:
    """Every leg of the bundle for this person and these answers, included or not; with
    `route`, the agency each leg would go to where the person is (for the list shown; the
    preview routes each leg precisely from its own answers)."""
    place = place_for(bundle, subject, screening)
    values = variables(screening, place, context.assurance)
    services, versions = catalogue_of(bundle)
    plans = []
    for leg in bundle.legs:
        service = services.get(leg["service"])
        if service is None:
            continue  # removed from the catalogue since the bundle was loaded
        item = LegPlan(
            key=leg["key"],
            leg=leg,
            service=service,
            version=versions.get(service.pk),
            included=True,
            required=bool(leg.get("required")),
        )
        if not holds(leg.get("when"), values):
            item.included, item.code = False, "condition"
            item.reason = _("Not needed from what you told us.")
        elif item.version is None:
            item.included, item.code = False, "not_available"
            item.reason = _("This service does not take applications online yet.")
        else:
            try:
                if place is not None and route:
                    item.agency = route_for(service, place).agency
                elif place is not None and service.key not in values["offered"]:
                    raise RoutingError("not_delivered", "")
            except RoutingError:
                item.included, item.code = False, "not_delivered"
                item.reason = _("Nobody delivers this service where you are.")
            if item.included and context.assurance < service.required_assurance:
                item.included, item.code = False, "step_up"
                item.reason = _("This service needs your identity verified at level %(level)s.") % {
                    "level": service.required_assurance
                }
        plans.append(item)
    return plans


def catalogue_of(bundle: Bundle) -> tuple[dict[str, Service], dict[int, ServiceVersion]]:
    """The bundle's services by key and their current versions by service id, kept per
    process (two queries when not kept)."""
    keys = tuple(sorted({leg["service"] for leg in bundle.legs}))

    def read():
        services = {s.key: s for s in Service.objects.filter(key__in=keys)}
        return services, current_versions(services.values())

    return SERVICES.get(keys, read)


def current_versions(services: Iterable[Service]) -> dict[int, ServiceVersion]:
    """The version new applications use, per service, in one query."""
    found: dict[int, ServiceVersion] = {}
    by_id = {s.pk: s for s in services}
    versions = (
        ServiceVersion.objects.filter(service_id__in=list(by_id), active=True)
        .defer(*delivery_applications.UNREAD_VERSION_FIELDS)
        .order_by("service_id", "-number")
    )
    for version in versions:
        version.service = by_id[version.service_id]  # in hand already: no query to read it
        found.setdefault(version.service_id, version)
    return found


def leg_place(
    version: ServiceVersion,
    subject: Person,
    data: Mapping[str, Any],
    fallback,
    home: Jurisdiction | None = None,
    known: dict[str, Jurisdiction | None] | None = None,
) -> Jurisdiction | None:
    """Where a leg's application will be routed: as delivery routes it (the version's place
    field in the leg's answers, else where the applicant lives: `home` when known).

    `known`: jurisdictions already in hand by code (the caller's, for all its legs): a
    place named there is not read again, and one read is added to it."""
    if version.place_field:
        code = formdefs.lookup(data, version.place_field)
        if isinstance(code, str) and code:
            code = code.upper()
            if known is not None and code in known:
                return known[code]
            found = jurisdiction(code)
            if known is not None:
                known[code] = found
            return found
    if home is not None:
        return home
    address = subject.current_address()
    if address is not None and address.jurisdiction_id is not None:
        return address.jurisdiction
    return fallback
