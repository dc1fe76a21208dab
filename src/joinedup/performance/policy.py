"""The performance app's rules in the one authorisation policy (deny by default).

Published figures and the survey reached from an e-mailed link are public (the link's token
is the key). An agency's dashboard — unsuppressed counts, costs — is for its analysts,
supervisors and administrators, and so are the integration candidates (for the staff who
plan services); a person sees their own feedback requests.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from joinedup.identity.acting import ActingContext
from joinedup.identity.policy import Decision, Role, allow, deny, must_sign_in, rule

#: Staff roles that read their agency's dashboard.
DASHBOARD_ROLES = frozenset({Role.ANALYST, Role.SUPERVISOR, Role.ADMINISTRATOR})


@rule(
    "performance.dashboard",
    description=gettext_lazy(
        "Analysts, supervisors and administrators read their own agency's performance dashboard."
    ),
)
def _dashboard(context: ActingContext, agency: Any) -> Decision:
    if denial := must_sign_in(context):
        return denial
    if not (context.is_staff and context.user_id and context.role in DASHBOARD_ROLES):
        return deny(
            "forbidden",
            _("Only analysts, supervisors and administrators read an agency's dashboard."),
        )
    if agency is not None and agency.key != context.agency_key:
        return deny("forbidden", _("This dashboard belongs to another agency."))
    return allow()


@rule(
    "performance.feedback.mine",
    description=gettext_lazy("A person sees and answers the surveys they were invited to."),
)
def _feedback_mine(context: ActingContext, resource: Any) -> Decision:
    if denial := must_sign_in(context):
        return denial
    if context.person_id is None or context.role:
        return deny("forbidden", _("Only a person who used a service is asked about it."))
    if context.acting_for_other:
        return deny("forbidden", _("Only the person who used the service answers its survey."))
    return allow()


@rule(
    "performance.insight",
    description=gettext_lazy(
        "Anyone reads the published figures by client group and by channel (small counts "
        "suppressed, with secondary suppression)."
    ),
)
def _insight(context: ActingContext, resource: Any) -> Decision:
    return allow()


#: Staff who plan services: they read where integration would pay.
PLANNING_ROLES = DASHBOARD_ROLES


@rule(
    "performance.integration",
    description=gettext_lazy(
        "Analysts, supervisors and administrators (the staff who plan services) read the "
        "integration candidates of a jurisdiction: shared clients and questions asked twice."
    ),
)
def _integration(context: ActingContext, jurisdiction: Any) -> Decision:
    if denial := must_sign_in(context):
        return denial
    if not (context.is_staff and context.user_id and context.role in PLANNING_ROLES):
        return deny(
            "forbidden",
            _(
                "Only analysts, supervisors and administrators, who plan services, read the "
                "integration candidates."
            ),
        )
    return allow()


@rule(
    "performance.staffing",
    description=gettext_lazy(
        "Analysts, supervisors and administrators read the volume forecast and staffing of "
        "their own agency's offices, one office or all of them on the agency's page."
    ),
)
def _staffing(context: ActingContext, resource: Any) -> Decision:
    """`resource` is an office (its own page) or an agency (the page of all its offices)."""
    if resource is None:
        return _dashboard(context, None)
    return _dashboard(context, getattr(resource, "agency", resource))
