"""The client registry: identifiers encrypted at rest, found by blind index, keys rotated."""

import datetime
import io
import logging

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from joinedup.federation.models import Jurisdiction
from joinedup.identity import encryption
from joinedup.identity.client_registry import (
    AddressInput,
    add_identifier,
    find_by_identifier,
    move,
    register_person,
)
from joinedup.identity.models import Address, Person, PersonIdentifier, addresses_remembered

from .conftest import OTHER_SIN, VALID_SIN

pytestmark = pytest.mark.django_db


def raw_rows() -> str:
    """Everything stored for identifiers, read with plain SQL as an intruder would."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM identity_personidentifier")
        return repr(cursor.fetchall())


def test_identifiers_are_encrypted_at_rest_and_found_by_blind_index():
    person = register_person(
        given_names="Amara",
        family_name="Okafor",
        birth_date=datetime.date(1988, 3, 14),
        identifier_values={"ca-sin": VALID_SIN},
    )
    stored = raw_rows()
    assert "046454286" not in stored
    assert "046 454 286" not in stored
    record = person.identifiers.get()
    assert record.value == "046454286"
    assert "046454286" not in str(record) and "046454286" not in repr(record)
    assert record.masked == "••••••286"
    assert find_by_identifier("ca-sin", "046-454-286") == person
    assert find_by_identifier("ca-sin", OTHER_SIN) is None


def test_the_same_value_encrypts_differently_each_time():
    assert encryption.encrypt("046454286") != encryption.encrypt("046454286")


def test_a_duplicate_identifier_is_refused_and_nothing_is_half_written():
    register_person(given_names="A", family_name="One", identifier_values={"ca-sin": VALID_SIN})
    with pytest.raises(ValidationError) as caught:
        register_person(
            given_names="B",
            family_name="Two",
            identifier_values={"ca-sin": "046454286"},
            contacts=[("email", "b@example.org")],
        )
    assert "already registered" in " ".join(caught.value.messages)
    assert "046454286" not in " ".join(caught.value.messages)
    assert Person.objects.count() == 1


@pytest.mark.parametrize(
    ("birth_date", "fragment"),
    [
        (datetime.date.today() + datetime.timedelta(days=1), "future"),
        (datetime.date(1850, 1, 1), "130 years"),
    ],
)
def test_impossible_birth_dates_are_refused(birth_date, fragment):
    with pytest.raises(ValidationError, match=fragment):
        register_person(given_names="A", family_name="B", birth_date=birth_date)
    assert not Person.objects.exists()


def test_an_invalid_identifier_writes_nothing():
    with pytest.raises(ValidationError, match="not valid"):
        register_person(given_names="A", family_name="B", identifier_values={"ca-sin": "1" * 9})
    assert not Person.objects.exists()


def test_addresses_are_kept_over_time(small_federation):
    person = register_person(
        given_names="A",
        family_name="B",
        address=AddressInput("1 King St", "Toronto", "ON", jurisdiction_code="CA-ON-TOR"),
    )
    first = person.addresses.get()
    moved_on = datetime.date.today() + datetime.timedelta(days=10)
    move(
        person, AddressInput("2 Rideau St", "Ottawa", "ON", jurisdiction_code="CA-ON-OTT"), moved_on
    )
    first.refresh_from_db()
    assert first.valid_to == moved_on - datetime.timedelta(days=1)
    assert person.current_address().jurisdiction.code == "CA-ON-TOR"
    assert person.current_address(on=moved_on).jurisdiction.code == "CA-ON-OTT"
    assert Address.objects.filter(person=person).count() == 2


def test_an_address_is_read_once_inside_addresses_remembered_and_anew_after(small_federation):
    person = register_person(
        given_names="A",
        family_name="B",
        address=AddressInput("1 King St", "Toronto", "ON", jurisdiction_code="CA-ON-TOR"),
    )
    again = Person.objects.get(pk=person.pk)  # another instance of the same person
    with CaptureQueriesContext(connection) as read, addresses_remembered():
        first = person.current_address()
        assert again.current_address() is first
        assert person.current_address().jurisdiction.code == "CA-ON-TOR"
        with addresses_remembered():  # a nested block shares the outer one's memory
            assert person.current_address() is first
    assert len(read.captured_queries) == 1
    Address.objects.filter(person=person).update(
        jurisdiction=Jurisdiction.objects.get(code="CA-ON-OTT")
    )
    # Outside the block every call reads: a change is seen at once.
    assert person.current_address().jurisdiction.code == "CA-ON-OTT"
    with addresses_remembered():
        assert again.current_address().jurisdiction.code == "CA-ON-OTT"


def test_an_unknown_jurisdiction_is_refused(small_federation):
    with pytest.raises(ValidationError, match="not a known jurisdiction"):
        register_person(
            given_names="A",
            family_name="B",
            address=AddressInput("1 Main", "Nowhere", jurisdiction_code="CA-XX"),
        )
    assert not Person.objects.exists()


def test_key_rotation_reencrypts_every_identifier(settings):
    old_key = settings.IDENTIFIER_KEYS[0]
    people = [
        register_person(given_names="A", family_name="B", identifier_values={"ca-sin": sin})
        for sin in (VALID_SIN, OTHER_SIN)
    ]
    add_identifier(people[0], "health-card", "1234567890AB")
    before = {r.pk: r.ciphertext for r in PersonIdentifier.objects.all()}

    new_key = Fernet.generate_key().decode()
    new_index_key = "a new index key"
    with override_settings(IDENTIFIER_KEYS=[new_key, old_key], IDENTIFIER_INDEX_KEY=new_index_key):
        # Before rotation both keys decrypt, but the search index is stale.
        assert PersonIdentifier.objects.get(pk=min(before)).value
        out, err = io.StringIO(), io.StringIO()
        call_command("rotate_identifier_keys", stdout=out, stderr=err)
        assert "3 identifiers examined, 3 re-encrypted" in out.getvalue()
        assert "Re-encrypting" in err.getvalue()  # the progress bar
        for record in PersonIdentifier.objects.all():
            assert record.ciphertext != before[record.pk]
            assert encryption.is_current(record.ciphertext)
        assert find_by_identifier("ca-sin", VALID_SIN) == people[0]
        # Running it again has nothing left to do.
        out = io.StringIO()
        call_command("rotate_identifier_keys", "--no-progress", stdout=out, stderr=io.StringIO())
        assert "3 identifiers examined, 0 re-encrypted" in out.getvalue()

    with override_settings(IDENTIFIER_KEYS=[new_key], IDENTIFIER_INDEX_KEY=new_index_key):
        # The old key can now be removed: everything still opens.
        assert sorted(r.value for r in PersonIdentifier.objects.all()) == [
            "046454286",
            "1234567890AB",
            "130692544",
        ]
    with (
        override_settings(IDENTIFIER_KEYS=[Fernet.generate_key().decode()]),
        pytest.raises(encryption.DecryptionError),
    ):
        _ = PersonIdentifier.objects.first().value


def test_a_new_key_can_be_printed():
    out = io.StringIO()
    call_command("rotate_identifier_keys", "--new-key", stdout=out)
    Fernet(out.getvalue().strip().encode())


def test_identifiers_never_reach_the_logs():
    """The redaction filter sits on the configured handler, so every logger is covered."""
    handler = next(h for h in logging.getLogger().handlers if h.get_name() == "console")
    stream = io.StringIO()
    previous = handler.setStream(stream)
    try:
        logging.getLogger("joinedup.anything").warning(
            "Client gave SIN %s at the counter", VALID_SIN
        )
        logging.getLogger("django.request").error("Bad value 046-454-286 in form")
        try:
            raise ValueError("could not parse 046454286")
        except ValueError:
            logging.getLogger("joinedup").exception("Failed on TFN 123 456 782")
    finally:
        handler.setStream(previous)
    output = stream.getvalue()
    assert "Client gave SIN [redacted identifier] at the counter" in output
    for shape in ("046 454 286", "046-454-286", "046454286", "123 456 782"):
        assert shape not in output
    assert "ValueError" in output  # the traceback is kept, without the number
