"""The applicant's pages, through the browser's eyes (Django's test client): the form
renderer page by page (conditional questions, repeating groups, addresses, dates, choices,
file uploads checked by size and type, the error summary in the reader's language), drafts
saved and resumed, check your answers, submitting, the status page with its due date and
the answer to a request for more information, documents, and the sandbox checkout.

Refusals and bad input are part of each journey: another person's draft or application,
answers that do not pass, a file too big or of the wrong type. Bad input gets a 4xx with a
clear message and never a half-written application."""

from __future__ import annotations

import datetime
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from joinedup.delivery import queues
from joinedup.delivery.applications import submit_application
from joinedup.delivery.models import Application, Draft, Payment, Upload, WorkItem

from .conftest import birth_answers, person_context, sign_in

pytestmark = pytest.mark.django_db

APPLY = "/en/services/ca.birth-registration/apply/"
PDF = b"%PDF-1.7\n% a tiny statement from the hospital\n"


@pytest.fixture
def browser(federation, applicant) -> Client:
    """The applicant's browser, signed in (they live in Toronto, verified at level 2)."""
    return sign_in(Client(), applicant)


def start(browser: Client) -> tuple[Draft, str]:
    """Start a birth registration; the draft and the address of its first page."""
    response = browser.get(APPLY)
    assert response.status_code == 302
    draft = Draft.objects.get()
    assert response["Location"] == f"/en/applications/drafts/{draft.pk}/child/"
    return draft, response["Location"]


def page_of(draft: Draft, key: str, language: str = "en") -> str:
    return f"/{language}/applications/drafts/{draft.pk}/{key}/"


def summary_links(html: str) -> list[str]:
    """The targets of the error summary's links, in order."""
    box = html.split('id="error-summary-title"', 1)[1].split("</ul>", 1)[0]
    return re.findall(r'href="#([^"]+)"', box)


def errors_of(response) -> list[str]:
    box = response.content.decode().split('id="error-summary-title"', 1)[1]
    return [
        re.sub(r"<[^>]+>", "", m).replace("\xa0", " ").replace("\u202f", " ")
        for m in re.findall(r"<a class=\"usa-link\"[^>]*>(.*?)</a>", box.split("</ul>")[0])
    ]


CHILD = {
    "child_given_names": "Noor",
    "child_family_name": "Okafor",
    "birth_date__day": "3",
    "birth_date__month": "2",
    "birth_date__year": "2026",
    "sex": "female",
    "continue": "1",
}


def fill_everything(browser: Client, draft: Draft) -> None:
    assert browser.post(page_of(draft, "child"), CHILD).status_code == 302
    birth = {"birth_province": "CA-ON", "birth_place": "Toronto General", "continue": "1"}
    assert browser.post(page_of(draft, "birth"), birth).status_code == 302
    parents = {"parents.0.given_names": "Amara", "parents.0.family_name": "Okafor"}
    assert browser.post(page_of(draft, "parents"), {**parents, "continue": "1"}).status_code == 302
    delivery = {
        "mailing_address.street_address": "100 Queen St W",
        "mailing_address.locality": "Toronto",
        "mailing_address.postal_code": "M5H 2N2",
        "wants_certificate": "false",
        "continue": "1",
    }
    response = browser.post(page_of(draft, "delivery"), delivery)
    assert response.status_code == 302
    assert response["Location"] == f"/en/applications/drafts/{draft.pk}/check/answers/"


# --- The form, page by page ---------------------------------------------------------------


