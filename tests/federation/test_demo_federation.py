"""The demo federations keep the promises the demo, the catalogue and the bundles rely on.

Canada and Australia are loaded once for the module, into one database, inside a
transaction that is rolled back afterwards; each test runs in its own savepoint within it.
"""

import datetime
from collections.abc import Iterator

import pytest
from django.db import transaction
from django.db.models import F
from django.utils import translation

from joinedup.demo import loading
from joinedup.federation.loader import LoadResult, load_federation
from joinedup.federation.models import (
    Agency,
    Agreement,
    AgreementParty,
    Jurisdiction,
    LifeSituation,
    Offering,
    Office,
    PartnerRole,
    Program,
    Service,
)
from joinedup.federation.routing import RoutingError, route

DEMO = loading.demo_root()
CANADA = DEMO / "canada"
AUSTRALIA = DEMO / "australia"

PROVINCE_CITIES = {"CA-ON": "CA-ON-TOR", "CA-QC": "CA-QC-MTL", "CA-BC": "CA-BC-VAN"}
CITIES = ["CA-ON-TOR", "CA-ON-OTT", "CA-QC-MTL", "CA-QC-QUE", "CA-BC-VAN", "CA-BC-SUR"]

# Later work (the life-event bundles) refers to these keys: they must all exist.
BUNDLE_KEYS = [
    "ca.birth-registration",
    "ca.birth-certificate",
    "ca.social-insurance-number",
    "ca.child-benefit",
    "ca.provincial-child-benefit",
    "ca.education-savings-referral",
    "ca.change-of-address",
    "ca.health-card-address",
    "ca.driver-licence-address",
    "ca.municipal-address-update",
    "ca.electoral-list-update",
    "ca.death-registration",
    "ca.stop-pension-benefits",
    "ca.survivor-benefit",
    "ca.cancel-health-card",
    "ca.cancel-driver-licence",
    "ca.cancel-passport",
    "ca.business-registration",
    "ca.business-number",
    "ca.municipal-business-licence",
    "ca.passport",
    "ca.employment-insurance",
    "ca.old-age-security",
    "ca.canada-pension-plan",
]
HUMAN_SERVICES = [
    "ca.housing-help",
    "ca.income-assistance",
    "ca.mental-health-support",
    "ca.employment-services",
    "ca.child-and-family-support",
    "ca.legal-aid-referral",
]
BACK_OFFICE = [
    "ca.it-hosting",
    "ca.email-network",
    "ca.pay-administration",
    "ca.hr-services",
    "ca.procurement",
    "ca.translation",
]
LIFE_SITUATIONS = [
    "having-a-baby",
    "moving",
    "death-of-a-loved-one",
    "starting-a-business",
    "looking-for-work",
    "retiring",
    "needing-financial-help",
    "health-and-disability",
    "housing",
    "family-and-children",
    "travelling-abroad",
    "newcomers",
]
MODELS = [
    Jurisdiction,
    Agency,
    Office,
    Program,
    LifeSituation,
    Service,
    Offering,
    PartnerRole,
    Agreement,
    AgreementParty,
]


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker) -> Iterator[dict[str, LoadResult]]:
    """Both demo federations in one database, loaded once and rolled back after the module."""
    with django_db_blocker.unblock(), transaction.atomic():
        results = {
            "canada": load_federation([CANADA]),
            "australia": load_federation([AUSTRALIA]),
        }
        yield results
        transaction.set_rollback(True)


def canadian_services():
    return Service.objects.filter(scope__code="CA")


def canadian_agreements():
    return Agreement.objects.exclude(key__startswith="au-")


@pytest.mark.django_db
def test_both_federations_load_as_illustrative_data(demo):
    assert demo["canada"].illustrative and demo["australia"].illustrative
    assert not Jurisdiction.objects.filter(illustrative=False).exists()
    assert Jurisdiction.objects.filter(code__startswith="CA").count() >= 11
    assert Jurisdiction.objects.filter(code__startswith="AU").count() == 5


