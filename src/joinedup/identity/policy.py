"""The one authorisation policy: every view, API endpoint, admin page and task asks it.

`decide(context, action, resource)` answers allowed or denied, with a reason a person can
read. Anything not explicitly allowed by a registered rule is denied: an unknown action, an
unknown role, a token without the scope. Rules are plain functions registered per action;
they look at the acting context (who acts, for whom, under which mandate, at which level, in
which staff role) and at the resource (a person, a service, an agency).

Views declare their rule with `@public` or `@requires(action)`; the API with `api_auth(action)`;
the admin site through `has_permission`. The authorisation matrix test walks every URL and
API operation and fails for any that declares nothing.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .acting import ActingContext
from .models import StaffMembership

Role = StaffMembership.Role
#: Roles that serve people one by one and may open a person's record within their scope.
PERSON_FACING = frozenset({Role.FRONT_LINE, Role.CASEWORKER, Role.CASE_MANAGER, Role.SUPERVISOR})
#: Roles that manage cases and may record facts such as mandates.
CASE_ROLES = frozenset({Role.CASEWORKER, Role.CASE_MANAGER, Role.SUPERVISOR})
#: Roles that read aggregate figures, never a person's record.
ANALYTIC_ROLES = frozenset({Role.ANALYST, Role.SUPERVISOR, Role.AUDITOR})


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str
    #: Why, for machines: ok, sign_in, second_factor, step_up, scope, forbidden, unknown_action.
    code: str = "ok"
    #: For step_up: the level of assurance needed.
    required_level: int | None = None
    #: For step_up: the service asking for it.
    service_key: str | None = None


class PolicyDenied(PermissionDenied):
    """Raised by `require`; carries the decision so callers can say why."""

    def __init__(self, decision: Decision):
        super().__init__(decision.reason)
        self.decision = decision


@dataclass(frozen=True)
class Rule:
    action: str
    check: Callable[[ActingContext, Any], Decision]
    #: The token scope that covers the action: "read" or "write" ("public" needs none).
    scope: str
    description: str | Promise


_RULES: dict[str, Rule] = {}


def rule(action: str, *, scope: str = "read", description: str | Promise = ""):
    """Register the function deciding `action`. One rule per action."""

    def register(check: Callable[[ActingContext, Any], Decision]):
        if action in _RULES:
            raise ValueError(f"a rule for {action} is already registered")
        _RULES[action] = Rule(action, check, scope, description or (check.__doc__ or ""))
        return check

    return register


def rules() -> list[Rule]:
    return sorted(_RULES.values(), key=lambda r: r.action)


def allow() -> Decision:
    return Decision(True, "")


def deny(code: str, reason: str) -> Decision:
    return Decision(False, reason, code)


def decide(context: ActingContext, action: str, resource: Any = None) -> Decision:
    """Allowed or denied, and why. Deny by default."""
    spec = _RULES.get(action)
    if spec is None:
        return deny("unknown_action", _("This action is not known, so it is not allowed."))
    if spec.scope != "public" and context.scopes is not None and spec.scope not in context.scopes:
        return deny(
            "scope",
            _("This token does not allow this (it lacks the %(scope)s scope).")
            % {"scope": spec.scope},
        )
    try:
        return spec.check(context, resource)
    except ObjectDoesNotExist:
        return deny("forbidden", _("You may not do this."))


def require(context: ActingContext, action: str, resource: Any = None) -> None:
    """Raise PolicyDenied unless the policy allows the action."""
    decision = decide(context, action, resource)
    if not decision.allowed:
        raise PolicyDenied(decision)


# --- Building blocks ----------------------------------------------------------------------


def _must_sign_in(context: ActingContext) -> Decision | None:
    if context.is_anonymous:
        return deny("sign_in", _("Sign in to continue."))
    if not context.verified:
        return deny("second_factor", _("Staff accounts confirm each sign-in with a second factor."))
    return None


def person_place(person) -> list[str] | None:
    """Jurisdiction codes (root down) of where the person lives now; None when unknown."""
    address = person.current_address()
    if address is None or address.jurisdiction_id is None:
        return None
    return address.jurisdiction.ancestor_codes


def within_staff_scope(context: ActingContext, person) -> bool:
    """Whether a person lives where the staff member's agency (and their areas) serve."""
    place = person_place(person)
    if context.area_codes:
        return place is not None and any(code in place for code in context.area_codes)
    if context.agency_jurisdiction is None:
        return False  # a community organisation serves only the areas it was given
    if place is None:
        # Where someone lives is unknown: only a national agency may open the record.
        return "-" not in context.agency_jurisdiction
    return context.agency_jurisdiction in place


def _staff_serving(context: ActingContext, roles: frozenset[str], person: Any) -> bool:
    """A staff member in one of the roles, and the person (if any) within their scope."""
    return (
        context.is_staff
        and context.role in roles
        and (person is None or within_staff_scope(context, person))
    )


def _own_or_mandated(context: ActingContext, person, scope: str) -> bool:
    from . import mandates

    if context.person_id is not None and person.pk == context.person_id:
        return True
    if context.api_client_id is not None:
        return False
    mandate = mandates.mandate_for(context.person_id, person.pk)
    return mandate is not None and scope in mandate.scopes


