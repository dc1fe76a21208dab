"""Legs across nodes: a bundle's leg whose agency another government's node hosts is sent
there as a signed, encrypted `bundle-leg` message (not made into an application here), the
person sees it as sent to another government's system, and the statuses that node sends back
keep the status page and the API true. On the receiving node, a leg from a node its agency
granted the service becomes an application in that agency, once, with the person's read in
their ledger; a leg without a grant, or with answers that do not fit, leaves nothing; each
status change of the application is reported back home.

One database plays both sides in turn: the test holds the other node's private keys, so it
opens what this node sends there and writes what that node would send here."""

from __future__ import annotations

import datetime
import html
import json
import uuid

import pytest
from django.urls import reverse
from django.utils import timezone
from joserfc import jwe, jws

from joinedup.bundles import crossing, starting, submission
from joinedup.bundles.models import BundleLeg, ForeignLeg
from joinedup.delivery import queues
from joinedup.delivery.models import Application
from joinedup.exchange import envelope, grants, keys, trustlist
from joinedup.exchange.models import IncomingMessage, OutgoingMessage, PeerNode
from joinedup.identity import assurance
from joinedup.identity.models import Person
from joinedup.sharing.models import AccessEvent

from ..exchange.conftest import Governance, Peer
from .conftest import NEWBORN_LEGS, newborn_answers, newborn_screening, run_workers, staff
from .test_api import client_for
from .test_pages import signed_in

pytestmark = pytest.mark.django_db

ONTARIO = "CA/GOV/ON/joinedup"
FEDERAL = "CA/GOV/CA/joinedup"
URL = "/exchange/v1/messages"
FEDERAL_LEGS = {
    "social-insurance-number",
    "child-benefit",
    "provincial-child-benefit",
    "education-savings",
}
SIN = "ca.social-insurance-number"


@pytest.fixture(autouse=True)
def fresh_keys():
    keys.clear_cache()
    yield
    keys.clear_cache()


def own_entry(node_id: str, jurisdictions: list[str], **extra) -> dict:
    return {
        "id": node_id,
        "names": {"en": "Ontario", "fr": "Ontario"},
        "base_url": "http://127.0.0.1:9",
        "jurisdictions": jurisdictions,
        "assurance": 2,
        "keys": keys.public_jwks()["keys"],
        **extra,
    }


def peer_entry(peer: Peer, names: dict, **extra) -> dict:
    return {**peer.entry(), "names": names, "assurance": 2, **extra}


@pytest.fixture
def ontario_here(settings):
    """This node is Ontario's; the federal node (whose keys the test holds) hosts the
    federal government's agencies (jurisdiction CA)."""
    governance = Governance()
    settings.EXCHANGE_TRUST_ANCHORS = governance.jwks()
    settings.EXCHANGE_NODE_ID = ONTARIO
    federal = Peer(FEDERAL, "http://127.0.0.1:9", jurisdictions=["CA"])
    names = {"en": "Government of Canada", "fr": "Gouvernement du Canada"}

    def load(own_extra=None):
        trustlist.load(
            governance.signed(
                [own_entry(ONTARIO, ["CA-ON"], **(own_extra or {})), peer_entry(federal, names)]
            )
        )

    load()
    federal.load = load
    return federal


@pytest.fixture
def federal_here(settings):
    """This node is the federal government's; Ontario's node (whose keys the test holds)
    sends it legs."""
    governance = Governance()
    settings.EXCHANGE_TRUST_ANCHORS = governance.jwks()
    settings.EXCHANGE_NODE_ID = FEDERAL
    ontario = Peer(ONTARIO, "http://127.0.0.1:9", jurisdictions=["CA-ON"])
    trustlist.load(
        governance.signed(
            [
                own_entry(FEDERAL, ["CA"]),
                peer_entry(ontario, {"en": "Ontario", "fr": "Ontario"}),
            ]
        )
    )
    return ontario


def submit(world, key="across-1"):
    made, _created = submission.submit_bundle(
        world.context(world.amara),
        "newborn",
        newborn_answers(),
        NEWBORN_LEGS,
        [],
        key,
        screening=newborn_screening(),
    )
    return made


