"""What to watch when running at scale: three figures that say whether the background work
keeps up, read in a few small queries so a monitor may ask every few seconds.

- **queue depth**: tasks waiting for a worker, per queue (in Redis with the `redis` task
  backend, in the database with the embedded one). Growing: add workers for that queue.
- **outbox lag**: how long the oldest outbox event that is due has waited (seconds). Bundles'
  legs, notifications and webhooks all leave through the outbox: a lag that grows means the
  dispatcher (periodic tasks and workers) does not keep up, or is not running.
- **ledger checkpoint age**: how long the oldest access-ledger row not yet covered by a
  signed checkpoint has waited (seconds). Beyond `JOINEDUP_LEDGER_CHECKPOINT_SECONDS` plus
  `JOINEDUP_LEDGER_CHECKPOINT_SLACK_SECONDS`, `joinedup ledger verify --witness` reports
  those rows as unsigned: the signing has stopped or is late.

`joinedup.web.views.metrics` serves them as JSON to a monitor holding the metrics token.
"""

from __future__ import annotations

import datetime
from dataclasses import asdict, dataclass

from django.conf import settings
from django.db.models import Count, Min
from django.utils import timezone
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from joinedup.sharing.models import AccessEvent, LedgerCheckpoint, LedgerHead, OutboxEvent


@dataclass(frozen=True)
class Figures:
    """The figures a monitor reads; ages in seconds, 0 when nothing waits."""

    task_backend: str
    queue_depth: dict[str, int]
    outbox_due: int
    outbox_dead: int
    outbox_lag_seconds: float
    ledger_unsigned_chains: int
    ledger_checkpoint_age_seconds: float
    ledger_checkpoint_limit_seconds: int

    def as_json(self) -> dict:
        return asdict(self)


def queue_depth() -> dict[str, int]:
    """Tasks waiting for a worker, per queue."""
    if settings.TASK_BACKEND == "redis":
        # django_rq is an installed app only with the redis backend: imported only then.
        import django_rq  # installed only with the redis backend

        return {name: django_rq.get_queue(name).count for name in settings.RQ_QUEUES}
    if settings.TASK_BACKEND == "database":
        rows = (
            DBTaskResult.objects.filter(status=TaskResultStatus.READY)
            .values("queue_name")
            .annotate(waiting=Count("pk"))
        )
        depth = {"default": 0}
        depth.update({row["queue_name"]: row["waiting"] for row in rows})
        return depth
    return {}


def _age(since: datetime.datetime | None, now: datetime.datetime) -> float:
    return round(max(0.0, (now - since).total_seconds()), 3) if since else 0.0


def outbox_figures(now: datetime.datetime) -> tuple[int, int, float]:
    """(events due, dead letters, seconds the oldest due event has waited)."""
    due = OutboxEvent.objects.filter(
        status=OutboxEvent.Status.PENDING, next_attempt_at__lte=now
    ).aggregate(count=Count("pk"), oldest=Min("next_attempt_at"))
    dead = OutboxEvent.objects.filter(status=OutboxEvent.Status.DEAD).count()
    return due["count"], dead, _age(due["oldest"], now)


def ledger_figures(now: datetime.datetime) -> tuple[int, float]:
    """(chains with rows not yet signed, seconds the oldest of those rows has waited).

    One look-up per chain (a handful, `JOINEDUP_LEDGER_CHAINS`), each on an index.
    """
    oldest = None
    unsigned = 0
    for chain, seq in LedgerHead.objects.filter(seq__gt=0).values_list("pk", "seq"):
        signed = (
            LedgerCheckpoint.objects.filter(chain=chain)
            .order_by("-seq")
            .values_list("seq", flat=True)
            .first()
        ) or 0
        if signed >= seq:
            continue
        unsigned += 1
        first = (
            AccessEvent.objects.filter(chain=chain, seq=signed + 1)
            .values_list("occurred_at", flat=True)
            .first()
        )
        if first and (oldest is None or first < oldest):
            oldest = first
    return unsigned, _age(oldest, now)


def figures() -> Figures:
    now = timezone.now()
    due, dead, lag = outbox_figures(now)
    unsigned, age = ledger_figures(now)
    return Figures(
        task_backend=settings.TASK_BACKEND,
        queue_depth=queue_depth(),
        outbox_due=due,
        outbox_dead=dead,
        outbox_lag_seconds=lag,
        ledger_unsigned_chains=unsigned,
        ledger_checkpoint_age_seconds=age,
        ledger_checkpoint_limit_seconds=(
            settings.LEDGER_CHECKPOINT_SECONDS + settings.LEDGER_CHECKPOINT_SLACK_SECONDS
        ),
    )
