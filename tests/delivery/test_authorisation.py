"""The authorisation matrix for the delivery app, with real records.

The identity app's matrix (tests/identity/test_authorisation_matrix.py) walks every URL and
API operation with parameters that name nothing, so it checks each endpoint's first question
(may this role do this at all?). Here every delivery page and endpoint is requested with
records that exist — Amara's application at ServiceOntario, its open work item, a document
issued on another of her applications, ServiceOntario's queue — by every role of that
matrix, and the answer (allowed, or refused) must be what the policy says for that role and
that record:

- deny by default;
- applicants (and those with a mandate) only their own applications;
- staff only their own agency's queues and work items, in the role the process names;
- supervisors their own agency's due and breached work;
- document verification is public; the sandbox payment page is the applicant's (it names
  their application's fee and reference, and pays it).
"""

from __future__ import annotations

import dataclasses
import datetime
import json

import pytest
from django.db import transaction

from joinedup.delivery import queues, versions
from joinedup.delivery.applications import submit_application
from joinedup.delivery.models import Application, WorkItem
from joinedup.delivery.payments import flows
from joinedup.federation.models import Agency
from joinedup.identity import acting, policy
from joinedup.identity.models import Person
from tests.identity.test_authorisation_matrix import (
    ROLES,
    World,
    build_world,
    endpoints,
    samples,
    sign_in_as,
    was_refused,
)

from .conftest import DEMO, staff_context

pytestmark = pytest.mark.django_db

DELIVERY_VIEWS = "joinedup.delivery"


def delivery_endpoints():
    """The delivery app's pages and API operations."""
    found = []
    for endpoint in endpoints():
        if endpoint.api:
            if any(
                endpoint.route.startswith(f"/api/v1/{prefix}")
                for prefix in (
                    "applications",
                    "me/applications",
                    "queues/",
                    "work-items/",
                    "documents/",
                    "payments/",
                )
            ):
                found.append(endpoint)
        elif endpoint.name.startswith("delivery:"):
            found.append(endpoint)
    return found


def test_every_delivery_endpoint_is_in_the_matrix():
    names = {e.name for e in delivery_endpoints() if not e.api}
    assert names == {
        "delivery:apply",
        "delivery:my-applications",
        "delivery:draft",
        "delivery:draft-page",
        "delivery:draft-check",
        "delivery:application",
        "delivery:respond",
        "delivery:document-pdf",
        "delivery:sandbox-checkout",
        "delivery:verify",
        "delivery:queue",
        "delivery:work-item",
        "delivery:supervisor",
    }
    api = {(e.route, e.methods) for e in delivery_endpoints() if e.api}
    assert len(api) >= 7, api
    actions = {e.name: e.action for e in delivery_endpoints() if not e.api}
    assert actions["delivery:verify"] == "public"
    # The sandbox checkout names an application's fee and reference: the applicant's only.
    assert actions["delivery:sandbox-checkout"] == "delivery.application.respond"
    assert actions["delivery:queue"] == "delivery.queue.read"
    assert actions["delivery:supervisor"] == "delivery.supervise"
    assert actions["delivery:work-item"] == "delivery.work_item.work"
    assert actions["delivery:application"] == "delivery.application.view"
    assert actions["delivery:respond"] == "delivery.application.respond"


@dataclasses.dataclass
class Records:
    open_application: Application  # Amara's, at ServiceOntario, a caseworker's task open
    decided_application: Application  # Amara's, approved, with its document
    item: WorkItem  # the open task
    document_id: str
    intent_id: str  # the sandbox checkout of the open application's fee


ANSWERS = {
    "child_given_names": "Noor",
    "child_family_name": "Okafor",
    "birth_date": (datetime.date.today() - datetime.timedelta(days=3)).isoformat(),
    "sex": "female",
    "birth_province": "CA-ON",
    "birth_place": "Toronto General Hospital",
    "parents": [{"given_names": "Amara", "family_name": "Okafor"}],
    "mailing_address": {
        "street_address": "1 King St W",
        "locality": "Toronto",
        "postal_code": "M5H 2N2",
    },
}


