"""The access ledger: hash chains that name each kind of tampering, signed checkpoints, and
concurrent writers that neither queue on one lock nor break a chain."""

import itertools
import threading

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, connections, transaction

from joinedup.sharing import ledger
from joinedup.sharing.models import AccessEvent, LedgerCheckpoint

pytestmark = pytest.mark.django_db

ROW = {
    "subject_id": 7,
    "actor_user_id": 1,
    "actor_agency": "esdc",
    "actor_role": "caseworker",
    "action": "read",
    "categories": ["identity"],
    "fields": ["given_names"],
    "legal_basis": "statute",
    "outcome": "disclosed",
}


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
    (checkpoint,) = ledger.checkpoint()
    assert (checkpoint.chain, checkpoint.seq) == (1, 5)
    assert ledger.checkpoint() == []  # nothing new to sign
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
    (cp,) = ledger.checkpoint()
    LedgerCheckpoint.objects.filter(pk=cp.pk).update(hash="f" * 64)
    assert ledger.verify().first.kind == "checkpoint"


def test_a_checkpoint_moved_to_another_chain_is_caught():
    append(2)
    (cp,) = ledger.checkpoint()
    LedgerCheckpoint.objects.filter(pk=cp.pk).update(chain=2)
    assert ledger.verify().first.kind == "checkpoint"


def test_appends_rolled_back_with_their_transaction_leave_the_chain_intact():
    append(2)
    with pytest.raises(RuntimeError), transaction.atomic():
        append(3)
        raise RuntimeError("the change the events recorded failed")
    append(1)
    assert list(AccessEvent.objects.values_list("chain", "seq")) == [(1, 1), (1, 2), (1, 3)]
    assert ledger.verify().ok


def test_a_persons_ledger_is_newest_first():
    append(2, subject_id=8)
    append(1, subject_id=9)
    append(1, subject_id=8)
    assert [e.purpose for e in ledger.events_for(8)] == ["purpose-0", "purpose-1", "purpose-0"]


def test_the_command_reports_tampering(capsys):
    events = append(3)
    call_command("ledger", "verify")
    assert "intact: 3 rows in 1 chain(s)" in capsys.readouterr().out
    AccessEvent.objects.filter(pk=events[1].pk).update(purpose="x")
    with pytest.raises(CommandError, match="altered at position 2"):
        call_command("ledger", "verify")


def only_on_postgres() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("concurrent appends are tested on PostgreSQL (SQLite serialises writers)")


def in_thread(work, errors: list[BaseException]):
    def run() -> None:
        try:
            work()
        except BaseException as error:  # pragma: no cover - reported by the test
            errors.append(error)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_stay_intact_chains(settings):
    only_on_postgres()
    settings.LEDGER_CHAINS = 4
    writers, per_writer = 8, 40
    barrier = threading.Barrier(writers)
    errors: list[BaseException] = []

    def write(n: int) -> None:
        barrier.wait()
        append(per_writer, subject_id=n)

    threads = [in_thread(lambda n=n: write(n), errors) for n in range(writers)]
    for thread in threads:
        thread.join()
    assert not errors
    result = ledger.verify()
    assert result.ok, result.problems
    assert result.checked == writers * per_writer
    # Each chain is gapless from 1; together they hold every row once; no more than 4 chains.
    positions: dict[int, list[int]] = {}
    for chain, seq in AccessEvent.objects.order_by("chain", "seq").values_list("chain", "seq"):
        positions.setdefault(chain, []).append(seq)
    assert set(positions) <= {1, 2, 3, 4}
    assert all(seqs == list(range(1, len(seqs) + 1)) for seqs in positions.values())
    assert sum(len(seqs) for seqs in positions.values()) == writers * per_writer

    # Every chain that moved gets its own checkpoint, and truncating any chain is caught.
    signed = ledger.checkpoint()
    assert sorted(cp.chain for cp in signed) == sorted(positions)
    last = max(positions, key=lambda chain: (chain, len(positions[chain])))
    AccessEvent.objects.filter(chain=last, seq=len(positions[last])).delete()
    result = ledger.verify()
    assert {(p.kind, p.chain, p.seq) for p in result.problems} == {
        ("deleted", last, len(positions[last]))
    }


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_open_transaction_does_not_hold_up_other_appends_and_commits_last():
    """A slow transaction holding its chain: another writer appends and commits meanwhile on
    another chain, a third rolls back; every committed event is in an intact chain."""
    only_on_postgres()
    ledger.append(**ROW, purpose="before")  # the chains' heads exist (made on first use)
    errors: list[BaseException] = []
    slow_appended, fast_done = threading.Event(), threading.Event()
    finished_while_slow_was_open: list[bool] = []

    def slow() -> None:
        with transaction.atomic():
            ledger.append(**ROW, purpose="slow")
            slow_appended.set()
            fast_done.wait(timeout=30)
            finished_while_slow_was_open.append(fast_done.is_set())

    def fast() -> None:
        slow_appended.wait(timeout=30)
        ledger.append(**ROW, purpose="fast")
        fast_done.set()

    def rolled_back() -> None:
        with pytest.raises(RuntimeError), transaction.atomic():
            ledger.append(**ROW, purpose="rolled-back")
            raise RuntimeError("undone")

    threads = [in_thread(slow, errors), in_thread(fast, errors)]
    for thread in threads:
        thread.join()
    in_thread(rolled_back, errors).join()
    assert not errors
    assert finished_while_slow_was_open == [True]
    rows = {e.purpose: e for e in AccessEvent.objects.all()}
    assert set(rows) == {"before", "slow", "fast"}
    assert rows["slow"].chain != rows["fast"].chain
    # The slow one was first to append and last to commit.
    assert rows["fast"].pk > rows["slow"].pk
    ledger.append(**ROW, purpose="after")
    result = ledger.verify()
    assert result.ok, result.problems
    assert result.checked == 4


def test_a_batch_continues_the_chain_as_appends_one_by_one_would():
    """`append_many` (on PostgreSQL one statement: the rows and the head's move) writes its
    rows in order at the end of one chain, each with its own id, and the chain verifies."""
    before = append(2)
    batch = ledger.append_many([{**ROW, "purpose": f"batch-{i}"} for i in range(3)])
    with transaction.atomic():
        after = ledger.append_many([{**ROW, "purpose": "alone"}])
    events = [*before, *batch, *after]
    chain = [e for e in events if e.chain == batch[0].chain]
    assert [e.seq for e in batch] == [batch[0].seq, batch[0].seq + 1, batch[0].seq + 2]
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(batch))
    assert len({e.pk for e in events}) == 6 and all(e.pk for e in events)
    stored = {e.pk: (e.seq, e.purpose, e.hash) for e in AccessEvent.objects.all()}
    assert all(stored[e.pk] == (e.seq, e.purpose, e.hash) for e in events)
    head = ledger.LedgerHead.objects.get(pk=chain[-1].chain)
    assert (head.seq, head.hash) == (chain[-1].seq, chain[-1].hash)
    assert ledger.verify().ok
