"""A pilot's evaluation as a reader sees it: the panel read from the places' monthly figures,
the estimates (`evaluation`), the charts with their data tables and the caveats in words; and
the recording of a pilot (`record_pilot`), all or nothing, every refusal in words.

The panel is the pilot's places and its comparison places (every other place with figures of
the measure when none is chosen), over every month any of them has; a place missing a month
is left out and counted in the caveats. A fixed number of queries.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import re
import warnings
from dataclasses import dataclass, field
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.db.models import Count, F, Max, Min, Sum
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from joinedup.performance.charts import BLUE, GREY, ORANGE, Chart

from . import evaluation
from .models import Pilot, Place, PlaceFigure

LAYOUT = {
    "font": {"family": "Source Sans Pro, Helvetica, Arial, sans-serif", "size": 13},
    "margin": {"l": 56, "r": 16, "t": 8, "b": 56},
    "legend": {"orientation": "h", "y": -0.25},
    "paper_bgcolor": "#ffffff",
    "plot_bgcolor": "#ffffff",
}


def number(value: float, places: int = 2) -> str:
    return number_format(round(value, places), places, use_l10n=True)


#: A pilot's key: lower-case letters, digits and hyphens ("new" names the form's page).
KEY = re.compile(r"^[a-z0-9][-a-z0-9]{0,79}$")
RESERVED_KEYS = frozenset({"new"})


class PilotRefused(ValueError):
    """A pilot could not be recorded: `problems` lists every reason, each in words."""

    def __init__(self, problems: list[str]):
        super().__init__(" ".join(problems))
        self.problems = problems


def suggested_comparison(
    treated: list[Place], measure: str, starts_on: datetime.date, count: int = 5
) -> list[Place]:
    """The `count` places most like the treated ones before the start (the evaluation's
    similarity: root mean squared distance of each pre-period series from the treated places'
    mean), among every other place with figures of the measure. Empty when the figures do
    not allow it (no month before the start, or no other place). A fixed number of queries."""
    treated_ids = {p.pk for p in treated}
    values: dict[int, dict[Any, float]] = {}
    rows = PlaceFigure.objects.filter(measure=measure, period__lt=starts_on)
    for place_id, period, value in rows.values_list("place_id", "period", "value"):
        values.setdefault(place_id, {})[period] = value
    others = sorted(set(values) - treated_ids)
    if not others or not treated_ids & set(values):
        return []
    periods = sorted({period for series in values.values() for period in series})
    units = [p.pk for p in treated] + others
    matrix = [[values.get(u, {}).get(t, float("nan")) for t in periods] for u in units]
    # The whole pre-period counts as "before": a last column stands in for the start.
    matrix = [[*row, 0.0] for row in matrix]
    try:
        panel = evaluation.Panel.build(
            [str(u) for u in units],
            [*periods, starts_on],
            matrix,
            list(range(len(treated))),
            len(periods),
        )
    except evaluation.NotEstimable:
        return []
    chosen = [int(key) for key, _distance in evaluation.similar_places(panel, count)]
    by_id = Place.objects.in_bulk(chosen)
    return [by_id[pk] for pk in chosen]


def record_pilot(
    *,
    key: str,
    names: dict[str, str],
    change: str,
    description: dict[str, str],
    treated: list[Place],
    starts_on: datetime.date | None,
    measure: str,
    comparison: list[Place],
    suggest: bool = False,
    pilot: Pilot | None = None,
) -> Pilot:
    """Record a pilot, or change the one given (`pilot`: its key stays, being its address):
    checks every field first and refuses with every problem named, so that nothing is
    half-written. `suggest` replaces the comparison places with the ones most like the
    treated places before the start (`suggested_comparison`)."""
    problems: list[str] = []
    key = pilot.key if pilot is not None else (key or "").strip()
    if pilot is not None:
        pass
    elif not KEY.match(key) or key in RESERVED_KEYS:
        problems.append(
            _(
                "Give the pilot a key of lower-case letters, digits and hyphens (at most 80), "
                "other than “new”."
            )
        )
    elif Pilot.objects.filter(key=key).exists():
        problems.append(_("A pilot with the key %(key)s is already recorded.") % {"key": key})
    names = {lang: (text or "").strip() for lang, text in names.items() if (text or "").strip()}
    if not names.get("en") or not names.get("fr"):
        problems.append(_("Give the pilot's name in English and in French."))
    if change not in Pilot.Change.values:
        problems.append(_("Choose what the pilot changes."))
    if measure not in PlaceFigure.Measure.values:
        problems.append(_("Choose the outcome measure to watch."))
    if starts_on is None:
        problems.append(_("Give the month the pilot starts, as YYYY-MM."))
    if not treated:
        problems.append(_("Choose at least one place where the pilot runs."))
    treated_ids = {p.pk for p in treated}
    if not suggest and treated_ids & {p.pk for p in comparison}:
        problems.append(_("A place cannot be both a place of the pilot and a comparison place."))
    if suggest and not problems:
        comparison = suggested_comparison(treated, measure, starts_on)
        if not comparison:
            problems.append(
                _(
                    "No comparison place can be suggested: no other place has figures of "
                    "this measure before the start."
                )
            )
    if problems:
        raise PilotRefused(problems)
    description = {lang: text.strip() for lang, text in description.items() if (text or "").strip()}
    with transaction.atomic():
        if pilot is None:
            pilot = Pilot(key=key)
        else:
            # Read again under a lock: two people changing one pilot write one after the other.
            pilot = Pilot.objects.select_for_update().get(pk=pilot.pk)
        pilot.names = names
        pilot.change = change
        pilot.description = description
        pilot.starts_on = starts_on
        pilot.measure = measure
        pilot.save()
        pilot.treated.set(treated)
        pilot.comparison.set(comparison)
    return pilot


def panel_for(
    pilot: Pilot,
    treated: list[Place] | None = None,
    comparison: list[Place] | None = None,
) -> tuple[evaluation.Panel, dict[str, Place]]:
    treated = list(pilot.treated.all()) if treated is None else treated
    comparison = list(pilot.comparison.all()) if comparison is None else comparison
    treated_ids = {p.pk for p in treated}
    rows = PlaceFigure.objects.filter(measure=pilot.measure)
    if comparison:
        rows = rows.filter(place__in=treated + comparison)
    values: dict[int, dict[Any, float]] = {}
    for place_id, period, value in rows.values_list("place_id", "period", "value"):
        values.setdefault(place_id, {})[period] = value
    chosen = treated + (
        comparison or list(Place.objects.filter(pk__in=set(values) - treated_ids).order_by("key"))
    )
    periods = sorted({period for series in values.values() for period in series})
    start = next((i for i, p in enumerate(periods) if p >= pilot.starts_on), len(periods))
    matrix = [
        [values.get(place.pk, {}).get(period, float("nan")) for period in periods]
        for place in chosen
    ]
    keys = [place.key for place in chosen]
    panel = evaluation.Panel.build(
        keys, periods, matrix, [i for i, p in enumerate(chosen) if p.pk in treated_ids], start
    )
    return panel, {place.key: place for place in chosen}


@dataclass
class Evaluation:
    pilot: Pilot
    panel: evaluation.Panel | None = None
    estimate: evaluation.Estimate | None = None
    study: evaluation.EventStudy | None = None
    control: evaluation.SyntheticControl | None = None
    caveats: list[str] = field(default_factory=list)
    #: The caveats' codes, in the order of `caveats` (for the API).
    caveat_codes: list[str] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    facts: list[tuple[str, str]] = field(default_factory=list)
    weights: list[list[str]] = field(default_factory=list)
    similar: list[list[str]] = field(default_factory=list)
    error: str = ""


#: Raised when the estimators or the panel change, so that no result of older code is read.
CACHE_VERSION = 1
#: How long a cached evaluation is kept unread (its key changes with the figures anyway).
CACHE_SECONDS = 7 * 24 * 3600
NOT_ESTIMABLE = "not-estimable"

Estimates = tuple[
    evaluation.Panel,
    evaluation.Estimate,
    evaluation.EventStudy,
    evaluation.SyntheticControl | None,
]


def cache_key(pilot: Pilot, treated: list[Place], comparison: list[Place]) -> str:
    """The key of a pilot's evaluation: what the pilot is (measure, start, places) and the
    state of the figures it reads — how many, their sum, their sum weighted by row, the
    newest row and the months they span — so that adding, removing or changing a figure
    gives a new key, and the evaluation is recomputed only then. One aggregate query."""
    rows = PlaceFigure.objects.filter(measure=pilot.measure)
    if comparison:
        rows = rows.filter(place__in=treated + comparison)
    state = rows.aggregate(
        count=Count("id"),
        total=Sum("value"),
        weighted=Sum(F("value") * F("id")),
        last=Max("id"),
        first_month=Min("period"),
        last_month=Max("period"),
    )
    text = json.dumps(
        [
            CACHE_VERSION,
            pilot.pk,
            pilot.measure,
            pilot.starts_on.isoformat(),
            sorted(p.pk for p in treated),
            sorted(p.pk for p in comparison),
            {k: (repr(v) if isinstance(v, float) else str(v)) for k, v in state.items()},
        ],
        sort_keys=True,
    )
    return "funding:pilot-evaluation:" + hashlib.sha256(text.encode()).hexdigest()


def estimates(pilot: Pilot) -> Estimates | None:
    """The pilot's panel and estimates (difference in differences, event study, synthetic
    control for a single place), or None when it cannot be evaluated yet. Kept in the cache
    under `cache_key`: recomputed only when the pilot or its figures change."""
    treated = list(pilot.treated.all())
    comparison = list(pilot.comparison.all())
    key = cache_key(pilot, treated, comparison)
    cached = cache.get(key)
    if cached == NOT_ESTIMABLE:
        return None
    if cached is not None:
        return cached
    try:
        panel, _places = panel_for(pilot, treated, comparison)
    except evaluation.NotEstimable:
        cache.set(key, NOT_ESTIMABLE, CACHE_SECONDS)
        return None
    with warnings.catch_warnings():
        # The page states the bootstrap among the caveats; the warning is for other callers.
        warnings.simplefilter("ignore", evaluation.FewClustersWarning)
        estimate = evaluation.difference_in_differences(panel)
    study = evaluation.event_study(panel)
    control = None
    if len(panel.treated) == 1 and len(panel.units) >= 3:
        control = evaluation.synthetic_control(panel)
    computed = (panel, estimate, study, control)
    cache.set(key, computed, CACHE_SECONDS)
    return computed


def evaluate(pilot: Pilot) -> Evaluation:
    result = Evaluation(pilot=pilot)
    computed = estimates(pilot)
    if computed is None:
        result.error = _(
            "This pilot cannot be evaluated yet: it needs figures of its measure for its places "
            "and for comparison places, both before and after it started."
        )
        return result
    panel, result.estimate, result.study, result.control = computed
    result.panel = panel
    places = {p.key: p for p in Place.objects.filter(key__in=panel.units)}
    found = evaluation.caveats(panel, result.estimate, result.study, result.control)
    result.caveats = [caveat_text(c) for c in found]
    result.caveat_codes = [c.code for c in found]
    if pilot.synthetic:
        result.caveat_codes.append("synthetic")
        result.caveats.append(
            _(
                "The figures are synthetic: the history added an effect of %(effect)s to the "
                "pilot's places, so the estimate can be checked against it."
            )
            % {"effect": number(pilot.injected_effect or 0.0)}
        )
    measure = pilot.get_measure_display()
    estimate = result.estimate
    result.facts = [
        (_("Measure watched"), measure),
        (_("Estimated effect"), number(estimate.effect)),
        (
            _("%(level)s %% confidence interval") % {"level": number(estimate.level * 100, 0)},
            f"{number(estimate.low)} – {number(estimate.high)}",
        ),
        (_("How the interval was computed"), method_text(estimate)),
        (_("Places of the pilot"), str(len(panel.treated))),
        (_("Comparison places"), str(len(panel.units) - len(panel.treated))),
        (_("Months before the start"), str(panel.pre_periods)),
        (_("Months since the start"), str(panel.post_periods)),
    ]
    result.charts.append(event_chart(panel, result.study, measure))
    result.similar = [
        [places[key].name, number(distance)] for key, distance in evaluation.similar_places(panel)
    ]
    if result.control is not None:
        control = result.control
        result.facts += [
            (_("Synthetic control: mean gap since the start"), number(control.effect)),
            (
                _("Synthetic control: rank among placebo runs"),
                _("%(rank)s of %(runs)s (p = %(p)s)")
                % {
                    "rank": control.rank,
                    "runs": control.placebos + 1,
                    "p": number(control.p_value, 3),
                },
            ),
        ]
        result.weights = [
            [places[key].name, number(weight, 3)]
            for key, weight in sorted(control.weights.items(), key=lambda kv: -kv[1])
        ]
        result.charts.append(control_chart(panel, control, places, measure))
    return result


def method_text(estimate: evaluation.Estimate) -> str:
    if estimate.bootstrap:
        return _(
            "Wild-cluster bootstrap (%(reps)s draws), because there are fewer than %(minimum)s "
            "places"
        ) % {"reps": estimate.replications, "minimum": evaluation.MIN_CLUSTERS}
    return _("Errors clustered by place")


def caveat_text(caveat: evaluation.Caveat) -> str:
    f = caveat.figures
    if caveat.code == "few_clusters":
        return (
            _(
                "Only %(places)s places are compared (fewer than %(minimum)s): clustered errors "
                "would be too narrow, so the interval comes from a wild-cluster bootstrap."
            )
            % f
        )
    if caveat.code == "few_pre_periods":
        return (
            ngettext(
                "Only %(periods)s month before the start: too few to judge whether the trends "
                "were parallel.",
                "Only %(periods)s months before the start: too few to judge whether the trends "
                "were parallel.",
                f["periods"],
            )
            % f
        )
    if caveat.code == "few_post_periods":
        return (
            ngettext(
                "Only %(periods)s month since the start: an effect may not have shown yet.",
                "Only %(periods)s months since the start: an effect may not have shown yet.",
                f["periods"],
            )
            % f
        )
    if caveat.code == "not_parallel":
        return _(
            "Before the start, the pilot's places already moved differently from the others "
            "(%(slope)s a month, p = %(p)s): the trends were not parallel, and the estimate "
            "may mix that difference with the pilot's effect."
        ) % {"slope": number(f["slope"], 3), "p": number(f["p_value"], 3)}
    if caveat.code == "one_treated":
        return _(
            "The pilot runs in one place: the difference-in-differences interval understates "
            "the uncertainty; read the synthetic control and its placebo rank instead."
        )
    if caveat.code == "few_treated":
        return (
            _(
                "The pilot runs in only %(places)s places: the interval may understate the "
                "uncertainty."
            )
            % f
        )
    if caveat.code == "dropped":
        return (
            ngettext(
                "%(places)s place was left out because a month of its figures is missing.",
                "%(places)s places were left out because a month of their figures is missing.",
                f["places"],
            )
            % f
        )
    if caveat.code == "placebo_floor":
        return _(
            "With %(places)s comparison places the smallest possible placebo p-value is "
            "%(floor)s: the synthetic control cannot show significance at 5 %%."
        ) % {"places": f["places"], "floor": number(f["floor"], 3)}
    if caveat.code == "poor_fit":
        return _(
            "The synthetic control follows the place poorly before the start (error "
            "%(rmspe)s): its gap after the start is not reliable."
        ) % {"rmspe": number(f["rmspe"])}
    if caveat.code == "includes_zero":
        return _("The interval includes zero: the figures are compatible with no effect at all.")
    return caveat.code


def event_chart(panel: evaluation.Panel, study: evaluation.EventStudy, measure: str) -> Chart:
    x = study.relative
    figure = {
        "data": [
            {
                "type": "scatter",
                "mode": "markers",
                "name": _("Difference from the comparison places"),
                "x": x,
                "y": study.coefficients,
                "marker": {"color": BLUE},
                "error_y": {
                    "type": "data",
                    "symmetric": False,
                    "array": [h - c for h, c in zip(study.highs, study.coefficients, strict=True)],
                    "arrayminus": [
                        c - lo for c, lo in zip(study.coefficients, study.lows, strict=True)
                    ],
                    "color": GREY,
                },
            }
        ],
        "layout": {
            **LAYOUT,
            "xaxis": {"title": {"text": _("Months relative to the start")}, "zeroline": False},
            "yaxis": {"title": {"text": measure}},
            "shapes": [
                {
                    "type": "line",
                    "x0": -0.5,
                    "x1": -0.5,
                    "yref": "paper",
                    "y0": 0,
                    "y1": 1,
                    "line": {"color": ORANGE, "dash": "dot"},
                }
            ],
        },
    }
    rows = [
        [str(k), number(c), number(lo), number(h)]
        for k, c, lo, h in zip(x, study.coefficients, study.lows, study.highs, strict=True)
    ]
    return Chart(
        id="event-study",
        title=_("Event study: the pilot's places against the others, month by month"),
        summary=_(
            "Each point is the difference between the pilot's places and the comparison "
            "places in one month, relative to the last month before the start (0), with its "
            "confidence interval. Before the start the points should hover around zero."
        ),
        figure=figure,
        headers=[_("Month relative to the start"), _("Difference"), _("Low"), _("High")],
        rows=rows,
    )


def control_chart(
    panel: evaluation.Panel,
    control: evaluation.SyntheticControl,
    places: dict[str, Place],
    measure: str,
) -> Chart:
    treated = panel.treated[0]
    months = [p.strftime("%Y-%m") for p in panel.periods]
    actual = [float(v) for v in panel.values[treated]]
    name = places[panel.units[treated]].name
    figure = {
        "data": [
            {
                "type": "scatter",
                "mode": "lines",
                "name": name,
                "x": months,
                "y": actual,
                "line": {"color": BLUE},
            },
            {
                "type": "scatter",
                "mode": "lines",
                "name": _("Synthetic control"),
                "x": months,
                "y": control.synthetic,
                "line": {"color": ORANGE, "dash": "dash"},
            },
        ],
        "layout": {**LAYOUT, "yaxis": {"title": {"text": measure}}},
    }
    rows = [
        [m, number(a), number(s), number(a - s)]
        for m, a, s in zip(months, actual, control.synthetic, strict=True)
    ]
    return Chart(
        id="synthetic-control",
        title=_("Synthetic control: the place and its weighted twin"),
        summary=_(
            "The pilot's place beside a weighted mix of comparison places that followed it "
            "before the start; the gap after the start is the estimated effect."
        ),
        figure=figure,
        headers=[_("Month"), name, _("Synthetic control"), _("Gap")],
        rows=rows,
    )


# --- What links to a pilot ----------------------------------------------------------------

#: Apps above funding say what links to a pilot (funding imports none of them): each source
#: takes the pilot and returns (label, URL) pairs in the reader's language; an app registers
#: its source in its `ready()` (engagement: the consultation proposals the pilot came from).
_LINK_SOURCES: list[Any] = []


def register_link_source(source) -> None:
    if source not in _LINK_SOURCES:
        _LINK_SOURCES.append(source)


def links(pilot: Pilot) -> list[tuple[str, str]]:
    """What the registered apps link to the pilot, one query per source."""
    return [link for source in _LINK_SOURCES for link in source(pilot)]