def opened_by(peer: Peer, message: OutgoingMessage) -> dict:
    """The claims of a message this node sealed, as the receiving node opens them."""
    signed = jwe.decrypt_compact(
        message.sealed, peer.enc, algorithms=envelope.JWE_ALGORITHMS
    ).plaintext
    own = keys.signing_key()[1]
    verified = jws.deserialize_compact(signed, own, algorithms=[envelope.SIGNATURE_ALG])
    return json.loads(verified.payload)


# --- The home node -------------------------------------------------------------------------


def test_a_leg_whose_agency_is_on_another_node_is_sent_there_signed(world, ontario_here):
    made = submit(world)
    run_workers()
    legs = {leg.key: leg for leg in made.legs.select_related("agency", "application")}
    # Ontario's own legs start here; the federal agencies' legs go to the federal node.
    assert {k for k, leg in legs.items() if leg.application_id} == {
        "birth-registration",
        "birth-certificate",
    }
    sent = {k for k, leg in legs.items() if leg.state == BundleLeg.State.ELSEWHERE}
    assert sent == FEDERAL_LEGS
    assert not Application.objects.filter(bundle_leg__key__in=sent).exists()
    messages = OutgoingMessage.objects.filter(kind=crossing.LEG).select_related("to_node")
    assert messages.count() == len(sent)
    sin = legs["social-insurance-number"]
    message = messages.get(message_id=sin.elsewhere_message)
    assert message.to_node.node_id == FEDERAL and message.subject_id == world.amara.person.pk
    claims = opened_by(ontario_here, message)
    assert claims["kind"] == "bundle-leg" and claims["aud"] == FEDERAL
    assert claims["purpose"] == "sin-issuance"
    body = claims["body"]
    assert body["to_agency"] == "esdc" and body["service"] == SIN
    assert body["fields"] == sin.data and body["consent_id"] == str(sin.consent_id)
    assert body["reference"] == made.reference and body["leg"] == str(sin.pk)
    # the person as this node asserts them: proven in person here, a reference, no more
    assert claims["sub"]["level_of_assurance"] == 3
    assert claims["sub"]["family_name"] == "Okafor"
    assert claims["sub"]["ref"] == crossing.person_reference(world.amara.person.pk)
    # nothing in clear in the log: the body is sealed to the federal node
    assert "Noor" not in message.sealed

    # the workers again (a redelivery): nothing is sent twice
    assert starting.start_legs([leg.pk for leg in legs.values()]) == []
    assert OutgoingMessage.objects.filter(kind=crossing.LEG).count() == len(sent)

    page = signed_in(world.amara).get(reverse("bundles:submission", args=[made.pk]))
    assert page.status_code == 200
    text = html.unescape(page.content.decode())
    assert "Sent to another government's system" in text
    assert "On another government's system: Government of Canada" in text
    api = client_for(world.amara).get(f"/api/v1/submissions/{made.pk}")
    assert api.status_code == 200, api.content
    by_key = {leg["leg"]: leg for leg in api.json()["legs"]}
    assert by_key["social-insurance-number"]["elsewhere"] is True
    assert by_key["social-insurance-number"]["elsewhere_name"] == "Government of Canada"
    assert by_key["social-insurance-number"]["status"] == "elsewhere"
    assert by_key["birth-registration"]["elsewhere"] is False
    assert api.json()["status"] != "needs_attention"


def test_an_agency_this_node_names_in_the_trust_list_stays_here(world, ontario_here):
    """The trust list may name the agencies a node hosts: ESDC on Ontario's node (say, a
    shared service) starts here, while CRA's legs still go to the federal node."""
    ontario_here.load({"agencies": ["esdc"]})
    made = submit(world, "across-2")
    run_workers()
    legs = {leg.key: leg for leg in made.legs.select_related("agency")}
    assert legs["social-insurance-number"].application_id is not None
    assert legs["social-insurance-number"].elsewhere is False
    assert legs["child-benefit"].elsewhere_node == FEDERAL


def test_a_deployment_alone_sends_nothing(world, settings):
    settings.EXCHANGE_NODE_ID = ""
    made = submit(world, "across-3")
    run_workers()
    assert made.legs.filter(application=None).count() == 0
    assert not made.legs.filter(state=BundleLeg.State.ELSEWHERE).exists()
    assert not OutgoingMessage.objects.exists()


