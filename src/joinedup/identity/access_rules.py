"""Identity's rules in the one authorisation policy (deny by default): accounts and their
tokens, people's records, identity proofing, mandates, applying for a service, the staff
console and its management, the audit records and aggregate figures.

The decision core is `policy`; this module only registers rules with it, as every app's
`policy` module does (loaded by the app's `ready()`). The admin site's rule lives with the
site, in `admin_site`.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import mandates
from .acting import ActingContext
from .policy import (
    ANALYTIC_ROLES,
    CASE_ROLES,
    PERSON_FACING,
    Decision,
    Role,
    allow,
    deny,
    must_sign_in,
    rule,
    within_staff_scope,
)


def _staff_serving(context: ActingContext, roles: frozenset[str], person: Any) -> bool:
    """A staff member in one of the roles, and the person (if any) within their scope."""
    return (
        context.is_staff
        and context.role in roles
        and (person is None or within_staff_scope(context, person))
    )


def _own_or_mandated(context: ActingContext, person, scope: str) -> bool:
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
    return must_sign_in(context) or allow()


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
    if denial := must_sign_in(context):
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
    if denial := must_sign_in(context):
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
    if denial := must_sign_in(context):
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
    if denial := must_sign_in(context):
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
    if denial := must_sign_in(context):
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
    if denial := must_sign_in(context):
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
    if denial := must_sign_in(context):
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
    if denial := must_sign_in(context):
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
    if denial := must_sign_in(context):
        return denial
    if context.platform_admin or (context.is_staff and context.role == Role.AUDITOR):
        return allow()
    return deny("forbidden", _("Only auditors read the audit records."))


@rule(
    "analytics.read",
    description=gettext_lazy("Analysts, supervisors and auditors read aggregate figures."),
)
def _analytics_read(context: ActingContext, resource: Any) -> Decision:
    if denial := must_sign_in(context):
        return denial
    if context.is_staff and context.role in ANALYTIC_ROLES:
        return allow()
    return deny("forbidden", _("Only analysts, supervisors and auditors read these figures."))
