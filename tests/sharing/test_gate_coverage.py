"""The gate-coverage walk: no answer shows a person's data to someone else unrecorded.

Every URL pattern of the project and every API operation (found by walking Django's URL
resolver, as the authorisation matrix does, so a new app's pages are walked the day they
exist) is requested with GET by staff of every role, and by an agency's API client, on real
records of a demo person: Amara (her registry record, an application of hers with its open
work item and fee, and another one decided with its document). Any answer that contains her
data (her names, birth date, address, identifiers), or answers with 200 about a record of
hers named in its address, must have added an entry for her to the access ledger, the "Who
used my data" she reads. Refused answers need no entry.
"""

from __future__ import annotations

import datetime
import json

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice

from joinedup.demo.identities import create_demo_identities
from joinedup.federation.models import Service
from joinedup.identity.client_registry import register_person
from joinedup.identity.models import Person, User
from joinedup.sharing.models import AccessEvent
from tests.delivery.test_authorisation import make_records
from tests.identity.test_authorisation_matrix import (
    ROLES,
    Role,
    World,
    _shared_request,
    endpoints,
    samples,
    sign_in_as,
    url_of,
)
from tests.runs import every_one_on_postgresql

pytestmark = pytest.mark.django_db

#: Everyone who reads people's data as part of their work (never as the person).
STAFF_ROLES = [
    r
    for r in ROLES
    if r.name.startswith(("esdc-", "serviceontario-", "staff-", "platform-admin"))
    or r.name == "agency-client"
]


def demo_world() -> World:
    """The matrix's world, with the demo Amara (proofs, identifier, address) in it."""
    create_demo_identities()
    amara = User.objects.get(username="amara@example.org").person
    noor = register_person(
        given_names="Noor", family_name="Okafor", birth_date=datetime.date(2022, 1, 5)
    )
    device_owner = User.objects.create_user("someone@example.org", "someone@example.org")
    return World(
        amara=amara,
        noor=noor,
        service=Service.objects.get(key="ca.birth-registration"),
        device=TOTPDevice.objects.create(user=device_owner, name="phone"),
        shared_request=_shared_request(),
    )


def traces_of(person: Person) -> list[str]:
    """What would show that an answer carries this person's data, in the shapes pages and
    the API write it: names, birth date, address, identifiers (whole and masked)."""
    birth = person.birth_date
    traces = [
        person.given_names,
        person.full_name,
        f"{birth:%B} {birth.day}, {birth.year}",
        f"{birth.day} {birth:%B} {birth.year}",
        # The ISO form in a JSON value (the counter's form shows that date as an example).
        f'"{birth.isoformat()}"',
    ]
    address = person.current_address()
    if address is not None:
        traces.append(address.street_address)
    for identifier in person.identifiers.all():
        traces += [identifier.value, identifier.masked]
    return [t for t in traces if t]


#: Address parameters that name a record of one person (the walk gives Amara's).
PERSONAL_PARAMS = {"person_id", "application_id", "item_id", "document_id", "intent_id"}


def names_her_record(endpoint) -> bool:
    """An answer about a record the address names is a read of her data, whatever it shows
    (an application's status and timeline name no one, yet they are hers). Checking a
    certificate is open to anyone it is shown to, and shows nothing of the person."""
    verifier = endpoint.action == "public" and endpoint.route.rstrip("/").endswith("/verify")
    return bool(PERSONAL_PARAMS & set(endpoint.params)) and not verifier


def _role_id(role: Role) -> str:
    return role.name


@pytest.mark.parametrize(
    "role", every_one_on_postgresql(STAFF_ROLES, {"esdc-caseworker", "platform-admin"}, _role_id)
)
def test_every_answer_showing_a_persons_data_to_staff_is_in_their_ledger(
    role, small_federation, settings
):
    settings.OIDC_PROVIDERS = {}
    world = demo_world()
    records = make_records(world)
    client, _context, _restore = sign_in_as(role, world)
    client.raise_request_exception = False
    traces = traces_of(world.amara)
    values = {
        **samples(world),
        "application_id": records.open_application.pk,
        "item_id": records.item.pk,
        "document_id": records.document_id,
        "intent_id": records.intent_id,
        "agency": "serviceontario",
        "object_id": str(world.amara.pk),
    }
    unrecorded = []
    shown = 0
    for endpoint in endpoints():
        if role.api_only and not endpoint.api:
            continue
        if "GET" not in endpoint.methods:
            continue
        given = dict(values)
        if endpoint.name.endswith("document-pdf") or "documents" in endpoint.route:
            given["application_id"] = records.decided_application.pk
        url = url_of(endpoint, given)
        if url is None:
            continue
        before = AccessEvent.objects.filter(subject_id=world.amara.pk).count()
        response = client.get(url)
        if response.status_code >= 500:
            unrecorded.append(f"GET {url}: server error")
            continue
        body = response.content.decode(errors="replace")
        if response.get("Content-Type", "").startswith("application/json"):
            body += json.dumps(response.json(), ensure_ascii=False, default=str)
        found = [t for t in traces if t in body]
        if names_her_record(endpoint) and response.status_code == 200:
            found.append("one of her records, named in the address")
        if not found:
            continue
        shown += 1
        after = AccessEvent.objects.filter(subject_id=world.amara.pk).count()
        if after == before:
            unrecorded.append(f"GET {url} [{endpoint.action}] shows {found[:3]} unrecorded")
    assert not unrecorded, "\n".join(unrecorded)
    if role.name in {"esdc-caseworker", "serviceontario-caseworker"}:
        assert shown >= 2, "the walk must reach pages that show the person's record"


def test_the_walk_recognises_a_persons_data(small_federation):
    """The traces are really in the demo person's record (else the walk proves nothing)."""
    world = demo_world()
    traces = traces_of(world.amara)
    assert "Amara" in traces and '"1988-03-14"' in traces
    assert any(t.startswith("•") for t in traces)
    assert any(t.isdigit() and len(t) == 9 for t in traces)
