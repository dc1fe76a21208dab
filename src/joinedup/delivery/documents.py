"""Documents on demand: certificates and letters, signed, verifiable, rendered as PDF/UA.

Issuing a document signs its facts (who, what, issued by whom, when, in which language) with
an Ed25519 key; the signature and the key's id are stored with it. The PDF is rendered on
demand (WeasyPrint, PDF/UA-1, in the person's language) with a QR code pointing at
`/api/v1/documents/{id}/verify`, and the PDF's own digest is signed too. Anyone can then ask:
is this document genuine (valid), withdrawn (revoked), or not what was issued (altered)?

Keys: JOINEDUP_DOCUMENT_SIGNING_KEY (base64 of a 32-byte seed); after a rotation the old
public keys stay trusted through JOINEDUP_DOCUMENT_VERIFY_KEYS. The embedded set-up generates
a key into the data directory. A key's id is the start of the SHA-256 of its public key.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache

import segno
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from joinedup.federation.localization import pick
from joinedup.identity import policy, presentation
from joinedup.identity.acting import ActingContext
from joinedup.keyfiles import read_or_create
from joinedup.sharing import outbox

from . import formdefs
from .models import Application, Document
from .party import party_of

EVENT = "org.joinedup.document."
DEV_KEY_FILE = "document-signing-key"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def new_key() -> str:
    """A new signing key, as the environment variable takes it (base64 of the seed)."""
    key = Ed25519PrivateKey.generate()
    raw = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    return base64.b64encode(raw).decode()


def public_key_text(private: str) -> str:
    return base64.b64encode(_load_private(private).public_key().public_bytes_raw()).decode()


def key_id(public: Ed25519PublicKey) -> str:
    return (
        "dk-" + hashlib.sha256(public.public_bytes(Encoding.Raw, PublicFormat.Raw)).hexdigest()[:16]
    )


def _load_private(text: str) -> Ed25519PrivateKey:
    try:
        raw = base64.b64decode(text.strip())
        return Ed25519PrivateKey.from_private_bytes(raw)
    except ValueError:
        raise ImproperlyConfigured(
            "JOINEDUP_DOCUMENT_SIGNING_KEY must be base64 of 32 bytes "
            "(`joinedup document-keys new`)"
        ) from None


def _dev_key() -> str:
    """The embedded set-up's key, made once into the data directory (every process signs with
    the same one, however many issue their first document at once)."""
    return read_or_create(settings.DATA_DIR / DEV_KEY_FILE, new_key)


@lru_cache(maxsize=4)
def _signing_key(configured: str) -> tuple[Ed25519PrivateKey, str]:
    if not configured:
        if settings.SECURE:
            raise ImproperlyConfigured(
                "JOINEDUP_DOCUMENT_SIGNING_KEY must be set when JOINEDUP_SECURE=true"
            )
        configured = _dev_key()
    private = _load_private(configured)
    return private, key_id(private.public_key())


def signing_key() -> tuple[Ed25519PrivateKey, str]:
    """The key new documents are signed with, and its id."""
    return _signing_key(settings.DOCUMENT_SIGNING_KEY)


def trusted_keys() -> dict[str, Ed25519PublicKey]:
    """Every public key a document may have been signed with: the current one and the older
    ones kept for verification after a rotation."""
    private, current = signing_key()
    keys = {current: private.public_key()}
    for text in settings.DOCUMENT_VERIFY_KEYS:
        try:
            public = Ed25519PublicKey.from_public_bytes(base64.b64decode(text.strip()))
        except ValueError:
            raise ImproperlyConfigured(
                "JOINEDUP_DOCUMENT_VERIFY_KEYS must be base64 public keys"
            ) from None
        keys[key_id(public)] = public
    return keys


def canonical(document: Document) -> bytes:
    """The bytes a document's signature covers: every fact that makes it what it is."""
    return json.dumps(
        {
            "id": str(document.pk),
            "template": document.template,
            "language": document.language,
            "title": document.title,
            "facts": document.facts,
            "issuer": document.issuer.key,
            "issued_at": document.issued_at.isoformat(),
            "key_id": document.key_id,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode()


def _pdf_message(document: Document) -> bytes:
    return f"{document.pk}:{document.pdf_sha256}".encode()


def facts_for(application: Application, template: str, extra: dict | None = None) -> dict:
    """What the document certifies: the template's chosen answers and the decision."""
    config = (application.version.documents or {}).get(template) or {}
    facts: dict = {
        "holder": party_of(application).name,
        "reference": application.reference,
        "service": application.service.key,
        "service_name": pick(application.service.names, application.language),
        "agency_name": pick(application.agency.names, application.language),
        "decided_on": timezone.localdate().isoformat(),
    }
    for name in config.get("fields", []):
        value = formdefs.lookup(application.data, name)
        if value not in (None, ""):
            facts[name] = value
    for name, value in (extra or {}).items():
        if isinstance(value, str | int | float | bool) and not name.startswith("_"):
            facts[name] = value
    return facts


def issue(application: Application, template: str, extra_facts: dict | None = None) -> Document:
    """Sign and record a document for an application (in the caller's transaction)."""
    if not template:
        raise ValueError("issue_document needs a template")
    config = (application.version.documents or {}).get(template) or {}
    language = party_of(application).language or application.language or "en"
    private, kid = signing_key()
    document = Document(
        application=application,
        person=application.applicant,
        issuer=application.agency,
        template=template,
        language=language,
        title=pick(config.get("title") or {}, language) or template.replace("-", " ").title(),
        facts=facts_for(application, template, extra_facts),
        issued_at=timezone.now().replace(microsecond=0),
        key_id=kid,
    )
    document.signature = _b64(private.sign(canonical(document)))
    document.save(force_insert=True)
    outbox.emit(
        EVENT + "issued",
        source="/joinedup/delivery",
        subject=str(document.pk),
        data={
            "document": str(document.pk),
            "application": str(application.pk),
            "template": template,
            "issuer": application.agency.key,
            "person": application.applicant_id,
            "language": language,
        },
    )
    return document


def verify_url(document: Document) -> str:
    base = settings.PUBLIC_URL.rstrip("/")
    return f"{base}/api/v1/documents/{document.pk}/verify?s={document.signature}"


def qr_svg(document: Document) -> str:
    """The QR code (SVG) that leads to the document's verification."""
    qr = segno.make(verify_url(document), error="m")
    return qr.svg_inline(scale=3, title=_("Check this document"))


def fact_label(document: Document, name: str) -> str:
    """The label of a certified fact, in the active language."""
    standard = {
        "holder": _("Name"),
        "reference": _("Application reference"),
        "service": _("Service key"),
        "service_name": _("Service"),
        "agency_name": _("Issuing agency"),
        "decided_on": _("Decided on"),
    }
    if name in standard:
        return str(standard[name])
    if document.application_id:
        return formdefs.label_of(document.application.version.form, name)
    return name.replace("_", " ").capitalize()


STANDARD_FACTS = ("holder", "reference", "service_name", "agency_name", "decided_on", "service")


def ordered_facts(document: Document) -> list[tuple[str, object]]:
    """The facts in a stable reading order: the standard ones, then the template's fields in
    the order the version lists them (PostgreSQL's jsonb keeps keys in an order of its own)."""
    config = {}
    if document.application_id:
        config = (document.application.version.documents or {}).get(document.template) or {}
    order = [*STANDARD_FACTS, *config.get("fields", [])]
    facts = document.facts
    keys = [k for k in order if k in facts] + sorted(k for k in facts if k not in order)
    return [(k, facts[k]) for k in keys]


#: Facts kept and signed for the verifier, not printed: the service's catalogue key (the
#: service's name is printed).
UNPRINTED_FACTS = frozenset({"service"})


def fact_text(document: Document, name: str, value: object) -> str:
    """A certified fact as its holder reads it, in the active language: an address as an
    address, a date as a date, a chosen option by its label — never a dict, an ISO string
    or a code."""
    if name == "decided_on":
        return presentation.format_date(value)
    schema = None
    if document.application_id:
        form = document.application.version.form
        schema = (formdefs.schema_of(form).get("properties") or {}).get(name)
    if schema is None:
        return presentation.format_fact(name, value)
    if isinstance(value, dict) and set(value) & set(presentation.ADDRESS_ORDER):
        return presentation.format_address(value)
    if schema.get("format") == "date":
        return presentation.format_date(value)
    return formdefs._as_text(form, name, schema, value)


def facts_in_words(document: Document) -> list[tuple[str, str]]:
    """(label, text) of each printed fact, in reading order."""
    return [
        (fact_label(document, name), fact_text(document, name, value))
        for name, value in ordered_facts(document)
        if name not in UNPRINTED_FACTS
    ]


def render_pdf(document: Document) -> bytes:
    """Render the document as PDF/UA-1 in its language (about a third of a second a page)."""
    import weasyprint  # 0.4 s to import (Pango, fonts): only a process rendering PDFs pays it

    with translation.override(document.language):
        html = render_to_string(
            "delivery/document.html",
            {
                "document": document,
                "facts": facts_in_words(document),
                "qr": qr_svg(document),
                "verify_url": verify_url(document),
                "language": document.language,
            },
        )
    return weasyprint.HTML(string=html).write_pdf(pdf_variant="pdf/ua-1")


def pdf_for(document: Document) -> bytes:
    """The document's PDF: rendered the first time it is asked for, then kept."""
    if document.pdf and document.pdf_sha256:
        with document.pdf.open("rb") as handle:
            return handle.read()
    pdf = render_pdf(document)
    private, _kid = signing_key()
    with transaction.atomic():
        locked = Document.objects.select_for_update().get(pk=document.pk)
        if locked.pdf and locked.pdf_sha256:
            document.refresh_from_db()
            return pdf_for(document)
        locked.pdf_sha256 = hashlib.sha256(pdf).hexdigest()
        locked.pdf_signature = _b64(private.sign(_pdf_message(locked)))
        locked.pdf.save(f"{locked.pk}.pdf", ContentFile(pdf), save=False)
        locked.save(update_fields=["pdf", "pdf_sha256", "pdf_signature"])
    document.refresh_from_db()
    return pdf


@dataclass(frozen=True)
class Verification:
    """The answer to "is this document genuine?": valid, revoked, altered or unknown."""

    status: str
    reason: str
    document: Document | None = None

    @property
    def valid(self) -> bool:
        return self.status == "valid"


def _signature_ok(public, signature: str, message: bytes) -> bool:
    try:
        public.verify(_unb64(signature), message)
    except (InvalidSignature, ValueError):
        return False
    return True


def verify(
    document_id, presented_signature: str | None = None, pdf: bytes | None = None
) -> Verification:
    """Check a document's record (and optionally the signature from its QR code, or a PDF
    someone holds) against its signature and status."""
    document = (
        Document.objects.select_related("issuer").filter(pk=document_id).first()
        if formdefs.UUID.match(str(document_id))
        else None
    )
    if document is None:
        return Verification("unknown", _("We have no record of this document."))
    public = trusted_keys().get(document.key_id)
    if public is None:
        return Verification("altered", _("It was signed with a key we do not recognise."), document)
    if not _signature_ok(public, document.signature, canonical(document)):
        return Verification(
            "altered", _("Its content does not match what was signed when it was issued."), document
        )
    if presented_signature and presented_signature != document.signature:
        return Verification(
            "altered",
            _("The signature presented is not the one this document was issued with."),
            document,
        )
    if pdf is not None:
        digest = hashlib.sha256(pdf).hexdigest()
        if not document.pdf_sha256 or digest != document.pdf_sha256:
            return Verification(
                "altered", _("This file is not the document as it was issued."), document
            )
        if not _signature_ok(public, document.pdf_signature, _pdf_message(document)):
            return Verification(
                "altered",
                _("Its content does not match what was signed when it was issued."),
                document,
            )
    if document.revoked_at is not None:
        return Verification(
            "revoked",
            _("It was withdrawn on %(date)s: %(reason)s")
            % {
                "date": document.revoked_at.date().isoformat(),
                "reason": document.revocation_reason,
            },
            document,
        )
    return Verification(
        "valid",
        _("It was issued by %(agency)s and is in force.") % {"agency": document.issuer.name},
        document,
    )


def revoke(context: ActingContext, document: Document, reason: str) -> Document:
    """Withdraw a document; from now on its verification says so."""
    policy.require(context, "delivery.document.revoke", document)
    reason = (reason or "").strip()
    if not reason:
        raise ValueError(_("Give the reason for withdrawing the document."))
    with transaction.atomic():
        document = (
            Document.objects.select_for_update(of=("self",))
            .select_related("issuer")
            .get(pk=document.pk)
        )
        if document.revoked_at is None:
            document.revoked_at = timezone.now()
            document.revocation_reason = reason[:300]
            document.save(update_fields=["revoked_at", "revocation_reason"])
            outbox.emit(
                EVENT + "revoked",
                source="/joinedup/delivery",
                subject=str(document.pk),
                data={"document": str(document.pk), "issuer": document.issuer.key},
            )
    return document
