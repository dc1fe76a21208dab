"""The last step of a history: the monthly rollups, rebuilt from the facts just written."""

from __future__ import annotations

from joinedup.performance import rollups

from .run import HistoryRun, generator


@generator("rollups", order=90, help="the monthly rollups, rebuilt", atomic=False)
def rebuild_rollups(run: HistoryRun) -> int:
    rollups.recompute_rollups()
    return 0
