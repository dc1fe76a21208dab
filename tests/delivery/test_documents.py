"""Documents: signed with Ed25519, verified as valid, revoked or altered, rendered as PDF/UA
with a QR code, and still verifiable after a key rotation."""

from __future__ import annotations

import base64

import pytest

from joinedup.delivery import documents, queues
from joinedup.delivery.applications import submit_application
from joinedup.delivery.models import Document

from .conftest import birth_answers, person_context

pytestmark = pytest.mark.django_db


def inflated(pdf: bytes) -> bytes:
    """The PDF with its compressed streams inflated, to read its metadata."""
    import re
    import zlib

    parts = [pdf]
    for match in re.finditer(rb"stream\r?\n(.*?)endstream", pdf, re.S):
        try:
            parts.append(zlib.decompress(match.group(1)))
        except zlib.error:
            continue
    return b"".join(parts)


@pytest.fixture
def document(birth_registration, applicant, federation, make_staff):
    application, _ = submit_application(
        person_context(applicant), "ca.birth-registration", birth_answers(), "online", "d"
    )
    clerk = make_staff(federation["serviceontario"], "caseworker")
    queues.complete(clerk, queues.queue(clerk, federation["serviceontario"]).get(), "approve")
    return application.documents.get()


def test_a_fresh_document_is_valid(document):
    result = documents.verify(document.pk, presented_signature=document.signature)
    assert result.status == "valid"
    assert document.key_id.startswith("dk-")


def test_a_changed_record_is_altered(document):
    Document.objects.filter(pk=document.pk).update(
        facts={**document.facts, "child_given_names": "Mallory"}
    )
    assert documents.verify(document.pk).status == "altered"


def test_a_forged_qr_signature_is_altered(document):
    forged = base64.urlsafe_b64encode(b"x" * 64).rstrip(b"=").decode()
    assert documents.verify(document.pk, presented_signature=forged).status == "altered"


def test_a_revoked_document_says_so(document, federation, make_staff):
    supervisor = make_staff(federation["serviceontario"], "supervisor")
    clerk = make_staff(federation["serviceontario"], "caseworker", username="c2@example.org")
    from joinedup.identity.policy import PolicyDenied

    with pytest.raises(PolicyDenied):
        documents.revoke(clerk, document, "Issued in error")
    documents.revoke(supervisor, document, "Issued in error")
    result = documents.verify(document.pk)
    assert result.status == "revoked"
    assert "Issued in error" in result.reason


def test_the_pdf_is_pdf_ua_with_a_qr_code_and_a_tampered_copy_is_altered(document):
    pdf = documents.pdf_for(document)
    assert pdf.startswith(b"%PDF")
    assert b"pdfuaid" in inflated(pdf)  # PDF/UA identification in the XMP metadata
    assert documents.pdf_for(document) == pdf  # rendered once, then kept
    assert documents.verify(document.pk, pdf=pdf).status == "valid"
    tampered = pdf.replace(b"Noor", b"Nora") if b"Noor" in pdf else pdf + b"%"
    assert documents.verify(document.pk, pdf=tampered).status == "altered"


def test_documents_come_in_the_persons_language(
    birth_registration, make_applicant, federation, make_staff
):
    user = make_applicant(email="fr@example.org", language="fr")
    application, _ = submit_application(
        person_context(user), "ca.birth-registration", birth_answers(), "online", "fr"
    )
    clerk = make_staff(federation["serviceontario"], "caseworker")
    queues.complete(clerk, queues.queue(clerk, federation["serviceontario"]).get(), "approve")
    document = application.documents.get()
    assert document.language == "fr"
    assert document.title == "Confirmation de l'enregistrement de la naissance"


def test_rotation_keeps_old_documents_verifiable(document, settings):
    old_private, old_id = documents.signing_key()
    old_public = base64.b64encode(old_private.public_key().public_bytes_raw()).decode()
    settings.DOCUMENT_SIGNING_KEY = documents.new_key()
    settings.DOCUMENT_VERIFY_KEYS = [old_public]
    _private, new_id = documents.signing_key()
    assert new_id != old_id
    assert documents.verify(document.pk).status == "valid"
    settings.DOCUMENT_VERIFY_KEYS = []
    result = documents.verify(document.pk)
    assert result.status == "altered"  # signed by a key no longer trusted


def test_the_public_page_and_the_qr_link(client, document):
    response = client.get(
        f"/api/v1/documents/{document.pk}/verify?s={document.signature}", HTTP_ACCEPT="text/html"
    )
    assert response.status_code == 302
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert "valid" in page.content.decode().lower()
    assert documents.verify_url(document).startswith(
        f"https://services.example.org/api/v1/documents/{document.pk}/verify?s="
    )


def test_the_printed_facts_read_as_words_not_as_data(document):
    from django.utils import translation

    # An address among the facts (a confirmation of a change of address certifies one).
    document.facts["mailing_address"] = {
        "street_address": "40 Bay St",
        "locality": "Toronto",
        "postal_code": "M5J 2X2",
    }
    with translation.override("en"):
        printed = dict(documents.facts_in_words(document))
    assert printed["Mailing address"] == "40 Bay St, Toronto M5J 2X2"
    birth = printed["Date of birth"]
    assert not birth[:4].isdigit() and document.facts["birth_date"][:4] in birth  # a date
    assert printed["Province of birth"] == "Ontario"  # the option's label, not CA-ON
    assert "Service key" not in printed and printed["Service"] == "Register a birth"
    for text in printed.values():
        assert "{" not in text and "ca.birth-registration" not in text
    with translation.override("fr"):
        french = dict(documents.facts_in_words(document))
    assert any(" 20" in text and not text[:4].isdigit() for text in french.values())