@pytest.mark.django_db
def test_canada_has_its_levels_calendars_time_zones_and_languages(demo):
    expected = {
        "CA": ("national", None, "CA", "", "America/Toronto", ["en", "fr"]),
        "CA-ON": ("subnational", "CA", "CA", "ON", "America/Toronto", ["en"]),
        "CA-QC": ("subnational", "CA", "CA", "QC", "America/Toronto", ["fr"]),
        "CA-BC": ("subnational", "CA", "CA", "BC", "America/Vancouver", ["en"]),
    }
    for code, (level, parent, country, subdivision, zone, languages) in expected.items():
        place = Jurisdiction.objects.get(code=code)
        assert place.level == level
        assert (place.parent.code if place.parent else None) == parent
        assert (place.holiday_country, place.holiday_subdivision) == (country, subdivision)
        assert place.time_zone == zone
        assert place.official_languages == languages
    cities = Jurisdiction.objects.filter(level="local", code__startswith="CA-")
    assert set(CITIES) <= set(cities.values_list("code", flat=True))
    for city in cities:
        assert city.parent.level == "subnational"
        assert Agency.objects.filter(kind="municipality", jurisdiction=city).exists()
    assert Jurisdiction.objects.filter(level="indigenous", code__startswith="CA-").exists()


@pytest.mark.django_db
def test_canadian_records_are_named_in_english_and_french(demo):
    records = [
        *Jurisdiction.objects.filter(code__startswith="CA"),
        *Agency.objects.filter(jurisdiction__code__startswith="CA"),
        *Office.objects.filter(jurisdiction__code__startswith="CA"),
        *Program.objects.filter(agency__jurisdiction__code__startswith="CA"),
        *LifeSituation.objects.exclude(key__startswith="au-"),
        *canadian_services(),
        *canadian_agreements(),
    ]
    missing = [str(record) for record in records if not {"en", "fr"} <= set(record.names)]
    assert missing == []


@pytest.mark.django_db
def test_agencies_include_every_kind_with_offices_where_people_are_served(demo):
    canadian = Agency.objects.filter(jurisdiction__code__startswith="CA")
    kinds = set(canadian.values_list("kind", flat=True))
    assert kinds == {k.value for k in Agency.Kind}
    assert canadian.filter(kind="municipality").count() >= 4
    assert set(canadian.filter(kind="shared_service_provider").values_list("key", flat=True)) >= {
        "ssc",
        "pspc",
    }
    for key in ["esdc", "serviceontario", "dec-qc", "bc-vsa", "toronto-newcomer-centre"]:
        offices = Office.objects.filter(agency__key=key).exclude(hours={})
        counters = [office for office in offices if "counter" in office.channels]
        assert counters, key
        assert all(office.street_address and office.postal_code for office in counters), key
        assert (
            any("phone" in office.channels for office in offices)
            or Agency.objects.get(key=key).phone
        ), key
    assert all(agency.website.startswith("https://") for agency in canadian)


@pytest.mark.django_db
def test_catalogue_spans_the_three_frames(demo):
    services = canadian_services()
    assert services.count() >= 40
    counts = {frame: services.filter(frame=frame).count() for frame in Service.Frame.values}
    assert counts["transactional"] >= 25
    assert counts["human_services"] >= 6
    assert counts["back_office"] >= 6
    keys = set(services.values_list("key", flat=True))
    assert set(BUNDLE_KEYS) <= keys
    assert all(key.startswith("ca.") for key in keys)
    assert set(services.filter(frame="human_services").values_list("key", flat=True)) >= set(
        HUMAN_SERVICES
    )
    back_office = services.filter(frame="back_office")
    assert set(back_office.values_list("key", flat=True)) >= set(BACK_OFFICE)
    assert set(back_office.values_list("client_type", flat=True)) == {"agency"}
    assert services.filter(frame="transactional", client_type="business").count() >= 5


@pytest.mark.django_db
def test_every_service_has_a_partner_role_and_an_offering(demo):
    assert not Service.objects.filter(partner_roles__isnull=True).exists()
    assert not Service.objects.filter(offerings__isnull=True).exists()
    roles = set(PartnerRole.objects.values_list("role", flat=True))
    assert roles == set(PartnerRole.Role.values)
    child_benefit = {
        (role.agency.key, role.role)
        for role in PartnerRole.objects.filter(service__key="ca.child-benefit")
    }
    assert {("esdc", "policy_maker"), ("cra", "service_provider")} <= child_benefit
    provincial = PartnerRole.objects.filter(service__key="ca.provincial-child-benefit")
    funders = set(
        provincial.filter(role="funder").values_list("agency__jurisdiction__code", flat=True)
    )
    assert funders == {"CA-ON", "CA-QC", "CA-BC"}


@pytest.mark.django_db
def test_offices_of_an_offering_belong_to_its_agency(demo):
    links = Offering.offices.through.objects
    assert links.exists()
    assert not links.exclude(office__agency=F("offering__agency")).exists()


