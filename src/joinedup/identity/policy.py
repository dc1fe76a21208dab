"""The one authorisation policy: every view, API endpoint, admin page and task asks it.

`decide(context, action, resource)` answers allowed or denied, with a reason a person can
read. Anything not explicitly allowed by a registered rule is denied: an unknown action, an
unknown role, a token without the scope. Rules are plain functions registered per action
with `@rule`; they look at the acting context (who acts, for whom, under which mandate, at
which level, in which staff role) and at the resource (a person, a service, an agency).

This module is the decision core and the rule registry, and nothing else: each app registers
its own rules in its `policy` module (identity's are in `access_rules`, the admin's in
`admin_site`). Views declare their rule with `guards.public` or `guards.requires(action)`; the
API with `api_auth(action)`; the admin site through `has_permission`. The authorisation
matrix test walks every URL and API operation and fails for any that declares nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.utils.functional import Promise
from django.utils.translation import gettext as _

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


def known(action: str) -> bool:
    """Whether a rule decides `action` (views and endpoints may only name known actions)."""
    return action in _RULES


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


# --- What rules in every app build on -----------------------------------------------------


def must_sign_in(context: ActingContext) -> Decision | None:
    """The denial for someone not (fully) signed in, or None: anonymous people sign in, staff
    give their second factor. Most rules start with `if denial := must_sign_in(context)`."""
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
