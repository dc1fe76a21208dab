"""The benchmark's floor writes what an acceptance writes, row for row: a floor that wrote
less would flatter the ratio `bench/bundles.py` reports."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from joinedup.bundles import submission
from joinedup.bundles.models import BundleLeg, BundleSubmission
from joinedup.sharing.models import ConsentRecord, OutboxEvent

from .conftest import NEWBORN_LEGS, newborn_answers, newborn_screening

pytestmark = pytest.mark.django_db

TABLES = (BundleSubmission, BundleLeg, ConsentRecord, OutboxEvent)


def _counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in TABLES}


def _added(before: dict[str, int]) -> dict[str, int]:
    return {name: count - before[name] for name, count in _counts().items()}


def test_the_floor_writes_the_rows_of_an_acceptance_with_fewer_statements(world):
    context = world.context(world.amara)
    args = (context, "newborn", newborn_answers(), NEWBORN_LEGS, [])
    before = _counts()
    with CaptureQueriesContext(connection) as accepted:
        submission.submit_bundle(*args, "floor-1", screening=newborn_screening())
    by_acceptance = _added(before)
    submission.write_floor(*args, newborn_screening())  # the first checks and keeps them
    before = _counts()
    with CaptureQueriesContext(connection) as floor:
        made = submission.write_floor(*args, newborn_screening())
    assert _added(before) == by_acceptance
    assert by_acceptance["BundleLeg"] == len(NEWBORN_LEGS)
    assert made.legs.count() == len(NEWBORN_LEGS)
    assert len(floor.captured_queries) < len(accepted.captured_queries)
