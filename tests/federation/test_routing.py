"""Competent-authority routing: the most specific offering whose area contains the place."""

import pytest
from django.utils import translation

from joinedup.federation import routing
from joinedup.federation.models import Agency, Jurisdiction, Offering, Service
from joinedup.federation.routing import RoutingError, route, route_for

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("place", "agency", "area"),
    [
        ("CA-ON", "serviceontario", "CA-ON"),
        ("CA-ON-TOR", "serviceontario", "CA-ON"),
        ("CA-ON-OTT", "serviceontario", "CA-ON"),
        ("CA-QC", "dgeq", "CA-QC"),
        ("CA-QC-MTL", "dgeq", "CA-QC"),
    ],
)
def test_each_province_registers_its_own_births(small_federation, place, agency, area):
    found = route("ca.birth-registration", place)
    assert found.agency.key == agency
    assert found.offering.area.code == area


def test_a_federal_service_reaches_every_city(small_federation):
    for place in ("CA", "CA-ON-TOR", "CA-QC-MTL"):
        assert route("ca.social-insurance-number", place).agency.key == "esdc"


def test_a_municipal_offering_beats_a_provincial_one(small_federation):
    service = Service.objects.get(key="ca.birth-registration")
    Offering.objects.create(
        service=service,
        area=Jurisdiction.objects.get(code="CA-ON-TOR"),
        agency=Agency.objects.get(key="toronto"),
    )
    assert route("ca.birth-registration", "CA-ON-TOR").agency.key == "toronto"
    assert route("ca.birth-registration", "CA-ON-OTT").agency.key == "serviceontario"


def test_a_national_offering_is_the_last_resort(small_federation):
    service = Service.objects.get(key="ca.birth-registration")
    Offering.objects.create(
        service=service,
        area=Jurisdiction.objects.get(code="CA"),
        agency=Agency.objects.get(key="esdc"),
    )
    assert route("ca.birth-registration", "CA-QC-MTL").agency.key == "dgeq"
    steps = route("ca.birth-registration", "CA-QC-MTL").steps
    assert [(s.jurisdiction.code, s.chosen) for s in steps] == [
        ("CA-QC-MTL", False),
        ("CA-QC", True),
        ("CA", False),
    ]


def test_the_answer_explains_itself(small_federation):
    explanation = route("ca.birth-registration", "CA-ON-TOR").explanation
    assert explanation[0] == "CA-ON-TOR (Toronto): no offering here."
    assert explanation[1].startswith("CA-ON (Ontario): delivered by ServiceOntario. Chosen")
    with translation.override("fr"):
        explanation = route("ca.birth-registration", "CA-QC-MTL").explanation
    assert "Montréal" in explanation[0]


def test_place_codes_are_not_case_sensitive(small_federation):
    assert route("ca.birth-registration", "ca-on-tor").agency.key == "serviceontario"


@pytest.mark.parametrize(
    ("service", "place", "reason"),
    [
        ("ca.parking-permit", "CA-QC-MTL", "not_delivered"),
        ("ca.parking-permit", "CA-ON", "not_delivered"),
        ("ca.no-such-thing", "CA-ON", "unknown_service"),
        ("ca.birth-registration", "XX-YY", "unknown_jurisdiction"),
    ],
)
def test_no_competent_agency_is_a_clear_refusal(small_federation, service, place, reason):
    with pytest.raises(RoutingError) as caught:
        route(service, place)
    assert caught.value.reason == reason
    assert caught.value.message


def test_nobody_there_still_shows_where_it_looked(small_federation):
    with pytest.raises(RoutingError) as caught:
        route("ca.parking-permit", "CA-QC-MTL")
    assert [step.jurisdiction.code for step in caught.value.steps] == ["CA-QC-MTL", "CA-QC", "CA"]
    assert "Montreal" in caught.value.message


def test_routing_takes_a_fixed_number_of_queries(small_federation, django_assert_max_num_queries):
    with django_assert_max_num_queries(5):
        found = route("ca.social-insurance-number", "CA-ON-TOR")
        [office.jurisdiction.code for office in found.offering.offices.all()]


def test_remembered_routing_reads_each_pair_once(small_federation, django_assert_num_queries):
    service = Service.objects.get(key="ca.birth-registration")
    toronto = Jurisdiction.objects.get(code="CA-ON-TOR")
    with routing.remembered():
        with django_assert_num_queries(1):
            first = route_for(service, toronto, explain=False)
            again = route_for(service, toronto, explain=False)
        assert again.agency == first.agency == Agency.objects.get(key="serviceontario")
        # An offering added meanwhile is not seen inside the block: every leg of one unit of
        # work is sent where its preview said...
        Offering.objects.create(
            service=service, area=toronto, agency=Agency.objects.get(key="toronto")
        )
        assert route_for(service, toronto, explain=False).agency.key == "serviceontario"
    # ...and is seen as soon as the block ends.
    assert route_for(service, toronto, explain=False).agency.key == "toronto"
