"""The receiver links the person another node asserts to its own record: by identifier in
the registry, else through the client index (an agency's client record holding the
identifier, linked to a person), and as the person a merge made them; so the data that came
lands in the right person's ledger and nobody is enrolled twice."""

from __future__ import annotations

import pytest

from joinedup.clientindex import clusters
from joinedup.clientindex.models import Cluster, PersonAlias, SourceRecord
from joinedup.exchange import handlers
from joinedup.federation.models import Agency
from joinedup.identity import client_registry, encryption, identifiers
from joinedup.identity.models import Person
from joinedup.sharing.models import AccessEvent

from .test_receiving import from_b, post

SIN = "046 454 286"
BODY = {
    "from_agency": "ca-esdc",
    "to_agency": "serviceontario",
    "legal_basis": "statute",
    "fields": {"given_names": "Marie"},
}


@pytest.fixture
def known_to_the_index(small_federation):
    """Marie is in the registry without her SIN; ESDC's client list holds it, linked to her."""
    marie = client_registry.register_person(given_names="Marie", family_name="Tremblay")
    sin = identifiers.get("ca-sin")
    clean = sin.clean(SIN)
    SourceRecord.objects.create(
        agency=Agency.objects.get(key="esdc"),
        record_id="E-1",
        given_names="Marie",
        family_name="Tremblay",
        identifier_kind=sin.key,
        identifier_index=encryption.blind_index(sin.key, clean),
        identifier_ciphertext=encryption.encrypt(clean),
        digest="d" * 64,
        cluster=Cluster.objects.create(key=clusters.new_key(), person=marie),
    )
    return marie


def test_a_person_known_only_to_the_index_is_found(known_to_the_index):
    found = handlers.find_person({"identifiers": {"ca-sin": SIN}})
    assert found == known_to_the_index


def test_a_merged_person_is_found_as_the_one_they_now_are(known_to_the_index):
    kept = Person.objects.create(given_names="Marie", family_name="Tremblay")
    PersonAlias.objects.create(person=known_to_the_index, resolves_to=kept)
    assert handlers.find_person({"identifiers": {"ca-sin": SIN}}) == kept


def test_nobody_is_found_for_an_unknown_or_invalid_identifier(known_to_the_index):
    assert handlers.find_person({"identifiers": {"ca-sin": "130 692 544"}}) is None
    assert handlers.find_person({"identifiers": {"ca-sin": "not a number"}}) is None
    assert handlers.find_person({"identifiers": {"no-such-kind": "1"}}) is None


def test_the_data_lands_in_the_ledger_of_the_person_the_index_knows(
    client, trusted, peer_b, known_to_the_index
):
    sealed = from_b(trusted, peer_b, BODY, subject={"identifiers": {"ca-sin": SIN}})
    assert post(client, sealed.token).status_code == 201
    event = AccessEvent.objects.get(subject_id=known_to_the_index.pk)
    assert event.channel == "exchange" and event.fields == ["given_names"]
    assert Person.objects.count() == 1  # nobody enrolled twice
