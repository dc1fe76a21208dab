"""Background linking: records loaded through the API are linked right after their load
commits, by a worker, with the stored model (Splink loads in the worker, not the web)."""

from __future__ import annotations

from django.db import transaction
from django_tasks import task


@task()
def link_records(record_ids: list[int]) -> int:
    """Link these new or changed records against the existing clusters."""
    # Splink is imported by the worker running this task, never by the web process.
    from .runs import link_new

    run = link_new(record_ids)
    return run.pk if run else 0


def link_soon(record_ids: list[int]) -> None:
    """Enqueue the link once the load's transaction has committed."""
    ids = list(record_ids)
    transaction.on_commit(lambda: link_records.enqueue(ids))
