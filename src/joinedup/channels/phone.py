"""The phone centre: verify the caller, then look up their applications across agencies.

A caller is verified by knowledge questions drawn from what they gave the registry (date of
birth; the postal code of their address, or their family name when it has none) AND a
one-time code sent to a contact point verified earlier (text message through the SMS
provider plugin, or e-mail). Attempts are limited: after `MAX_ATTEMPTS` failures the call
can no longer be verified, and every lookup stays refused.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from joinedup.delivery.models import Application
from joinedup.delivery.notifications import channels as notification_channels
from joinedup.identity import policy
from joinedup.identity.acting import ActingContext
from joinedup.identity.models import ContactPoint, Person
from joinedup.sharing import ledger
from joinedup.sharing.models import AccessEvent, LegalBasis

from . import interactions
from .interactions import InteractionError
from .models import Interaction

MAX_ATTEMPTS = 3
CODE_MINUTES = 10
PURPOSE = "caller-status-enquiry"


class NotVerified(InteractionError):
    """The caller is not verified (yet, or any more): nothing about them may be told."""


@dataclass(frozen=True)
class Question:
    key: str
    label: str


def start_call(context: ActingContext, person: Person, topic: str = "") -> Interaction:
    policy.require(context, "channels.phone")
    policy.require(context, "person.view", person)
    return interactions.start(context, Interaction.Channel.PHONE, person=person, topic=topic)


def questions(person: Person) -> list[Question]:
    """What the caller is asked: data they gave us, never shown to the agent."""
    asked = [Question("birth_date", gettext_lazy("Date of birth (YYYY-MM-DD)"))]
    address = person.current_address()
    if address is not None and address.postal_code:
        asked.append(Question("postal_code", gettext_lazy("Postal code of their address")))
    else:
        asked.append(Question("family_name", gettext_lazy("Family name")))
    return asked


def _norm(text: str) -> str:
    return "".join(str(text or "").split()).casefold()


def _expected(person: Person, key: str) -> str:
    if key == "birth_date":
        return person.birth_date.isoformat() if person.birth_date else ""
    if key == "postal_code":
        address = person.current_address()
        return address.postal_code if address else ""
    if key == "family_name":
        return person.family_name
    return ""


def verified_contacts(person: Person) -> list[ContactPoint]:
    """Where a code may go: only contact points verified before this call."""
    return list(
        person.contact_points.filter(
            verified_at__isnull=False,
            kind__in=[ContactPoint.Kind.MOBILE, ContactPoint.Kind.EMAIL],
        ).order_by("kind", "pk")
    )


def masked(contact: ContactPoint) -> str:
    value = contact.value
    if contact.kind == ContactPoint.Kind.EMAIL:
        name, _sep, domain = value.partition("@")
        return f"{name[:1]}…@{domain}"
    return "…" + value[-3:]


def _hash(call: Interaction, code: str) -> str:
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, f"{call.pk}:{code}".encode(), hashlib.sha256).hexdigest()


def _locked(call: Interaction) -> bool:
    return call.verification_attempts >= MAX_ATTEMPTS and call.verified_at is None


def send_code(context: ActingContext, call: Interaction, contact_id: int) -> ContactPoint:
    """Send a one-time code to one of the caller's verified contact points."""
    policy.require(context, "channels.phone")
    interactions.require_open(call)
    if _locked(call):
        raise NotVerified("locked", _("Too many failed attempts: this caller cannot be verified."))
    contact = next((c for c in verified_contacts(call.person) if c.pk == contact_id), None)
    if contact is None:
        raise InteractionError(
            "no_contact", _("Choose one of the caller's verified phone numbers or addresses.")
        )
    code = f"{secrets.randbelow(10**6):06d}"
    body = _("Your verification code is %(code)s. Give it only to the agent on the phone.") % {
        "code": code
    }
    try:
        if contact.kind == ContactPoint.Kind.MOBILE:
            notification_channels.sms_provider().send(contact.value, body)
        else:
            notification_channels.send_email(
                contact.value, _("Your verification code"), body, call.person.preferred_language
            )
    except notification_channels.SendError:
        raise InteractionError(
            "not_sent", _("The code could not be sent. Try another contact point.")
        ) from None
    call.code_hash = _hash(call, code)
    call.code_sent_to = masked(contact)
    call.code_expires_at = timezone.now() + datetime.timedelta(minutes=CODE_MINUTES)
    call.save(update_fields=["code_hash", "code_sent_to", "code_expires_at"])
    return contact


def verify(context: ActingContext, call: Interaction, answers: dict[str, str], code: str) -> bool:
    """Check the answers and the code together; count a failure; True when verified."""
    policy.require(context, "channels.phone")
    interactions.require_open(call)
    given = call
    with transaction.atomic():
        call = Interaction.objects.select_for_update().get(pk=call.pk)
        verified = _check_locked(call, answers, code)
    given.verified_at = call.verified_at
    given.verification_attempts = call.verification_attempts
    given.code_hash = call.code_hash
    return verified


def _check_locked(call: Interaction, answers: dict[str, str], code: str) -> bool:
    """The check itself, on the locked row: a failure is counted, a success kept."""
    if call.verified_at is not None:
        return True
    if _locked(call):
        raise NotVerified("locked", _("Too many failed attempts: this caller cannot be verified."))
    person = call.person
    knows = all(
        _norm(answers.get(q.key, "")) == _norm(_expected(person, q.key))
        and _expected(person, q.key)
        for q in questions(person)
    )
    has_code = (
        bool(call.code_hash)
        and call.code_expires_at is not None
        and call.code_expires_at > timezone.now()
        and hmac.compare_digest(call.code_hash, _hash(call, (code or "").strip()))
    )
    if knows and has_code:
        call.verified_at = timezone.now()
        call.code_hash = ""
        call.save(update_fields=["verified_at", "code_hash"])
        return True
    call.verification_attempts += 1
    call.save(update_fields=["verification_attempts"])
    return False


def attempts_left(call: Interaction) -> int:
    return max(0, MAX_ATTEMPTS - call.verification_attempts)


def require_verified(call: Interaction) -> None:
    if call.verified_at is None:
        raise NotVerified(
            "not_verified", _("Verify the caller first: nothing about them may be told before.")
        )


def lookup(context: ActingContext, call: Interaction) -> list[Application]:
    """The caller's applications with every agency (status only), once verified. Each
    agency whose records are told is named in the ledger."""
    policy.require(context, "channels.phone")
    interactions.require_open(call)
    require_verified(call)
    found = list(
        Application.objects.filter(applicant=call.person)
        .select_related("service", "agency")
        .defer("data", "process_state")
        .order_by("-submitted_at")[:50]
    )
    with transaction.atomic():
        for holder in sorted({app.agency.key for app in found}):
            ledger.append(
                subject_id=call.person_id,
                actor_user_id=context.user_id,
                actor_person_id=None,
                api_client_id=None,
                actor_agency=context.agency_key or "",
                actor_role=context.role or "",
                holder_agency=holder,
                action=AccessEvent.Action.READ,
                categories=["events"],
                fields=["application.status"],
                purpose=PURPOSE,
                legal_basis=LegalBasis.CONSENT,
                agreement_key="",
                consent_id="",
                break_glass_id=None,
                outcome=AccessEvent.Outcome.DISCLOSED,
                reason="",
                channel="phone",
            )
    return found
