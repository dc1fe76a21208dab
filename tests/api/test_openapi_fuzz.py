"""schemathesis against our own OpenAPI document, through the WSGI application (no network).

A bounded run: a few generated requests per operation, anonymous and as an agency's API
client with both scopes. For every operation, no answer may be a server error (5xx), and
every answer must match what the document says of it: a documented status code, its
content type and its body's schema.
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, given, settings

pytestmark = pytest.mark.django_db

#: Generated requests per operation and credential: enough to find a 5xx on bad input, few
#: enough to run in seconds.
EXAMPLES = 3


def _operations():
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())
    for result in schema.get_all_operations():
        yield result.ok()


from schemathesis import checks as st_checks  # noqa: E402

#: Every operation: no 5xx; only the status codes it documents (its refusals 401, 403, 422
#: and 429 included); a documented answer has the documented body and content type.
CHECKS = [
    st_checks.not_a_server_error,
    st_checks.status_code_conformance,
    st_checks.content_type_conformance,
    st_checks.response_schema_conformance,
]


def _run(operation, headers: dict[str, str]) -> None:
    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def check(case) -> None:
        case.call_and_validate(headers=headers, checks=CHECKS)

    check()


@pytest.fixture
def connections_kept():
    """As Django's test client does: requests must not close the test's database connection
    (its transaction holds the test data), which the WSGI handler does after each request."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def partner_token(small_federation, settings) -> str:
    from joinedup.federation.models import Agency
    from joinedup.identity import tokens

    # Generated requests come fast: the client's rate must not be what answers them.
    settings.API_CLIENT_BURST = 100_000
    agency = Agency.objects.order_by("key").first()
    _client, secret = tokens.create_api_client(
        agency, name="fuzz", role="front_line", scopes=["read", "write"]
    )
    return secret


def test_no_request_breaks_the_contract(partner_token, connections_kept):
    failures = []
    for operation in _operations():
        for headers in ({}, {"Authorization": f"Bearer {partner_token}"}):
            try:
                _run(operation, headers)
            except (Exception, BaseExceptionGroup) as error:  # every failure, then report
                who = "client" if headers else "anonymous"
                failures.append(f"{operation.method.upper()} {operation.path} ({who}): {error}")
    assert not failures, "\n\n".join(failures)
