"""Every change to an allocation, an expenditure or an indicator value is written down with
who made it, for which agency, and why — in the same transaction as the change."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from .models import ChangeRecord


class ReasonMissing(ValueError):
    pass


def record(
    *,
    user_id: int | None,
    agency: str,
    record: str,
    key: str,
    action: str,
    reason: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> ChangeRecord:
    """Write one change record; a change without a reason is refused."""
    if not (reason or "").strip():
        raise ReasonMissing(_("Say why the change is made."))
    return ChangeRecord.objects.create(
        user_id=user_id,
        agency=agency or "",
        record=record,
        record_key=key,
        action=action,
        reason=reason.strip(),
        before=before,
        after=after,
    )
