"""A sharing rule entered by hand in the admin is checked like one derived from an agreement:
a name the catalogue does not know is refused, field by field, and nothing is saved."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from joinedup.sharing.models import SharingRule

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, federation, django_user_model):
    user = django_user_model.objects.create_superuser("root", "root@example.org", "x" * 16)
    client.force_login(user)
    # The admin asks for the second factor: record that this session gave it.
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = TOTPDevice.objects.create(user=user).persistent_id
    session.save()
    return client


def _rule(federation, **changes) -> dict:
    provider, recipient = sorted(federation)[:2]
    form = {
        "provider": federation[provider].pk,
        "recipient": federation[recipient].pk,
        "categories": '["identity"]',
        "fields": "[]",
        "purposes": '["sin-issuance"]',
        "legal_basis": "statute",
        "roles": "[]",
        "valid_from": "2026-01-01",
        "active": "on",
    }
    return {**form, **changes}


def test_a_rule_naming_an_unknown_category_is_refused(admin_client, federation):
    before = SharingRule.objects.count()
    page = admin_client.post(
        reverse("admin:sharing_sharingrule_add"), _rule(federation, categories='["identiti"]')
    )
    assert page.status_code == 200  # the form again, with the error
    assert "Unknown data categories: identiti." in page.content.decode()
    assert SharingRule.objects.count() == before


def test_a_well_formed_rule_is_saved(admin_client, federation):
    before = SharingRule.objects.count()
    page = admin_client.post(reverse("admin:sharing_sharingrule_add"), _rule(federation))
    assert page.status_code == 302
    assert SharingRule.objects.count() == before + 1
