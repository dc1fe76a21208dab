"""Signing in with an external identity provider, end to end over real HTTP on loopback.

The provider is tests/identity/oidc_provider.py: a real OpenID Connect server with its own
RSA key. Our side is the real relying-party code (Authlib) configured through settings.
"""

from urllib.parse import urlsplit

import pytest
import requests
from django.urls import reverse

from joinedup.identity import assurance
from joinedup.identity.models import ExternalAccount, IdentityProofing, User

from .conftest import page_text, sign_in
from .oidc_provider import OidcProvider

pytestmark = pytest.mark.django_db

KEY = "ontario-id"
CLAIMS = {
    "sub": "on-7781",
    "email": "amara@example.org",
    "email_verified": True,
    "given_name": "Amara",
    "family_name": "Okafor",
    "birthdate": "1988-03-14",
    "locale": "en-CA",
}


@pytest.fixture
def provider(settings):
    with OidcProvider(user=dict(CLAIMS)) as running:
        settings.OIDC_PROVIDERS = {
            KEY: {
                "name": {"en": "Ontario sign-in", "fr": "Connexion Ontario"},
                "issuer": running.issuer,
                "client_id": running.client_id,
                "client_secret": running.client_secret,
                "assurance": 2,
            }
        }
        yield running


def round_trip(client, provider: OidcProvider, next_url: str = ""):
    """Start at our sign-in link, let the browser visit the provider, come back."""
    start = reverse("identity:oidc-start", args=[KEY])
    response = client.get(f"{start}?next={next_url}" if next_url else start)
    assert response.status_code == 302, response.content[:500]
    at_provider = response["Location"]
    assert at_provider.startswith(f"{provider.issuer}/authorize?")
    back = requests.get(at_provider, allow_redirects=False, timeout=10)
    assert back.status_code == 302
    callback = urlsplit(back.headers["Location"])
    assert callback.path == reverse("oidc:callback", args=[KEY])
    return client.get(f"{callback.path}?{callback.query}")


def test_a_new_person_signs_in_with_the_provider(client, small_federation, provider):
    response = round_trip(client, provider)
    assert response.status_code == 302
    assert response["Location"] == reverse("identity:account")
    user = User.objects.get(email="amara@example.org")
    assert not user.has_usable_password()
    assert ExternalAccount.objects.get(provider=KEY, subject="on-7781").user == user
    assert str(user.person.birth_date) == "1988-03-14"
    proof = user.person.proofings.get()
    assert (proof.level, proof.method, proof.provider) == (
        2,
        IdentityProofing.Method.TRUSTED_CREDENTIAL,
        KEY,
    )
    page = page_text(client.get(reverse("identity:account")))
    assert "Level 2" in page and "Amara Okafor" in page
    # Real HTTP reached the provider: discovery, keys and token exchange.
    assert {"GET /.well-known/openid-configuration", "GET /jwks", "POST /token"} <= set(
        provider.requests
    )

    # Signing in again finds the same account and proves nothing twice.
    client.logout()
    assert round_trip(client, provider).status_code == 302
    assert User.objects.count() == 1
    assert IdentityProofing.objects.count() == 1


def test_stepping_up_through_the_provider_opens_the_service(
    client, small_federation, provider, make_account
):
    user = make_account(email="amara@example.org", level=1)
    sign_in(client, user)
    apply = reverse("identity:service-start", args=["ca.birth-registration"])
    step_up = client.get(apply)
    assert step_up.status_code == 302
    page = page_text(client.get(step_up["Location"]))
    assert "Sign in with Ontario sign-in" in page

    response = round_trip(client, provider, next_url=apply)
    assert response.status_code == 302
    assert response["Location"] == apply
    assert assurance.level_of(user.person) == 2
    assert ExternalAccount.objects.get().user == user  # linked by the verified address
    assert client.get(apply).status_code == 200


def test_an_unverified_address_does_not_take_over_an_account(
    client, small_federation, provider, make_account
):
    existing = make_account(email="amara@example.org")
    provider.user["email_verified"] = False
    assert round_trip(client, provider).status_code == 302
    external = ExternalAccount.objects.get()
    assert external.user != existing
    assert assurance.level_of(existing.person) == 1


def test_a_token_signed_with_another_key_is_refused(client, small_federation, provider):
    provider.sign_with_wrong_key = True
    response = round_trip(client, provider)
    assert response.status_code == 400
    assert "Sign-in did not work" in page_text(response)
    assert not User.objects.exists()
    assert "_auth_user_id" not in client.session


def test_a_refusal_at_the_provider_is_explained(client, small_federation, provider):
    provider.refuse = True
    response = round_trip(client, provider)
    assert response.status_code == 400
    assert "Ontario sign-in did not confirm who you are (access_denied)" in page_text(response)


def test_a_forged_callback_is_refused(client, small_federation, provider):
    client.get(reverse("identity:oidc-start", args=[KEY]))
    response = client.get(reverse("oidc:callback", args=[KEY]) + "?code=made-up&state=made-up")
    assert response.status_code == 400
    assert not User.objects.exists()


def test_an_unknown_provider_is_a_404(client, provider):
    assert client.get(reverse("identity:oidc-start", args=["nope"])).status_code == 404


def test_a_provider_that_does_not_answer_gets_a_503(client, settings):
    settings.OIDC_PROVIDERS = {
        "down": {"issuer": "http://127.0.0.1:9", "client_id": "x", "client_secret": "y"}
    }
    response = client.get(reverse("identity:oidc-start", args=["down"]))
    assert response.status_code == 503
    assert "does not answer" in page_text(response)


def test_the_sign_in_page_offers_the_providers(client, provider):
    page = page_text(client.get(reverse("identity:sign-in")))
    assert "Ontario sign-in" in page
