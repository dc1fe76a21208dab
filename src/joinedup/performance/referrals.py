"""Referral measures: how well the loop closes, per receiving organisation and per place.

- time to accept: mean days from a referral sent to its acceptance (accepted ones only);
- closed with an outcome: referrals closed with an outcome out of those that ended (closed or
  declined) — a referral still open is not counted yet, so the share never exceeds 100 %;
- outcomes by service: how many referrals to each service ended in each outcome.

Why read care's records here rather than collect events: performance sits above care in the
import order, so it may read care's referrals directly; they are the one record of each
referral (its steps are written there by the engine's referral process), so a measure read
from them cannot drift from what the sender and the person see, and nothing is stored twice.
The queries group in the database: their count does not grow with the referrals.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Avg, Count, F, Q
from django.utils.translation import gettext as _

from joinedup.care.models import Referral
from joinedup.federation.models import Jurisdiction

from . import benchmarking, charts, measures

Status = Referral.Status


@dataclass(frozen=True)
class ReferralRow:
    """The measures of one receiving organisation in one place (a place of None: off the
    platform, or not known)."""

    organisation: str
    place: str | None
    sent: int
    accepted: int
    ended: int
    closed_with_outcome: int
    days_to_accept: float | None

    @property
    def closed_with_outcome_share(self) -> float | None:
        return measures.share(self.closed_with_outcome, self.ended)


def _since(since: datetime.date | None):
    return Referral.objects.filter(sent_at__date__gte=since) if since else Referral.objects.all()


def by_organisation_and_place(since: datetime.date | None = None) -> list[ReferralRow]:
    """One row per receiving organisation and place (the place the engine routed it to)."""
    rows = (
        _since(since)
        .values("service__organization__name", "application__place__code")
        .annotate(
            sent=Count("pk"),
            accepted=Count("pk", filter=Q(accepted_at__isnull=False)),
            ended=Count("pk", filter=Q(status__in=[Status.CLOSED, Status.DECLINED])),
            closed_with_outcome=Count("pk", filter=Q(status=Status.CLOSED) & ~Q(outcome="")),
            to_accept=Avg(F("accepted_at") - F("sent_at")),
        )
        .order_by("service__organization__name", "application__place__code")
    )
    return [
        ReferralRow(
            organisation=row["service__organization__name"],
            place=row["application__place__code"],
            sent=row["sent"],
            accepted=row["accepted"],
            ended=row["ended"],
            closed_with_outcome=row["closed_with_outcome"],
            days_to_accept=_days(row["to_accept"]),
        )
        for row in rows
    ]


def outcomes_by_service(since: datetime.date | None = None) -> dict[str, dict[str, int]]:
    """{service name: {outcome: referrals}} for the referrals closed with an outcome."""
    found: dict[str, dict[str, int]] = {}
    rows = (
        _since(since)
        .filter(status=Status.CLOSED)
        .exclude(outcome="")
        .values("service__name", "outcome")
        .annotate(n=Count("pk"))
        .order_by("service__name", "outcome")
    )
    for row in rows:
        found.setdefault(row["service__name"], {})[row["outcome"]] = row["n"]
    return found


def _days(value) -> float | None:
    if value is None:
        return None
    if isinstance(value, datetime.timedelta):
        return value.total_seconds() / 86400
    return float(value) / 86_400_000_000  # SQLite answers microseconds


def page(since: datetime.date | None = None) -> dict:
    """The public page's figures: per organisation and place, a figure resting on fewer
    referrals than the publication minimum is left out (as on every public page)."""
    rows = by_organisation_and_place(since)
    places = {j.code: j.name for j in Jurisdiction.objects.filter(code__in={r.place for r in rows})}
    table = []
    for row in rows:
        hidden = benchmarking.is_suppressed(row.sent)
        share = (
            None
            if hidden or benchmarking.is_suppressed(row.ended)
            else row.closed_with_outcome_share
        )
        table.append(
            {
                "organisation": row.organisation,
                "place": places.get(row.place) or row.place or _("off the platform"),
                "sent": "—" if hidden else row.sent,
                "accepted": "—" if hidden else row.accepted,
                "days_to_accept": "—"
                if hidden or row.days_to_accept is None
                else f"{row.days_to_accept:.1f}",
                "closed_share": "—" if share is None else f"{share * 100:.0f} %",
                "share": share,
            }
        )
    chart = charts.bar_chart(
        "chart-referrals",
        _("Referrals closed with an outcome, by organisation and place"),
        [f"{r['organisation']} — {r['place']}" for r in table],
        [r["share"] for r in table],
        _("Closed with an outcome") + " (%)",
        _(
            "Each bar is the share of an organisation's referrals in a place that ended with "
            "an outcome reported, of those that ended (closed or declined); organisations with "
            "too few referrals to publish have no bar."
        ),
    )
    outcomes = {
        service: counts
        for service, counts in outcomes_by_service(since).items()
        if not benchmarking.is_suppressed(sum(counts.values()))
    }
    labels = dict(Referral.Outcome.choices)
    return {
        "rows": table,
        "chart": chart,
        "outcomes": [
            (service, [(str(labels.get(k, k)), n) for k, n in counts.items()])
            for service, counts in outcomes.items()
        ],
        "min_count": settings.PERFORMANCE_MIN_COUNT,
    }