def test_an_applicant_fills_the_form_page_by_page_and_submits(browser, birth_registration):
    draft, first = start(browser)
    page = browser.get(first)
    html = page.content.decode()
    assert page.status_code == 200
    assert "Step 1 of 4" in html and "About the child" in html
    assert 'name="birth_date__day"' in html and 'name="sex"' in html

    response = browser.post(first, CHILD)
    assert response.status_code == 302
    assert response["Location"] == page_of(draft, "birth")
    draft.refresh_from_db()
    assert draft.data["birth_date"] == "2026-02-03" and draft.page == "child"

    fill_everything(browser, draft)
    check = browser.get(f"/en/applications/drafts/{draft.pk}/check/answers/")
    html = check.content.decode()
    assert check.status_code == 200
    assert "Check your answers" in html
    assert "Child&#x27;s given names" in html and "Noor" in html
    assert "Female" in html  # the choice's label, not its value
    assert "100 Queen St W, Toronto, M5H 2N2" in html
    assert f"/en/applications/drafts/{draft.pk}/parents/" in html  # "Change" links

    submitted = browser.post(f"/en/applications/drafts/{draft.pk}/check/answers/")
    application = Application.objects.get()
    assert submitted.status_code == 302
    assert submitted["Location"] == f"/en/applications/{application.pk}/"
    assert application.agency.key == "serviceontario"
    assert application.data["parents"] == [{"given_names": "Amara", "family_name": "Okafor"}]
    assert "certificate_copies" not in application.data
    draft.refresh_from_db()
    assert draft.submitted_id == application.pk
    # The submitted draft is closed: posting it again makes no second application.
    again = browser.post(f"/en/applications/drafts/{draft.pk}/check/answers/")
    assert again.status_code == 404
    assert Application.objects.count() == 1