# --- Rules --------------------------------------------------------------------------------


@rule("public", scope="public", description=gettext_lazy("Anyone, signed in or not."))
def _public(context: ActingContext, resource: Any) -> Decision:
    return allow()


@rule(
    "account.signed_in",
    description=gettext_lazy("Any signed-in account, before its second factor (to give it)."),
)
def _signed_in(context: ActingContext, resource: Any) -> Decision:
    if context.user_id is None:
        return deny("sign_in", _("Sign in to continue."))
    return allow()


@rule("account.self", description=gettext_lazy("A signed-in account seeing its own things."))
def _account_self(context: ActingContext, resource: Any) -> Decision:
    if context.user_id is None:
        return deny("sign_in", _("Sign in to continue."))
    return _must_sign_in(context) or allow()


@rule(
    "identity.me",
    description=gettext_lazy("Anyone authenticated (an account or an agency's API client)."),
)
def _me(context: ActingContext, resource: Any) -> Decision:
    if context.api_client_id is not None:
        return allow()
    return _account_self(context, resource)


@rule(
    "token.manage",
    scope="write",
    description=gettext_lazy("An account makes and revokes its own personal API tokens."),
)
def _token_manage(context: ActingContext, resource: Any) -> Decision:
    if context.user_id is None:
        return deny("sign_in", _("Sign in to continue."))
    if denial := _must_sign_in(context):
        return denial
    if resource is not None and resource.user_id != context.user_id:
        return deny("forbidden", _("This token belongs to another account."))
    return allow()


@rule(
    "person.view",
    description=gettext_lazy(
        "The person, someone with a mandate to view, or front-line and case staff of an "
        "agency serving where the person lives."
    ),
)
def _person_view(context: ActingContext, person: Any) -> Decision:
    if denial := _must_sign_in(context):
        return denial
    if _staff_serving(context, PERSON_FACING, person):
        return allow()
    if context.person_id is not None and (
        person is None or _own_or_mandated(context, person, "view")
    ):
        return allow()
    return deny("forbidden", _("You may not see this person's record."))


@rule(
    "person.find",
    description=gettext_lazy("Front-line and case staff look people up by identifier."),
)
def _person_find(context: ActingContext, resource: Any) -> Decision:
    if denial := _must_sign_in(context):
        return denial
    if context.is_staff and context.role in PERSON_FACING:
        return allow()
    return deny("forbidden", _("Only front-line and case staff look people up."))


@rule(
    "proofing.record",
    scope="write",
    description=gettext_lazy(
        "Front-line and case staff verify the identity of people their agency serves."
    ),
)
def _proofing_record(context: ActingContext, person: Any) -> Decision:
    if denial := _must_sign_in(context):
        return denial
    if context.user_id is not None and _staff_serving(context, PERSON_FACING, person):
        return allow()
    return deny("forbidden", _("You may not verify this person's identity."))


@rule(
    "mandate.record",
    scope="write",
    description=gettext_lazy("Case staff record mandates for people their agency serves."),
)
def _mandate_record(context: ActingContext, person: Any) -> Decision:
    if denial := _must_sign_in(context):
        return denial
    if context.user_id is not None and _staff_serving(context, CASE_ROLES, person):
        return allow()
    return deny("forbidden", _("You may not record mandates for this person."))


@rule(
    "service.apply",
    scope="write",
    description=gettext_lazy(
        "A person (or someone with a mandate to apply) at the level of assurance the service needs."
    ),
)
def _service_apply(context: ActingContext, service: Any) -> Decision:
    if denial := _must_sign_in(context):
        return denial
    if context.person_id is None:
        return deny("forbidden", _("Only a person can apply for a service."))
    if context.acting_for_other and "apply" not in context.mandate_scopes:
        return deny("forbidden", _("Your mandate does not cover applying for this person."))
    if service is not None and context.assurance < service.required_assurance:
        return Decision(
            False,
            _("This service needs your identity verified at level %(level)s.")
            % {"level": service.required_assurance},
            "step_up",
            required_level=service.required_assurance,
            service_key=service.key,
        )
    return allow()


@rule("staff.console", description=gettext_lazy("Anyone holding a staff role."))
def _staff_console(context: ActingContext, resource: Any) -> Decision:
    if denial := _must_sign_in(context):
        return denial
    if context.is_staff and context.user_id is not None:
        return allow()
    return deny("forbidden", _("This page is for staff."))


@rule(
    "staff.manage",
    scope="write",
    description=gettext_lazy("Administrators manage the staff of their own agency."),
)
def _staff_manage(context: ActingContext, agency: Any) -> Decision:
    if denial := _must_sign_in(context):
        return denial
    if context.platform_admin:
        return allow()
    if (
        context.is_staff
        and context.role == Role.ADMINISTRATOR
        and (agency is None or agency.key == context.agency_key)
    ):
        return allow()
    return deny("forbidden", _("Only an administrator of this agency manages its staff."))