@pytest.mark.django_db
def test_birth_certificate_goes_to_each_provinces_registrar_at_its_own_fee(demo):
    service = Service.objects.get(key="ca.birth-certificate")
    assert (service.standard_days, service.standard_day_kind) == (15, "business")
    assert float(service.standard_target) == 0.9
    assert (float(service.fee_amount), service.fee_currency) == (25, "CAD")
    assert service.required_assurance == 2
    assert "birth-certificate" in service.evidence
    expected = {
        "CA-ON-TOR": ("serviceontario", 15, 25),
        "CA-QC-MTL": ("dec-qc", 12, 35),
        "CA-BC-VAN": ("bc-vsa", 10, 27),
    }
    for city, (agency, days, fee) in expected.items():
        offering = route("ca.birth-certificate", city).offering
        assert offering.agency.key == agency
        assert offering.effective_standard_days == days
        assert float(offering.effective_fee) == fee
    agencies = {route("ca.birth-certificate", city).agency.key for city in expected}
    assert len(agencies) == 3


@pytest.mark.django_db
def test_provincial_services_route_to_each_province(demo):
    for key in [
        "ca.birth-registration",
        "ca.death-registration",
        "ca.health-card",
        "ca.health-card-address",
        "ca.driver-licence-address",
        "ca.cancel-driver-licence",
        "ca.business-registration",
        "ca.income-assistance",
    ]:
        agencies = {route(key, city).agency.key for city in PROVINCE_CITIES.values()}
        assert len(agencies) == 3, key
        with pytest.raises(RoutingError) as raised:
            route(key, "CA")
        assert raised.value.reason == "not_delivered"


@pytest.mark.django_db
def test_provincial_child_benefit_is_offered_only_where_a_province_has_one(demo):
    offerings = Offering.objects.filter(service__key="ca.provincial-child-benefit")
    assert set(offerings.values_list("area__code", flat=True)) == set(PROVINCE_CITIES)
    expected = {
        "CA-ON-TOR": ("cra", "ontario-child-benefit"),
        "CA-QC-MTL": ("retraite-quebec", "allocation-famille"),
        "CA-BC-VAN": ("cra", "bc-family-benefit"),
    }
    for city, (agency, program) in expected.items():
        offering = route("ca.provincial-child-benefit", city).offering
        assert (offering.agency.key, offering.program.key) == (agency, program)
    with pytest.raises(RoutingError):
        route("ca.provincial-child-benefit", "CA")


@pytest.mark.django_db
def test_service_standards_fees_and_assurance(demo):
    def standard(key):
        service = Service.objects.get(key=key)
        target = None if service.standard_target is None else float(service.standard_target)
        return service.standard_days, service.standard_day_kind, target, service.required_assurance

    assert standard("ca.birth-registration")[:2] == (10, "business")
    assert standard("ca.child-benefit")[:2] == (80, "calendar")
    assert standard("ca.social-insurance-number") == (20, "business", 0.9, 3)
    assert standard("ca.passport") == (10, "business", 0.9, 3)
    assert standard("ca.employment-insurance")[:3] == (28, "calendar", 0.8)
    assert standard("ca.municipal-business-licence")[:2] == (15, "business")
    assert standard("ca.change-of-address")[3] == 2
    assert standard("ca.education-savings-referral")[3] == 1
    assert "sin-confirmation" in Service.objects.get(key="ca.social-insurance-number").evidence
    assert Service.objects.get(key="ca.passport").fee_amount > 0


@pytest.mark.django_db
def test_federal_services_at_service_canada_and_city_services_at_each_city(demo):
    for key in ["ca.social-insurance-number", "ca.passport", "ca.employment-insurance"]:
        offering = Offering.objects.get(service__key=key)
        assert offering.area.code == "CA"
        assert offering.agency.jurisdiction.code == "CA"
        assert offering.offices.filter(jurisdiction__level="local").count() >= 4
    for key in ["ca.municipal-business-licence", "ca.municipal-address-update", "ca.housing-help"]:
        offerings = Offering.objects.filter(service__key=key).select_related("agency", "area")
        assert set(offerings.values_list("area__code", flat=True)) == set(CITIES), key
        for offering in offerings:
            assert offering.agency.kind == "municipality"
            assert offering.agency.jurisdiction_id == offering.area_id


