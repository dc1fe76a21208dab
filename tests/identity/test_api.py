"""The API side of identity: personal tokens, agency API clients, and GET /api/v1/me."""

import datetime
import io

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from joinedup.federation.models import Agency
from joinedup.identity import acting, policy, tokens
from joinedup.identity.client_registry import AddressInput, move
from joinedup.identity.models import ApiClient, PersonalToken

pytestmark = pytest.mark.django_db


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


def test_the_token_command_prints_a_token_that_opens_the_api(
    client, small_federation, make_account
):
    user = make_account(level=2)
    out = io.StringIO()
    call_command("token", user.username, stdout=out)
    value = out.getvalue().strip()
    assert value.startswith("jdp_")
    response = client.get("/api/v1/me", headers=bearer(value))
    assert response.status_code == 200
    body = response.json()
    assert body["account"] == user.email
    assert body["person"] == {"id": user.person.pk, "name": "Amara Okafor"}
    assert body["level_of_assurance"] == 2
    assert body["may_act_for"] == []
    assert body["scopes"] == ["read"]
    assert body["channel"] == "api"


def test_only_a_hash_of_the_secret_is_stored(small_federation, make_account):
    _token, value = tokens.create_personal_token(make_account())
    secret = value.split("_", 2)[2]
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM identity_personaltoken")
        assert secret not in repr(cursor.fetchall())


