"""The ledger's witnesses: every tampering of a copy of the database is found by
`joinedup ledger verify --witness`, which names its kind.

The ledger of each case: rows 1–4, a checkpoint signed in the middle (position 4), rows 5–8
after it, and the checkpoint the signer made of them (position 8), each published to a file
witness as it was signed. The checkpoint interval is set to zero for the verification (as if
it ran after the interval had passed): a row no checkpoint covers is then overdue.
"""

from __future__ import annotations

import datetime
import json
import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from joinedup.sharing import ledger, schedule, witness
from joinedup.sharing.models import AccessEvent, LedgerCheckpoint, LedgerHead

pytestmark = pytest.mark.django_db


def append(n: int, start: int = 0) -> list[AccessEvent]:
    return [
        ledger.append(
            subject_id=7,
            actor_user_id=1,
            actor_agency="esdc",
            actor_role="caseworker",
            holder_agency="serviceontario",
            action="read",
            categories=["identity"],
            fields=["given_names"],
            purpose=f"purpose-{start + i}",
            legal_basis="statute",
            outcome="disclosed",
        )
        for i in range(n)
    ]


@pytest.fixture
def signed_ledger(settings, ledger_witness) -> Path:
    """Rows 1–8 on chain 1, checkpoints at 4 (the middle) and 8, both witnessed."""
    append(4)
    (middle,) = ledger.checkpoint()
    append(4, start=4)
    (last,) = ledger.checkpoint()
    assert [(cp.chain, cp.seq) for cp in (middle, last)] == [(1, 4), (1, 8)]
    assert len(list(ledger_witness.glob("chain-00001/*.sth.json"))) == 2
    settings.LEDGER_CHECKPOINT_SECONDS = 0
    settings.LEDGER_CHECKPOINT_SLACK_SECONDS = 0
    return ledger_witness


# --- The tamperings, as someone with write access to the database would do them ------------


def rows() -> list[AccessEvent]:
    return list(AccessEvent.objects.filter(chain=1).order_by("seq"))


def row(seq: int) -> AccessEvent:
    return AccessEvent.objects.get(chain=1, seq=seq)


def rebuild() -> None:
    """Recompute every hash of chain 1 from the start, and move its head to the end."""
    prev, seq = ledger.GENESIS, 0
    for event in rows():
        event.prev_hash = prev
        event.hash = ledger.row_hash(prev, event)
        event.save()
        prev, seq = event.hash, event.seq
    LedgerHead.objects.filter(pk=1).update(seq=seq, hash=prev)


def renumber() -> None:
    """Close the gaps in chain 1's positions (ascending: positions are unique)."""
    for n, event in enumerate(rows(), start=1):
        if event.seq != n:
            AccessEvent.objects.filter(pk=event.pk).update(seq=n)


def move_head_to_last_row() -> None:
    last = rows()[-1] if rows() else None
    LedgerHead.objects.filter(pk=1).update(
        seq=last.seq if last else 0, hash=last.hash if last else ledger.GENESIS
    )


def alter(seq: int) -> None:
    AccessEvent.objects.filter(chain=1, seq=seq).update(purpose="something-else")


def alter_and_rehash(seq: int) -> None:
    event = row(seq)
    event.actor_agency = "someone-else"
    event.hash = ledger.row_hash(event.prev_hash, event)
    event.save()


def alter_and_rebuild(seq: int) -> None:
    alter(seq)
    rebuild()


def delete(*seqs: int) -> None:
    AccessEvent.objects.filter(chain=1, seq__in=seqs).delete()


def delete_last_and_move_head() -> None:
    delete(8)
    move_head_to_last_row()


def delete_after_checkpoint_and_move_head() -> None:
    delete(5, 6, 7, 8)
    move_head_to_last_row()


def delete_renumber_rebuild() -> None:
    delete(6)
    renumber()
    rebuild()


def wipe(checkpoints: bool) -> None:
    AccessEvent.objects.all().delete()
    LedgerHead.objects.all().delete()
    if checkpoints:
        LedgerCheckpoint.objects.all().delete()


def delete_middle_checkpoint() -> None:
    LedgerCheckpoint.objects.filter(chain=1, seq=4).delete()