def make_records(world: World) -> Records:
    """Two applications of Amara's (one open, one decided with its document)."""
    from joinedup.identity.models import User

    versions.load_file(DEMO / "birth-registration.json")
    # Amara applied online, verified at level 2 then (the world has her at level 1 now).
    device = User.objects.create_user("kiosk@example.org", "kiosk@example.org", "x")
    applying = acting.ActingContext(
        user_id=device.pk, person_id=world.amara.pk, subject_id=world.amara.pk, assurance=2
    )
    open_application, _ = submit_application(
        applying, "ca.birth-registration", ANSWERS, "online", "open"
    )
    decided, _ = submit_application(applying, "ca.birth-registration", ANSWERS, "online", "done")
    registrar = User.objects.create_user("registrar@example.org", "registrar@example.org", "x")
    clerk = staff_context(registrar, Agency.objects.get(key="serviceontario"), "caseworker")
    queues.complete(clerk, decided.work_items.get(), "approve")
    document = decided.documents.get()
    with transaction.atomic():
        fee = flows.request(open_application, amount="25.00")
    return Records(
        open_application=open_application,
        decided_application=decided,
        item=open_application.work_items.get(status="open"),
        document_id=str(document.pk),
        intent_id=fee.intent_id,
    )


def resource_of(endpoint, records: Records, world: World):
    """The record the policy decides on for this endpoint (None: the role alone decides)."""
    if endpoint.action == "service.apply" and (endpoint.api or endpoint.name == "delivery:apply"):
        return world.service  # named in the address, or in the body sent (drafts: their own)
    if endpoint.action in {"delivery.application.view", "delivery.application.respond"}:
        if endpoint.name == "delivery:document-pdf":
            return records.decided_application
        return records.open_application
    if endpoint.action == "delivery.work_item.work" and "item_id" in endpoint.params:
        return records.item
    if endpoint.action == "delivery.queue.read" and "agency" in endpoint.params:
        return Agency.objects.get(key="serviceontario")
    return None


def url_for(endpoint, records: Records, world: World) -> str:
    values = {
        **samples(world),
        "application_id": records.open_application.pk,
        "item_id": records.item.pk,
        "document_id": records.document_id,
        "agency": "serviceontario",
        "intent_id": records.intent_id,
        "draft_id": "00000000-0000-0000-0000-000000000000",
        "page": "child",
    }
    if endpoint.name == "delivery:document-pdf":
        values["application_id"] = records.decided_application.pk
    from tests.identity.test_authorisation_matrix import url_of

    return url_of(endpoint, values)


BODIES = {
    "/api/v1/applications": {"service": "ca.birth-registration", "answers": {}},
    "/api/v1/work-items/<item_id>/complete": {"decision": "approve"},
}


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.name)
def test_delivery_answers_every_role_as_the_policy_says_for_real_records(
    role, small_federation, settings
):
    settings.OIDC_PROVIDERS = {}
    world = build_world()
    client, context, restore = sign_in_as(role, world)
    client.raise_request_exception = False
    records = make_records(world)
    mismatches = []
    checked = 0
    for endpoint in delivery_endpoints():
        if role.api_only and not endpoint.api:
            continue
        url = url_for(endpoint, records, world)
        method = "GET" if "GET" in endpoint.methods else endpoint.methods[0]
        if method == "GET":
            response = client.get(url)
            if response.status_code == 405 and not endpoint.api:
                method = "POST"
                response = client.post(url)
                restore()
        else:
            body = BODIES.get(endpoint.route.removesuffix("/"), {})
            response = client.generic(
                method, url, json.dumps(body), content_type="application/json"
            )
            restore()
        if response.status_code >= 500:
            mismatches.append(f"{method} {url} [{endpoint.action}]: server error")
            continue
        resource = resource_of(endpoint, records, world)
        allowed = policy.decide(context, endpoint.action).allowed and (
            resource is None or policy.decide(context, endpoint.action, resource).allowed
        )
        refused = was_refused(response, url)
        checked += 1
        if refused == allowed:
            mismatches.append(
                f"{method} {url} [{endpoint.action}]: policy says "
                f"{'allowed' if allowed else 'denied'}, got {response.status_code}"
                f" {response.get('Location', '')}"
            )
    assert checked >= 7
    assert not mismatches, "\n".join(mismatches)