@pytest.mark.django_db
def test_life_situations_are_ordered_and_bilingual(demo):
    canadian = LifeSituation.objects.exclude(key__startswith="au-")
    assert list(canadian.values_list("key", flat=True)) == LIFE_SITUATIONS
    newborn = set(
        Service.objects.filter(life_situations__key="having-a-baby").values_list("key", flat=True)
    )
    assert {"ca.birth-registration", "ca.social-insurance-number", "ca.child-benefit"} <= newborn


@pytest.mark.django_db
def test_agreements_cover_every_kind_in_varied_states(demo):
    agreements = list(canadian_agreements().prefetch_related("parties__agency", "services"))
    assert len(agreements) >= 5
    today = datetime.date.today()
    statuses = {agreement.status_on(today) for agreement in agreements}
    assert {
        Agreement.Status.IN_FORCE,
        Agreement.Status.AWAITING_SIGNATURES,
        Agreement.Status.EXPIRED,
    } <= statuses
    assert {agreement.kind for agreement in agreements} == set(Agreement.Kind.values)
    sharing = [agreement for agreement in agreements if agreement.kind == "data_sharing"]
    for agreement in sharing:
        assert {"categories", "purposes", "legal_basis"} <= set(agreement.terms), agreement.key
    assert {agreement.terms["legal_basis"] for agreement in sharing} >= {"statute", "consent"}
    signed = AgreementParty.objects.filter(signed_on__isnull=False)
    assert not signed.filter(signed_on__gt=today).exists()

    def parties(agreement):
        return {party.agency for party in agreement.parties.all()}

    # Each provincial registrar shares births with ESDC (SIN) and CRA (child benefit).
    for registrar in ["serviceontario", "dec-qc", "bc-vsa"]:
        for recipient in ["esdc", "cra"]:
            assert any(
                agreement.kind == "data_sharing"
                and agreement.status_on(today) == Agreement.Status.IN_FORCE
                and {registrar, recipient} <= {a.key for a in parties(agreement)}
                and "ca.birth-registration" in {s.key for s in agreement.services.all()}
                for agreement in agreements
            ), (registrar, recipient)
    assert any(
        agreement.kind == "joint_delivery"
        and any(a.kind == "community_organisation" for a in parties(agreement))
        for agreement in agreements
    )
    assert any(
        agreement.kind == "shared_service"
        and agreement.status_on(today) == Agreement.Status.IN_FORCE
        and any(a.kind == "shared_service_provider" for a in parties(agreement))
        for agreement in agreements
    )


@pytest.mark.django_db
def test_australia_sits_beside_canada_named_in_english_and_french(demo):
    services = Service.objects.filter(scope__code="AU")
    assert 10 <= services.count() <= 14
    assert all(key.startswith("au.") for key in services.values_list("key", flat=True))
    records = [
        *Jurisdiction.objects.filter(code__startswith="AU"),
        *Agency.objects.filter(jurisdiction__code__startswith="AU"),
        *Office.objects.filter(jurisdiction__code__startswith="AU"),
        *LifeSituation.objects.filter(key__startswith="au-"),
        *services,
        *Agreement.objects.filter(key__startswith="au-"),
    ]
    # Its official language is English; its names are in both languages of the interface.
    assert [str(r) for r in records if not {"en", "fr"} <= set(r.names)] == []
    assert Jurisdiction.objects.get(code="AU").official_languages == ["en"]
    assert Jurisdiction.objects.get(code="AU-VIC").time_zone == "Australia/Melbourne"
    assert Jurisdiction.objects.get(code="AU-NSW").holiday_subdivision == "NSW"
    with translation.override("fr"):
        certificate = Service.objects.get(key="au.birth-certificate")
        assert certificate.name == "Obtenir un acte de naissance"
        assert LifeSituation.objects.get(key="having-a-baby").name == "Avoir un bébé"
    assert route("au.birth-certificate", "AU-NSW-SYD").agency.key == "service-nsw"
    victoria = route("au.birth-certificate", "AU-VIC-MEL").offering
    assert victoria.agency.key == "vic-bdm" and victoria.effective_standard_days == 15
    assert Agreement.objects.filter(key__startswith="au-").count() >= 2
    assert Agency.objects.filter(jurisdiction__code__in=["AU-NSW-SYD", "AU-VIC-MEL"]).count() == 2


@pytest.mark.django_db
def test_loading_again_changes_nothing(demo):
    before = {model.__name__: model.objects.count() for model in MODELS}
    load_federation([CANADA])
    load_federation([AUSTRALIA])
    after = {model.__name__: model.objects.count() for model in MODELS}
    assert after == before
