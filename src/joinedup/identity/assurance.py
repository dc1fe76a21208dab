"""Levels of assurance: what a person has proven, and how to step up when a service needs more.

A proof is made once and kept as an `IdentityProofing`; every agency's service reads the same
records, so nobody is asked to prove again what is still valid.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from joinedup.federation.models import Agency, Channel, Office, Service

from .models import AssuranceLevel, IdentityProofing, Person, User
from .providers import provider_name

#: How long a proof stays valid, by level (None: until revoked).
VALIDITY_DAYS = {
    AssuranceLevel.SELF_ASSERTED: None,
    AssuranceLevel.REMOTE: 2 * 365,
    AssuranceLevel.IN_PERSON: 5 * 365,
}
#: A proof may be renewed (made again) in the last days of its validity.
RENEWAL_WINDOW_DAYS = 60


def valid_proofings(person: Person | None, on: datetime.date | None = None):
    day = on or timezone.localdate()
    if person is None:
        return IdentityProofing.objects.none()
    return IdentityProofing.objects.filter(
        Q(valid_until__isnull=True) | Q(valid_until__gte=day), person=person, revoked_at=None
    ).order_by("-level", "-verified_at")


def level_of(person: Person | None, on: datetime.date | None = None) -> int:
    """The highest level of the person's valid proofs; 0 for nobody or no proof."""
    best = valid_proofings(person, on).first()
    return best.level if best else 0


def level_column(person: str, day: datetime.date | None = None) -> Coalesce:
    """`level_of` as a column of another query, the person's key at the path `person` (an
    API token's `user__person`): the token's authentication reads the level in its own
    statement, so a proof revoked or expired counts at the next request, and the request
    costs no round trip for it. The same rule as `valid_proofings`, on `day` (today unless
    given: a statement compiled once passes its stand-in for the day of each request)."""
    day = day or timezone.localdate()
    best = (
        IdentityProofing.objects.filter(
            Q(valid_until__isnull=True) | Q(valid_until__gte=day),
            person=OuterRef(person),
            revoked_at=None,
        )
        .order_by("-level")
        .values("level")[:1]
    )
    return Coalesce(Subquery(best), Value(0))


def record_proofing(
    person: Person,
    *,
    level: int,
    method: str,
    evidence: Iterable[str] = (),
    verified_by: User | None = None,
    agency: Agency | None = None,
    office: Office | None = None,
    provider: str = "",
    valid_until: datetime.date | None = None,
) -> IdentityProofing:
    """Record a proof of identity, unless a valid proof already covers that level.

    Re-verifying what is still valid wastes the person's time (and an agency's); it is only
    allowed in the last days of the existing proof, to renew it.
    """
    today = timezone.localdate()
    covering = valid_proofings(person).filter(level__gte=level).first()
    if covering and (
        covering.valid_until is None
        or covering.valid_until > today + datetime.timedelta(days=RENEWAL_WINDOW_DAYS)
    ):
        raise ValidationError(
            _(
                "This person's identity is already verified at level %(level)s%(until)s. "
                "There is no need to verify it again."
            )
            % {
                "level": covering.level,
                "until": _(" until %(date)s") % {"date": covering.valid_until.isoformat()}
                if covering.valid_until
                else "",
            },
            code="already_proven",
        )
    if valid_until is None and VALIDITY_DAYS.get(level):
        valid_until = today + datetime.timedelta(days=VALIDITY_DAYS[level])
    proofing = IdentityProofing(
        person=person,
        level=level,
        method=method,
        evidence=list(evidence),
        verified_by=verified_by,
        agency=agency or (office.agency if office else None),
        office=office,
        provider=provider,
        valid_until=valid_until,
    )
    proofing.full_clean()
    proofing.save()
    return proofing


@dataclass(frozen=True)
class OnlineOption:
    """An external sign-in service that can prove identity at a level."""

    key: str
    name: str
    level: int


@dataclass(frozen=True)
class StepUp:
    """What a person must do to reach the level a service needs."""

    service: Service
    required: int
    current: int
    online: list[OnlineOption] = field(default_factory=list)
    offices: list[Office] = field(default_factory=list)

    @property
    def needed(self) -> bool:
        return self.current < self.required


def online_options(level: int) -> list[OnlineOption]:
    """Configured identity providers whose proofs reach the level."""
    return [
        OnlineOption(key=key, name=provider_name(key), level=config["assurance"])
        for key, config in settings.OIDC_PROVIDERS.items()
        if config.get("assurance", 1) >= level
    ]


def proofing_offices(service: Service, person: Person | None, limit: int = 10) -> list[Office]:
    """Counters where identity can be proven in person: the service's own offices first."""
    # JSON containment lookups differ between SQLite and PostgreSQL: filter in Python.
    offices = [
        office
        for office in Office.objects.select_related("agency", "jurisdiction")
        if Channel.COUNTER in office.channels
    ]
    own = set(Office.objects.filter(offerings__service=service).values_list("pk", flat=True))
    address = person.current_address() if person else None
    region = None
    if address and address.jurisdiction_id:
        codes = address.jurisdiction.ancestor_codes
        region = codes[1] if len(codes) > 1 else codes[0]

    def rank(office: Office) -> tuple[int, int, str]:
        near = region is None or region in office.jurisdiction.ancestor_codes
        return (0 if office.pk in own else 1, 0 if near else 1, office.key)

    return sorted(offices, key=rank)[:limit]


def step_up(service: Service, person: Person | None) -> StepUp:
    """How the person can reach the level the service needs (online or at which offices)."""
    required = service.required_assurance
    current = level_of(person)
    if current >= required:
        return StepUp(service=service, required=required, current=current)
    online = online_options(required) if required <= AssuranceLevel.REMOTE else []
    return StepUp(
        service=service,
        required=required,
        current=current,
        online=online,
        offices=proofing_offices(service, person),
    )