def status_from(peer: Peer, receiver: PeerNode, leg: BundleLeg, status: str, **extra):
    body = {
        "leg": str(leg.pk),
        "message": str(leg.elsewhere_message),
        "status": status,
        "reference": "A-FED-1",
        "due_date": "2027-01-15",
        "at": timezone.now().isoformat(),
        **extra,
    }
    return envelope.seal(
        crossing.STATUS,
        receiver,
        body,
        purpose="sin-issuance",
        conversation=f"bundle-leg:{leg.pk}",
        sender_id=peer.node_id,
        signer=peer.signer,
    )


def post(client, token: str):
    return client.post(URL, data=token, content_type="application/jose")


def test_statuses_sent_back_keep_the_status_page_true(world, ontario_here, client):
    made = submit(world, "across-4")
    run_workers()
    leg = made.legs.get(key="social-insurance-number")
    here = PeerNode.objects.get(node_id=ONTARIO)
    earlier = timezone.now() - datetime.timedelta(minutes=5)

    answer = post(client, status_from(ontario_here, here, leg, "in_progress").token)
    assert answer.status_code == 201, answer.content
    leg.refresh_from_db()
    assert leg.status == "in_progress" and leg.status_label == "Being worked on"
    assert leg.elsewhere_reference == "A-FED-1"
    assert leg.current_due_date == datetime.date(2027, 1, 15)

    # an older status arriving late does not overwrite the newer one
    stale = status_from(ontario_here, here, leg, "submitted", at=earlier.isoformat())
    assert post(client, stale.token).status_code == 201
    leg.refresh_from_db()
    assert leg.status == "in_progress"

    api = client_for(world.amara).get(f"/api/v1/submissions/{made.pk}")
    sin = next(x for x in api.json()["legs"] if x["leg"] == "social-insurance-number")
    assert sin["status"] == "in_progress" and sin["reference"] == "A-FED-1"
    assert sin["due_date"] == "2027-01-15"
    page = (
        signed_in(world.amara).get(reverse("bundles:submission", args=[made.pk])).content.decode()
    )
    assert "A-FED-1" in page

    # approved there: the leg counts as decided here
    assert post(client, status_from(ontario_here, here, leg, "approved").token).status_code == 201
    leg.refresh_from_db()
    assert leg.status == "approved"


def test_a_status_for_a_leg_not_sent_to_that_node_is_refused(world, ontario_here, client):
    made = submit(world, "across-5")
    run_workers()
    here = PeerNode.objects.get(node_id=ONTARIO)
    local = made.legs.get(key="birth-registration")  # started here, never sent
    answer = post(
        client, status_from(ontario_here, here, local, "approved", message=str(uuid.uuid4())).token
    )
    assert answer.status_code == 422 and answer.json()["code"] == "unknown_leg"
    sent = made.legs.get(key="child-benefit")
    forged = status_from(ontario_here, here, sent, "approved", message=str(uuid.uuid4()))
    assert post(client, forged.token).json()["code"] == "unknown_leg"
    assert post(client, status_from(ontario_here, here, sent, "granted").token).status_code == 422
    sent.refresh_from_db()
    assert sent.elsewhere_status == "" and sent.status == "elsewhere"


# --- The receiving node --------------------------------------------------------------------


def leg_from(world, ontario: Peer, key="social-insurance-number", ref="home-ref-1", **body):
    """A `bundle-leg` message as Ontario's node would send it (the answers taken from a
    bundle accepted here and not started, as Ontario would have checked them)."""
    made = submit(world, f"from-ontario-{uuid.uuid4()}")
    leg = made.legs.select_related("submission__bundle", "agency", "service", "place").get(key=key)
    content, purpose = crossing.leg_body(leg)
    content.update(body)
    subject = {
        "ref": ref,
        "given_names": "Amara",
        "family_name": "Okafor-Ontario",
        "birth_date": "1988-03-14",
        "language": "fr",
        "identifiers": {},
        "level_of_assurance": 3,
    }
    here = PeerNode.objects.get(node_id=FEDERAL)
    return envelope.seal(
        crossing.LEG,
        here,
        content,
        purpose=purpose,
        conversation=f"bundle-leg:{content['leg']}",
        subject=subject,
        sender_id=ontario.node_id,
        signer=ontario.signer,
    )


