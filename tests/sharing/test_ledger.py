"""The access ledger: a hash chain that names each kind of tampering, and signed checkpoints."""

import itertools
import threading

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, connections

from joinedup.sharing import ledger
from joinedup.sharing.models import AccessEvent, LedgerCheckpoint

pytestmark = pytest.mark.django_db


def append(n: int, subject_id: int = 7) -> list[AccessEvent]:
    return [
        ledger.append(
            subject_id=subject_id,
            actor_user_id=1,
            actor_agency="esdc",
            actor_role="caseworker",
            holder_agency="serviceontario",
            action="read",
            categories=["identity"],
            fields=["given_names"],
            purpose=f"purpose-{i}",
            legal_basis="statute",
            outcome="disclosed",
        )
        for i in range(n)
    ]


def test_an_untouched_chain_verifies():
    events = append(5)
    assert [e.seq for e in events] == [1, 2, 3, 4, 5]
    assert events[0].prev_hash == ledger.GENESIS
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(events))
    result = ledger.verify()
    assert result.ok and result.checked == 5


def test_an_altered_row_is_named():
    events = append(6)
    AccessEvent.objects.filter(pk=events[2].pk).update(purpose="something-else")
    first = ledger.verify().first
    assert (first.kind, first.seq, first.row_id) == ("altered", 3, events[2].pk)


def test_an_altered_row_with_a_recomputed_hash_is_named():
    events = append(6)
    row = AccessEvent.objects.get(pk=events[2].pk)
    row.actor_agency = "someone-else"
    row.hash = ledger.row_hash(row.prev_hash, row)
    row.save()
    first = ledger.verify().first
    assert (first.kind, first.seq, first.row_id) == ("altered", 3, events[2].pk)


def test_a_deleted_row_is_named():
    events = append(6)
    AccessEvent.objects.filter(pk=events[3].pk).delete()
    first = ledger.verify().first
    assert (first.kind, first.seq) == ("deleted", 4)


def test_an_inserted_row_is_named():
    events = append(6)
    # Make room at position 4 (in two steps: positions are unique) and slip a forged row in,
    # correctly hashed onto row 3.
    for event in reversed(events[3:]):
        AccessEvent.objects.filter(pk=event.pk).update(seq=event.seq + 1)
    forged = AccessEvent(
        seq=4,
        occurred_at=events[2].occurred_at,
        subject_id=7,
        actor_agency="intruder",
        action="read",
        categories=[],
        fields=[],
        purpose="cover-up",
        outcome="disclosed",
        prev_hash=events[2].hash,
    )
    forged.hash = ledger.row_hash(forged.prev_hash, forged)
    forged.save()
    first = ledger.verify().first
    assert (first.kind, first.seq, first.row_id) == ("inserted", 4, forged.pk)


def test_truncation_is_caught_by_the_head_and_the_signed_checkpoint():
    events = append(5)
    checkpoint = ledger.checkpoint()
    assert checkpoint.seq == 5
    AccessEvent.objects.filter(pk=events[-1].pk).delete()
    result = ledger.verify()
    assert not result.ok
    assert {p.kind for p in result.problems} == {"deleted"}
    assert result.first.seq == 5


def test_a_rebuilt_chain_fails_against_the_signed_checkpoint():
    events = append(4)
    ledger.checkpoint()
    # Someone with database access rewrites history and rebuilds every hash and the head.
    prev = ledger.GENESIS
    for event in AccessEvent.objects.order_by("seq"):
        if event.pk == events[1].pk:
            event.purpose = "rewritten"
        event.prev_hash = prev
        event.hash = ledger.row_hash(prev, event)
        event.save()
        prev = event.hash
    from joinedup.sharing.models import LedgerHead

    LedgerHead.objects.filter(pk=1).update(hash=prev)
    result = ledger.verify()
    assert [(p.kind, p.seq) for p in result.problems] == [("altered", 4)]


def test_a_forged_checkpoint_is_caught():
    append(2)
    cp = ledger.checkpoint()
    LedgerCheckpoint.objects.filter(pk=cp.pk).update(hash="f" * 64)
    assert ledger.verify().first.kind == "checkpoint"


def test_the_command_reports_tampering(capsys):
    events = append(3)
    call_command("ledger", "verify")
    assert "intact: 3 rows" in capsys.readouterr().out
    AccessEvent.objects.filter(pk=events[1].pk).update(purpose="x")
    with pytest.raises(CommandError, match="altered at position 2"):
        call_command("ledger", "verify")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_stay_one_chain():
    if connection.vendor != "postgresql":
        pytest.skip("concurrent appends are tested on PostgreSQL (SQLite serialises writers)")
    writers, per_writer = 8, 40
    barrier = threading.Barrier(writers)
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            barrier.wait()
            append(per_writer, subject_id=n)
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    result = ledger.verify()
    assert result.ok, result.problems
    assert result.checked == writers * per_writer
    seqs = list(AccessEvent.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, writers * per_writer + 1))
