"""Reading the service catalogue: which services, for which place, in which shape.

The API and the public pages ask the same questions of the catalogue ("what is available
in Toronto?", "what helps when having a baby?"); the answers live here so both give the
same ones.
"""

from dataclasses import dataclass

from django.db.models import Prefetch, Q, QuerySet
from django.utils.translation import gettext as _

from .models import (
    Agency,
    Agreement,
    AgreementParty,
    Jurisdiction,
    LifeSituation,
    Offering,
    Office,
    PartnerRole,
    Service,
)


class UnknownJurisdiction(LookupError):
    """A filter named a jurisdiction code that the registry does not hold."""

    def __init__(self, code: str):
        self.code = code
        self.message = _("There is no jurisdiction with the code “%(code)s”.") % {"code": code}
        super().__init__(self.message)


def jurisdiction_by_code(code: str) -> Jurisdiction:
    """The jurisdiction with `code` (any case); raises UnknownJurisdiction."""
    found = Jurisdiction.objects.filter(code=code.strip().upper()).first()
    if found is None:
        raise UnknownJurisdiction(code)
    return found


def reaching(place: Jurisdiction) -> Q:
    """Offerings that serve `place`: at it, above it, or within it.

    Federal services reach every city (above); a province's page lists what its
    municipalities deliver (within).
    """
    return Q(offerings__area__code__in=place.ancestor_codes) | Q(
        offerings__area__path__startswith=place.path + "/"
    )


def filter_services(
    *,
    jurisdiction: str | Jurisdiction | None = None,
    frame: str | None = None,
    q: str | None = None,
    life_situation: str | None = None,
) -> QuerySet[Service]:
    """The catalogue, narrowed by place, frame, life situation and words in any language.

    Raises UnknownJurisdiction when `jurisdiction` is a code the registry does not hold.
    """
    services = Service.objects.select_related("scope").prefetch_related("life_situations")
    if jurisdiction:
        place = (
            jurisdiction
            if isinstance(jurisdiction, Jurisdiction)
            else jurisdiction_by_code(jurisdiction)
        )
        services = services.filter(reaching(place))
    if frame:
        services = services.filter(frame=frame)
    if life_situation:
        services = services.filter(life_situations__key=life_situation)
    if q:
        for word in q.casefold().split():
            services = services.filter(search_text__contains=word)
    return services.distinct().order_by("key")


def services_available_in(place: Jurisdiction) -> QuerySet[Service]:
    """Services someone at `place` can get, or that are delivered somewhere within it."""
    return filter_services(jurisdiction=place)


@dataclass(frozen=True)
class FrameGroup:
    """Services of one frame, for pages that group the catalogue by frame."""

    frame: str
    label: str
    services: list[Service]


def group_by_frame(services: QuerySet[Service] | list[Service]) -> list[FrameGroup]:
    """Services grouped by frame, in the order the frames are declared."""
    groups: dict[str, list[Service]] = {}
    for service in services:
        groups.setdefault(service.frame, []).append(service)
    return [
        FrameGroup(value, str(label), groups[value])
        for value, label in Service.Frame.choices
        if value in groups
    ]


def service_with_delivery(key: str) -> Service | None:
    """One service with everything its page shows: offerings, offices, roles, agreements."""
    offices = Prefetch(
        "offices", queryset=Office.objects.select_related("jurisdiction").order_by("key")
    )
    return (
        Service.objects.select_related("scope", "program__agency")
        .prefetch_related(
            "life_situations",
            Prefetch(
                "offerings",
                queryset=Offering.objects.select_related("agency", "area", "program")
                .prefetch_related(offices)
                .order_by("area__path"),
            ),
            Prefetch(
                "partner_roles",
                queryset=PartnerRole.objects.select_related("agency").order_by(
                    "role", "agency__key"
                ),
            ),
            Prefetch(
                "agreements",
                queryset=Agreement.objects.prefetch_related(
                    Prefetch("parties", queryset=AgreementParty.objects.select_related("agency"))
                ),
            ),
        )
        .filter(key=key)
        .first()
    )


def services_delivered_by(agency: Agency) -> QuerySet[Service]:
    """Services the agency delivers somewhere (it holds an offering for them)."""
    return (
        Service.objects.filter(offerings__agency=agency)
        .select_related("scope")
        .distinct()
        .order_by("key")
    )


def jurisdiction_tree() -> list[tuple[Jurisdiction, list]]:
    """Every jurisdiction as nested (jurisdiction, children) pairs, roots first.

    One query: the registry orders jurisdictions by path, so parents come before children.
    """
    nodes: dict[int, tuple[Jurisdiction, list]] = {}
    roots: list[tuple[Jurisdiction, list]] = []
    for jurisdiction in Jurisdiction.objects.order_by("path"):
        node = (jurisdiction, [])
        nodes[jurisdiction.pk] = node
        parent = nodes.get(jurisdiction.parent_id) if jurisdiction.parent_id else None
        (parent[1] if parent else roots).append(node)
    return roots


def ancestors_of(place: Jurisdiction) -> list[Jurisdiction]:
    """The jurisdictions above `place`, from the root down, itself left out."""
    codes = place.ancestor_codes[:-1]
    found = {j.code: j for j in Jurisdiction.objects.filter(code__in=codes)}
    return [found[code] for code in codes if code in found]


def life_situations() -> QuerySet[LifeSituation]:
    """Life situations in their editorial order, for browsing."""
    return LifeSituation.objects.order_by("position", "key")
