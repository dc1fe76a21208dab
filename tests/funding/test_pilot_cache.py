"""A pilot's evaluation is kept in the cache and recomputed only when its figures (or the
pilot itself) change: reading the page again does not refit the estimators."""

from __future__ import annotations

import datetime

import pytest
from django.core.cache import cache
from django.db.models import F

from joinedup.demo.history.places import write_places
from joinedup.funding import evaluation, pilots, places
from joinedup.funding.models import Pilot, Place, PlaceFigure
from tests.funding.conftest import staff_client


@pytest.fixture
def fits(monkeypatch):
    """Counts the difference-in-differences fits (the real estimator runs each time)."""
    calls = []
    real = evaluation.difference_in_differences

    def counted(panel, **kwargs):
        calls.append(len(panel.units))
        return real(panel, **kwargs)

    monkeypatch.setattr(evaluation, "difference_in_differences", counted)
    cache.clear()
    yield calls
    cache.clear()


def test_the_evaluation_is_recomputed_only_when_its_figures_change(world, fits):
    places.load_places([])
    days = [datetime.date(2024 + (m // 12), m % 12 + 1, 1) for m in range(18)]
    write_places(count=12, months=days, seed=7, pilot="navigators", effect=4.0, treated=3)
    pilot = Pilot.objects.get(key="navigators")
    first = pilots.evaluate(pilot)
    assert len(fits) == 1
    again = pilots.evaluate(Pilot.objects.get(key="navigators"))
    assert len(fits) == 1 and again.estimate == first.estimate
    assert again.caveats == first.caveats and again.similar == first.similar
    client, _user = staff_client(world.toronto, "analyst")
    assert client.get("/en/funding/pilots/navigators/").status_code == 200
    assert client.get("/api/v1/funding/pilots/navigators").status_code == 200
    assert len(fits) == 1  # the page and the API read the same cached evaluation
    # A figure of another measure is not read by the pilot: nothing is recomputed.
    PlaceFigure.objects.filter(measure=PlaceFigure.Measure.SATISFACTION).update(
        value=F("value") + 1
    )
    pilots.evaluate(pilot)
    assert len(fits) == 1
    # One figure of the measure changes: the evaluation is recomputed, and differs.
    treated = pilot.treated.order_by("key").first()
    figure = PlaceFigure.objects.filter(
        place=treated, measure=pilot.measure, period__gte=pilot.starts_on
    ).first()
    PlaceFigure.objects.filter(pk=figure.pk).update(value=figure.value + 10)
    changed = pilots.evaluate(pilot)
    assert len(fits) == 2 and changed.estimate.effect > first.estimate.effect
    # The pilot's own comparison places change: recomputed with only those.
    pilot.comparison.set(Place.objects.filter(key__in=["synthetic-10", "synthetic-11"]))
    narrowed = pilots.evaluate(pilot)
    assert len(fits) == 3 and fits[-1] <= 5
    assert narrowed.facts[5][1] == str(len(narrowed.panel.units) - len(narrowed.panel.treated))


def test_a_pilot_that_cannot_be_evaluated_is_remembered_too(world, fits):
    places.load_places([])
    pilot = Pilot.objects.create(
        key="early",
        names={"en": "Early"},
        change="other",
        starts_on=datetime.date(2025, 1, 1),
        measure="take_up",
    )
    pilot.treated.set(Place.objects.filter(key="ca-on-tor"))
    assert pilots.evaluate(pilot).error and pilots.evaluate(pilot).error
    assert fits == []
