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

**Could it be chance?** (`significance`, from the figures alone, so it is the same whether
measured now or read from what was recorded.) Applications received are compared as rates
per day (the windows may differ in length): given the total, the number after the change is
binomial with the after window's share of the time under equal rates — the exact
conditional test of two Poisson rates, with the rate ratio's exact 95 % confidence interval.
The share finished within the standard is compared with Fisher's exact test, and the
difference in points is given with Newcombe's 95 % confidence interval.
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

    @property
    def days_before(self) -> float:
        return WINDOW.total_seconds() / 86400

    @property
    def days_after(self) -> float:
        return max((self.until - self.since).total_seconds(), 0) / 86400

    def as_data(self) -> dict:
        """What is kept with the change when its effect is recorded, with the tests."""
        return {
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "before": asdict(self.before),
            "after": asdict(self.after),
            "significance": asdict(significance(self)),
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


#: The level below which a difference is called statistically significant.
ALPHA = 0.05


@dataclass
class Significance:
    """The tests of a measured effect; None where a side has nothing to compare."""

    rate_before: float | None = None  # applications a day
    rate_after: float | None = None
    rate_ratio: float | None = None
    rate_low: float | None = None
    rate_high: float | None = None  # None when unbounded
    rate_p: float | None = None
    standard_difference: float | None = None  # after − before, a share (0.1 = 10 points)
    standard_low: float | None = None
    standard_high: float | None = None
    standard_p: float | None = None


def rate_test(before: int, days_before: float, after: int, days_after: float) -> dict:
    """The exact conditional test of two Poisson rates: given `before + after`, `after` is
    Binomial(n, days_after / (days_before + days_after)) when the rate did not change. The
    two-sided p-value and the rate ratio (after ÷ before) with its exact 95 % interval."""
    total = before + after
    if total == 0 or days_before <= 0 or days_after <= 0:
        return {}
    # Loaded when an effect is first tested, not when the web process starts (a second).
    from scipy import stats

    share = days_after / (days_before + days_after)
    result = stats.binomtest(after, total, share)
    low, high = result.proportion_ci(confidence_level=0.95, method="exact")
    scale = days_before / days_after

    def ratio(p: float) -> float | None:
        return None if p >= 1 else p / (1 - p) * scale

    return {
        "rate_before": before / days_before,
        "rate_after": after / days_after,
        "rate_ratio": None if before == 0 else (after / days_after) / (before / days_before),
        "rate_low": ratio(low),
        "rate_high": ratio(high),
        "rate_p": float(result.pvalue),
    }


def share_test(met_before: int, of_before: int, met_after: int, of_after: int) -> dict:
    """Fisher's exact test of the share within the standard before and after (two-sided),
    and the difference after − before with Newcombe's 95 % interval."""
    if not of_before or not of_after:
        return {}
    # Loaded when an effect is first tested, not when the web process starts (a second).
    from scipy import stats
    from statsmodels.stats.proportion import confint_proportions_2indep

    table = [[met_before, of_before - met_before], [met_after, of_after - met_after]]
    p_value = stats.fisher_exact(table, alternative="two-sided").pvalue
    low, high = confint_proportions_2indep(
        met_after, of_after, met_before, of_before, method="newcomb", compare="diff"
    )
    return {
        "standard_difference": met_after / of_after - met_before / of_before,
        "standard_low": float(low),
        "standard_high": float(high),
        "standard_p": float(p_value),
    }


def significance(effect: Effect) -> Significance:
    b, a = effect.before, effect.after
    return Significance(
        **rate_test(b.received, effect.days_before, a.received, effect.days_after),
        **share_test(b.met_standard, b.with_standard, a.met_standard, a.with_standard),
    )


def _number(value: float, digits: int = 2) -> str:
    return number_format(round(value, digits), digits, use_l10n=True)


def _p(value: float) -> str:
    """A p-value as people read it: below 0.001 is said so."""
    if value < 0.001:
        return _("less than %(p)s") % {"p": _number(0.001, 3)}
    return _number(value, 3)


def _signed_points(value: float) -> str:
    sign = "+" if value >= 0 else "−"
    return f"{sign}{number_format(round(abs(value) * 100, 1), 1, use_l10n=True)}"


def significance_words(effect: Effect) -> list[str]:
    """The tests in words, one sentence each, in the reader's language."""
    test = significance(effect)
    said = []
    if test.rate_p is not None:
        interval = (
            _("between %(low)s and %(high)s")
            % {"low": _number(test.rate_low or 0), "high": _number(test.rate_high)}
            if test.rate_high is not None
            else _("above %(low)s") % {"low": _number(test.rate_low or 0)}
        )
        verdict = (
            _("unlikely to be chance: statistically significant (below 0.05).")
            if test.rate_p < ALPHA
            else _("it could well be chance: not statistically significant (0.05 or more).")
        )
        said.append(
            _(
                "Applications a day: %(before)s before the change, %(after)s after. The ratio "
                "after to before is %(ratio)s; with 95 %% confidence it lies %(interval)s. If "
                "the change had made no difference, a gap at least this large would happen "
                "with a probability of %(p)s (exact test of two rates): %(verdict)s"
            )
            % {
                "before": _number(test.rate_before or 0),
                "after": _number(test.rate_after or 0),
                "ratio": "—" if test.rate_ratio is None else _number(test.rate_ratio),
                "interval": interval,
                "p": _p(test.rate_p),
                "verdict": verdict,
            }
        )
    if test.standard_p is not None:
        verdict = (
            _("unlikely to be chance: statistically significant (below 0.05).")
            if test.standard_p < ALPHA
            else _("it could well be chance: not statistically significant (0.05 or more).")
        )
        said.append(
            _(
                "Finished within the service standard: the change is %(difference)s points; "
                "with 95 %% confidence it lies between %(low)s and %(high)s points. If the "
                "change had made no difference, a gap at least this large would happen with a "
                "probability of %(p)s (Fisher's exact test): %(verdict)s"
            )
            % {
                "difference": _signed_points(test.standard_difference or 0),
                "low": _signed_points(test.standard_low or 0),
                "high": _signed_points(test.standard_high or 0),
                "p": _p(test.standard_p),
                "verdict": verdict,
            }
        )
    return said


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
