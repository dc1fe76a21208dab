"""schemathesis over engagement's operations: anonymous, a person, and an agency's client —
no 5xx, and every answer as the OpenAPI document describes it."""

from __future__ import annotations

import pytest
import schemathesis

from joinedup.identity import tokens
from tests.api.test_openapi_fuzz import _run, connections_kept  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db

OURS = ("/consultations", "/complaints", "/me/complaints")


def _engagement_operations():
    from django.core.wsgi import get_wsgi_application

    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path.removeprefix("/api/v1").startswith(OURS):
            yield operation


def test_engagement_operations_keep_the_contract(
    consultation,
    make_applicant,
    federation,
    settings,
    connections_kept,  # noqa: F811
):
    settings.API_CLIENT_BURST = 100_000
    settings.ENGAGEMENT_CONTRIBUTIONS_PER_HOUR = 100_000
    person = make_applicant(email="fuzz@example.org")
    _t, person_secret = tokens.create_personal_token(person, name="f", scopes=["read", "write"])
    _c, client_secret = tokens.create_api_client(
        federation["toronto"], name="fuzz", role="front_line", scopes=["read", "write"]
    )
    failures = []
    operations = list(_engagement_operations())
    assert len(operations) >= 8
    for operation in operations:
        for who, secret in (
            ("anonymous", None),
            ("person", person_secret),
            ("client", client_secret),
        ):
            headers = {"Authorization": f"Bearer {secret}"} if secret else {}
            try:
                _run(operation, headers)
            except (Exception, BaseExceptionGroup) as error:
                failures.append(f"{operation.method.upper()} {operation.path} ({who}): {error}")
    assert not failures, "\n\n".join(failures)
