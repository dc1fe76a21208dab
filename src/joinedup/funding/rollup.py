"""The explorer's rollup of expenditure lines: kept on every write, rebuilt after bulk loads.

Each write that changes spending (a line reported or replaced, an allocation moved to another
program, place, year or publication) adds its difference to the rollup rows it touches,
inside the writer's transaction: an `UPDATE ... SET cents = cents + d` serialises concurrent
writers on the row, so two reports never lose each other's cents. Bulk loads that bypass the
rules (COPY) call `rebuild()` afterwards, which recomputes the whole table from the lines in
one statement. `check()` compares the two and is what the tests and the benchmark use to
show the rollup equals the lines.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import BigIntegerField, Count, F, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Cast, Coalesce, Round

from joinedup.federation.models import Agency, Jurisdiction

from .models import Allocation, Expenditure, SpendingRollup


@dataclass(frozen=True)
class Key:
    """Where an allocation's spending is counted in the rollup."""

    program_id: int
    place_path: str
    fiscal_year: int
    published: bool


def place_path(allocation: Allocation) -> str:
    """Where the allocation's money is spent, as a path ('' if nowhere): the path kept on
    the allocation when it was saved (`Allocation.where_spent`)."""
    return allocation.place_path


def key_of(allocation: Allocation) -> Key:
    return Key(
        allocation.program_id, place_path(allocation), allocation.fiscal_year, allocation.published
    )


def cents(amount) -> int:
    return int((amount * 100).to_integral_value())


def add(key: Key, phase: str, *, cents: int, fte_hundredths: int, lines: int) -> None:
    """Add a difference to one rollup row, creating it when it is the first of its kind."""
    if not (cents or fte_hundredths or lines):
        return
    rows = SpendingRollup.objects.filter(
        program_id=key.program_id,
        place_path=key.place_path,
        fiscal_year=key.fiscal_year,
        phase=phase,
        published=key.published,
    )
    changes = {
        "cents": F("cents") + cents,
        "fte_hundredths": F("fte_hundredths") + fte_hundredths,
        "lines": F("lines") + lines,
    }
    if rows.update(**changes):
        return
    try:
        with transaction.atomic():
            SpendingRollup.objects.create(
                program_id=key.program_id,
                place_path=key.place_path,
                fiscal_year=key.fiscal_year,
                phase=phase,
                published=key.published,
                cents=cents,
                fte_hundredths=fte_hundredths,
                lines=lines,
            )
    except IntegrityError:
        # Another writer created the row between our update and insert: add to theirs.
        rows.update(**changes)


def _by_phase(allocation_id: int) -> dict[str, dict[str, int]]:
    grouped = (
        Expenditure.objects.filter(allocation_id=allocation_id)
        .values("phase")
        .annotate(
            c=Sum(Cast(Round(F("amount") * 100), output_field=BigIntegerField())),
            f=Sum(Cast(Round(F("ftes") * 100), output_field=BigIntegerField())),
            n=Count("pk"),
        )
        .order_by()
    )
    return {
        row["phase"]: {"c": row["c"] or 0, "f": row["f"] or 0, "n": row["n"]} for row in grouped
    }


def move(allocation_id: int, before: Key | None, after: Key) -> None:
    """An allocation's spending leaves the rollup rows of `before` for those of `after`
    (its program, place, fiscal year or publication changed)."""
    if before is None or before == after:
        return
    for phase, sums in _by_phase(allocation_id).items():
        add(before, phase, cents=-sums["c"], fte_hundredths=-sums["f"], lines=-sums["n"])
        add(after, phase, cents=sums["c"], fte_hundredths=sums["f"], lines=sums["n"])


def _from_lines() -> QuerySet:
    """The rollup as it should be, computed from every expenditure line (one grouped query)."""
    return (
        Expenditure.objects.annotate(
            r_program=F("allocation__program_id"),
            r_place=F("allocation__place_path"),
            r_year=F("allocation__fiscal_year"),
            r_published=F("allocation__published"),
        )
        .values("r_program", "r_place", "r_year", "phase", "r_published")
        .annotate(
            c=Sum(Cast(Round(F("amount") * 100), output_field=BigIntegerField())),
            f=Sum(Cast(Round(F("ftes") * 100), output_field=BigIntegerField())),
            n=Count("pk"),
        )
        .order_by()
    )


