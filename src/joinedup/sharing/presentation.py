"""How a person's own sharing records are shown to them, on pages and in the API alike."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.utils.translation import get_language
from django.utils.translation import gettext as _

from joinedup.federation.models import Agency
from joinedup.identity.models import StaffMembership

from . import categories as data_categories
from . import purposes
from .ledger import REMOTE_CHANNEL
from .models import AccessEvent, ConsentRecord, DataCategory, LegalBasis


@dataclass(frozen=True)
class AccessEntry:
    """One line of "who used my data"."""

    seq: int
    at: datetime
    agency: str | None
    agency_name: str
    role: str | None
    role_name: str
    action: str
    categories: list[str]
    category_names: list[str]
    fields: list[str]
    purpose: str
    purpose_name: str
    legal_basis: str
    legal_basis_name: str
    outcome: str
    emergency: bool
    #: Made on another deployment (another government's node), reported by its signed receipt.
    elsewhere: bool = False


#: Functions that name agencies this deployment's registry does not hold (those of other
#: nodes, whose reads are reported back): given keys, they answer {key: name}.
_AGENCY_NAMERS: list = []


def register_agency_namer(namer) -> None:
    """Let an app that knows other deployments' agencies (the exchange) name them."""
    _AGENCY_NAMERS.append(namer)


def _agency_names(keys: set[str]) -> dict[str, str]:
    names = {a.key: a.name for a in Agency.objects.filter(key__in=keys)}
    for namer in _AGENCY_NAMERS:
        missing = keys - set(names)
        if not missing:
            break
        names.update(namer(missing))
    return names


def access_entries(events: Iterable[AccessEvent]) -> list[AccessEntry]:
    events = list(events)
    agency_keys = {e.actor_agency for e in events if e.actor_agency}
    agencies = _agency_names(agency_keys)
    category_keys = {c for e in events for c in e.categories}
    names = {c.key: c.name for c in DataCategory.objects.filter(key__in=category_keys)}
    roles = dict(StaffMembership.Role.choices)
    bases = dict(LegalBasis.choices)
    entries = []
    for e in events:
        if e.legal_basis == LegalBasis.ADMINISTRATION:
            agency_name = _("The platform's administrators")
        elif e.actor_agency:
            agency_name = agencies.get(e.actor_agency, e.actor_agency)
        elif e.actor_person_id:
            agency_name = _("Someone you gave a mandate to")
        else:
            agency_name = _("Unknown")
        entries.append(
            AccessEntry(
                seq=e.seq,
                at=e.occurred_at,
                agency=e.actor_agency or None,
                agency_name=agency_name,
                role=e.actor_role or None,
                role_name=str(roles.get(e.actor_role, e.actor_role)),
                action=e.action,
                categories=list(e.categories),
                category_names=[names.get(c, c) for c in e.categories],
                fields=list(e.fields),
                purpose=e.purpose,
                purpose_name=purposes.name(e.purpose),
                legal_basis=e.legal_basis,
                legal_basis_name=str(bases.get(e.legal_basis, _("None: refused"))),
                outcome=e.outcome,
                emergency=e.break_glass_id is not None,
                elsewhere=e.channel == REMOTE_CHANNEL,
            )
        )
    return entries


def field_label(key: str) -> str:
    spec = data_categories.field(key)
    return str(spec.label) if spec else key


# --- Consents, by what they are for -----------------------------------------------------

#: Functions of apps above (bundles) that say what each consent was given for: given
#: consent records, {consent id: its title}. A consent nobody titles is titled by its
#: purposes' names and its recipients.
_CONSENT_TITLERS: list = []


def register_consent_titler(titler) -> None:
    """Let an app that records consents (a bundle's legs) title them by service and agency."""
    _CONSENT_TITLERS.append(titler)


@dataclass(frozen=True)
class ConsentView:
    """A consent as its person reads it: what for, which purposes and kinds of data."""

    record: ConsentRecord
    title: str
    purpose_names: list[str]
    category_names: list[str]


def consent_views(records: Iterable[ConsentRecord]) -> list[ConsentView]:
    """Consents with their titles and names in the reader's language (a fixed number of
    queries whatever the number of consents)."""
    records = list(records)
    titles: dict = {}
    for titler in _CONSENT_TITLERS:
        titles.update(titler(records))
    keys = {c for r in records for c in r.categories}
    names = {c.key: c.name for c in DataCategory.objects.filter(key__in=keys)}
    views = []
    for record in records:
        purpose_names = [purposes.name(p) for p in record.purposes]
        title = titles.get(record.pk)
        if not title:
            recipients = "; ".join(a.name for a in record.recipients.all())
            title = f"{', '.join(purpose_names)} — {recipients}" if recipients else ""
            title = title or ", ".join(purpose_names)
        views.append(
            ConsentView(
                record,
                str(title),
                purpose_names,
                [str(names.get(c) or _category_default(c)) for c in record.categories],
            )
        )
    return views


def _category_default(key: str) -> str:
    default = data_categories.DEFAULT_CATEGORIES.get(key)
    if default is None:
        return key
    return default[1] if get_language() == "fr" else default[0]
