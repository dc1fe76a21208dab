"""The partner API: a hospital's notice of birth matched with the parents' registration,
scopes and rate limits, and status webhooks fed by the outbox."""

from __future__ import annotations

import datetime
import json

import pytest
from django.test import Client
from django.utils import timezone

from joinedup.channels.models import BirthNotice, RateBucket
from joinedup.delivery.applications import submit_application
from joinedup.sharing import dispatch
from joinedup.sharing.models import OutboxEvent, WebhookEndpoint

from .conftest import birth_registration

pytestmark = pytest.mark.django_db


def notice(**overrides) -> dict:
    body = {
        "notice_id": "TGH-2026-0001",
        "mother_given_names": "Amara",
        "mother_family_name": "okafor",
        "child_birth_date": (timezone.localdate() - datetime.timedelta(days=2)).isoformat(),
        "child_sex": "female",
        "hospital": "Toronto General",
        "province": "CA-ON",
    }
    body.update(overrides)
    return body


def post(client: Client, secret: str, path: str, body: dict):
    return client.post(
        "/api/v1" + path,
        json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {secret}",
    )


def test_a_hospital_notice_is_matched_with_the_registration_already_made(world):
    registration, _created = submit_application(
        world.person(world.amara), "ca.birth-registration", birth_registration()
    )
    response = post(Client(), world.hospital_secret, "/partners/birth-notices", notice())
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["matched"] is True
    assert body["registration_reference"] == registration.reference
    assert body["registrar"] == "serviceontario"
    assert OutboxEvent.objects.filter(type="org.joinedup.birth_notice.matched").exists()
    # The same notice again is the same notice, not a second one.
    again = post(Client(), world.hospital_secret, "/partners/birth-notices", notice())
    assert again.status_code == 200
    assert again.json()["id"] == body["id"]
    assert BirthNotice.objects.count() == 1


def test_a_notice_sent_first_is_matched_when_the_parents_register(world):
    response = post(
        Client(), world.hospital_secret, "/partners/birth-notices", notice(notice_id="TGH-2")
    )
    assert response.status_code == 201
    assert response.json()["matched"] is False
    registration, _created = submit_application(
        world.person(world.amara), "ca.birth-registration", birth_registration()
    )
    dispatch.dispatch_pending()
    found = BirthNotice.objects.get(notice_id="TGH-2")
    assert found.registration == registration
    read = Client().get(
        f"/api/v1/partners/birth-notices/{found.pk}",
        HTTP_AUTHORIZATION=f"Bearer {world.hospital_reader_secret}",
    )
    # Another client of the same agency does not see this sender's notices.
    assert read.status_code == 404
    mine = Client().get(
        f"/api/v1/partners/birth-notices/{found.pk}",
        HTTP_AUTHORIZATION=f"Bearer {world.hospital_secret}",
    )
    assert mine.status_code == 200 and mine.json()["matched"] is True


def test_a_notice_that_differs_is_not_matched(world):
    submit_application(world.person(world.amara), "ca.birth-registration", birth_registration())
    for overrides in (
        {"notice_id": "a", "mother_family_name": "Tremblay"},
        {"notice_id": "b", "hospital": "Mount Sinai"},
        {"notice_id": "c", "province": "CA-QC"},
        {
            "notice_id": "d",
            "child_birth_date": (timezone.localdate() - datetime.timedelta(days=9)).isoformat(),
        },
    ):
        response = post(
            Client(), world.hospital_secret, "/partners/birth-notices", notice(**overrides)
        )
        assert response.status_code == 201
        assert response.json()["matched"] is False, overrides


def test_bad_notices_are_refused_with_a_4xx(world):
    future = (timezone.localdate() + datetime.timedelta(days=1)).isoformat()
    response = post(
        Client(), world.hospital_secret, "/partners/birth-notices", notice(child_birth_date=future)
    )
    assert response.status_code == 422
    response = post(
        Client(), world.hospital_secret, "/partners/birth-notices", notice(province="Ontario")
    )
    assert response.status_code == 422


def test_a_client_beyond_its_scopes_is_refused(world):
    response = post(Client(), world.hospital_reader_secret, "/partners/birth-notices", notice())
    assert response.status_code == 403
    assert "write" in response.json()["detail"]
    assert not BirthNotice.objects.exists()


def test_a_person_cannot_use_the_partner_endpoints(world):
    client = Client()
    client.force_login(world.amara)
    response = client.get("/api/v1/partners/birth-notices/1")
    assert response.status_code == 403


def test_a_client_only_sees_its_own_agencys_applications(world):
    registration, _created = submit_application(
        world.person(world.amara), "ca.birth-registration", birth_registration()
    )
    response = Client().get(
        f"/api/v1/partners/applications/{registration.pk}",
        HTTP_AUTHORIZATION=f"Bearer {world.hospital_secret}",
    )
    assert response.status_code == 404  # delivered by ServiceOntario, not the ministry


def test_a_client_beyond_its_rate_gets_429_with_retry_after(world, settings):
    settings.API_CLIENT_BURST = 3
    settings.API_CLIENT_RATE_PER_MINUTE = 6
    client = Client()
    answers = [
        client.get(
            "/api/v1/partners/birth-notices/999",
            HTTP_AUTHORIZATION=f"Bearer {world.hospital_secret}",
        )
        for _ in range(4)
    ]
    assert [a.status_code for a in answers[:3]] == [404, 404, 404]
    assert answers[3].status_code == 429
    assert int(answers[3]["Retry-After"]) >= 1
    # Another client has its own bucket.
    other = client.get(
        "/api/v1/partners/birth-notices/999",
        HTTP_AUTHORIZATION=f"Bearer {world.hospital_reader_secret}",
    )
    assert other.status_code == 404
    # Time refills the bucket.
    RateBucket.objects.filter(client=world.hospital).update(
        updated_at=timezone.now() - datetime.timedelta(seconds=20)
    )
    again = client.get(
        "/api/v1/partners/birth-notices/999", HTTP_AUTHORIZATION=f"Bearer {world.hospital_secret}"
    )
    assert again.status_code == 404


def test_status_changes_reach_the_agencys_webhook_only(world):
    response = post(
        Client(),
        world.hospital_secret,
        "/partners/webhooks",
        {"name": "ministry", "url": "https://partner.example.org/hooks"},
    )
    assert response.status_code == 201
    endpoint = WebhookEndpoint.objects.get(pk=response.json()["id"])
    assert endpoint.agency.key == "on-moh"
    assert response.json()["secret"]
    registration, _created = submit_application(
        world.person(world.amara), "ca.birth-registration", birth_registration()
    )
    dispatch.dispatch_pending()
    forwarded = OutboxEvent.objects.get(
        type="org.joinedup.partner.serviceontario.application.submitted"
    )
    assert forwarded.data["reference"] == registration.reference
    assert "data" not in forwarded.data
    # The ministry's endpoint does not want ServiceOntario's applications; theirs would.
    assert not endpoint.wants(forwarded.type)
    assert endpoint.wants("org.joinedup.partner.on-moh.application.approved")


def test_bad_webhook_addresses_are_refused(world):
    response = post(Client(), world.hospital_secret, "/partners/webhooks", {"url": "not a url"})
    assert response.status_code == 400
