"""The sharing app's rules in the one authorisation policy (deny by default).

Registered with identity's policy so that views and endpoints declare them like any other.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from joinedup.identity.acting import ActingContext
from joinedup.identity.policy import (
    PERSON_FACING,
    Decision,
    Role,
    allow,
    deny,
    must_sign_in,
    rule,
)


def _as_person(context: ActingContext, scope: str) -> Decision:
    if denial := must_sign_in(context):
        return denial
    if context.person_id is None:
        return deny("forbidden", _("Only a person registered with us has these records."))
    if context.acting_for_other and scope not in context.mandate_scopes:
        return deny("forbidden", _("Your mandate for this person does not cover this."))
    return allow()


@rule(
    "sharing.own_records",
    description=gettext_lazy(
        "A person (or someone with a mandate to view) sees who used their data and their consents."
    ),
)
def _own_records(context: ActingContext, resource: Any) -> Decision:
    return _as_person(context, "view")


@rule(
    "sharing.consent.withdraw",
    scope="write",
    description=gettext_lazy("A person (or someone with a mandate to manage) withdraws a consent."),
)
def _withdraw(context: ActingContext, resource: Any) -> Decision:
    decision = _as_person(context, "manage")
    if decision.allowed and resource is not None and resource.subject_id != context.subject_id:
        return deny("forbidden", _("This consent is not yours."))
    return decision


@rule(
    "sharing.break_glass.open",
    scope="write",
    description=gettext_lazy("Front-line and case staff open emergency access, with a reason."),
)
def _break_glass_open(context: ActingContext, resource: Any) -> Decision:
    if denial := must_sign_in(context):
        return denial
    if context.is_staff and context.user_id and context.role in PERSON_FACING:
        return allow()
    return deny("forbidden", _("Only front-line and case staff can use emergency access."))


@rule(
    "sharing.break_glass.review",
    scope="write",
    description=gettext_lazy("Supervisors review emergency access in their agency."),
)
def _break_glass_review(context: ActingContext, resource: Any) -> Decision:
    if denial := must_sign_in(context):
        return denial
    if not (context.is_staff and context.user_id and context.role == Role.SUPERVISOR):
        return deny("forbidden", _("Only supervisors review emergency access."))
    if resource is not None and (
        resource.agency.key != context.agency_key or resource.user_id == context.user_id
    ):
        return deny("forbidden", _("You may not review this case."))
    return allow()
