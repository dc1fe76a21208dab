"""The care app's rules in the one authorisation policy (deny by default).

The directory is public, like a printed guide. The workspace is for staff who serve people one
by one; which case a member may open and what of it they see is decided afterwards by the team
and the data gate (`team.read_case`), never by the page. A person sees their own plan, team and
referrals and withdraws consent for a member agency.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from joinedup.identity.acting import ActingContext
from joinedup.identity.policy import (
    CASE_ROLES,
    PERSON_FACING,
    Decision,
    allow,
    deny,
    must_sign_in,
    rule,
)


@rule(
    "care.directory",
    scope="public",
    description=gettext_lazy("Anyone reads the directory of services (HSDS)."),
)
def _directory(context: ActingContext, resource: Any) -> Decision:
    return allow()


def _staff(context: ActingContext, roles: frozenset[str], message: str) -> Decision:
    if denial := must_sign_in(context):
        return denial
    if context.is_staff and context.membership_id and context.role in roles:
        return allow()
    return deny("forbidden", message)


@rule(
    "care.workspace",
    description=gettext_lazy(
        "Front-line and case staff see their caseload, incoming referrals and the cases whose "
        "team they are on (what they see of a case is the data gate's decision)."
    ),
)
def _workspace(context: ActingContext, resource: Any) -> Decision:
    return _staff(context, PERSON_FACING, _("Only staff who serve people use the workspace."))


@rule(
    "care.case.open",
    scope="write",
    description=gettext_lazy("Caseworkers, case managers and supervisors open integrated cases."),
)
def _open(context: ActingContext, resource: Any) -> Decision:
    return _staff(context, CASE_ROLES, _("Only case staff open integrated cases."))


@rule(
    "care.case.work",
    scope="write",
    description=gettext_lazy(
        "Members of a case's team write to it (plan, notes, alerts, referrals); the team "
        "decides who may change what."
    ),
)
def _work(context: ActingContext, resource: Any) -> Decision:
    return _staff(context, PERSON_FACING, _("Only staff who serve people work on cases."))


def _as_person(context: ActingContext) -> Decision:
    if denial := must_sign_in(context):
        return denial
    if context.person_id is None or context.role:
        return deny("forbidden", _("Only a person registered with us has a care plan."))
    if context.acting_for_other:
        return deny("forbidden", _("Only the person themselves sees their care plan here."))
    return allow()


@rule(
    "care.mine",
    description=gettext_lazy("A person sees their own plan, team, referrals and consents."),
)
def _mine(context: ActingContext, resource: Any) -> Decision:
    return _as_person(context)


@rule(
    "care.mine.change",
    scope="write",
    description=gettext_lazy(
        "A person withdraws consent for a member agency or asks for a review of their plan."
    ),
)
def _mine_change(context: ActingContext, resource: Any) -> Decision:
    return _as_person(context)
