"""schemathesis against our own OpenAPI document, through the WSGI application (no network).

Two bounded runs. On every database: a few generated requests per operation, anonymous and as
an agency's API client with both scopes, with the four conformance checks. On PostgreSQL
(where a NUL character or an integer beyond 64 bits fails in the database, and where
production runs): every check schemathesis has, valid and invalid data, plus hostile requests
written by hand (integers beyond 2^63, non-ASCII digits and letters in headers and the query,
NUL characters), for an anonymous caller, a citizen and a staff member. For every operation,
no answer may be a server error (5xx), and every answer must match what the document says of
it: a documented status code, its content type and its body's schema.
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from django.db import connection
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

pytestmark = pytest.mark.django_db

#: Generated requests per operation and credential: enough to find a 5xx on bad input, few
#: enough to run in seconds.
EXAMPLES = 3


#: The full run's settings. Valid data may still be refused by what no schema can say: 400
#: for a value naming nothing known (a jurisdiction code), 422 for answers a service's own
#: form refuses, 409 for a state that forbids the step. NUL characters are sent by the
#: hand-written cases and the invalid-data mode, not as "valid" data.
FULL_CONFIG = {
    "checks": {
        "positive_data_acceptance": {
            "expected-statuses": ["2XX", "400", "401", "403", "404", "409", "422", "429"]
        }
    },
    "generation": {"allow-x00": False},
}


def _operations(config: dict | None = None):
    from schemathesis.config import SchemathesisConfig

    schema = schemathesis.openapi.from_wsgi(
        "/api/v1/openapi.json",
        get_wsgi_application(),
        config=SchemathesisConfig.from_dict(config) if config else None,
    )
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


#: Generated requests per operation, caller and mode (valid, invalid data) in the PostgreSQL
#: run: pinned so the three callers' run stays within a few minutes.
FULL_EXAMPLES = 8

#: Hand-written hostile values: integers beyond 64 bits, digits that are not ASCII ("²"
#: passes str.isdigit()), letters from other scripts, a NUL character.
HOSTILE_INTEGERS = (2**63, 2**64 + 1, -(2**63) - 1)
HOSTILE_TEXTS = ("²", "١٢٣", "9223372036854775808", "名前 é", "a\x00b")

on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="the full run (three callers, every check) runs on PostgreSQL only; SQLite keeps "
    "the bounded run above",
)


def _hostile_cases(operation):
    """Requests no generator is sure to make: each hostile value in every query parameter and
    in X-Acting-For, with the path filled from the document's own constraints."""
    path_parameters = {}
    for parameter in operation.path_parameters:
        path_parameters[parameter.name] = "1"
    for text in HOSTILE_TEXTS:
        yield operation.Case(path_parameters=path_parameters, headers={"X-Acting-For": text})
    for parameter in operation.query:
        for value in (*HOSTILE_INTEGERS, *HOSTILE_TEXTS):
            yield operation.Case(path_parameters=path_parameters, query={parameter.name: value})


def _run_all(operation, headers: dict[str, str]) -> None:
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=FULL_EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def check(case) -> None:
            case.call_and_validate(headers=headers)  # every check schemathesis has

        check()
    for case in _hostile_cases(operation):
        case.call_and_validate(headers=headers)


@pytest.fixture
def callers(small_federation, settings) -> dict[str, dict[str, str]]:
    """The three callers' headers: anonymous, a citizen's and a staff member's tokens."""
    from joinedup.federation.models import Agency
    from joinedup.identity import tokens
    from joinedup.identity.client_registry import register_person
    from joinedup.identity.models import StaffMembership, User

    settings.API_CLIENT_BURST = 100_000
    settings.PERSONAL_TOKEN_BURST = 100_000
    person = register_person(given_names="Amara", family_name="Okafor")
    citizen = User.objects.create_user(
        username="amara@example.org", email="amara@example.org", person=person
    )
    staff = User.objects.create_user(username="case@example.org", email="case@example.org")
    StaffMembership.objects.create(
        user=staff, agency=Agency.objects.order_by("key").first(), role="caseworker"
    )
    found = {"anonymous": {}}
    for name, user in (("citizen", citizen), ("staff", staff)):
        _token, value = tokens.create_personal_token(user, scopes=["read", "write"])
        found[name] = {"Authorization": f"Bearer {value}"}
    return found


@on_postgresql
@pytest.mark.parametrize("caller", ["anonymous", "citizen", "staff"])
def test_no_request_breaks_the_contract_whoever_calls(caller, callers, connections_kept):
    failures = []
    config = FULL_CONFIG
    if callers[caller]:
        # A caller with a token sends its own Authorization header over whatever was generated:
        # a generated (or negated) one would be replaced, and a case negated only there would
        # be judged as if the API had accepted it. The anonymous caller keeps generated ones.
        config = {**FULL_CONFIG, "generation": {**FULL_CONFIG["generation"]}}
        config["generation"]["with-security-parameters"] = False
    for operation in _operations(config):
        try:
            _run_all(operation, callers[caller])
        except (Exception, BaseExceptionGroup) as error:  # every failure, then report
            failures.append(f"{operation.method.upper()} {operation.path} ({caller}): {error}")
    assert not failures, "\n\n".join(failures)