def test_errors_are_summarised_at_the_top_and_shown_at_each_question(browser, birth_registration):
    _draft, first = start(browser)
    response = browser.post(
        first,
        {
            "child_given_names": "",
            "child_family_name": "Okafor",
            "birth_date__day": "31",
            "birth_date__month": "2",
            "birth_date__year": "2026",
            "sex": "unknown",
            "continue": "1",
        },
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert "<title>Error:" in html
    assert errors_of(response) == [
        "Enter “Child&#x27;s given names”.",
        "“Date of birth” must be a real date.",
        "Select one of the options for “Sex at birth”.",
    ]
    # Each link of the summary leads to its question on the page.
    for anchor in summary_links(html):
        assert f'id="{anchor}"' in html, anchor
    assert 'aria-invalid="true"' in html and "usa-form-group--error" in html
    # What was typed is kept, to be corrected.
    assert 'value="Okafor"' in html and 'value="31"' in html
    assert Application.objects.count() == 0


def test_dates_must_be_real_and_not_in_the_future(browser, birth_registration):
    _draft, first = start(browser)
    tomorrow = datetime.date.today() + datetime.timedelta(days=1)
    response = browser.post(
        first,
        {
            **CHILD,
            "birth_date__day": str(tomorrow.day),
            "birth_date__month": str(tomorrow.month),
            "birth_date__year": str(tomorrow.year),
        },
    )
    assert response.status_code == 400
    assert errors_of(response) == ["“Date of birth” must be today or in the past."]
    response = browser.post(first, {**CHILD, "birth_date__year": "twenty"})
    assert errors_of(response) == ["“Date of birth” must be a real date."]


def test_a_repeating_group_adds_and_removes_rows_without_checking_them(browser, birth_registration):
    draft, _first = start(browser)
    parents = page_of(draft, "parents")
    one = {"parents.0.given_names": "Amara", "parents.0.family_name": "Okafor"}
    added = browser.post(parents, {**one, "add": "parents"})
    html = added.content.decode()
    assert added.status_code == 200  # adding a row is not a mistake
    assert 'name="parents.1.given_names"' in html
    assert "Add another" not in html  # at most two parents
    assert html.count(">Remove<") == 2

    two = {**one, "parents.1.given_names": "David", "parents.1.family_name": "Okafor"}
    removed = browser.post(parents, {**two, "remove": "parents.0"})
    draft.refresh_from_db()
    assert draft.data["parents"] == [{"given_names": "David", "family_name": "Okafor"}]
    assert 'name="parents.1.given_names"' not in removed.content.decode()

    missing = browser.post(parents, {"parents.0.given_names": "David", "continue": "1"})
    assert missing.status_code == 400
    assert errors_of(missing) == ["Enter “Parent&#x27;s family name”."]
    assert 'id="f-parents-0-family-name"' in missing.content.decode()


def test_an_address_is_checked_part_by_part(browser, birth_registration):
    draft, _first = start(browser)
    page = browser.get(page_of(draft, "delivery")).content.decode()
    parts = ["street_address", "locality", "region", "postal_code"]
    positions = [page.index(f'name="mailing_address.{part}"') for part in parts]
    assert positions == sorted(positions), "the parts of an address are shown in order"
    response = browser.post(
        page_of(draft, "delivery"),
        {
            "mailing_address.street_address": "100 Queen St W",
            "mailing_address.locality": "",
            "mailing_address.postal_code": "12345",
            "continue": "1",
        },
    )
    assert response.status_code == 400
    assert errors_of(response) == [
        "Enter “City or town”.",
        "Enter a postal code like K1A 0B1.",
    ]
    assert summary_links(response.content.decode()) == [
        "f-mailing-address-locality",
        "f-mailing-address-postal-code",
    ]


def test_a_conditional_question_is_asked_only_when_it_applies(browser, birth_registration):
    draft, _first = start(browser)
    delivery = page_of(draft, "delivery")
    address = {
        "mailing_address.street_address": "100 Queen St W",
        "mailing_address.locality": "Toronto",
        "mailing_address.postal_code": "M5H 2N2",
    }
    page = browser.get(delivery).content.decode()
    assert "How many certificates?" not in page  # not asked until a certificate is wanted
    wanted = browser.post(delivery, {**address, "wants_certificate": "true", "continue": "1"})
    assert wanted.status_code == 400
    assert errors_of(wanted) == ["Enter “How many certificates?”."]
    too_many = browser.post(
        delivery,
        {**address, "wants_certificate": "true", "certificate_copies": "9", "continue": "1"},
    )
    assert errors_of(too_many) == ["“How many certificates?” must be 5 or less."]
    ok = browser.post(
        delivery,
        {**address, "wants_certificate": "true", "certificate_copies": "2", "continue": "1"},
    )
    assert ok.status_code == 302
    draft.refresh_from_db()
    assert draft.data["certificate_copies"] == 2
    # Changing the answer drops the question that no longer applies.
    browser.post(delivery, {**address, "wants_certificate": "false", "continue": "1"})
    fill_everything(browser, draft)
    browser.post(f"/en/applications/drafts/{draft.pk}/check/answers/")
    assert "certificate_copies" not in Application.objects.get().data


def test_a_file_is_checked_for_size_and_type_before_it_is_kept(browser, birth_registration):
    draft, _first = start(browser)
    delivery = page_of(draft, "delivery")
    address = {
        "mailing_address.street_address": "100 Queen St W",
        "mailing_address.locality": "Toronto",
        "mailing_address.postal_code": "M5H 2N2",
        "continue": "1",
    }
    page = browser.get(delivery).content.decode()
    assert 'type="file"' in page and 'accept="application/pdf,image/jpeg,image/png"' in page
    assert "Up to 5.0 MB." in page

    text = SimpleUploadedFile("proof.pdf", b"just some text", content_type="application/pdf")
    wrong = browser.post(delivery, {**address, "proof": text})
    assert wrong.status_code == 400
    assert errors_of(wrong) == ["“Statement from the hospital” must be a file of an accepted type."]
    big = SimpleUploadedFile("big.pdf", PDF + b"0" * 5_000_000, content_type="application/pdf")
    too_big = browser.post(delivery, {**address, "proof": big})
    assert too_big.status_code == 400
    assert errors_of(too_big) == ["“Statement from the hospital” must be smaller than 5.0 MB."]
    assert Upload.objects.count() == 0

    good = SimpleUploadedFile("statement.pdf", PDF, content_type="application/pdf")
    assert browser.post(delivery, {**address, "proof": good}).status_code == 302
    upload = Upload.objects.get()
    assert (upload.name, upload.content_type, upload.size) == (
        "statement.pdf",
        "application/pdf",
        len(PDF),
    )
    draft.refresh_from_db()
    assert draft.data["proof"] == str(upload.pk)
    # Text posted under the file's name is not taken for a file.
    browser.post(delivery, {**address, "proof": "00000000-0000-0000-0000-000000000000"})
    draft.refresh_from_db()
    assert draft.data["proof"] == str(upload.pk)
    assert "A file is already attached" in browser.get(delivery).content.decode()
    fill_everything(browser, draft)
    check = browser.get(f"/en/applications/drafts/{draft.pk}/check/answers/").content.decode()
    assert "statement.pdf" in check


def test_a_draft_is_saved_and_resumed_later(browser, birth_registration):
    draft, first = start(browser)
    saved = browser.post(first, {"child_given_names": "Noor", "save": "1"})
    assert saved.status_code == 302 and saved["Location"] == "/en/applications/"
    mine = browser.get("/en/applications/")
    html = mine.content.decode()
    assert "Your answers are saved" in html
    assert "Not sent yet" in html and f"/en/applications/drafts/{draft.pk}/" in html
    # Coming back: the draft opens where it was left, with the answers given.
    resumed = browser.get(APPLY)
    assert resumed["Location"] == page_of(draft, "child")
    assert Draft.objects.count() == 1
    assert 'value="Noor"' in browser.get(resumed["Location"]).content.decode()
    assert browser.get(f"/en/applications/drafts/{draft.pk}/").status_code == 200


def test_submitting_an_incomplete_draft_is_refused_and_saves_nothing(browser, birth_registration):
    draft, first = start(browser)
    browser.post(first, CHILD)
    response = browser.post(f"/en/applications/drafts/{draft.pk}/check/answers/")
    html = response.content.decode()
    assert response.status_code == 400
    assert "Some answers need correcting." in html
    assert "Enter “Hospital or place of birth”." in html
    assert Application.objects.count() == 0
    draft.refresh_from_db()
    assert draft.submitted is None


def test_errors_are_in_the_readers_language(browser, birth_registration):
    draft, _first = start(browser)
    response = browser.post(
        page_of(draft, "child", "fr"),
        {**CHILD, "child_given_names": "", "sex": "", "birth_date__day": "31"},
    )
    html = response.content.decode().replace("\xa0", " ")
    assert response.status_code == 400
    assert "<title>Erreur :" in html
    assert "Étape 1 sur 4" in html and "Enregistrer et continuer" in html
    assert "Il y a un problème" in html
    assert errors_of(response) == [
        "Remplissez « Prénoms de l&#x27;enfant ».",
        "« Date de naissance » doit être une date réelle.",
        "Choisissez une réponse pour « Sexe à la naissance ».",
    ]


def test_nobody_else_opens_a_draft(browser, birth_registration, make_applicant):
    draft, first = start(browser)
    stranger = sign_in(Client(), make_applicant(email="stranger@example.org"))
    assert stranger.get(first).status_code == 404
    assert stranger.post(first, CHILD).status_code == 404
    assert stranger.post(f"/en/applications/drafts/{draft.pk}/check/answers/").status_code == 404
    draft.refresh_from_db()
    assert draft.data == {}
    anonymous = Client().get(first)
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/en/account/")


def test_a_service_without_a_version_says_so(browser, federation):
    response = browser.get(APPLY)
    assert response.status_code == 404
    assert "does not take applications online yet" in response.content.decode()


# --- After submitting --------------------------------------------------------------------


@pytest.fixture
def submitted(birth_registration, applicant):
    application, _ = submit_application(
        person_context(applicant), "ca.birth-registration", birth_answers(), "online", "page"
    )
    return application


def test_the_status_page_shows_the_due_date_and_the_history(browser, submitted):
    response = browser.get(f"/en/applications/{submitted.pk}/")
    html = response.content.decode()
    assert response.status_code == 200
    assert submitted.reference in html and "ServiceOntario" in html
    assert "Being worked on" in html and "On track" in html
    due = submitted.due_date
    assert f"{due.day}" in html and str(due.year) in html
    assert html.count("<li>") >= 2  # received, then being worked on
    french = browser.get(f"/fr/applications/{submitted.pk}/").content.decode()
    for text in (
        "Traitée par",
        "Au plus tard le",
        "Dans les délais",
        "Historique",
        "En traitement",
    ):
        assert text in french, text


def test_the_applicant_answers_a_request_for_more_information(
    browser, submitted, federation, make_staff
):
    registrar = make_staff(federation["serviceontario"], "caseworker")
    item = queues.queue(registrar, federation["serviceontario"]).get()
    queues.complete(registrar, item, "request_information", "Which hospital exactly?")
    page = browser.get(f"/en/applications/{submitted.pk}/").content.decode()
    assert "Waiting for you" in page and "Which hospital exactly?" in page
    assert f'action="/en/applications/{submitted.pk}/respond/"' in page
    assert "Send the information the registrar asked for" in page
    french = browser.get(f"/fr/applications/{submitted.pk}/").content.decode()
    assert "Envoyer les renseignements demandés par le registraire" in french  # the step

    empty = browser.post(f"/en/applications/{submitted.pk}/respond/", {"answer": "  "})
    assert empty.status_code == 400
    assert "Write your answer." in empty.content.decode()
    assert 'aria-describedby="answer-error"' in empty.content.decode()
    too_long = browser.post(f"/en/applications/{submitted.pk}/respond/", {"answer": "x" * 4001})
    assert too_long.status_code == 400
    assert "Answers are limited to 4000 characters." in too_long.content.decode()
    assert "x" * 4001 in too_long.content.decode()  # given back, to be shortened
    submitted.refresh_from_db()
    assert submitted.status == "waiting_for_applicant"

    sent = browser.post(
        f"/en/applications/{submitted.pk}/respond/", {"answer": "Toronto General Hospital"}
    )
    assert sent.status_code == 302
    assert "the clock runs again" in browser.get(sent["Location"]).content.decode()
    submitted.refresh_from_db()
    assert submitted.status == "in_progress"
    answered = WorkItem.objects.get(application=submitted, role="applicant")
    assert answered.reasons == "Toronto General Hospital"
    # Nothing waits any more: a second answer is refused with a message, not an error page.
    again = browser.post(f"/en/applications/{submitted.pk}/respond/", {"answer": "More"})
    assert again.status_code == 409
    assert "Nothing is waiting for your answer." in again.content.decode()


def test_a_respond_form_that_only_takes_posts(browser, submitted):
    assert browser.get(f"/en/applications/{submitted.pk}/respond/").status_code == 405


def test_nobody_else_sees_or_answers_an_application(
    submitted, make_applicant, federation, staff_client
):
    url = f"/en/applications/{submitted.pk}/"
    stranger = sign_in(Client(), make_applicant(email="stranger@example.org"))
    assert stranger.get(url).status_code == 403
    assert stranger.post(url + "respond/", {"answer": "mine now"}).status_code == 403
    other_agency, _context = staff_client(federation["dgeq"], "caseworker")
    assert other_agency.get(url).status_code == 403
    own_agency, _context = staff_client(federation["serviceontario"], "caseworker")
    own = own_agency.get(url)
    assert own.status_code == 200
    assert 'name="answer"' not in own.content.decode()  # staff do not answer for the applicant
    assert own_agency.post(url + "respond/", {"answer": "x"}).status_code == 403
    anonymous = Client().get(url)
    assert anonymous.status_code == 302 and "/account/" in anonymous["Location"]
    assert Client().get("/en/applications/").status_code == 302
    missing = sign_in(Client(), make_applicant(email="third@example.org"))
    assert missing.get("/en/applications/00000000-0000-0000-0000-000000000000/").status_code in {
        403,
        404,
    }


def test_the_document_is_downloaded_by_its_holder_only(
    browser, submitted, federation, make_staff, make_applicant
):
    registrar = make_staff(federation["serviceontario"], "caseworker")
    queues.complete(
        registrar, queues.queue(registrar, federation["serviceontario"]).get(), "approve"
    )
    document = submitted.documents.get()
    page = browser.get(f"/en/applications/{submitted.pk}/").content.decode()
    url = f"/en/applications/{submitted.pk}/documents/{document.pk}.pdf"
    assert url in page and "Approved" in page
    pdf = browser.get(url)
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    stranger = sign_in(Client(), make_applicant(email="stranger@example.org"))
    assert stranger.get(url).status_code == 403
    other, _ = submit_application(
        person_context(make_applicant(email="fourth@example.org")),
        "ca.birth-registration",
        birth_answers(),
        "online",
        "other",
    )
    wrong_pair = f"/en/applications/{other.pk}/documents/{document.pk}.pdf"
    assert browser.get(wrong_pair).status_code == 403


def test_the_verification_page_checks_a_document_and_a_copy(
    browser, submitted, federation, make_staff
):
    registrar = make_staff(federation["serviceontario"], "caseworker")
    queues.complete(
        registrar, queues.queue(registrar, federation["serviceontario"]).get(), "approve"
    )
    document = submitted.documents.get()
    pdf = browser.get(f"/en/applications/{submitted.pk}/documents/{document.pk}.pdf").content
    public = Client()
    page = public.get(f"/en/documents/{document.pk}/verify/?s={document.signature}")
    assert page.status_code == 200 and "Valid" in page.content.decode()
    copy = public.post(
        f"/en/documents/{document.pk}/verify/",
        {"file": SimpleUploadedFile("copy.pdf", pdf, content_type="application/pdf")},
    )
    assert "Valid" in copy.content.decode()
    forged = public.post(
        f"/en/documents/{document.pk}/verify/",
        {"file": SimpleUploadedFile("copy.pdf", pdf + b"%", content_type="application/pdf")},
    )
    assert "Altered: do not rely on it" in forged.content.decode()
    unknown = public.get("/en/documents/00000000-0000-0000-0000-000000000000/verify/")
    assert unknown.status_code == 404 and "Unknown document" in unknown.content.decode()


# --- Paying a fee ------------------------------------------------------------------------


@pytest.fixture
def payment(submitted):
    from django.db import transaction

    from joinedup.delivery.payments import flows

    with transaction.atomic():
        return flows.request(submitted, amount="25.00")


def test_the_sandbox_checkout_declines_then_takes_a_payment(
    payment, browser, settings, django_capture_on_commit_callbacks
):
    from joinedup.delivery.payments.contrib.sandbox import SUCCEEDING_CARD

    # The processor's webhook is a background task after the commit: run it at once here.
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    checkout = browser  # the applicant's own browser: the page names their application
    url = payment.checkout_url.split("services.example.org", 1)[-1]
    page = checkout.get(url)
    html = page.content.decode()
    assert page.status_code == 200
    assert "25.00 CAD" in html and payment.application.service.key not in html
    french = checkout.get(url.replace("/en/", "/fr/")).content.decode()
    assert "25,00 CAD" in french
    assert "no money moves" in html
    with django_capture_on_commit_callbacks(execute=True):
        declined = checkout.post(url, {"card": "4000 0000 0000 0002"})
    assert "The card was declined." in declined.content.decode()
    payment.refresh_from_db()
    assert payment.status == Payment.Status.FAILED
    with django_capture_on_commit_callbacks(execute=True):
        paid = checkout.post(url, {"card": SUCCEEDING_CARD})
    assert "Payment accepted" in paid.content.decode()
    back = f'href="/en/applications/{payment.application.pk}/"'
    assert back in paid.content.decode()  # a way back to the application
    payment.refresh_from_db()
    assert payment.status == Payment.Status.SUCCEEDED
    assert checkout.get("/en/payments/sandbox/no-such-intent/").status_code == 404


def test_nobody_else_opens_or_pays_the_sandbox_checkout(payment, make_applicant):
    """Another signed-in person neither sees the fee and reference nor pays them; someone
    not signed in is sent to sign in."""
    from joinedup.delivery.payments.contrib.sandbox import SUCCEEDING_CARD

    url = payment.checkout_url.split("services.example.org", 1)[-1]
    stranger = sign_in(Client(), make_applicant(email="stranger@example.org"))
    page = stranger.get(url)
    assert page.status_code == 403
    assert "25" not in page.content.decode().split("<main", 1)[-1]
    assert stranger.post(url, {"card": SUCCEEDING_CARD}).status_code == 403
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PENDING
    anonymous = Client().get(url)
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/en/account/")
