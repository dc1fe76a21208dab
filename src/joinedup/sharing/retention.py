"""Retention: data of each category is kept for its period, then deleted or anonymised.

Each app registers what it keeps with `register_retention`: which category, and how to find
the records whose period has run out. `apply_retention` (a periodic task) applies the
category's current period and action, and records what it did in `RetentionRecord` (and as
an `org.joinedup.retention.applied` event). The access ledger itself is never shortened.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from joinedup.identity.models import Address

from . import outbox
from .categories import DEFAULT_CATEGORIES
from .models import DataCategory, OutboxEvent, RetentionRecord

Finder = Callable[[datetime.datetime], QuerySet]


@dataclass(frozen=True)
class RetentionRule:
    name: str
    category: str
    #: The records whose retention period ended before the cut-off.
    expired: Finder
    #: Anonymise them in place and return how many; None when they can only be deleted.
    anonymise: Callable[[QuerySet], int] | None = None


_RULES: dict[str, RetentionRule] = {}


def register_retention(rule: RetentionRule) -> RetentionRule:
    _RULES[rule.name] = rule
    return rule


def registered() -> list[RetentionRule]:
    return sorted(_RULES.values(), key=lambda r: r.name)


def _period(category: str) -> tuple[int | None, str]:
    row = DataCategory.objects.filter(key=category).first()
    if row is not None:
        return row.retention_days, row.retention_action
    default = DEFAULT_CATEGORIES.get(category)
    return (default[3], default[4]) if default else (None, "delete")


def apply_retention(now: datetime.datetime | None = None) -> list[RetentionRecord]:
    """Delete or anonymise what has expired, rule by rule, and record it."""
    now = now or timezone.now()
    records = []
    for rule in registered():
        days, action = _period(rule.category)
        if days is None:
            continue
        cutoff = now - datetime.timedelta(days=days)
        with transaction.atomic():
            expired = rule.expired(cutoff)
            if action == DataCategory.RetentionAction.ANONYMISE and rule.anonymise:
                count = rule.anonymise(expired)
            else:
                action = DataCategory.RetentionAction.DELETE
                count = expired.count()
                expired.delete()
            record = RetentionRecord.objects.create(
                run_at=now,
                category=rule.category,
                rule=rule.name,
                action=action,
                cutoff=cutoff,
                count=count,
            )
            if count:
                outbox.emit(
                    "org.joinedup.retention.applied",
                    source="/joinedup/sharing/retention",
                    data={
                        "rule": rule.name,
                        "category": rule.category,
                        "action": action,
                        "count": count,
                        "cutoff": cutoff.isoformat(),
                    },
                )
        records.append(record)
    return records


# --- What the client registry and the outbox keep -----------------------------------------

register_retention(
    RetentionRule(
        name="identity.past-addresses",
        category="address",
        expired=lambda cutoff: Address.objects.filter(valid_to__lt=cutoff.date()),
    )
)


def _anonymise_events(events: QuerySet) -> int:
    return events.update(data={}, subject="")


register_retention(
    RetentionRule(
        name="sharing.delivered-events",
        category="events",
        expired=lambda cutoff: (
            OutboxEvent.objects.filter(time__lt=cutoff)
            .exclude(status=OutboxEvent.Status.PENDING)
            .exclude(data={}, subject="")
        ),
        anonymise=_anonymise_events,
    )
)
