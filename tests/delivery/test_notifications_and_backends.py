"""Notifications received over real SMTP, SMS through the sandbox with retries, and the
signed-REST back-end against a small receiving server on loopback."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from email import message_from_bytes
from email.header import decode_header, make_header
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from aiosmtpd.controller import Controller

from joinedup.delivery import queues, reactions, versions
from joinedup.delivery.applications import submit_application
from joinedup.delivery.backends.contrib import signed_rest
from joinedup.delivery.models import AgencyBackend, Forwarding, Notification, SandboxSms
from joinedup.delivery.notifications import sending
from joinedup.sharing import dispatch
from joinedup.sharing.subscribers import Event

from .conftest import birth_answers, person_context

pytestmark = pytest.mark.django_db


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, envelope.content))
        return "250 OK"


@pytest.fixture
def smtp_server(settings):
    import socket

    with socket.socket() as probe:  # a free port on loopback
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    yield inbox
    controller.stop()


def test_the_applicant_receives_an_email_in_their_language(
    smtp_server, birth_registration, make_applicant
):
    user = make_applicant(email="marie@example.org", language="fr", mobile="+1 416 555 0199")
    application, _ = submit_application(
        person_context(user), "ca.birth-registration", birth_answers(), "online", "m"
    )
    dispatch.dispatch_pending()
    assert sending.send_due() == 2
    assert len(smtp_server.messages) == 1
    recipients, raw = smtp_server.messages[0]
    assert recipients == ["marie@example.org"]
    message = message_from_bytes(raw)
    subject = str(make_header(decode_header(message["Subject"])))
    assert subject == f"Nous avons reçu votre demande {application.reference}"
    body = message.get_payload(decode=True).decode()
    assert "ServiceOntario la traite" in body
    assert f"/fr/applications/{application.pk}/" in body
    email = Notification.objects.get(channel="email")
    assert (email.status, email.attempts) == ("sent", 1)
    sms = Notification.objects.get(channel="sms")
    assert sms.status == "delivered"
    assert SandboxSms.objects.get().to == "+1 416 555 0199"
    dispatch.dispatch_pending()  # nothing twice
    assert Notification.objects.count() == 2


def test_an_unreachable_server_is_retried_then_given_up(
    settings, birth_registration, make_applicant
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2
    settings.NOTIFICATION_MAX_ATTEMPTS = 2
    settings.NOTIFICATION_RETRY_BASE_SECONDS = 0
    user = make_applicant(mobile="+1 416 555 0000")  # the sandbox cannot reach this number
    submit_application(
        person_context(user), "ca.birth-registration", birth_answers(), "online", "u"
    )
    dispatch.dispatch_pending()
    sending.send_due()
    assert set(Notification.objects.values_list("status", "attempts")) == {("queued", 1)}
    sending.send_due()
    assert set(Notification.objects.values_list("status", flat=True)) == {"failed"}
    assert all(n.last_error for n in Notification.objects.all())


SECRET = "s" * 40


class Receiver(BaseHTTPRequestHandler):
    received: list = []
    fail_next = 0

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if Receiver.fail_next:
            Receiver.fail_next -= 1
            self.send_response(503)
            self.end_headers()
            return
        assert signed_rest.check_signature(SECRET, body, self.headers[signed_rest.SIGNATURE])
        Receiver.received.append(json.loads(body))
        receipt = json.dumps(
            {
                "receipt": f"r-{len(Receiver.received)}",
                "delivery": self.headers[signed_rest.DELIVERY],
                "received_at": "now",
            }
        ).encode()
        stamp = int(time.time())
        digest = hmac.new(
            SECRET.encode(), f"{stamp}.".encode() + receipt, hashlib.sha256
        ).hexdigest()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header(signed_rest.RECEIPT_SIGNATURE, f"t={stamp},v1={digest}")
        self.send_header("Content-Length", str(len(receipt)))
        self.end_headers()
        self.wfile.write(receipt)

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    server = HTTPServer(("127.0.0.1", 0), Receiver)
    Receiver.received = []
    Receiver.fail_next = 0
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/cases"
    server.shutdown()


def test_an_agency_working_in_its_own_system_gets_signed_cases_and_answers_by_api(
    receiver, birth_registration, applicant, federation
):
    agency = federation["serviceontario"]
    AgencyBackend.objects.create(
        agency=agency, plugin="signed_rest", config={"url": receiver, "secret": SECRET}
    )
    Receiver.fail_next = 1
    application, _ = submit_application(
        person_context(applicant), "ca.birth-registration", birth_answers(), "online", "r"
    )
    item = application.work_items.get()
    assert item.status == "forwarded"
    forwarding = Forwarding.objects.get()
    assert signed_rest.deliver(str(forwarding.pk)) == "pending"  # 503: retried later
    Forwarding.objects.update(next_attempt_at=forwarding.created_at)
    assert signed_rest.deliver_due() == 1
    forwarding.refresh_from_db()
    assert (forwarding.status, forwarding.receipt_id, forwarding.attempts) == (
        "delivered",
        "r-1",
        2,
    )
    case = Receiver.received[0]
    assert case["application"]["reference"] == application.reference
    assert case["work_item"]["complete_url"].endswith(f"/api/v1/work-items/{item.pk}/complete")
    # The agency's system reports its decision back as an API client of the agency.
    from joinedup.identity.acting import for_api_client
    from joinedup.identity.tokens import create_api_client

    client_record, _secret = create_api_client(
        agency, name="registry", role="caseworker", scopes=["read", "write"]
    )
    queues.complete(for_api_client(client_record), item, "approve")
    application.refresh_from_db()
    assert application.status == "approved"


def test_a_new_version_leaves_cases_in_flight_on_theirs(
    birth_registration, applicant, federation, make_staff
):
    context = person_context(applicant)
    old, _ = submit_application(context, "ca.birth-registration", birth_answers(), "online", "old")
    bpmn = birth_registration.bpmn.replace(
        'value="approve,refuse,request_information"', 'value="approve,refuse"'
    ).replace("Review the statement of live birth", "Review the statement (v2)")
    new_version = versions.deploy(
        "ca.birth-registration",
        bpmn,
        birth_registration.form,
        place_field="birth_province",
        documents=birth_registration.documents,
    ).version
    assert new_version.number == 2
    birth_registration.refresh_from_db()
    assert not birth_registration.active
    new, _ = submit_application(context, "ca.birth-registration", birth_answers(), "online", "new")
    assert (old.version.number, new.version.number) == (1, 2)
    items = {
        i.application_id: i
        for i in queues.queue(
            make_staff(federation["serviceontario"]), federation["serviceontario"]
        )
    }
    assert items[old.pk].decisions == ["approve", "refuse", "request_information"]
    assert items[new.pk].title == "Review the statement (v2)"
    clerk = make_staff(federation["serviceontario"], username="c3@example.org")
    queues.complete(clerk, items[old.pk], "request_information", "Which hospital?")
    old.refresh_from_db()
    assert old.status == "waiting_for_applicant"  # the old process's loop still works
    again = versions.deploy(
        "ca.birth-registration",
        bpmn,
        birth_registration.form,
        place_field="birth_province",
        documents=birth_registration.documents,
    )
    assert not again.created


def test_a_version_that_switches_an_event_off_sends_nothing_for_it(
    birth_registration, make_applicant
):
    """A service whose owner app tells the person itself (a complaint's parts) says
    `"submitted": false`: delivery sends nothing for that event, and still for the others."""
    birth_registration.notifications = {"submitted": False}
    birth_registration.save(update_fields=["notifications"])
    user = make_applicant(mobile="+1 416 555 0199")
    application, _ = submit_application(
        person_context(user), "ca.birth-registration", birth_answers(), "online", "m"
    )
    dispatch.dispatch_pending()
    assert not Notification.objects.filter(event="submitted").exists()
    # The other events of the same version are still told.
    reactions.notify_decided(
        Event(
            id="decided-1",
            type="org.joinedup.application.approved",
            source="/delivery",
            subject=str(application.pk),
            time=None,
            data={"application": str(application.pk)},
        )
    )
    assert sorted(Notification.objects.values_list("event", "channel")) == [
        ("decided", "email"),
        ("decided", "sms"),
    ]
