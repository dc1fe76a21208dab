"""Consent: recording it, withdrawing it, finding the consent that covers a disclosure, and
the receipt the person can keep (JSON and PDF).

Withdrawal takes effect at once: the gate reads consent inside its own transaction and locks
the consent row it relies on, so a disclosure either committed before the withdrawal or is
refused after it — never in between.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from joinedup import prepared
from joinedup.federation.models import Agency, Agreement
from joinedup.identity.models import Person

from . import categories as data_categories
from . import outbox, purposes
from .models import ConsentEvent, ConsentRecord, DataCategory
from .sharing_rules import PURPOSE

SOURCE = "/joinedup/sharing/consent"
RECEIPT_SCHEMA = "ISO/IEC TS 27560:2023 consent record, Joinedup profile 1"


@dataclass
class Grant:
    """What one consent covers: who may receive which data, for what."""

    recipients: list[Agency]
    purposes: list[str]
    categories: list[str]
    notice: str = ""
    controllers: list[Agency] | None = None


def record_consent(
    subject: Person,
    *,
    recipients: Iterable[Agency],
    purposes: Iterable[str],
    categories: Iterable[str],
    method: str,
    provider: Agency | None = None,
    controllers: Iterable[Agency] | None = None,
    notice: str = "",
    language: str | None = None,
    expires_at: datetime.datetime | None = None,
    agreement: Agreement | None = None,
    recorded_by=None,
) -> ConsentRecord:
    """Record a consent the person gave; announces `org.joinedup.consent.given`."""
    grant = Grant(
        list(recipients),
        list(purposes),
        list(categories),
        notice,
        list(controllers) if controllers is not None else None,
    )
    return record_consents(
        subject,
        [grant],
        method=method,
        provider=provider,
        language=language,
        expires_at=expires_at,
        agreement=agreement,
        recorded_by=recorded_by,
    )[0]


def _grant_errors(grant: Grant, known: set[str]) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not grant.recipients:
        errors["recipients"] = _("Say which agencies may receive the data.")
    if not grant.purposes or not all(
        isinstance(p, str) and PURPOSE.match(p) for p in grant.purposes
    ):
        errors["purposes"] = _("Name at least one purpose, in lower case with dashes.")
    if not grant.categories or set(grant.categories) - known:
        errors["categories"] = _("Name the data categories among: %(known)s.") % {
            "known": ", ".join(sorted(known))
        }
    return errors


#: The rows `record_consents` writes, each table's insert made once (`joinedup.prepared`).
_RECORDS = prepared.Rows(ConsentRecord)
_RECIPIENTS = prepared.Rows(ConsentRecord.recipients.through)
_CONTROLLERS = prepared.Rows(ConsentRecord.controllers.through)
_EVENTS = prepared.Rows(ConsentEvent)


@dataclass
class PendingConsents:
    """Consents checked and made, not written yet (`consents_to_record`): the caller writes
    `parts` in its own statement (PostgreSQL) or calls `write()`, then `announce()`, in the
    same transaction."""

    subject: Person
    grants: list[Grant]
    records: list[ConsentRecord]
    recipients: list[dict]
    controllers: list[dict]
    events: list[dict]

    @property
    def parts(self) -> list[tuple[prepared.Rows, list]]:
        """The rows to insert, for `prepared.insert_together` (PostgreSQL)."""
        return [
            (_RECORDS, self.records),
            (_RECIPIENTS, self.recipients),
            (_CONTROLLERS, self.controllers),
            (_EVENTS, self.events),
        ]

    def write(self) -> None:
        """Insert the rows: on PostgreSQL in one statement (one round trip, its text made
        once), elsewhere in four."""
        if connection.vendor == "postgresql":
            prepared.insert_together(self.parts)
            return
        ConsentRecord.objects.bulk_create(self.records)
        ConsentRecord.recipients.through.objects.bulk_create(
            ConsentRecord.recipients.through(**row) for row in self.recipients
        )
        ConsentRecord.controllers.through.objects.bulk_create(
            ConsentRecord.controllers.through(**row) for row in self.controllers
        )
        ConsentEvent.objects.bulk_create(ConsentEvent(**row) for row in self.events)

    def announce(self) -> None:
        """Each consent's `org.joinedup.consent.given` event (in the caller's transaction)."""
        for record, grant in zip(self.records, self.grants, strict=True):
            outbox.emit(
                "org.joinedup.consent.given",
                source=SOURCE,
                subject=f"person/{self.subject.pk}",
                data=_event_data(record, grant.recipients),
            )


def record_consents(
    subject: Person,
    grants: list[Grant],
    *,
    method: str,
    provider: Agency | None = None,
    language: str | None = None,
    expires_at: datetime.datetime | None = None,
    agreement: Agreement | None = None,
    recorded_by=None,
    known_categories: set[str] | None = None,
) -> list[ConsentRecord]:
    """Record several consents the person gave at once (a life event: one per agency's
    service), each announced as `org.joinedup.consent.given`. All are recorded, or none:
    every grant is checked before anything is written, and the rows of all of them are
    written together, whatever the number of grants: on PostgreSQL in one statement (the
    records, recipients, controllers and events as arrays of columns, `prepared.Rows`),
    elsewhere in four INSERTs.

    `known_categories`: the category keys in the database, when the caller has just read
    them (else, or when empty, they are read here)."""
    pending = consents_to_record(
        subject,
        grants,
        method=method,
        provider=provider,
        language=language,
        expires_at=expires_at,
        agreement=agreement,
        recorded_by=recorded_by,
        known_categories=known_categories,
    )
    with transaction.atomic(savepoint=False):
        pending.write()
        pending.announce()
    return pending.records


def consents_to_record(
    subject: Person,
    grants: list[Grant],
    *,
    method: str,
    provider: Agency | None = None,
    language: str | None = None,
    expires_at: datetime.datetime | None = None,
    agreement: Agreement | None = None,
    recorded_by=None,
    known_categories: set[str] | None = None,
) -> PendingConsents:
    """`record_consents` without the writing: every grant checked (ValidationError), the
    records made with their keys, and the rows of their links and events, for a caller that
    writes them in its own statement with its own rows (a bundle's acceptance: the
    submission, the consents and the legs in one round trip on PostgreSQL)."""
    errors: dict[str, str] = {}
    known = known_categories or data_categories.known_categories()
    for grant in grants:
        grant.recipients = list(grant.recipients)
        grant.controllers = (
            list(grant.controllers) if grant.controllers is not None else grant.recipients
        )
        grant.purposes = list(dict.fromkeys(grant.purposes))
        grant.categories = list(dict.fromkeys(grant.categories))
        errors = errors or _grant_errors(grant, known)
    if method not in ConsentRecord.Method.values:
        errors["method"] = _("Say how the consent was given.")
    if expires_at is not None and expires_at <= timezone.now():
        errors["expires_at"] = _("A consent cannot expire before it is given.")
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    records = [
        ConsentRecord(
            subject=subject,
            provider=provider,
            purposes=grant.purposes,
            categories=grant.categories,
            method=method,
            notice=grant.notice,
            language=language or subject.preferred_language,
            given_at=now,
            expires_at=expires_at,
            agreement=agreement,
            recorded_by=recorded_by,
        )
        for grant in grants
    ]
    return PendingConsents(
        subject=subject,
        grants=grants,
        records=records,
        recipients=[
            {"consentrecord_id": record.pk, "agency_id": agency.pk}
            for record, grant in zip(records, grants, strict=True)
            for agency in {a.pk: a for a in grant.recipients}.values()
        ],
        controllers=[
            {"consentrecord_id": record.pk, "agency_id": agency.pk}
            for record, grant in zip(records, grants, strict=True)
            for agency in {a.pk: a for a in grant.controllers or []}.values()
        ],
        events=[
            {
                "consent_id": record.pk,
                "kind": ConsentEvent.Kind.GIVEN,
                "at": now,
                "method": method,
                "by_user_id": recorded_by.pk if recorded_by is not None else None,
            }
            for record in records
        ],
    )


def _event_data(consent: ConsentRecord, recipients: Iterable[Agency]) -> dict:
    return {
        "consent_id": str(consent.pk),
        "person_id": consent.subject_id,
        "provider": consent.provider.key if consent.provider_id else None,
        "recipients": sorted(a.key for a in recipients),
        "purposes": consent.purposes,
        "categories": consent.categories,
    }


def withdraw_consent(consent: ConsentRecord, *, method: str, by_user=None) -> ConsentRecord:
    """Withdraw a consent now. Withdrawing twice changes nothing and says nothing new."""
    if method not in ConsentRecord.Method.values:
        raise ValidationError({"method": _("Say how the consent was withdrawn.")})
    with transaction.atomic():
        locked = ConsentRecord.objects.select_for_update().get(pk=consent.pk)
        if locked.withdrawn_at is not None:
            return locked
        now = timezone.now()
        locked.withdrawn_at = now
        locked.withdrawn_method = method
        locked.save(update_fields=["withdrawn_at", "withdrawn_method"])
        ConsentEvent.objects.create(
            consent=locked, kind=ConsentEvent.Kind.WITHDRAWN, at=now, method=method, by_user=by_user
        )
        outbox.emit(
            "org.joinedup.consent.withdrawn",
            source=SOURCE,
            subject=f"person/{locked.subject_id}",
            data={**_event_data(locked, locked.recipients.all()), "withdrawn_at": now.isoformat()},
        )
    return locked


def active(subject_id: int, moment: datetime.datetime | None = None) -> QuerySet[ConsentRecord]:
    moment = moment or timezone.now()
    return ConsentRecord.objects.filter(subject_id=subject_id, given_at__lte=moment).filter(
        Q(withdrawn_at__isnull=True) | Q(withdrawn_at__gt=moment),
        Q(expires_at__isnull=True) | Q(expires_at__gt=moment),
    )


def covering(
    subject_id: int,
    provider: Agency,
    recipient: Agency,
    purpose: str,
    categories: Iterable[str],
    *,
    lock: bool = False,
) -> ConsentRecord | None:
    """The consent in force that covers this flow, locked when asked (inside a transaction)."""
    wanted = set(categories)
    candidates = (
        active(subject_id)
        .filter(recipients=recipient)
        .filter(Q(provider__isnull=True) | Q(provider=provider))
        .order_by("given_at", "pk")
    )
    if lock:
        ids = [c.pk for c in candidates]
        candidates = (
            ConsentRecord.objects.select_for_update().filter(pk__in=ids).order_by("given_at", "pk")
        )
    for consent in candidates:
        if (
            purpose in consent.purposes
            and wanted <= set(consent.categories)
            and consent.status == ConsentRecord.Status.ACTIVE
        ):
            return consent
    return None


# --- Receipts -----------------------------------------------------------------------------


def _agency(agency: Agency) -> dict:
    return {"id": agency.key, "name": agency.name}


def receipt(consent: ConsentRecord) -> dict:
    """The consent as a receipt: the fields of ISO/IEC TS 27560, in plain JSON."""
    names = {c.key: c for c in DataCategory.objects.filter(key__in=consent.categories)}
    return {
        "schema": RECEIPT_SCHEMA,
        "record_id": str(consent.pk),
        "generated_at": timezone.now().isoformat(),
        "status": str(consent.status),
        "pii_principal": {"id": consent.subject_id, "name": consent.subject.full_name},
        "data_source": _agency(consent.provider) if consent.provider_id else None,
        "controllers": [_agency(a) for a in consent.controllers.order_by("key")],
        "recipients": [_agency(a) for a in consent.recipients.order_by("key")],
        "purposes": [{"id": p, "legal_basis": "consent"} for p in consent.purposes],
        "pii_categories": [
            {
                "id": key,
                "name": names[key].name if key in names else key,
                "sensitivity": names[key].sensitivity if key in names else None,
            }
            for key in consent.categories
        ],
        "legal_basis": "consent",
        "agreement": consent.agreement.key if consent.agreement_id else None,
        "method": consent.method,
        "notice": consent.notice,
        "language": consent.language,
        "given_at": consent.given_at.isoformat(),
        "expires_at": consent.expires_at.isoformat() if consent.expires_at else None,
        "withdrawn_at": consent.withdrawn_at.isoformat() if consent.withdrawn_at else None,
        "events": [
            {"event": e.kind, "at": e.at.isoformat(), "method": e.method}
            for e in consent.events.order_by("at", "pk")
        ],
    }


def receipt_pdf(consent: ConsentRecord, language: str | None = None) -> bytes:
    """The receipt as an accessible PDF (PDF/UA), in the person's language."""
    import weasyprint  # takes seconds to import (Pango); only receipts need it, not every process

    language = language or consent.language or "en"
    with translation.override(language):
        html = render_to_string(
            "sharing/consent_receipt.html",
            {
                "consent": consent,
                "receipt": receipt(consent),
                "purpose_names": [purposes.name(p) for p in consent.purposes],
                "LANGUAGE_CODE": language,
            },
        )
    return weasyprint.HTML(string=html).write_pdf(pdf_variant="pdf/ua-1")
