"""Demo identities: people, their accounts and proofs, and staff of several agencies.

`create_demo_identities()` is idempotent: it creates what is missing and leaves the rest.
Every demo account shares one password, made once and kept in the data directory; every
demo staff account shares one authenticator key, so `joinedup totp-code USERNAME` can show
the current code (refused when JOINEDUP_SECURE=true). Staff of agencies that are not loaded
are skipped.
"""

from __future__ import annotations

import dataclasses
import datetime
import secrets
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import get_random_string
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_otp.plugins.otp_totp.models import TOTPDevice

from joinedup.federation.models import Agency, Jurisdiction, Office
from joinedup.identity import acting, assurance, mandates
from joinedup.identity.client_registry import AddressInput, add_identifier, build_address
from joinedup.identity.identifiers import luhn_valid
from joinedup.identity.models import (
    AssuranceLevel,
    Business,
    ContactPoint,
    IdentityProofing,
    Mandate,
    Person,
    PersonIdentifier,
    Relationship,
    StaffMembership,
    User,
)

PASSWORD_FILE = "demo-password"  # noqa: S105 (a file name)
TOTP_KEY_FILE = "demo-totp-key"
DOMAIN = "example.org"


@dataclass(frozen=True)
class DemoSignIn:
    """Who the account is, how to sign in, and where to go first."""

    role: str
    username: str
    password: str
    path: str
    #: Whether signing in asks a code from an authenticator (it does for staff accounts).
    second_factor: bool = False
    #: What a counter or phone agent finds the person by (fictitious numbers), for people.
    found_by: str = ""


def _secret(name: str, make) -> str:
    path = Path(settings.DATA_DIR) / name
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    value = make()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(value + "\n", encoding="utf-8")
    path.chmod(0o600)
    return value


def demo_password() -> str:
    return _secret(PASSWORD_FILE, lambda: get_random_string(16))


def demo_totp_key() -> str:
    return _secret(TOTP_KEY_FILE, lambda: secrets.token_hex(20))


def format_sin(sin: str) -> str:
    """A social insurance number as people write it: 123 456 789."""
    return f"{sin[:3]} {sin[3:6]} {sin[6:]}"


def asks_second_factor(user: User) -> bool:
    """Whether the sign-in page asks this account for an authenticator code (the same test
    the sign-in view makes)."""
    return acting.needs_second_factor(user)


def give_demo_authenticator(user: User) -> None:
    """A confirmed authenticator on the demo key, so `joinedup totp-code USER` gives codes."""
    key = demo_totp_key()
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        TOTPDevice.objects.create(user=user, name=_("Demo authenticator"), key=key, confirmed=True)
    elif device.key != key:
        device.key = key
        device.save(update_fields=["key"])


def sin_with_check_digit(first_eight: str) -> str:
    """A valid social insurance number from eight digits (demo numbers, made up)."""
    for digit in "0123456789":
        if luhn_valid(first_eight + digit):
            return first_eight + digit
    raise ValueError(first_eight)  # pragma: no cover (one digit always fits)


@dataclass(frozen=True)
class DemoPerson:
    key: str
    given_names: str
    family_name: str
    birth_date: datetime.date
    language: str
    address: AddressInput
    sin_prefix: str
    level: int
    description: object  # a lazy translation


PEOPLE = [
    DemoPerson(
        "amara",
        "Amara",
        "Okafor",
        datetime.date(1988, 3, 14),
        "en",
        AddressInput("40 Bay St", "Toronto", "ON", "M5J 2X2", "CA", "CA-ON-TOR"),
        "27182818",
        AssuranceLevel.IN_PERSON,
        gettext_lazy("Parent (family, Toronto)"),
    ),
    DemoPerson(
        "david",
        "David",
        "Okafor",
        datetime.date(1986, 11, 2),
        "en",
        AddressInput("40 Bay St", "Toronto", "ON", "M5J 2X2", "CA", "CA-ON-TOR"),
        "31415926",
        AssuranceLevel.REMOTE,
        gettext_lazy("Parent (family, Toronto)"),
    ),
    DemoPerson(
        "jordan",
        "Jordan",
        "Tremblay",
        datetime.date(1979, 7, 23),
        "fr",
        AddressInput(
            "1200 boul. de Maisonneuve E",
            "Montréal",
            "QC",
            "H2L 2A2",
            "CA",
            "CA-QC-MTL",
        ),
        "14142135",
        AssuranceLevel.REMOTE,
        gettext_lazy("Person with several needs (Montréal)"),
    ),
    DemoPerson(
        "mei",
        "Mei",
        "Chen",
        datetime.date(1990, 1, 30),
        "en",
        AddressInput("555 W Hastings St", "Vancouver", "BC", "V6B 4N6", "CA", "CA-BC-VAN"),
        "17320508",
        AssuranceLevel.REMOTE,
        gettext_lazy("Small-business owner (Vancouver)"),
    ),
]

