"""Pick lists as the person using them needs them: only what belongs to their federation,
the nearest first, and two things with one name told apart by their jurisdiction.

A Toronto agent booking an appointment is offered Canada's services and offices, their own
office first (not "VicRoads Melbourne"); a phone agent's warm-transfer list holds the
agencies of their own federation, those serving the caller's place first; a person finding
an office sees the services of their own federation.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from joinedup.federation.models import Agency, Jurisdiction, Office, Service
from joinedup.identity.models import Person

#: Levels from the widest: a national agency before a provincial one before a city's.
LEVEL_ORDER = {"national": 0, "subnational": 1, "indigenous": 2, "local": 3}


def root_of(code: str | None) -> str:
    """The federation a jurisdiction code belongs to: its root (`CA-ON-TOR` → `CA`)."""
    return (code or "").split("-")[0]


def place_of(person: Person | None) -> Jurisdiction | None:
    """Where the person lives now (the most local jurisdiction of their address)."""
    if person is None:
        return None
    address = person.current_address()
    return address.jurisdiction if address is not None else None


def _codes(place: Jurisdiction | None) -> list[str]:
    return place.ancestor_codes if place is not None else []


def _labels(items: Sequence, jurisdiction_of) -> list[tuple[str, str]]:
    """(key, label) with the jurisdiction beside a name another item shares."""
    names = Counter(item.name.casefold() for item in items)
    labelled = []
    for item in items:
        label = item.name
        where = jurisdiction_of(item)
        if names[item.name.casefold()] > 1 and where is not None:
            label = f"{item.name} ({where.name})"
        labelled.append((item.key, label))
    return labelled


def services(found: Iterable[Service], root: str, place: Jurisdiction | None) -> list[Service]:
    """The services of one federation: those whose catalogue covers the place first, then
    by name."""
    near = set(_codes(place))
    mine = [s for s in found if root_of(s.scope.code) == root] if root else list(found)
    return sorted(mine, key=lambda s: (s.scope.code not in near, s.name.casefold()))


def service_choices(found: Sequence[Service]) -> list[tuple[str, str]]:
    return _labels(found, lambda service: service.scope)


def offices(
    found: Iterable[Office], root: str, own: Iterable[str], place: Jurisdiction | None
) -> list[Office]:
    """The offices of one federation: the agent's own first, then those in the person's
    place (the most local first), then the others by town."""
    own = set(own)
    near = _codes(place)

    def nearness(office: Office) -> int:
        codes = office.jurisdiction.ancestor_codes if office.jurisdiction_id else []
        shared = sum(1 for a, b in zip(codes, near, strict=False) if a == b)
        return -shared

    mine = [o for o in found if root_of(o.jurisdiction.code) == root] if root else list(found)
    return sorted(mine, key=lambda o: (o.key not in own, nearness(o), o.locality, o.key))


def office_choices(found: Sequence[Office]) -> list[tuple[str, str]]:
    labelled = []
    for key, label in _labels(found, lambda office: office.jurisdiction):
        office = next(o for o in found if o.key == key)
        lines = office.address_lines
        labelled.append((key, f"{label} ({', '.join(lines)})" if lines else label))
    return labelled


def transfer_agencies(call_agency: Agency, person: Person | None) -> list[Agency]:
    """The agencies a phone agent may transfer a caller to: those of the agent's own
    federation, the ones serving the caller's place first (the widest first), then the
    others by level and name."""
    root = root_of(call_agency.jurisdiction.code)
    near = set(_codes(place_of(person)))
    found = (
        Agency.objects.select_related("jurisdiction")
        .exclude(pk=call_agency.pk)
        .filter(jurisdiction__path__startswith=root)
    )
    found = [a for a in found if root_of(a.jurisdiction.code) == root]
    return sorted(
        found,
        key=lambda a: (
            a.jurisdiction.code not in near,
            LEVEL_ORDER.get(a.jurisdiction.level, 9),
            a.name.casefold(),
        ),
    )


def agency_choices(found: Sequence[Agency]) -> list[tuple[str, str]]:
    return _labels(found, lambda agency: agency.jurisdiction)