def test_the_token_command_refuses_unknown_accounts_and_bad_durations(make_account):
    with pytest.raises(CommandError, match="No account"):
        call_command("token", "nobody", stdout=io.StringIO())
    user = make_account()
    with pytest.raises(CommandError, match="from 1 to"):
        call_command("token", user.username, "--days", "0", stdout=io.StringIO())


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("Bearer jdp_nope_nope", "This token is not valid, has expired or was revoked."),
        ("Basic dXNlcjpwYXNz", "Use Authorization: Bearer <token>."),
        ("Bearer", "Use Authorization: Bearer <token>."),
    ],
)
def test_bad_credentials_get_a_401(client, header, message):
    response = client.get("/api/v1/me", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.json() == {"detail": message}


def test_expired_and_revoked_tokens_stop_working(client, make_account):
    user = make_account()
    token, value = tokens.create_personal_token(user)
    assert client.get("/api/v1/me", headers=bearer(value)).status_code == 200
    PersonalToken.objects.filter(pk=token.pk).update(
        expires_at=timezone.now() - datetime.timedelta(seconds=1)
    )
    assert client.get("/api/v1/me", headers=bearer(value)).status_code == 401
    other, value = tokens.create_personal_token(user)
    tokens.revoke(other)
    assert client.get("/api/v1/me", headers=bearer(value)).status_code == 401


def test_a_disabled_account_s_token_stops_working(client, make_account):
    user = make_account()
    _token, value = tokens.create_personal_token(user)
    user.is_active = False
    user.save()
    assert client.get("/api/v1/me", headers=bearer(value)).status_code == 401


def test_anonymous_calls_to_me_get_a_401(client):
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.json() == {"detail": "Sign in to continue."}


def test_a_read_only_token_cannot_write(make_account):
    user = make_account()
    context = acting.for_user(user, second_factor=True, scopes=("read",))
    decision = policy.decide(context, "service.apply")
    assert not decision.allowed and decision.code == "scope"
    assert policy.decide(context, "account.self").allowed


def test_agency_clients_act_in_their_agency_s_name_within_its_area(
    client, small_federation, make_account
):
    person = make_account().person
    move(
        person,
        AddressInput("1 rue Peel", "Montréal", "QC", jurisdiction_code="CA-QC-MTL"),
        datetime.date.today(),
    )
    esdc, esdc_value = tokens.create_api_client(
        Agency.objects.get(key="esdc"), name="Benefits system", role="caseworker"
    )
    _ontario, ontario_value = tokens.create_api_client(
        Agency.objects.get(key="serviceontario"), name="Ontario system", role="caseworker"
    )
    me = client.get("/api/v1/me", headers=bearer(esdc_value))
    assert me.status_code == 200
    assert me.json()["agency"] == "esdc" and me.json()["role"] == "caseworker"
    assert me.json()["account"] is None
    # A national agency serves everyone; a provincial one only people of its province.
    record = client.get(f"/api/v1/people/{person.pk}", headers=bearer(esdc_value))
    assert record.status_code == 200
    assert record.json()["given_names"] == "Amara"
    refused = client.get(f"/api/v1/people/{person.pk}", headers=bearer(ontario_value))
    assert refused.status_code == 403
    assert refused.json() == {"detail": "You may not see this person's record."}
    # An agency client does not act for a person.
    assert (
        client.get(
            "/api/v1/me", headers={**bearer(esdc_value), "X-Acting-For": str(person.pk)}
        ).status_code
        == 403
    )
    tokens.revoke(esdc)
    assert client.get("/api/v1/me", headers=bearer(esdc_value)).status_code == 401
    assert ApiClient.objects.count() == 2


def test_identifiers_come_masked_from_the_api(client, small_federation, make_account):
    from joinedup.identity.client_registry import add_identifier

    from .conftest import VALID_SIN

    user = make_account()
    add_identifier(user.person, "ca-sin", VALID_SIN)
    _token, value = tokens.create_personal_token(user)
    body = client.get(f"/api/v1/people/{user.person.pk}", headers=bearer(value)).json()
    assert body["identifiers"] == {"ca-sin": "••••••286"}
    assert "046454286" not in str(body)


def test_the_session_also_opens_the_api(client, make_account):
    from .conftest import sign_in

    sign_in(client, make_account())
    assert client.get("/api/v1/me").json()["account"] == "amara@example.org"


def test_the_catalogue_stays_public(client, small_federation):
    assert client.get("/api/v1/services").status_code == 200
    assert client.get("/api/v1/openapi.json").status_code == 200


def test_an_account_makes_and_revokes_its_own_tokens(client, make_account):
    user = make_account()
    _token, write = tokens.create_personal_token(user, scopes=["read", "write"])
    _token, read_only = tokens.create_personal_token(user, scopes=["read"])
    made = client.post(
        "/api/v1/me/tokens",
        {"name": "script", "scopes": ["read"], "days": 7},
        content_type="application/json",
        headers=bearer(write),
    )
    assert made.status_code == 201
    new = made.json()
    assert client.get("/api/v1/me", headers=bearer(new["token"])).status_code == 200
    bad = client.post(
        "/api/v1/me/tokens", {"days": 5000}, content_type="application/json", headers=bearer(write)
    )
    assert bad.status_code == 400
    assert (
        client.post(
            "/api/v1/me/tokens", {}, content_type="application/json", headers=bearer(read_only)
        ).status_code
        == 403
    )
    other = make_account(email="other@example.org")
    _token, others = tokens.create_personal_token(other, scopes=["read", "write"])
    assert (
        client.delete(f"/api/v1/me/tokens/{new['key_id']}", headers=bearer(others)).status_code
        == 404
    )
    assert (
        client.delete(f"/api/v1/me/tokens/{new['key_id']}", headers=bearer(write)).status_code
        == 204
    )
    assert client.get("/api/v1/me", headers=bearer(new["token"])).status_code == 401


def test_a_revoked_proof_or_a_removed_membership_counts_at_the_next_request(
    client, small_federation, make_account, make_staff
):
    """The token's authentication reads the level of assurance and the staff memberships in
    its own statement at every request: nothing is kept between requests."""
    user = make_account(level=2)
    _token, value = tokens.create_personal_token(user)
    assert client.get("/api/v1/me", headers=bearer(value)).json()["level_of_assurance"] == 2
    user.person.proofings.update(revoked_at=timezone.now())
    assert client.get("/api/v1/me", headers=bearer(value)).json()["level_of_assurance"] == 0

    staff = make_staff()
    _token, value = tokens.create_personal_token(staff)

    def role() -> str | None:
        credential = tokens.authenticate(value)
        return acting.for_user(
            credential.user,
            level=credential.person_level,
            holds_membership=credential.holds_membership,
        ).role

    assert role() == "caseworker"
    staff.memberships.all().delete()
    assert role() is None
