"""The admin lets staff search, filter and edit every registry record."""

import pytest
from django.contrib import admin
from django.urls import reverse

from joinedup.federation import models

pytestmark = pytest.mark.django_db

REGISTRY = [
    models.Jurisdiction,
    models.Agency,
    models.Office,
    models.Program,
    models.LifeSituation,
    models.Service,
    models.Offering,
    models.Agreement,
    models.FederationLoad,
]


@pytest.fixture
def staff_client(client, small_federation, django_user_model):
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    user = django_user_model.objects.create_superuser("root", "root@example.org", "x" * 16)
    client.force_login(user)
    # The admin asks for the second factor: record that this session gave it.
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = TOTPDevice.objects.create(user=user).persistent_id
    session.save()
    return client


@pytest.mark.parametrize("model", REGISTRY, ids=lambda m: m.__name__)
def test_every_record_has_a_searchable_filterable_list_and_a_change_page(staff_client, model):
    info = (model._meta.app_label, model._meta.model_name)
    assert model in admin.site._registry
    listing = staff_client.get(reverse(f"admin:{info[0]}_{info[1]}_changelist"), {"q": "on"})
    assert listing.status_code == 200
    obj = model.objects.first()
    change = staff_client.get(reverse(f"admin:{info[0]}_{info[1]}_change", args=[obj.pk]))
    assert change.status_code == 200


def test_agreements_filter_by_status_today(staff_client):
    url = reverse("admin:federation_agreement_changelist")
    assert "sin-at-birth" in staff_client.get(url, {"status": "in_force"}).content.decode()
    assert "sin-at-birth" not in staff_client.get(url, {"status": "not_in_force"}).content.decode()


def test_a_service_page_shows_its_offerings_and_partners_inline(staff_client):
    service = models.Service.objects.get(key="ca.birth-registration")
    page = staff_client.get(reverse("admin:federation_service_change", args=[service.pk]))
    text = page.content.decode()
    assert "offerings-TOTAL_FORMS" in text and "partner_roles-TOTAL_FORMS" in text


def test_the_admin_refuses_a_jurisdiction_under_its_own_child(staff_client):
    ontario = models.Jurisdiction.objects.get(code="CA-ON")
    toronto = models.Jurisdiction.objects.get(code="CA-ON-TOR")
    response = staff_client.post(
        reverse("admin:federation_jurisdiction_change", args=[ontario.pk]),
        {
            "code": "CA-ON",
            "level": "subnational",
            "parent": toronto.pk,
            "names": '{"en": "Ontario"}',
            "official_languages": "[]",
            "time_zone": "America/Toronto",
            "holiday_country": "CA",
            "holiday_subdivision": "ON",
            "children-TOTAL_FORMS": "0",
            "children-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200  # the form again, with the error
    assert "descendants" in response.content.decode()
    ontario.refresh_from_db()
    assert ontario.parent.code == "CA"
