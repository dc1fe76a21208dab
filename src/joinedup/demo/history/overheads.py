"""Illustrative overheads: the shared costs each agency carries beyond its direct costs."""

from __future__ import annotations

import datetime
from collections import defaultdict

from joinedup.performance.models import OverheadPool, StaffCostRate, Transaction

from .run import HistoryRun, generator
from .transactions import BATCH


@generator("overheads", order=30, help="illustrative monthly overheads per agency")
def make_overheads(run: HistoryRun) -> int:
    """Illustrative monthly overheads per agency: about a fifth on top of direct costs; none
    when overheads are recorded already."""
    if OverheadPool.objects.exists():
        return 0
    first = run.first
    monthly = (
        Transaction.objects.filter(end_day__gte=first).values_list("agency", "end_day").order_by()
    )
    counts: dict[tuple[str, datetime.date], int] = defaultdict(int)
    for agency, end_day in monthly.iterator(chunk_size=BATCH):
        counts[(agency, end_day.replace(day=1))] += 1
    currency = {rate.agency: rate.currency for rate in StaffCostRate.objects.all() if rate.currency}
    created = OverheadPool.objects.bulk_create(
        OverheadPool(
            agency=agency,
            month=month,
            amount=count * 180,
            currency=currency.get(agency, ""),
            description="Shared IT and accommodation (illustrative)",
            illustrative=True,
        )
        for (agency, month), count in counts.items()
    )
    return len(created)
