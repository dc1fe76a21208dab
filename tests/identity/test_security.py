"""Security headers, CSRF everywhere, and the production settings."""

import base64
import os
import re
import subprocess
import sys

import pytest
from django.test import Client
from django.urls import reverse

from .conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_pages_carry_a_content_security_policy_and_the_usual_headers(client):
    response = client.get(reverse("identity:sign-in"))
    policy = response["Content-Security-Policy"]
    for directive in (
        "default-src 'self'",
        "script-src 'self'",
        "frame-ancestors 'none'",
        "object-src 'none'",
        "form-action 'self'",
    ):
        assert directive in policy
    assert "unsafe-inline" not in policy
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


def test_forms_are_protected_against_cross_site_requests(make_account):
    client = Client(enforce_csrf_checks=True)
    user = make_account()
    response = client.post(
        reverse("identity:sign-in"), {"username": user.email, "password": "whatever"}
    )
    assert response.status_code == 403
    page = client.get(reverse("identity:sign-in"))
    token = page.cookies["csrftoken"].value
    response = client.post(
        reverse("identity:sign-in"),
        {"username": user.email, "password": "whatever", "csrfmiddlewaretoken": token},
    )
    assert response.status_code == 400  # past CSRF: just a wrong password


def test_the_api_checks_csrf_for_session_writes(make_account):
    client = Client(enforce_csrf_checks=True)
    client.get(reverse("identity:sign-in"))
    token = client.cookies["csrftoken"].value
    user = make_account()
    client.post(
        reverse("identity:sign-in"),
        {"username": user.email, "password": PASSWORD, "csrfmiddlewaretoken": token},
    )
    assert client.get("/api/v1/me").status_code == 200  # reads need no token
    refused = client.post("/api/v1/me/tokens", {}, content_type="application/json")
    assert refused.status_code == 403
    made = client.post(
        "/api/v1/me/tokens",
        {"name": "laptop"},
        content_type="application/json",
        headers={"X-CSRFToken": client.cookies["csrftoken"].value},
    )
    assert made.status_code == 201
    assert made.json()["token"].startswith("jdp_")


def _settings_in_production(
    extra: dict[str, str], withhold: str = ""
) -> subprocess.CompletedProcess:
    """Import the settings as production would, giving each key they ask for (32 random
    bytes, base64) except `withhold`; returns the last run."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("JOINEDUP_") and k != "DJANGO_SETTINGS_MODULE"
    }
    env.update({"JOINEDUP_SECURE": "true", "JOINEDUP_SECRET_KEY": "x" * 50, **extra})
    code = (
        "from joinedup import settings as s;"
        "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS,"
        " s.SECURE_SSL_REDIRECT)"
    )
    for _attempt in range(10):
        result = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
        )
        wanted = re.findall(r"(JOINEDUP_\w+)(?: and JOINEDUP_\w+)? must be set", result.stderr)
        if result.returncode == 0 or not wanted or wanted[-1] == withhold:
            return result
        env[wanted[-1]] = base64.urlsafe_b64encode(os.urandom(32)).decode()
    return result


def test_production_settings_turn_on_hsts_and_secure_cookies():
    result = _settings_in_production({"JOINEDUP_IDENTIFIER_INDEX_KEY": "an index key"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True", "31536000", "True"]


def test_production_refuses_the_development_identifier_keys():
    result = _settings_in_production({}, withhold="JOINEDUP_IDENTIFIER_KEYS")
    assert result.returncode != 0
    assert "JOINEDUP_IDENTIFIER_KEYS and JOINEDUP_IDENTIFIER_INDEX_KEY must be set" in result.stderr