def test_a_granted_leg_becomes_an_application_here_and_reports_its_status(
    world, federal_here, client
):
    grants.grant("esdc", SIN, ONTARIO)
    sealed = leg_from(world, federal_here)
    answer = post(client, sealed.token)
    assert answer.status_code == 201, answer.content

    foreign = ForeignLeg.objects.select_related("application__agency", "subject").get()
    application = foreign.application
    assert application.agency.key == "esdc" and application.service.key == SIN
    assert foreign.from_node.node_id == ONTARIO and foreign.message_id == sealed.message_id
    # the person, unknown here, is enrolled once, with the assurance Ontario's proofing
    # carries (a remote check at most) so that they do not prove who they are again
    person = foreign.subject
    assert person.family_name == "Okafor-Ontario" and application.applicant_id == person.pk
    assert assurance.level_of(person) == 2
    # ESDC's read of the data sent, in the person's ledger here, and reported back
    read = AccessEvent.objects.get(subject_id=person.pk, channel="exchange")
    assert read.actor_agency == "esdc" and read.purpose == "sin-issuance"
    claims = envelope.verify_receipt(
        answer.json()["receipt"],
        PeerNode.objects.get(node_id=FEDERAL),
        sealed.message_id,
        sealed.digest,
    )
    assert claims["reads"][0]["agency"] == "esdc"
    record = IncomingMessage.objects.get(message_id=sealed.message_id)
    assert record.outcome["reference"] == application.reference

    # the same message again: acknowledged, not a second application
    assert post(client, sealed.token).json()["status"] == "duplicate"
    assert ForeignLeg.objects.count() == 1

    # the application's statuses go home on the leg's conversation
    run_workers()
    reports = OutgoingMessage.objects.filter(kind=crossing.STATUS).order_by("id")
    assert reports.exists()
    last = reports.last()
    assert last.to_node.node_id == ONTARIO and last.conversation == foreign.conversation
    body = opened_by(federal_here, last)["body"]
    application.refresh_from_db()
    assert body["status"] == application.status and body["reference"] == application.reference
    assert body["leg"] == foreign.home_leg and body["message"] == str(sealed.message_id)
    count = reports.count()
    run_workers()  # nothing changed: nothing more sent
    assert OutgoingMessage.objects.filter(kind=crossing.STATUS).count() == count

    # a second leg of the same person from the same node: the same person here
    grants.grant("cra", "ca.child-benefit", ONTARIO)
    second = leg_from(world, federal_here, key="child-benefit")
    assert post(client, second.token).status_code == 201
    assert Person.objects.filter(family_name="Okafor-Ontario").count() == 1

    # operators see the legs received in the admin, read-only, the person as a number
    admin = superuser(client)
    listing = admin.get(reverse("admin:bundles_foreignleg_changelist"))
    assert listing.status_code == 200
    assert foreign.home_reference in listing.text and application.reference in listing.text
    assert "Okafor-Ontario" not in listing.text
    page = admin.get(reverse("admin:bundles_foreignleg_change", args=[foreign.pk]))
    assert page.status_code == 200 and "Okafor-Ontario" not in page.text
    assert str(person.pk) in page.text and 'name="_save"' not in page.text
    assert admin.get(reverse("admin:bundles_foreignleg_add")).status_code == 403
    delete = reverse("admin:bundles_foreignleg_delete", args=[foreign.pk])
    assert admin.get(delete).status_code == 403


def superuser(client):
    """The client signed in as a platform administrator who gave the second factor."""
    from django.contrib.auth import get_user_model
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    user = get_user_model().objects.create_superuser("root", "root@example.org", "x" * 16)
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = TOTPDevice.objects.create(user=user).persistent_id
    session.save()
    return client


def test_a_leg_without_a_grant_or_with_answers_that_do_not_fit_leaves_nothing(
    world, federal_here, client
):
    applications_before = Application.objects.count()
    refused = post(client, leg_from(world, federal_here).token)
    assert refused.status_code == 403 and refused.json()["code"] == "not_granted"

    grants.grant("esdc", SIN, ONTARIO)
    broken = leg_from(world, federal_here, fields={"no_such_question": 1})
    answer = post(client, broken.token)
    assert answer.status_code == 422 and answer.json()["code"] == "invalid"
    wrong = leg_from(world, federal_here, to_agency="cra")
    assert post(client, wrong.token).status_code in (403, 422)
    assert not ForeignLeg.objects.exists()
    assert not Person.objects.filter(family_name="Okafor-Ontario").exists()
    assert Application.objects.count() == applications_before


# --- Requests for information across nodes ---------------------------------------------------


