"""Competent-authority routing: which agency delivers a service at a place.

The most specific offering wins: an offering for the municipality beats one for the
province, which beats one for the country. The answer explains itself, step by step, so a
person (or an agency's integrator) can see why a case goes where it goes.

A unit of work that routes the same services to the same places more than once (a bundle's
preview, then its legs' submissions) asks inside `remembered()`: each pair is then read
once, and every step of the work is sent where the first answer said.
"""

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from django.db.models import Prefetch
from django.utils.translation import gettext as _

from joinedup import kept

from .models import Agency, Jurisdiction, Offering, Office, Program, Service

#: The offerings `remember_routes` reads, by services and place codes, kept per process
#: (`joinedup.kept`): every bundle of a kind asks for the same ones. Shared: read only.
OFFERINGS = kept.Kept("routing.offerings", (Offering, Agency, Jurisdiction, Program, Service))


@dataclass(frozen=True)
class RoutingStep:
    """One jurisdiction looked at, from the place up to the top of its tree."""

    jurisdiction: Jurisdiction
    offering: Offering | None
    chosen: bool

    @property
    def text(self) -> str:
        where = f"{self.jurisdiction.code} ({self.jurisdiction.name})"
        if self.offering is None:
            return _("%(where)s: no offering here.") % {"where": where}
        if self.chosen:
            return _("%(where)s: delivered by %(agency)s. Chosen: the most specific area.") % {
                "where": where,
                "agency": self.offering.agency.name,
            }
        return _("%(where)s: delivered by %(agency)s, but a more specific offering applies.") % {
            "where": where,
            "agency": self.offering.agency.name,
        }


@dataclass(frozen=True)
class Route:
    service: Service
    place: Jurisdiction
    offering: Offering
    steps: list[RoutingStep] = field(default_factory=list)

    @property
    def agency(self):
        return self.offering.agency

    @property
    def explanation(self) -> list[str]:
        return [step.text for step in self.steps]


class RoutingError(LookupError):
    """No competent agency: the service or place is unknown, or nobody delivers it there."""

    def __init__(self, reason: str, message: str, steps: list[RoutingStep] | None = None):
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.steps = steps or []

    @property
    def explanation(self) -> list[str]:
        return [step.text for step in self.steps]


def route(service_key: str, place_code: str) -> Route:
    """The competent agency for `service_key` at the jurisdiction `place_code`.

    Raises RoutingError with reason `unknown_service`, `unknown_jurisdiction` or
    `not_delivered`.
    """
    service = Service.objects.filter(key=service_key).first()
    if service is None:
        raise RoutingError(
            "unknown_service",
            _("There is no service with the catalogue key “%(key)s”.") % {"key": service_key},
        )
    place = Jurisdiction.objects.filter(code=place_code.upper()).first()
    if place is None:
        raise RoutingError(
            "unknown_jurisdiction",
            _("There is no jurisdiction with the code “%(code)s”.") % {"code": place_code},
        )
    return route_for(service, place)


def route_for(
    service: Service, place: Jurisdiction, *, explain: bool = True, related: tuple[str, ...] = ()
) -> Route:
    """Routing for records already in hand (see `route`). With `explain=False` (a
    submission, which needs only the answer) the offices and the steps are not read.

    The chosen offering comes with its agency and the agency's jurisdiction (its calendar);
    `related` names more of the agency's relations to read with it (a caller that needs the
    agency's delivery back-end next reads it in the same query)."""
    memo = _REMEMBERED.get() if not explain else None
    if memo is not None and (service.pk, place.pk) in memo:
        # Answered before the query is even built: building it costs more than the answer.
        return Route(service=service, place=place, offering=memo[service.pk, place.pk])
    codes = place.ancestor_codes
    # No ORDER BY (the offerings are ranked by depth here): the model's default ordering
    # would join the service table once more, only to sort, and PostgreSQL plans each join.
    offerings = (
        Offering.objects.filter(service=service, area__code__in=codes)
        .select_related("agency__jurisdiction", "area", "program", *related)
        .order_by()
    )
    if not explain:
        by_depth = sorted(offerings, key=lambda o: codes.index(o.area.code), reverse=True)
        if by_depth:
            if memo is not None:
                memo[service.pk, place.pk] = by_depth[0]
            return Route(service=service, place=place, offering=by_depth[0])
        raise RoutingError(
            "not_delivered",
            _("Nobody delivers “%(service)s” in %(place)s.")
            % {"service": service.name, "place": place.name},
        )
    offerings = {
        offering.area.code: offering
        for offering in offerings.prefetch_related(
            Prefetch("offices", queryset=Office.objects.select_related("jurisdiction"))
        )
    }
    ancestors = {j.code: j for j in Jurisdiction.objects.filter(code__in=codes)}
    steps: list[RoutingStep] = []
    chosen: Offering | None = None
    for code in reversed(codes):  # from the place itself up to the root
        offering = offerings.get(code)
        is_choice = offering is not None and chosen is None
        if is_choice:
            chosen = offering
        steps.append(RoutingStep(ancestors[code], offering, is_choice))
    if chosen is None:
        raise RoutingError(
            "not_delivered",
            _("Nobody delivers “%(service)s” in %(place)s.")
            % {"service": service.name, "place": place.name},
            steps,
        )
    return Route(service=service, place=place, offering=chosen, steps=steps)


_REMEMBERED: ContextVar[dict[tuple[int, int], Offering] | None] = ContextVar(
    "routing_remembered", default=None
)


def remember_routes(pairs: Iterable[tuple[Service, Jurisdiction]]) -> None:
    """Inside `remembered()`, read the offerings of many (service, place) pairs in one query
    (a bundle's six legs), so that each `route_for(..., explain=False)` after it is answered
    from memory with the offering it would have chosen. Outside it, does nothing. Pairs
    nobody delivers are not remembered: `route_for` refuses them as before."""
    memo = _REMEMBERED.get()
    if memo is None:
        return
    wanted = {(s.pk, p.pk): (s, p) for s, p in pairs if (s.pk, p.pk) not in memo}
    if len(wanted) < 2:
        return  # one pair costs `route_for` its one query anyway
    codes = tuple(sorted({code for _s, place in wanted.values() for code in place.ancestor_codes}))
    services = tuple(sorted({s.pk for s, _p in wanted.values()}))
    offerings = OFFERINGS.get(
        (services, codes),
        lambda: tuple(
            Offering.objects.filter(service__in=services)
            .filter(area__code__in=codes)
            .select_related("agency__jurisdiction", "area", "program")
            .order_by()
        ),
    )
    by_service: dict[int, list[Offering]] = {}
    for offering in offerings:
        by_service.setdefault(offering.service_id, []).append(offering)
    for (service_pk, place_pk), (_service, place) in wanted.items():
        ranks = place.ancestor_codes
        found = [o for o in by_service.get(service_pk, []) if o.area.code in ranks]
        if found:
            memo[service_pk, place_pk] = max(found, key=lambda o: ranks.index(o.area.code))


@contextmanager
def remembered() -> Iterator[None]:
    """Within the block, `route_for(..., explain=False)` reads each (service, place) once.

    Refusals are not remembered (they are asked again, and cost one query each)."""
    if _REMEMBERED.get() is not None:
        yield
        return
    token = _REMEMBERED.set({})
    try:
        yield
    finally:
        _REMEMBERED.reset(token)