def forged(seq: int, prev_hash: str) -> AccessEvent:
    """A row copied from a real one (its time too), hashed onto `prev_hash`."""
    event = row(3)
    event.pk, event.seq, event.prev_hash = None, seq, prev_hash
    event.actor_agency, event.purpose = "intruder", "cover-up"
    event.hash = ledger.row_hash(prev_hash, event)
    return event


def insert_in_the_middle_and_rebuild() -> None:
    intruder = forged(3, row(2).hash)
    for event in reversed(rows()[2:]):
        AccessEvent.objects.filter(pk=event.pk).update(seq=event.seq + 1)
    intruder.save(force_insert=True)
    rebuild()


def append_forged(move_head: bool) -> None:
    event = forged(9, row(8).hash)
    event.save(force_insert=True)
    if move_head:
        LedgerHead.objects.filter(pk=1).update(seq=event.seq, hash=event.hash)


def alter_checkpoint(**values: object) -> None:
    LedgerCheckpoint.objects.filter(chain=1, seq=4).update(**values)


def change_time(seq: int) -> None:
    event = row(seq)
    AccessEvent.objects.filter(pk=event.pk).update(
        occurred_at=event.occurred_at - datetime.timedelta(days=3)
    )


def move_to_chain_2(seq: int) -> None:
    AccessEvent.objects.filter(chain=1, seq=seq).update(chain=2)


def without_checkpoints(then: Callable[[], None]) -> Callable[[], None]:
    def tamper() -> None:
        LedgerCheckpoint.objects.all().delete()
        then()

    return tamper


#: (name, tampering, the kind verify must name, words of its message)
TAMPERINGS = [
    ("alter a row before the checkpoint", lambda: alter(2), "altered", "does not match its hash"),
    ("alter a row after it", lambda: alter(6), "altered", "does not match its hash"),
    (
        "alter a row and recompute its own hash",
        lambda: alter_and_rehash(6),
        "altered",
        "no longer links to it",
    ),
    (
        "alter a row and rebuild the chain and head",
        lambda: alter_and_rebuild(2),
        "altered",
        "differs from the checkpoint the witness",
    ),
    (
        "alter a row after the checkpoint and rebuild the chain and head",
        lambda: alter_and_rebuild(6),
        "altered",
        "differs from the checkpoint the witness",
    ),
    ("delete a row", lambda: delete(6), "deleted", "rows between position 5 and 7 are missing"),
    ("delete the last row", lambda: delete(8), "deleted", "its head says 8"),
    (
        "delete the last row and move the head back",
        delete_last_and_move_head,
        "truncated",
        "fewer than the 8",
    ),
    (
        "delete every row after the checkpoint and move the head back",
        delete_after_checkpoint_and_move_head,
        "truncated",
        "the chain holds 4 rows",
    ),
    (
        "delete a row, renumber and rebuild",
        delete_renumber_rebuild,
        "truncated",
        "the chain holds 7 rows",
    ),
    (
        "delete all rows, heads and checkpoints",
        lambda: wipe(checkpoints=True),
        "checkpoint-missing",
        "that the database does not",
    ),
    (
        "delete all rows and heads but keep the checkpoints",
        lambda: wipe(checkpoints=False),
        "truncated",
        "the chain holds 0 rows",
    ),
    (
        "delete the checkpoint only",
        delete_middle_checkpoint,
        "checkpoint-missing",
        "that the database does not",
    ),
    (
        "insert a forged row in the middle and rebuild",
        insert_in_the_middle_and_rebuild,
        "altered",
        "differs from the checkpoint the witness",
    ),
    (
        "append a forged row with a valid hash and move the head",
        lambda: append_forged(move_head=True),
        "unsigned",
        "no signed checkpoint covers this row",
    ),
    (
        "append a forged row without moving the head",
        lambda: append_forged(move_head=False),
        "inserted",
        "added outside the ledger",
    ),
    (
        "alter a checkpoint's hash",
        lambda: alter_checkpoint(hash="f" * 64),
        "checkpoint",
        "signature is not valid",
    ),
    (
        "alter a checkpoint's position",
        lambda: alter_checkpoint(seq=3),
        "checkpoint",
        "signature is not valid",
    ),
    ("change a row's time", lambda: change_time(3), "altered", "does not match its hash"),
    (
        "move a row to another chain",
        lambda: move_to_chain_2(6),
        "deleted",
        "rows between position 5 and 7 are missing",
    ),
    (
        "delete the checkpoints, then alter a row and rebuild",
        without_checkpoints(lambda: alter_and_rebuild(2)),
        "altered",
        "differs from the checkpoint the witness",
    ),
    (
        "delete the checkpoints, then delete a row, renumber and rebuild",
        without_checkpoints(delete_renumber_rebuild),
        "truncated",
        "the chain holds 7 rows",
    ),
]


