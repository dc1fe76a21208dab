"""The authorisation matrix, generated from the URL configuration and the API.

Every URL pattern and every API operation must declare its policy rule; a new endpoint
without one fails here. Then every endpoint is requested, for real, by every role, and the
answer (allowed, or refused: 401, 403, or sent to sign in, give a second factor or step up)
must be what `policy.decide` says for that role.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice
from ninja.operation import PathView

from joinedup.federation.models import Agency, Service
from joinedup.identity import acting, guards, mandates, policy, tokens
from joinedup.identity.api_auth import PolicyAuth
from joinedup.identity.client_registry import AddressInput, register_person
from joinedup.identity.models import Person, StaffMembership, User
from tests.runs import every_one_on_postgresql

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class Endpoint:
    name: str  # namespace:name, or the route when unnamed
    route: str
    action: str | None
    params: tuple[str, ...]
    methods: tuple[str, ...] = ("GET",)
    api: bool = False
    named: bool = True


def _params(pattern: URLPattern) -> tuple[str, ...]:
    return tuple(pattern.pattern.regex.groupindex)


def _path_view(callback) -> PathView | None:
    for cell in getattr(callback, "__closure__", None) or ():
        if isinstance(cell.cell_contents, PathView):
            return cell.cell_contents
    return None


def endpoints() -> list[Endpoint]:
    """Every URL pattern of the project, with the rule it declares."""
    found: list[Endpoint] = []

    def walk(patterns, prefix: str, namespace: str | None) -> None:
        for item in patterns:
            if isinstance(item, URLResolver):
                ns = item.namespace or namespace
                if item.namespace and namespace:
                    ns = f"{namespace}:{item.namespace}"
                walk(item.url_patterns, prefix + str(item.pattern), ns)
                continue
            route = prefix + str(item.pattern)
            name = f"{namespace}:{item.name}" if namespace and item.name else item.name
            view = _path_view(item.callback)
            if view is not None:
                for operation in view.operations:
                    auth = [a for a in operation.auth_callbacks if isinstance(a, PolicyAuth)]
                    found.append(
                        Endpoint(
                            name=name or route,
                            route=route,
                            action=auth[0].action if len(auth) == 1 else None,
                            params=_params(item),
                            methods=tuple(operation.methods),
                            api=True,
                        )
                    )
                continue
            found.append(
                Endpoint(
                    name=name or route,
                    route=route,
                    action=guards.declared_action(item.callback),
                    params=_params(item),
                    named=bool(item.name),
                )
            )

    walk(get_resolver().url_patterns, "/", None)
    return found


def test_every_endpoint_declares_a_known_rule():
    known = {rule.action for rule in policy.rules()}
    everything = endpoints()
    undeclared = sorted(e.route for e in everything if e.action is None)
    assert not undeclared, f"these endpoints declare no policy rule: {undeclared}"
    unknown = sorted(f"{e.route} → {e.action}" for e in everything if e.action not in known)
    assert not unknown, f"these endpoints name rules the policy does not know: {unknown}"
    # The matrix covers the whole surface: pages, staff console, admin and API.
    routes = {e.route for e in everything}
    assert any("account/" in r for r in routes) and any(r.startswith("/api/v1/") for r in routes)
    assert any(r.startswith("/admin/") for r in routes)


def test_an_undeclared_view_is_caught():
    from django.urls import path

    def naked(request):
        return None

    pattern = path("naked/", naked, name="naked")
    assert guards.declared_action(pattern.callback) is None


# --- The world the matrix runs in ----------------------------------------------------------


@dataclass
class World:
    amara: Person  # lives in Toronto, has an account at level 1
    noor: Person  # a child of David's, no account
    service: Service  # needs level 2
    device: TOTPDevice  # someone's authenticator (the admin shows its set-up code)
    shared_request: object  # an ESDC request to the federal shared-services provider


@dataclass(frozen=True)
class Role:
    name: str
    api_only: bool = False


ROLES = [
    Role("anonymous"),
    Role("citizen"),
    Role("citizen-verified"),
    Role("parent-acting-for-child"),
    *[Role(f"esdc-{role}") for role in StaffMembership.Role.values],
    Role("serviceontario-caseworker"),
    Role("staff-without-second-factor"),
    Role("platform-admin"),
    Role("platform-admin-without-second-factor"),
    Role("token-read", api_only=True),
    Role("token-read-write", api_only=True),
    Role("agency-client", api_only=True),
]


def _user(email: str, person: Person | None = None, **fields) -> User:
    user = User(username=email, email=email, person=person, **fields)
    user.set_unusable_password()
    user.save()
    return user


def _prove(person: Person, level: int) -> None:
    from joinedup.identity import assurance

    method = {1: "self_asserted", 2: "document_check"}[level]
    assurance.record_proofing(person, level=level, method=method)


def build_world() -> World:
    amara = register_person(
        given_names="Amara",
        family_name="Okafor",
        birth_date=datetime.date(1988, 3, 14),
        address=AddressInput("1 King St W", "Toronto", "ON", jurisdiction_code="CA-ON-TOR"),
    )
    _prove(amara, 1)
    noor = register_person(
        given_names="Noor", family_name="Okafor", birth_date=datetime.date(2022, 1, 5)
    )
    return World(
        amara=amara,
        noor=noor,
        service=Service.objects.get(key="ca.birth-registration"),
        device=TOTPDevice.objects.create(user=_user("someone@example.org"), name="phone"),
        shared_request=_shared_request(),
    )


def _shared_request():
    """A back-office request of ESDC (a client of the federal provider), so the back office's
    rules are checked against a real request (the client's roles, the provider's, others')."""
    # Imported here: the back office's fixtures build on the small federation set up above.
    from joinedup.backoffice.requests import submit_request
    from tests.backoffice.conftest import build_shared

    build_shared({a.key: a for a in Agency.objects.all()})
    esdc = Agency.objects.get(key="esdc")
    requester = _user("esdc-requester-for-matrix@example.org")
    StaffMembership.objects.create(user=requester, agency=esdc, role="service_requester")
    context = acting.for_user(requester, second_factor=True)
    request, _created = submit_request(context, esdc, "ca.hosting", {"details": "A test bed"})
    return request


def sign_in_as(role: Role, world: World):
    """A client whose session is that of the role, the context the policy should see, and a
    function that restores the session (a POST may sign out or change whom one acts for)."""
    client = Client()
    if role.name == "anonymous":
        return client, acting.ANONYMOUS, lambda: client.logout()
    second_factor = True
    subject_id = None
    if role.name == "citizen":
        user = _user("amara@example.org", world.amara)
    elif role.name == "citizen-verified":
        person = register_person(given_names="Lina", family_name="Haddad")
        _prove(person, 2)
        user = _user("lina@example.org", person)
    elif role.name == "parent-acting-for-child":
        person = register_person(given_names="David", family_name="Okafor")
        _prove(person, 2)
        mandates.grant_parental_mandate(person, world.noor)
        user = _user("david@example.org", person)
        subject_id = world.noor.pk
    elif role.name.startswith(("esdc-", "serviceontario-")):
        agency, staff_role = role.name.split("-", 1)
        user = _user(f"{role.name}@example.org")
        StaffMembership.objects.create(
            user=user, agency=Agency.objects.get(key=agency), role=staff_role
        )
    elif role.name == "staff-without-second-factor":
        user = _user("unverified@example.org")
        StaffMembership.objects.create(
            user=user, agency=Agency.objects.get(key="esdc"), role="caseworker"
        )
        second_factor = False
    elif role.name.startswith("platform-admin"):
        user = _user("root@example.org", is_staff=True, is_superuser=True)
        second_factor = role.name == "platform-admin"
    elif role.name.startswith("token-"):
        user = _user("amara@example.org", world.amara)
        scopes = ["read", "write"] if role.name == "token-read-write" else ["read"]
        _token, value = tokens.create_personal_token(user, scopes=scopes)
        client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {value}"
        context = acting.for_user(user, second_factor=True, scopes=tuple(scopes))
        return client, context, lambda: None
    elif role.name == "agency-client":
        api_client, value = tokens.create_api_client(
            Agency.objects.get(key="esdc"), name="Partner", role="caseworker", scopes=["read"]
        )
        client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {value}"
        return client, acting.for_api_client(api_client), lambda: None
    else:  # pragma: no cover
        raise AssertionError(role)
    device = TOTPDevice.objects.create(user=user) if second_factor else None

    def restore() -> None:
        client.force_login(user)
        session = client.session
        if device is not None:
            session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        if subject_id:
            session[acting.SESSION_ACTING_FOR] = subject_id
        session.save()

    restore()
    return (
        client,
        acting.for_user(user, second_factor=second_factor, subject_id=subject_id),
        restore,
    )


def samples(world: World) -> dict[str, object]:
    return {
        "person_id": world.amara.pk,
        "key": world.service.key,
        "code": "CA-ON",
        "uidb64": "MQ",
        "token": "not-a-token",
        "provider": "no-such-provider",
        "app_label": "identity",
        "object_id": "1",
        "content_type_id": 1,
        "pk": world.device.pk,
        # Only the back office's request pages take it (others name their own requests).
        "backoffice:request_id": world.shared_request.pk,
    }


def resource_for(endpoint: Endpoint, world: World):
    if "person_id" in endpoint.params:
        return world.amara
    if endpoint.name.startswith("backoffice:") and "request_id" in endpoint.params:
        return world.shared_request
    if endpoint.action == "service.apply" and "key" in endpoint.params:
        return world.service  # otherwise the service is named in the body, read after the gate
    return None


def expected(context: acting.ActingContext, endpoint: Endpoint, world: World) -> bool:
    if not policy.decide(context, endpoint.action).allowed:
        return False
    resource = resource_for(endpoint, world)
    return resource is None or policy.decide(context, endpoint.action, resource).allowed


REFUSAL_PAGES = ("identity:sign-in", "identity:two-factor", "identity:step-up", "admin:login")


def was_refused(response, requested: str) -> bool:
    """401/403, or a redirect to sign in / second factor / step up that comes back here."""
    if response.status_code in (401, 403):
        return True
    if response.status_code not in (301, 302):
        return False
    location = urlsplit(response["Location"])
    if requested == reverse("admin:logout"):
        return location.path == reverse("admin:index")  # Django's admin sends non-admins there
    back_here = parse_qs(location.query).get("next") == [requested]
    return back_here and location.path in {reverse(name) for name in REFUSAL_PAGES}


#: For a parameter with no sample: a value naming nothing, so the request still passes the
#: policy's first question (may this role do this at all?) and then finds nothing (404).
NOTHING = {"uuid": "00000000-0000-0000-0000-000000000000", "int": 999999999}


def _fallback(route: str, name: str) -> object:
    for converter, value in NOTHING.items():
        if f"<{converter}:{name}>" in route:
            return value
    return NOTHING["int"] if name.endswith("_id") or name == "pk" else "nothing-here"


def url_of(endpoint: Endpoint, values: dict[str, object]) -> str | None:
    kwargs = {p: values.get(p, _fallback(endpoint.route, p)) for p in endpoint.params}
    if endpoint.name.startswith("backoffice:") and "request_id" in kwargs:
        kwargs["request_id"] = values["backoffice:request_id"]
    for name, value in kwargs.items():
        if f"<slug:{name}>" in endpoint.route and not re.fullmatch(r"[-\w]+", str(value)):
            kwargs[name] = "nothing-here"
    if endpoint.api:
        route = endpoint.route
        for name, value in kwargs.items():
            route = re.sub(rf"<(\w+:)?{name}>", str(value), route)
        return route
    if not endpoint.named:
        return None  # an unnamed pattern (the admin's catch-all): declared, not requested
    return reverse(endpoint.name, kwargs=kwargs)


#: On SQLite, these roles still request every endpoint (tests/runs.py); all on PostgreSQL.
SAMPLED_ON_SQLITE = {
    "anonymous",
    "citizen",
    "esdc-caseworker",
    "platform-admin",
    "token-read-write",
}


@pytest.mark.parametrize(
    "role", every_one_on_postgresql(ROLES, SAMPLED_ON_SQLITE, lambda r: r.name)
)
def test_every_endpoint_answers_every_role_as_the_policy_says(role, small_federation, settings):
    settings.OIDC_PROVIDERS = {}
    # One client calls every operation of the API: more than a burst of an agency client's
    # bucket, which is not what this test is about (tests/channels test the limits).
    settings.API_CLIENT_BURST = 100_000
    world = build_world()
    client, context, restore = sign_in_as(role, world)
    client.raise_request_exception = False  # a server error is reported below, with the rest
    values = samples(world)
    mismatches = []
    checked = 0
    for endpoint in endpoints():
        if role.api_only and not endpoint.api:
            continue
        url = url_of(endpoint, values)
        if url is None:
            continue
        method = "GET" if "GET" in endpoint.methods else endpoint.methods[0]
        if method == "GET":
            response = client.get(url)
            if response.status_code == 405 and not endpoint.api:
                # A form that only takes POST: post it empty (bad input, or a harmless act).
                method = "POST"
                response = client.post(url)
                restore()
        else:
            response = client.generic(method, url, "{}", content_type="application/json")
            restore()
        if response.status_code >= 500:
            mismatches.append(f"{method} {url} [{endpoint.action}]: server error")
            continue
        refused = was_refused(response, url)
        allowed = expected(context, endpoint, world)
        if (
            allowed
            and refused
            and endpoint.action == "admin.site"
            and endpoint.name.endswith(("_add", "_delete", ":autocomplete"))
        ):
            # Past the site's gate, a model admin may still refuse to add or delete records
            # kept read-only (ledgers, tokens); the gate itself is what is checked here.
            continue
        checked += 1
        if refused == allowed:
            mismatches.append(
                f"{method} {url} [{endpoint.action}]: policy says "
                f"{'allowed' if allowed else 'denied'}, got {response.status_code}"
                f" {response.get('Location', '')}"
            )
    assert checked > 10
    assert not mismatches, "\n".join(mismatches)
