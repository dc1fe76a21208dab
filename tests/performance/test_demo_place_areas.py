"""The demonstration history classes places rural or urban and each transaction names the
place area it was delivered for, within the delivering jurisdiction's territory."""

from __future__ import annotations

import pytest
from django.db.models import Count

from joinedup.demo.history.run import generate_history
from joinedup.demo.history.transactions import ensure_place_areas
from joinedup.federation.models import Jurisdiction
from joinedup.performance.models import PlaceArea, Transaction

pytestmark = pytest.mark.django_db


def test_cities_are_urban_and_the_rest_rural_unless_already_classed(small_federation):
    written = ensure_place_areas()
    classed = dict(PlaceArea.objects.values_list("jurisdiction", "area"))
    assert written == len(classed) > 0
    levels = dict(Jurisdiction.objects.values_list("code", "level"))
    for code, area in classed.items():
        expected = "urban" if levels[code] == Jurisdiction.Level.LOCAL else "rural"
        assert area == expected, code
    assert not {code for code, level in levels.items() if level == "national"} & set(classed)
    PlaceArea.objects.filter(jurisdiction=next(iter(classed))).update(area="rural")
    assert ensure_place_areas() == 0  # an administrator's classes are kept


def test_each_transaction_names_its_place_area_within_the_territory(small_federation):
    generate_history(1500, years=1, seed=5)
    classed = dict(PlaceArea.objects.values_list("jurisdiction", "area"))
    paths = dict(Jurisdiction.objects.values_list("code", "path"))
    rows = list(
        Transaction.objects.values("jurisdiction", "place_area", "area")
        .annotate(n=Count("id"))
        .order_by()
    )
    assert rows and all(row["place_area"] in classed for row in rows)
    for row in rows:
        assert row["area"] == classed[row["place_area"]], row
        territory = paths[row["jurisdiction"]]
        place = paths[row["place_area"]]
        assert place == territory or place.startswith(territory + "/"), row
    served = {row["place_area"] for row in rows}
    assert {"urban", "rural"} <= {classed[code] for code in served}
    assert len(served) >= 4  # several cities and provinces have figures