def test_the_untouched_ledger_verifies_against_its_witness(signed_ledger, capsys):
    call_command("ledger", "verify", "--witness", str(signed_ledger))
    out = capsys.readouterr().out
    assert "intact: 8 rows in 1 chain(s), 2 signed checkpoints" in out
    assert f"file:{signed_ledger}" in out


@pytest.mark.parametrize(
    ("tamper", "kind", "words"),
    [pytest.param(t, k, w, id=name) for name, t, k, w in TAMPERINGS],
)
def test_each_tampering_is_found_and_named(signed_ledger, capsys, tamper, kind, words):
    tamper()
    with pytest.raises(CommandError, match="The ledger was tampered with"):
        call_command("ledger", "verify", "--witness", str(signed_ledger))
    reported = capsys.readouterr().err.splitlines()
    assert any(line.startswith(f"{kind} ") and words in line for line in reported), reported


def test_there_are_twenty_two_tamperings():
    assert len({name for name, *_ in TAMPERINGS}) == 22


# --- The witness itself ----------------------------------------------------------------------


def test_a_witness_keeps_one_read_only_file_per_checkpoint_and_never_rewrites_it(
    signed_ledger,
):
    files = sorted(signed_ledger.glob("chain-00001/*.sth.json"))
    assert [f.name.split("-")[0] for f in files] == ["000000000004", "000000000008"]
    assert all(not f.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH) for f in files)
    kept = json.loads(files[0].read_bytes())
    assert (kept["chain"], kept["tree_size"]) == (1, 4)
    assert kept["root_hash"] == row(4).hash
    # The signature covers RFC 9162's TreeHeadDataV2: timestamp, tree size, root, extensions.
    tbs = witness.TreeHead.from_json(files[0].read_bytes()).tbs()
    assert tbs[8:16] == (4).to_bytes(8, "big")
    assert tbs[16] == 32 and tbs[17:49].hex() == kept["root_hash"]

    other = witness.TreeHead.from_json(files[0].read_bytes())
    other = witness.TreeHead(**{**other.__dict__, "root_hash": "e" * 64})
    with pytest.raises(witness.WitnessError, match="never rewritten"):
        witness.FileWitness(str(signed_ledger)).publish(other)
    assert json.loads(files[0].read_bytes()) == kept


def test_a_forged_tree_head_in_the_witness_is_reported(signed_ledger, capsys):
    path = next(signed_ledger.glob("chain-00001/000000000008-*.sth.json"))
    data = json.loads(path.read_bytes())
    data["root_hash"] = "a" * 64
    os.chmod(path, 0o644)
    path.write_text(json.dumps(data))
    with pytest.raises(CommandError):
        call_command("ledger", "verify", "--witness", str(signed_ledger))
    assert "witness at position 8 of chain 1: the witness" in capsys.readouterr().err


def test_a_checkpoint_no_witness_kept_is_not_kept_either(settings, tmp_path):
    append(2)
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    settings.LEDGER_WITNESSES = [f"file:{blocker}"]
    with pytest.raises(witness.WitnessError):
        ledger.checkpoint()
    assert not LedgerCheckpoint.objects.exists()


def test_rows_newer_than_the_interval_are_the_tamper_window(settings, signed_ledger):
    settings.LEDGER_CHECKPOINT_SECONDS = 5
    settings.LEDGER_CHECKPOINT_SLACK_SECONDS = 10
    (fresh,) = append(1, start=8)
    places = [witness.witness(str(signed_ledger))]
    assert ledger.verify(witnesses=places).ok  # a checkpoint is not due yet
    later = fresh.occurred_at + datetime.timedelta(seconds=16)
    problems = ledger.verify(witnesses=places, now=later).problems
    assert [(p.kind, p.seq) for p in problems] == [("unsigned", 9)]
    ledger.checkpoint()
    assert ledger.verify(witnesses=places, now=later).ok


