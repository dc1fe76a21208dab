"""The measured effect of a change that a consultation produced, from the platform itself.

For a **new service version**, the applications for the service on earlier versions received
in the `WINDOW` before the version was deployed are compared with those on the new version
(or a later one) received since, up to `WINDOW` after. For a **bundle edit**, the
applications made by the bundle's submissions (its legs) received before and after the
change was linked (the definition changed then). A pilot is measured by its own
evaluation: nothing here.

Each side gives: applications received, applications finished, the share finished within
the service standard (of those that had one), the share sent back for more information
(rework), the share held up for staff attention (errors). One aggregate query per side,
whatever the number of applications.
"""

from __future__ import annotations

import datetime
from dataclasses import asdict, dataclass

from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from joinedup.delivery.models import Application, ApplicationStatus

from .models import Change

#: How far before and after the change applications are compared.
WINDOW = datetime.timedelta(days=90)


@dataclass
class Side:
    """The applications on one side of the change."""

    received: int = 0
    finished: int = 0
    with_standard: int = 0
    met_standard: int = 0
    rework: int = 0
    held_up: int = 0

    @property
    def within_standard(self) -> float | None:
        return self.met_standard / self.with_standard if self.with_standard else None

    @property
    def rework_share(self) -> float | None:
        return self.rework / self.received if self.received else None

    @property
    def held_up_share(self) -> float | None:
        return self.held_up / self.received if self.received else None


@dataclass
class Effect:
    since: datetime.datetime
    until: datetime.datetime
    before: Side
    after: Side

    def as_data(self) -> dict:
        """What is kept with the change when its effect is recorded."""
        return {
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "before": asdict(self.before),
            "after": asdict(self.after),
        }

    @classmethod
    def from_data(cls, data: dict) -> Effect | None:
        if not data:
            return None
        return cls(
            since=datetime.datetime.fromisoformat(data["since"]),
            until=datetime.datetime.fromisoformat(data["until"]),
            before=Side(**data["before"]),
            after=Side(**data["after"]),
        )


def _side(applications: QuerySet[Application]) -> Side:
    row = applications.aggregate(
        received=Count("id", distinct=True),
        finished=Count("id", filter=Q(completed_at__isnull=False), distinct=True),
        with_standard=Count("id", filter=Q(met_standard__isnull=False), distinct=True),
        met_standard=Count("id", filter=Q(met_standard=True), distinct=True),
        rework=Count("id", filter=Q(work_items__decision="request_information"), distinct=True),
        held_up=Count(
            "id", filter=Q(timeline__to_status=ApplicationStatus.NEEDS_ATTENTION), distinct=True
        ),
    )
    return Side(**{key: value or 0 for key, value in row.items()})


def measure(change: Change, at: datetime.datetime | None = None) -> Effect | None:
    """The change's effect measured now (None for a pilot, which the platform cannot
    measure)."""
    at = at or timezone.now()
    if change.kind == Change.Kind.SERVICE_VERSION and change.service_version_id:
        version = change.service_version
        moment = version.deployed_at
        mine = Application.objects.filter(service_id=version.service_id)
        before = mine.filter(version__number__lt=version.number)
        after = mine.filter(version__number__gte=version.number)
    elif change.kind == Change.Kind.BUNDLE_EDIT and change.bundle_id:
        moment = change.linked_at
        before = after = Application.objects.filter(bundle_leg__submission__bundle=change.bundle_id)
    else:
        return None
    until = min(at, moment + WINDOW)
    return Effect(
        since=moment,
        until=until,
        before=_side(before.filter(submitted_at__gte=moment - WINDOW, submitted_at__lt=moment)),
        after=_side(after.filter(submitted_at__gte=moment, submitted_at__lt=until)),
    )


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{number_format(round(value * 100, 1), 1, use_l10n=True)} %"


def _points(before: float | None, after: float | None) -> str:
    if before is None or after is None:
        return ""
    change = (after - before) * 100
    sign = "+" if change >= 0 else "−"
    return _("%(sign)s%(points)s points") % {
        "sign": sign,
        "points": number_format(round(abs(change), 1), 1, use_l10n=True),
    }


def rows(effect: Effect) -> list[list[str]]:
    """The effect as a table: measure, before, after, change."""
    b, a = effect.before, effect.after
    return [
        [_("Applications received"), str(b.received), str(a.received), ""],
        [_("Applications finished"), str(b.finished), str(a.finished), ""],
        [
            _("Finished within the service standard"),
            _pct(b.within_standard),
            _pct(a.within_standard),
            _points(b.within_standard, a.within_standard),
        ],
        [
            _("Sent back for more information"),
            _pct(b.rework_share),
            _pct(a.rework_share),
            _points(b.rework_share, a.rework_share),
        ],
        [
            _("Held up for staff attention"),
            _pct(b.held_up_share),
            _pct(a.held_up_share),
            _points(b.held_up_share, a.held_up_share),
        ],
    ]


def summary(effect: Effect) -> str:
    """One sentence for a digest: the share within the standard before and after."""
    b, a = effect.before, effect.after
    return _(
        "%(after_count)s applications since the change, %(before_count)s in as long before; "
        "within the service standard: %(before)s before, %(after)s after."
    ) % {
        "after_count": a.received,
        "before_count": b.received,
        "before": _pct(b.within_standard),
        "after": _pct(a.within_standard),
    }