def test_the_matrix_means_what_it_says(small_federation):
    """Spot checks of the rules the matrix holds every endpoint to."""
    world = build_world()
    records = make_records(world)
    amara = acting.ActingContext(user_id=1, person_id=world.amara.pk, subject_id=world.amara.pk)
    other = Person.objects.create(given_names="Lina", family_name="Haddad")
    stranger = acting.ActingContext(user_id=2, person_id=other.pk, subject_id=other.pk)
    ontario = Agency.objects.get(key="serviceontario")
    esdc = Agency.objects.get(key="esdc")

    def staff(agency, role):
        return acting.ActingContext(
            user_id=3,
            needs_second_factor=True,
            second_factor=True,
            agency_key=agency.key,
            role=role,
        )

    view = "delivery.application.view"
    assert policy.decide(amara, view, records.open_application).allowed
    assert not policy.decide(stranger, view, records.open_application).allowed
    assert policy.decide(staff(ontario, "caseworker"), view, records.open_application).allowed
    assert not policy.decide(staff(esdc, "caseworker"), view, records.open_application).allowed
    assert not policy.decide(staff(ontario, "analyst"), view, records.open_application).allowed
    work = "delivery.work_item.work"
    assert policy.decide(staff(ontario, "caseworker"), work, records.item).allowed
    assert policy.decide(staff(ontario, "supervisor"), work, records.item).allowed
    assert not policy.decide(staff(ontario, "front_line"), work, records.item).allowed
    assert not policy.decide(staff(esdc, "supervisor"), work, records.item).allowed
    assert not policy.decide(amara, work, records.item).allowed
    assert policy.decide(staff(ontario, "supervisor"), "delivery.supervise", ontario).allowed
    assert not policy.decide(staff(esdc, "supervisor"), "delivery.supervise", ontario).allowed
    assert not policy.decide(staff(ontario, "caseworker"), "delivery.supervise", ontario).allowed
    assert not policy.decide(staff(esdc, "caseworker"), "delivery.queue.read", ontario).allowed
    assert not policy.decide(acting.ANONYMOUS, view, records.open_application).allowed
    assert policy.decide(acting.ANONYMOUS, "public").allowed


#: Address parameters that name one person's record.
PERSONAL_PARAMS = {"application_id", "item_id", "document_id", "intent_id", "person_id"}


#: Checking a certificate is open to anyone it is shown to (a landlord, a school): by design.
def _verifies_a_certificate(endpoint) -> bool:
    return endpoint.action == "public" and endpoint.route.rstrip("/").endswith("/verify")


@pytest.mark.parametrize("other", ["citizen-verified", "parent-acting-for-child"])
def test_no_page_naming_one_persons_record_opens_for_another_person(
    other, small_federation, settings
):
    """Independently of the rule each endpoint declares: every page and API operation whose
    address names a record of Amara's (her applications, their work item, document and fee)
    is refused to another signed-in person (Lina, verified; David acting for his child). A
    page that declares a rule too lenient for what it shows fails here."""
    settings.OIDC_PROVIDERS = {}
    world = build_world()
    client, _context, restore = sign_in_as(next(r for r in ROLES if r.name == other), world)
    client.raise_request_exception = False
    records = make_records(world)
    opened = []
    walked = 0
    for endpoint in delivery_endpoints():
        if not PERSONAL_PARAMS & set(endpoint.params) or _verifies_a_certificate(endpoint):
            continue
        url = url_for(endpoint, records, world)
        for method in endpoint.methods if endpoint.api else ("GET", "POST"):
            if method == "GET":
                response = client.get(url)
            else:
                body = BODIES.get(endpoint.route.removesuffix("/"), {})
                response = client.generic(
                    method, url, json.dumps(body), content_type="application/json"
                )
                restore()
            walked += 1
            if response.status_code == 405:
                continue
            if not was_refused(response, url) and response.status_code != 404:
                opened.append(f"{method} {url}: {response.status_code}")
    assert walked >= 8
    assert not opened, "\n".join(opened)