def test_a_request_for_information_made_there_is_answered_from_home(world, ontario_here, client):
    made = submit(world, "across-rfi")
    run_workers()
    leg = made.legs.get(key="social-insurance-number")
    here = PeerNode.objects.get(node_id=ONTARIO)
    asked = status_from(
        ontario_here,
        here,
        leg,
        "waiting_for_applicant",
        question="Which hospital was the child born in?",
        question_id="41",
    )
    assert post(client, asked.token).status_code == 201
    leg.refresh_from_db()
    assert leg.status == "waiting_for_applicant"

    amara = signed_in(world.amara)
    url = reverse("bundles:leg-answer", args=[made.pk, leg.pk])
    assert url in amara.get(reverse("bundles:submission", args=[made.pk])).content.decode()
    page = amara.get(url.replace("/en/", "/fr/", 1)).content.decode()
    assert "Répondre à la question de l’organisme" in page
    assert "Which hospital was the child born in?" in page
    # someone else does not see it; an empty answer is asked again, nothing sent
    assert signed_in(world.jordan).get(url).status_code in (403, 404)
    empty = amara.post(url, {"answer": "  "})
    assert empty.status_code == 400 and "Write your answer." in empty.content.decode()
    assert not OutgoingMessage.objects.filter(kind=crossing.ANSWER).exists()

    assert amara.post(url, {"answer": "Toronto General Hospital"}).status_code == 302
    message = OutgoingMessage.objects.get(kind=crossing.ANSWER)
    assert message.to_node.node_id == FEDERAL and message.conversation == f"bundle-leg:{leg.pk}"
    assert opened_by(ontario_here, message)["body"] == {
        "leg": str(leg.pk),
        "message": str(leg.elsewhere_message),
        "question_id": "41",
        "answer": "Toronto General Hospital",
    }
    # answered: the question is closed here, nothing sent twice
    assert amara.get(url).status_code == 404
    assert amara.post(url, {"answer": "again"}).status_code == 400
    assert OutgoingMessage.objects.filter(kind=crossing.ANSWER).count() == 1
    # the status that follows (going on there) keeps no question
    assert post(client, status_from(ontario_here, here, leg, "in_progress").token).status_code
    leg.refresh_from_db()
    assert leg.status == "in_progress" and leg.elsewhere_question == ""


def test_an_answer_from_home_lets_the_application_here_go_on(world, federal_here, client):
    grants.grant("esdc", SIN, ONTARIO)
    sealed = leg_from(world, federal_here)
    assert post(client, sealed.token).status_code == 201
    foreign = ForeignLeg.objects.select_related("application__agency").get()
    run_workers()
    caseworker = staff("esdc")
    item = queues.queue(caseworker, foreign.application.agency).get(application=foreign.application)
    queues.claim(caseworker, item)
    queues.complete(caseworker, item, "request_information", "Which hospital?")
    run_workers()
    report = OutgoingMessage.objects.filter(kind=crossing.STATUS).order_by("id").last()
    asked = opened_by(federal_here, report)["body"]
    assert asked["status"] == "waiting_for_applicant" and asked["question"] == "Which hospital?"

    here = PeerNode.objects.get(node_id=FEDERAL)

    def answer(question_id: str, text: str = "Toronto General Hospital"):
        return envelope.seal(
            crossing.ANSWER,
            here,
            {
                "leg": asked["leg"],
                "message": str(sealed.message_id),
                "question_id": question_id,
                "answer": text,
            },
            purpose="sin-issuance",
            conversation=foreign.conversation,
            sender_id=federal_here.node_id,
            signer=federal_here.signer,
        )

    # an answer to another question is refused, signed, and changes nothing
    wrong = post(client, answer("999").token)
    assert wrong.status_code == 422 and wrong.json()["code"] == "not_open"
    sent = answer(asked["question_id"])
    assert post(client, sent.token).status_code == 201
    foreign.application.refresh_from_db()
    assert foreign.application.status == "in_progress"
    closed = foreign.application.work_items.get(role="applicant")
    assert closed.status != "open" and "Toronto General Hospital" in closed.reasons
    # the same answer again: acknowledged as a duplicate, not answered twice
    assert post(client, sent.token).json()["status"] == "duplicate"
    # and home is told the application goes on
    run_workers()
    report = OutgoingMessage.objects.filter(kind=crossing.STATUS).order_by("id").last()
    going_on = opened_by(federal_here, report)["body"]
    assert going_on["status"] == "in_progress" and "question" not in going_on