#: (agency, role, office keys the membership is limited to)
STAFF = [
    ("esdc", StaffMembership.Role.FRONT_LINE, ("sc-toronto-downtown",)),
    ("esdc", StaffMembership.Role.CASEWORKER, ()),
    ("esdc", StaffMembership.Role.CASE_MANAGER, ()),
    ("esdc", StaffMembership.Role.SUPERVISOR, ()),
    ("esdc", StaffMembership.Role.ADMINISTRATOR, ()),
    ("serviceontario", StaffMembership.Role.FRONT_LINE, ("so-toronto-college-park",)),
    ("serviceontario", StaffMembership.Role.CASEWORKER, ()),
    ("serviceontario", StaffMembership.Role.SUPERVISOR, ()),
    ("serviceontario", StaffMembership.Role.ADMINISTRATOR, ()),
    ("dec-qc", StaffMembership.Role.FRONT_LINE, ("dec-montreal",)),
    ("dec-qc", StaffMembership.Role.CASEWORKER, ()),
    ("dec-qc", StaffMembership.Role.CASE_MANAGER, ()),
    ("bc-vsa", StaffMembership.Role.FRONT_LINE, ("vsa-vancouver",)),
    ("bc-vsa", StaffMembership.Role.CASEWORKER, ()),
    ("toronto", StaffMembership.Role.FRONT_LINE, ()),
    ("toronto", StaffMembership.Role.CASE_MANAGER, ()),
    ("statcan", StaffMembership.Role.ANALYST, ()),
    ("tbs", StaffMembership.Role.AUDITOR, ()),
    ("esdc", StaffMembership.Role.DATA_STEWARD, ()),
    # Back-office shared services: client agencies' requesters, the providers' staff.
    ("on-mccss", StaffMembership.Role.SERVICE_REQUESTER, ()),
    ("on-mccss", StaffMembership.Role.SUPERVISOR, ()),
    ("toronto", StaffMembership.Role.SERVICE_REQUESTER, ()),
    ("esdc", StaffMembership.Role.SERVICE_REQUESTER, ()),
    ("on-shared-services", StaffMembership.Role.CASEWORKER, ()),
    ("on-shared-services", StaffMembership.Role.SUPERVISOR, ()),
    ("on-shared-services", StaffMembership.Role.ANALYST, ()),
    ("ssc", StaffMembership.Role.CASEWORKER, ()),
    ("ssc", StaffMembership.Role.SUPERVISOR, ()),
]


def _account(email: str, hashed: str, person: Person | None = None, **fields) -> User:
    """The demo account, with the demo password (hashed once per run: Argon2 is slow on
    purpose, and twenty accounts would take many seconds)."""
    user = User.objects.filter(username=email).first() or User(username=email, email=email)
    for name, value in fields.items():
        setattr(user, name, value)
    user.password = hashed
    if person is not None:
        user.person = person
    user.is_active = True
    user.save()
    return user


def _person(spec: DemoPerson, clerk: User | None, office: Office | None) -> Person:
    email = f"{spec.key}@{DOMAIN}"
    user = User.objects.filter(username=email).select_related("person").first()
    person = user.person if user and user.person else None
    if person is None:
        person = Person.objects.create(
            given_names=spec.given_names,
            family_name=spec.family_name,
            birth_date=spec.birth_date,
            preferred_language=spec.language,
        )
        build_address(
            person, spec.address, timezone.localdate() - datetime.timedelta(days=400)
        ).save()
        ContactPoint.objects.create(
            person=person,
            kind=ContactPoint.Kind.EMAIL,
            value=email,
            preferred=True,
            verified_at=timezone.now(),
        )
    if not PersonIdentifier.objects.filter(person=person, kind="ca-sin").exists():
        add_identifier(person, "ca-sin", sin_with_check_digit(spec.sin_prefix))
    if assurance.level_of(person) < spec.level:
        if spec.level == AssuranceLevel.IN_PERSON and clerk and office:
            assurance.record_proofing(
                person,
                level=AssuranceLevel.IN_PERSON,
                method=IdentityProofing.Method.IN_PERSON,
                evidence=["passport", "drivers-licence"],
                verified_by=clerk,
                office=office,
            )
        else:
            assurance.record_proofing(
                person,
                level=min(spec.level, AssuranceLevel.REMOTE),
                method=IdentityProofing.Method.DOCUMENT_CHECK,
                evidence=["passport"],
            )
    return person