@rule("audit.read", description=gettext_lazy("Auditors read the records of who did what."))
def _audit_read(context: ActingContext, resource: Any) -> Decision:
    if denial := _must_sign_in(context):
        return denial
    if context.platform_admin or (context.is_staff and context.role == Role.AUDITOR):
        return allow()
    return deny("forbidden", _("Only auditors read the audit records."))


@rule(
    "analytics.read",
    description=gettext_lazy("Analysts, supervisors and auditors read aggregate figures."),
)
def _analytics_read(context: ActingContext, resource: Any) -> Decision:
    if denial := _must_sign_in(context):
        return denial
    if context.is_staff and context.role in ANALYTIC_ROLES:
        return allow()
    return deny("forbidden", _("Only analysts, supervisors and auditors read these figures."))


@rule(
    "admin.site",
    scope="write",
    description=gettext_lazy(
        "Platform administrators (superusers, with their second factor) use the admin site."
    ),
)
def _admin_site(context: ActingContext, resource: Any) -> Decision:
    if denial := _must_sign_in(context):
        return denial
    if context.platform_admin and context.token_id is None:
        return allow()
    return deny("forbidden", _("Only platform administrators use the administration site."))


# --- Web views ----------------------------------------------------------------------------


def denied_response(request: HttpRequest, decision: Decision) -> HttpResponse:
    """Send the person where they can fix it (sign in, second factor, step up), else a 403."""
    nxt = request.get_full_path()
    if decision.code == "sign_in":
        return redirect(f"{reverse('identity:sign-in')}?{urlencode({'next': nxt})}")
    if decision.code == "second_factor":
        return redirect(f"{reverse('identity:two-factor')}?{urlencode({'next': nxt})}")
    if decision.code == "step_up" and decision.service_key:
        query = urlencode({"service": decision.service_key, "next": nxt})
        return redirect(f"{reverse('identity:step-up')}?{query}")
    return render(request, "identity/forbidden.html", {"reason": decision.reason}, status=403)


ViewFunc = Callable[..., HttpResponse]


def requires(action: str, resource: Callable[..., Any] | None = None):
    """Declare and enforce the rule of a view, which is then called as
    `view(request, context, *args, **kwargs)` — with the loaded resource after the context
    when a `resource(**url_kwargs)` loader is given. (A view without a `context` parameter
    is called without it.)

    The rule is first asked without the resource, so nobody learns whether a record exists
    unless they could in principle see it; then with it.
    """
    if action not in _RULES:
        raise ValueError(f"no policy rule is registered for {action}")

    def decorate(view: ViewFunc) -> ViewFunc:
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            from . import acting

            context = acting.for_request(request)
            decision = decide(context, action)
            if not decision.allowed:
                return denied_response(request, decision)
            given = (context,) if takes_context else ()
            if resource is None:
                return view(request, *given, *args, **kwargs)
            loaded = resource(**kwargs)
            decision = decide(context, action, loaded)
            if not decision.allowed:
                return denied_response(request, decision)
            return view(request, *given, loaded, *args, **kwargs)

        # A view that has no use for the context (a public catalogue page) need not take it.
        takes_context = "context" in inspect.signature(view).parameters
        wrapper.policy_action = action  # type: ignore[attr-defined]
        return wrapper

    return decorate


def public(view: ViewFunc) -> ViewFunc:
    """Declare a view open to anyone; it still receives the acting context."""
    return requires("public")(view)


_DECLARED: dict[str, str] = {}


def declare(callback: Callable[..., Any], action: str) -> None:
    """Declare the rule of a view we do not write (Django's language switch, the API docs)."""
    if action not in _RULES:
        raise ValueError(f"no policy rule is registered for {action}")
    _DECLARED[_qualified(callback)] = action


def _guarded_by_admin_site(callback: Any, depth: int = 5) -> bool:
    """Whether the view was wrapped by the policy's admin site (`admin_view`), which asks
    the policy first. The site hides in the wrapper's attributes or its closures."""
    from .admin_site import PolicyAdminSite

    site = getattr(callback, "admin_site", None) or getattr(
        getattr(callback, "model_admin", None), "admin_site", None
    )
    if isinstance(site, PolicyAdminSite):
        return True
    if depth == 0:
        return False
    for cell in getattr(callback, "__closure__", None) or ():
        try:
            content = cell.cell_contents
        except ValueError:  # an empty cell
            continue
        if isinstance(content, PolicyAdminSite):
            return True
        if callable(content) and _guarded_by_admin_site(content, depth - 1):
            return True
    return False


def _qualified(callback: Callable[..., Any]) -> str:
    return f"{callback.__module__}.{getattr(callback, '__qualname__', repr(callback))}"


def declared_action(callback: Callable[..., Any]) -> str | None:
    """The rule a URL's view declares, or None (the matrix test fails on None)."""
    action = getattr(callback, "policy_action", None)
    if action:
        return action
    if _guarded_by_admin_site(callback):
        return "admin.site"  # every admin view passes through the site's has_permission
    target = getattr(callback, "view_class", None) or getattr(callback, "func", None) or callback
    return _DECLARED.get(_qualified(target))