def refresh_places() -> int:
    """Set every allocation's place path from its place or its recipient's jurisdiction, in
    one statement (after a bulk load, or when places moved); the number of rows changed."""
    place = Jurisdiction.objects.filter(pk=OuterRef("place_id")).values("path")[:1]
    home = Agency.objects.filter(pk=OuterRef("recipient_id")).values("jurisdiction__path")[:1]
    where = Coalesce(Subquery(place), Subquery(home), Value(""))
    return (
        Allocation.objects.annotate(where=where)
        .exclude(place_path=F("where"))
        .update(place_path=where)
    )


def rebuild() -> int:
    """Recompute the allocations' place paths, then the whole rollup from the lines, in one
    transaction; the number of rollup rows."""
    with transaction.atomic():
        refresh_places()
        SpendingRollup.objects.all().delete()
        rows = [
            SpendingRollup(
                program_id=r["r_program"],
                place_path=r["r_place"],
                fiscal_year=r["r_year"],
                phase=r["phase"],
                published=r["r_published"],
                cents=r["c"] or 0,
                fte_hundredths=r["f"] or 0,
                lines=r["n"],
            )
            for r in _from_lines().iterator(chunk_size=10_000)
        ]
        SpendingRollup.objects.bulk_create(rows, batch_size=5_000)
    return len(rows)


def differences() -> list[str]:
    """Rollup rows that differ from the lines, in words; empty when the rollup is true."""
    wanted: dict[tuple, tuple[int, int, int]] = defaultdict(lambda: (0, 0, 0))
    for r in _from_lines():
        key = (r["r_program"], r["r_place"], r["r_year"], r["phase"], r["r_published"])
        wanted[key] = (r["c"] or 0, r["f"] or 0, r["n"])
    held: dict[tuple, tuple[int, int, int]] = defaultdict(lambda: (0, 0, 0))
    for row in SpendingRollup.objects.exclude(Q(cents=0) & Q(fte_hundredths=0) & Q(lines=0)):
        key = (row.program_id, row.place_path, row.fiscal_year, row.phase, row.published)
        held[key] = (row.cents, row.fte_hundredths, row.lines)
    return [
        f"{key}: rollup {held[key]}, lines {wanted[key]}"
        for key in sorted(set(wanted) | set(held), key=str)
        if held[key] != wanted[key]
    ]


def _remember_old(sender, instance, **kwargs) -> None:
    if instance.pk:
        old = sender.objects.filter(pk=instance.pk).values(*_WATCHED[sender]).first()
        instance._rollup_before = old


def _rebuild_if_moved(sender, instance, created, **kwargs) -> None:
    old = getattr(instance, "_rollup_before", None)
    if created or old is None:
        return
    now = {name: getattr(instance, name) for name in _WATCHED[sender]}
    if now != old and Allocation.objects.exists():
        # A place renamed or moved, or a recipient moved to another place: rare, and the
        # paths of every allocation and rollup row under it change, so both are recomputed.
        rebuild()


_WATCHED: dict = {}


def follow_places() -> None:
    """Keep the rollup's place paths true when a jurisdiction or a recipient moves."""
    # Connected from the app's ready(): federation may not know about funding.
    from django.db.models.signals import post_save, pre_save

    from joinedup.federation.models import Agency, Jurisdiction

    _WATCHED[Jurisdiction] = ("path",)
    _WATCHED[Agency] = ("jurisdiction_id",)
    for model in _WATCHED:
        pre_save.connect(_remember_old, sender=model, dispatch_uid=f"funding-rollup-{model}")
        post_save.connect(
            _rebuild_if_moved, sender=model, dispatch_uid=f"funding-rollup-{model}-after"
        )
