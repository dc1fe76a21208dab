"""Many legs routed in one query (`routing.remember_routes`, used by a bundle's preview):
the same answers as routing each alone, and no query per leg after it."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from joinedup.federation import routing
from joinedup.federation.models import Agency, Jurisdiction, Offering, Service

pytestmark = pytest.mark.django_db

PAIRS = [
    ("ca.birth-registration", "CA-ON-TOR"),
    ("ca.birth-registration", "CA-ON-OTT"),
    ("ca.birth-registration", "CA-QC-MTL"),
    ("ca.social-insurance-number", "CA-ON-TOR"),
    ("ca.social-insurance-number", "CA-QC-MTL"),
]


def _pairs():
    services = {s.key: s for s in Service.objects.all()}
    places = {j.code: j for j in Jurisdiction.objects.all()}
    return [(services[s], places[p]) for s, p in PAIRS]


def test_remembered_routes_are_those_routing_chooses_and_cost_one_query(small_federation):
    # A municipal offering beside the provincial one: the most specific must still win.
    Offering.objects.create(
        service=Service.objects.get(key="ca.birth-registration"),
        area=Jurisdiction.objects.get(code="CA-ON-TOR"),
        agency=Agency.objects.get(key="toronto"),
    )
    pairs = _pairs()
    alone = [routing.route_for(s, p, explain=False).offering.pk for s, p in pairs]
    with routing.remembered(), CaptureQueriesContext(connection) as read:
        routing.remember_routes(pairs)
        together = [routing.route_for(s, p, explain=False).offering.pk for s, p in pairs]
    assert together == alone
    assert len(read.captured_queries) == 1


def test_a_pair_nobody_serves_is_still_refused(small_federation):
    service = Service.objects.get(key="ca.birth-registration")
    Offering.objects.filter(service=service, area__code="CA-QC").delete()
    pairs = _pairs()
    with routing.remembered():
        routing.remember_routes(pairs)
        with pytest.raises(routing.RoutingError):
            routing.route_for(service, Jurisdiction.objects.get(code="CA-QC-MTL"), explain=False)
