"""Catalogue rows kept per process: read once, forgotten when a watched model is saved or
deleted in the process, and read again when the lifetime ends."""

from __future__ import annotations

import pytest

from joinedup import kept
from joinedup.sharing.models import DataCategory

pytestmark = pytest.mark.django_db


def _names() -> list[str]:
    return sorted(DataCategory.objects.values_list("key", flat=True))


def test_kept_until_a_watched_row_changes():
    keeper = kept.Kept("test.categories", (DataCategory,))
    reads = []

    def read():
        reads.append(1)
        return _names()

    first = keeper.get("all", read)
    assert keeper.get("all", read) == first and len(reads) == 1
    made = DataCategory.objects.create(key="kept-test", names={"en": "Kept"})
    assert "kept-test" in keeper.get("all", read) and len(reads) == 2
    made.delete()
    assert "kept-test" not in keeper.get("all", read) and len(reads) == 3
    # Not watched: a write that sends no signal is seen when the lifetime ends.
    DataCategory.objects.bulk_create([DataCategory(key="kept-bulk", names={"en": "Bulk"})])
    assert "kept-bulk" not in keeper.get("all", read)
    kept.forget_all()
    assert "kept-bulk" in keeper.get("all", read)


def test_an_answer_is_read_again_when_its_lifetime_ends():
    keeper = kept.Kept("test.short", (), seconds=0)
    reads = []
    keeper.get("k", lambda: reads.append(1))
    keeper.get("k", lambda: reads.append(1))
    assert len(reads) == 2
