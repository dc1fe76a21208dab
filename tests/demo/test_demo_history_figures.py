"""The demo's synthetic history is large enough for the performance pages to show figures
and compare jurisdictions: few published measures are left empty for lack of cases, costs
are not 0.00, and a service delivered in several jurisdictions has them compared."""

from __future__ import annotations

import pytest
from django.test import Client

from joinedup.demo import loading
from joinedup.federation.loader import load_federation
from joinedup.performance import kpis

pytestmark = pytest.mark.django_db
MAIN = {"completions", "completion_rate", "digital_take_up", "within_standard"}


def test_the_demo_history_leaves_the_performance_pages_figures_to_compare():
    load_federation([loading.federation_folder("canada")])
    load_federation([loading.federation_folder("australia")])
    said = loading.generate_demo_history()  # the demo's own size: 20,000 transactions
    assert "illustrative" in said
    period = kpis.parse_period("12m")
    groups = [f.published() for f in kpis.compute(period, ("service_key", "jurisdiction"))]
    assert len(groups) > 50
    empty = [g for g in groups if MAIN & set(g["suppressed"])]
    assert len(empty) <= len(groups) // 10, len(empty)
    priced = [g for g in groups if (g.get("cost_per_transaction") or 0) > 0]
    assert len(priced) >= len(groups) * 0.8
    # The service delivered in the most jurisdictions: most of them are compared.
    by_service: dict[str, int] = {}
    for figures in kpis.compute(period, ("service_key", "jurisdiction")):
        key = figures.key["service_key"]
        by_service[key] = by_service.get(key, 0) + 1
    widest = max(by_service, key=by_service.get)
    assert by_service[widest] >= 3
    page = Client().get(f"/en/performance/services/{widest}/")
    assert page.status_code == 200
    rows, hidden = page.context["rows"], page.context["hidden"]
    assert len(rows) == by_service[widest] and len(hidden) <= len(rows) // 3, hidden
