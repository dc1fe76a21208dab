from pathlib import Path

import pytest

from joinedup.federation.loader import load_federation

SMALL = Path(__file__).parents[1] / "federation" / "files" / "small"

#: A valid social insurance number (the example the Government of Canada publishes).
VALID_SIN = "046 454 286"
#: Another valid one (check digit computed with the Luhn algorithm).
OTHER_SIN = "130 692 544"


@pytest.fixture(autouse=True)
def english():
    """Each test starts in English: a request in French must not leak into the next test."""
    from django.utils import translation

    translation.activate("en")
    yield
    translation.activate("en")


@pytest.fixture
def small_federation(db):
    """The small Canadian test federation: CA, ON, QC, three cities, five agencies."""
    return load_federation([SMALL])


PASSWORD = "correct horse battery staple"


def totp_code(device) -> str:
    """The code the person's authenticator app shows now."""
    from django_otp.oath import totp

    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):06d}"


@pytest.fixture
def make_account(db):
    """An active public account with a person, at a level of assurance (1 by default)."""
    from joinedup.identity import assurance
    from joinedup.identity.client_registry import register_person
    from joinedup.identity.models import IdentityProofing, User

    def make(email="amara@example.org", level=1, person=None, **person_fields):
        person = person or register_person(
            given_names=person_fields.pop("given_names", "Amara"),
            family_name=person_fields.pop("family_name", "Okafor"),
            **person_fields,
        )
        user = User.objects.create_user(
            username=email, email=email, password=PASSWORD, person=person
        )
        methods = {
            1: IdentityProofing.Method.SELF_ASSERTED,
            2: IdentityProofing.Method.DOCUMENT_CHECK,
        }
        if level in methods:
            assurance.record_proofing(person, level=level, method=methods[level])
        elif level == 3:
            from joinedup.federation.models import Office

            office = Office.objects.first()
            clerk = User.objects.create_user(username=f"clerk-{email}", email=f"clerk-{email}")
            assurance.record_proofing(
                person,
                level=3,
                method=IdentityProofing.Method.IN_PERSON,
                evidence=["passport"],
                office=office,
                verified_by=clerk,
            )
        return user

    return make


@pytest.fixture
def make_staff(db):
    """A staff account with a membership and a confirmed authenticator."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from joinedup.federation.models import Agency, Jurisdiction
    from joinedup.identity.models import StaffMembership, User

    def make(agency="esdc", role="caseworker", username=None, areas=(), superuser=False):
        username = username or f"{role}.{agency}@example.org"
        user = User.objects.create_user(
            username=username,
            email=username,
            password=PASSWORD,
            is_staff=superuser,
            is_superuser=superuser,
        )
        if role:
            membership = StaffMembership.objects.create(
                user=user, agency=Agency.objects.get(key=agency), role=role
            )
            if areas:
                membership.areas.set(Jurisdiction.objects.filter(code__in=areas))
        TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
        return user

    return make


def sign_in(client, user, *, second_factor: bool = True) -> None:
    """Sign in through the real pages: password, then (for staff) the authenticator code."""
    from django.urls import reverse
    from django_otp.plugins.otp_totp.models import TOTPDevice

    response = client.post(
        reverse("identity:sign-in"), {"username": user.email, "password": PASSWORD}
    )
    assert response.status_code == 302, response.content[:2000]
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if second_factor and device is not None:
        response = client.post(reverse("identity:two-factor"), {"code": totp_code(device)})
        assert response.status_code == 302, response.content[:2000]


def page_text(response) -> str:
    """The response body as a person reads it (HTML entities decoded)."""
    import html

    return html.unescape(response.content.decode())
