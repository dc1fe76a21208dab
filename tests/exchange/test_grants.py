"""Access granted by the provider: a referral (a kind that asks a service) from another node
is refused unless the receiving agency granted that node that service; publishing the
service grants nothing; a grant ends, and is revoked, from the moment it says. Operators
grant with `joinedup exchange-grant`."""

from __future__ import annotations

import datetime

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from joinedup.exchange import grants
from joinedup.exchange.models import IncomingMessage, ServiceGrant

from .conftest import NODE_B
from .test_receiving import from_b, post, refused

REFERRAL = {
    "from_agency": "ca-esdc",
    "to_agency": "esdc",
    "service": "ca.social-insurance-number",
    "note": "needs a SIN",
}


@pytest.fixture
def node(trusted, small_federation):
    return trusted


def test_a_referral_without_a_grant_is_refused_and_logged(client, node, peer_b):
    sealed = from_b(node, peer_b, REFERRAL, kind="referral")
    detail = refused(post(client, sealed.token), 403, "not_granted")
    assert "not granted your node access to this service" in detail
    assert not IncomingMessage.objects.exists()


def test_a_granted_referral_is_accepted_and_only_for_that_service(client, node, peer_b):
    grants.grant("esdc", "ca.social-insurance-number", NODE_B)
    assert post(client, from_b(node, peer_b, REFERRAL, kind="referral").token).status_code == 201
    other = {**REFERRAL, "service": "ca.birth-registration"}
    refused(post(client, from_b(node, peer_b, other, kind="referral").token), 403, "not_granted")
    unnamed = {"note": "no service named"}
    refused(post(client, from_b(node, peer_b, unnamed, kind="referral").token), 403, "not_granted")
    # evidence answers what was asked: no grant of a service is needed
    assert post(client, from_b(node, peer_b).token).status_code == 201


def test_a_revoked_or_ended_grant_no_longer_lets_referrals_in(client, node, peer_b):
    made = grants.grant("esdc", "ca.social-insurance-number", NODE_B)
    assert grants.revoke("esdc", "ca.social-insurance-number", NODE_B) == 1
    sealed = from_b(node, peer_b, REFERRAL, kind="referral")
    refused(post(client, sealed.token), 403, "not_granted")
    grants.grant("esdc", "ca.social-insurance-number", NODE_B)  # granted again
    ServiceGrant.objects.filter(pk=made.pk).update(
        valid_to=timezone.now() - datetime.timedelta(seconds=1)
    )
    refused(post(client, from_b(node, peer_b, REFERRAL, kind="referral").token), 403, "not_granted")


def test_a_copy_arriving_after_the_grant_was_revoked_is_acknowledged_as_a_duplicate(
    client, node, peer_b
):
    """The sender retries a referral whose answer was lost; the grant was revoked since: the
    referral was taken under the grant, so the copy is acknowledged, not refused."""
    grants.grant("esdc", "ca.social-insurance-number", NODE_B)
    sealed = from_b(node, peer_b, REFERRAL, kind="referral")
    assert post(client, sealed.token).status_code == 201
    grants.revoke("esdc", "ca.social-insurance-number", NODE_B)
    again = post(client, sealed.token)
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    assert IncomingMessage.objects.filter(message_id=sealed.message_id).count() == 1
    # a new referral is refused
    refused(post(client, from_b(node, peer_b, REFERRAL, kind="referral").token), 403, "not_granted")


def test_refusal_in_french(client, node, peer_b):
    sealed = from_b(node, peer_b, REFERRAL, kind="referral")
    answer = post(client, sealed.token, language="fr")
    assert "n’a pas accordé à votre nœud" in answer.json()["detail"]


def test_operators_grant_and_revoke_with_the_command(node, capsys):
    call_command(
        "exchange_grant", "esdc", "ca.social-insurance-number", NODE_B, "--until", "2099-12-31"
    )
    found = ServiceGrant.objects.get()
    assert timezone.localtime(found.valid_to).date() == datetime.date(2100, 1, 1)
    call_command("exchange_grant", "esdc", "ca.social-insurance-number", NODE_B, "--revoke")
    assert ServiceGrant.objects.get().revoked_at is not None
    with pytest.raises(CommandError, match="no grant in force"):
        call_command("exchange_grant", "esdc", "ca.social-insurance-number", NODE_B, "--revoke")
    for wrong, message in [
        (("nobody", "ca.social-insurance-number", NODE_B), "No agency"),
        (("esdc", "no.such-service", NODE_B), "No service"),
        (("esdc", "ca.social-insurance-number", "XX/GOV/none"), "names no node"),
    ]:
        with pytest.raises(CommandError, match=message):
            call_command("exchange_grant", *wrong)
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command(
            "exchange_grant", "esdc", "ca.social-insurance-number", NODE_B, "--until", "soon"
        )
    with pytest.raises(CommandError, match="future"):
        call_command(
            "exchange_grant", "esdc", "ca.social-insurance-number", NODE_B, "--until", "2001-01-01"
        )
    assert ServiceGrant.objects.count() == 1  # nothing half-made by the refusals