def _staff(agency: Agency, role: str, offices: tuple[str, ...], hashed: str, key: str) -> User:
    email = f"{agency.key}.{role.replace('_', '-')}@{DOMAIN}"
    user = _account(
        email, hashed, first_name=role.replace("_", " ").capitalize(), last_name=agency.key
    )
    membership, _created = StaffMembership.objects.get_or_create(
        user=user, agency=agency, role=role
    )
    if offices:
        membership.offices.set(Office.objects.filter(key__in=offices, agency=agency))
    give_demo_authenticator(user)
    return user


@transaction.atomic
def create_demo_identities() -> list[DemoSignIn]:
    """Create (or bring back) the demo people and staff; returns how to sign in as each."""
    password = demo_password()
    hashed = make_password(password)
    key = demo_totp_key()
    agencies = {a.key: a for a in Agency.objects.filter(key__in={s[0] for s in STAFF})}
    sign_ins: list[DemoSignIn] = []
    staff_users: dict[tuple[str, str], User] = {}
    for agency_key, role, offices in STAFF:
        agency = agencies.get(agency_key)
        if agency is None:
            continue
        user = _staff(agency, role, offices, hashed, key)
        staff_users[(agency_key, role)] = user
        label = StaffMembership.Role(role).label
        sign_ins.append(
            DemoSignIn(
                _("%(role)s, %(agency)s") % {"role": label, "agency": agency.short_name},
                user.username,
                password,
                "/en/staff/",
                second_factor=asks_second_factor(user),
            )
        )

    clerk = staff_users.get(("esdc", StaffMembership.Role.FRONT_LINE))
    office = Office.objects.filter(key="sc-toronto-downtown").first()
    people: dict[str, Person] = {}
    for spec in PEOPLE:
        if not Jurisdiction.objects.filter(code=spec.address.jurisdiction_code).exists():
            # Another demo federation: the address stays, without its place in the tree.
            spec = dataclasses.replace(
                spec, address=dataclasses.replace(spec.address, jurisdiction_code="")
            )
        person = _person(spec, clerk, office)
        people[spec.key] = person
        user = _account(
            f"{spec.key}@{DOMAIN}",
            hashed,
            person=person,
            first_name=spec.given_names,
            last_name=spec.family_name,
            preferred_language=spec.language,
        )
        sign_ins.append(
            DemoSignIn(
                _("%(who)s, level %(level)s")
                % {"who": spec.description, "level": assurance.level_of(person)},
                user.username,
                password,
                "/en/account/",
                second_factor=asks_second_factor(user),
                found_by=_("social insurance number %(sin)s (fictitious), born %(birth_date)s")
                % {
                    "sin": format_sin(sin_with_check_digit(spec.sin_prefix)),
                    "birth_date": spec.birth_date.isoformat(),
                },
            )
        )

    Relationship.objects.get_or_create(
        person=people["amara"], kind=Relationship.Kind.SPOUSE_OF, related_person=people["david"]
    )
    Relationship.objects.get_or_create(
        person=people["david"], kind=Relationship.Kind.SPOUSE_OF, related_person=people["amara"]
    )
    business, _created = Business.objects.get_or_create(
        legal_name="Chen Bakery Ltd.",
        defaults={
            "business_number": "123456789",
            "jurisdiction": Jurisdiction.objects.filter(code="CA-BC").first(),
        },
    )
    if not mandates.in_force().filter(holder=people["mei"], business=business).exists():
        mandates.grant_mandate(
            holder=people["mei"],
            kind=Mandate.Kind.BUSINESS_REPRESENTATIVE,
            business=business,
            scopes=mandates.ALL_SCOPES,
            basis=_("Director named in the business registry"),
        )
    return sign_ins