def test_witness_settings(settings, tmp_path):
    assert isinstance(witness.witness(str(tmp_path)), witness.FileWitness)
    assert witness.witness(f"file:{tmp_path}").location == str(tmp_path)
    place = witness.witness(f"joinedup.sharing.witness.FileWitness:{tmp_path}")
    assert isinstance(place, witness.FileWitness)
    with pytest.raises(Exception, match="unknown witness kind 's3'"):
        witness.witness("s3:bucket")
    settings.LEDGER_WITNESSES = []
    settings.DATA_DIR = tmp_path
    assert [str(w) for w in witness.configured()] == [f"file:{tmp_path / 'ledger-witness'}"]
    settings.SECURE = True
    with pytest.raises(Exception, match="must name at least one witness"):
        witness.configured()


# --- Signing runs where the platform runs -----------------------------------------------------


def checkpoint_tasks() -> int:
    return DBTaskResult.objects.filter(task_path=schedule.checkpoint_ledger.module_path).count()


def test_appends_ask_the_task_worker_for_a_checkpoint(
    django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setattr(ledger, "_next_call", 0.0)
    with django_capture_on_commit_callbacks(execute=True):
        append(3)
    assert checkpoint_tasks() == 1  # once per interval, not once per append
    schedule.checkpoint_ledger.call()
    assert LedgerCheckpoint.objects.get().seq == 3


def test_the_periodic_tasks_sign_every_few_seconds_when_a_head_moved(
    settings, django_capture_on_commit_callbacks
):
    settings.LEDGER_CHECKPOINT_SECONDS = 5

    def run_due(seconds: int) -> list[str]:
        with django_capture_on_commit_callbacks(execute=True):
            return schedule.run_due(now + datetime.timedelta(seconds=seconds))

    now = timezone.now()
    assert "sharing.ledger-checkpoint" not in run_due(0)  # nothing appended: nothing to sign
    append(1)
    assert "sharing.ledger-checkpoint" in run_due(5)
    assert checkpoint_tasks() == 1
    ledger.checkpoint()
    assert "sharing.ledger-checkpoint" not in run_due(10)
    append(1)
    assert "sharing.ledger-checkpoint" in run_due(12)
    append(1)
    assert "sharing.ledger-checkpoint" not in run_due(14)  # not before the interval
    assert "sharing.ledger-checkpoint" in run_due(17)
    assert checkpoint_tasks() == 3


def test_the_command_checks_the_configured_witnesses_unless_told_not_to(
    signed_ledger, settings, tmp_path, capsys
):
    wipe(checkpoints=True)
    with pytest.raises(CommandError, match="checkpoint-missing at position 4 of chain 1"):
        call_command("ledger", "verify")
    call_command("ledger", "verify", "--no-witness")
    assert "intact: 0 rows in 0 chain(s), 0 signed checkpoints" in capsys.readouterr().out
    settings.LEDGER_WITNESSES = [f"file:{tmp_path / 'gone'}"]
    with pytest.raises(CommandError, match=r"witness: the witness file:.*gone is not a directory"):
        call_command("ledger", "verify")


def test_a_checkpoint_still_committing_is_not_missing_but_one_never_committed_is(
    settings, ledger_witness
):
    """A checkpoint is published, then committed: just signed, it may be at the witness and
    not yet in the database. Past the slack, a witnessed checkpoint the database lacks is
    reported (here its transaction failed; normally, someone deleted it)."""
    settings.LEDGER_CHECKPOINT_SLACK_SECONDS = 10
    append(2)
    with pytest.raises(RuntimeError), transaction.atomic():
        ledger.checkpoint()
        raise RuntimeError("the commit failed")
    places = [witness.witness(str(ledger_witness))]
    assert len(list(ledger_witness.glob("chain-*/*.sth.json"))) == 1
    assert ledger.verify(witnesses=places).ok
    settings.LEDGER_CHECKPOINT_SLACK_SECONDS = 0
    problems = ledger.verify(witnesses=places).problems
    assert [(p.kind, p.seq) for p in problems] == [("checkpoint-missing", 2)]
