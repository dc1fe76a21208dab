"""Fixtures for the back office: a provincial provider serving ServiceOntario and Toronto,
a federal provider serving ESDC, each under a shared-service agreement with its levels."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from joinedup.backoffice import catalogue
from joinedup.backoffice.models import ServiceLevel
from joinedup.federation.models import (
    Agency,
    Agreement,
    AgreementParty,
    Jurisdiction,
    Offering,
    Service,
)
from tests.delivery.conftest import (  # noqa: F401 (fixtures shared with delivery's tests)
    delivery_settings,
    federation,
    make_staff,
    sign_in,
    staff_client,
)

SIGNED = datetime.date(2020, 1, 15)


def _service(key: str, scope: Jurisdiction, en: str, fr: str, evidence=()) -> Service:
    return Service.objects.create(
        key=key,
        scope=scope,
        names={"en": en, "fr": fr},
        frame=Service.Frame.BACK_OFFICE,
        client_type=Service.ClientType.AGENCY,
        channels=["online"],
        standard_days=10,
        evidence=list(evidence),
    )


def _agreement(key, provider, clients, levels) -> Agreement:
    agreement = Agreement.objects.create(
        key=key,
        kind=Agreement.Kind.SHARED_SERVICE,
        names={"en": f"Shared services {key}", "fr": f"Services partagés {key}"},
        start_date=datetime.date(2020, 2, 1),
    )
    AgreementParty.objects.create(
        agreement=agreement, agency=provider, role="provider", signed_on=SIGNED, signed_by="CEO"
    )
    for client in clients:
        AgreementParty.objects.create(
            agreement=agreement, agency=client, role="client", signed_on=SIGNED, signed_by="CIO"
        )
    for service, values in levels.items():
        agreement.services.add(service)
        ServiceLevel.objects.create(agreement=agreement, service=service, **values)
    return agreement


@pytest.fixture
def shared(federation):  # noqa: F811 (the fixture imported above)
    """Providers, clients, services (deployed on the back office's process) and levels."""
    return build_shared(federation)


def build_shared(agencies: dict) -> dict:
    """The back office's world over the small federation's agencies (by key)."""
    ontario = Jurisdiction.objects.get(code="CA-ON")
    canada = Jurisdiction.objects.get(code="CA")
    provincial = Agency.objects.create(
        key="on-shared",
        kind=Agency.Kind.SHARED_SERVICES,
        jurisdiction=ontario,
        names={"en": "Ontario Shared Services", "fr": "Services communs de l'Ontario"},
        email="help@on-shared.example.org",
    )
    federal = Agency.objects.create(
        key="ca-shared",
        kind=Agency.Kind.SHARED_SERVICES,
        jurisdiction=canada,
        names={"en": "Federal Shared Services", "fr": "Services partagés fédéraux"},
    )
    onboarding = _service("on.onboarding", ontario, "New employee onboarding", "Accueil")
    dispute = _service(
        "on.statement-dispute",
        ontario,
        "Statement dispute",
        "Contestation de relevé",
        evidence=[catalogue.DISPUTE_EVIDENCE],
    )
    hosting = _service("ca.hosting", canada, "Hosting environment", "Hébergement")
    for service, provider, area in (
        (onboarding, provincial, ontario),
        (dispute, provincial, ontario),
        (hosting, federal, canada),
    ):
        Offering.objects.create(service=service, area=area, agency=provider)
    catalogue.deploy("on.onboarding")
    catalogue.deploy("on.statement-dispute", catalogue.DISPUTE_FORM)
    catalogue.deploy("ca.hosting")
    level = {
        "response_hours": 4,
        "resolution_days": 5,
        "unit_price": Decimal("250.00"),
        "target": Decimal("0.900"),
        "credit_rate": Decimal("0.100"),
        "forecast_monthly_volume": 20,
    }
    _agreement(
        "on-shared-clients",
        provincial,
        [agencies["serviceontario"], agencies["toronto"]],
        {onboarding: level, dispute: {"resolution_days": 10, "unit_price": Decimal("0.00")}},
    )
    _agreement(
        "ca-shared-clients",
        federal,
        [agencies["esdc"]],
        {hosting: {"resolution_days": 20, "unit_price": Decimal("1200.00")}},
    )
    return {
        "provincial": provincial,
        "federal": federal,
        "ministry": agencies["serviceontario"],
        "city": agencies["toronto"],
        "department": agencies["esdc"],
        "onboarding": onboarding,
        "hosting": hosting,
    }
