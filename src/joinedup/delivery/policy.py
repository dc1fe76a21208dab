"""The delivery app's rules in the one authorisation policy (deny by default).

Applicants see their own applications (and those of people who gave them a mandate to
view); staff see the applications of their own agency; work items are worked by the roles
their process lane names (a supervisor may work any of them); supervisors see their agency's
due and breached work and revoke documents their agency issued.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from joinedup.identity import mandates
from joinedup.identity.acting import ActingContext
from joinedup.identity.policy import PERSON_FACING, Decision, Role, allow, deny, rule

#: Which work-item roles (process lanes) each staff role may work.
WORKS = {
    Role.FRONT_LINE: frozenset({Role.FRONT_LINE}),
    Role.CASEWORKER: frozenset({Role.CASEWORKER, Role.FRONT_LINE}),
    Role.CASE_MANAGER: frozenset({Role.CASE_MANAGER, Role.CASEWORKER, Role.FRONT_LINE}),
    Role.SUPERVISOR: frozenset(
        {Role.SUPERVISOR, Role.CASE_MANAGER, Role.CASEWORKER, Role.FRONT_LINE}
    ),
}


def _must_sign_in(context: ActingContext) -> Decision | None:
    if context.is_anonymous:
        return deny("sign_in", _("Sign in to continue."))
    if not context.verified:
        return deny("second_factor", _("Staff accounts confirm each sign-in with a second factor."))
    return None


def works_roles(context: ActingContext) -> frozenset[str]:
    return WORKS.get(context.role or "", frozenset()) if context.is_staff else frozenset()


def _agency_key(resource: Any) -> str | None:
    if resource is None:
        return None
    if hasattr(resource, "agency"):
        return resource.agency.key
    return getattr(resource, "key", None)


def _applicant_may(context: ActingContext, application: Any, scope: str) -> bool:
    if context.person_id is None or context.role or application.applicant_id is None:
        return False  # an organisation's application is its staff's (see backoffice)
    if application.applicant_id == context.person_id:
        return True
    mandate = mandates.mandate_for(context.person_id, application.applicant_id)
    return mandate is not None and scope in mandate.scopes


@rule(
    "delivery.applications.mine",
    description=gettext_lazy(
        "A person lists their own applications (or those of someone they act for)."
    ),
)
def _mine(context: ActingContext, resource: Any) -> Decision:
    if denial := _must_sign_in(context):
        return denial
    if context.person_id is None:
        return deny("forbidden", _("Only a person registered with us has applications."))
    if context.acting_for_other and "view" not in context.mandate_scopes:
        return deny("forbidden", _("Your mandate for this person does not cover this."))
    return allow()


@rule(
    "delivery.application.view",
    description=gettext_lazy(
        "The applicant (or someone with a mandate to view), or staff of the delivering agency."
    ),
)
def _view(context: ActingContext, application: Any) -> Decision:
    if denial := _must_sign_in(context):
        return denial
    if application is None:
        if context.person_id is not None or (context.is_staff and context.agency_key):
            return allow()
        return deny("forbidden", _("You may not see this application."))
    if _applicant_may(context, application, "view"):
        return allow()
    if (
        context.is_staff
        and context.role in PERSON_FACING
        and context.agency_key == application.agency.key
    ):
        return allow()
    return deny("forbidden", _("You may not see this application."))


@rule(
    "delivery.application.respond",
    scope="write",
    description=gettext_lazy(
        "The applicant (or someone with a mandate to apply) answers a request for information "
        "or pays the fee."
    ),
)
def _respond(context: ActingContext, application: Any) -> Decision:
    if denial := _must_sign_in(context):
        return denial
    if application is None:
        return (
            allow()
            if context.person_id is not None
            else deny("forbidden", _("Only the applicant can answer."))
        )
    if _applicant_may(context, application, "apply"):
        return allow()
    return deny("forbidden", _("Only the applicant can answer."))


@rule(
    "delivery.queue.read",
    description=gettext_lazy("Front-line, case and supervising staff see their agency's queues."),
)
def _queue_read(context: ActingContext, agency: Any) -> Decision:
    if denial := _must_sign_in(context):
        return denial
    if not works_roles(context):
        return deny("forbidden", _("Only front-line, case and supervising staff work queues."))
    key = _agency_key(agency)
    if key is not None and key != context.agency_key:
        return deny("forbidden", _("This is another agency's queue."))
    return allow()


@rule(
    "delivery.work_item.work",
    scope="write",
    description=gettext_lazy(
        "Staff of the agency in the role the process names (or a supervisor) claim and "
        "complete a work item."
    ),
)
def _work(context: ActingContext, item: Any) -> Decision:
    if denial := _must_sign_in(context):
        return denial
    roles = works_roles(context)
    if not roles:
        return deny("forbidden", _("Only front-line, case and supervising staff work queues."))
    if item is None:
        return allow()
    if item.agency.key != context.agency_key:
        return deny("forbidden", _("This is another agency's work."))
    if item.role not in roles:
        return deny("forbidden", _("This task is for another role."))
    return allow()


@rule(
    "delivery.supervise",
    description=gettext_lazy("Supervisors see their agency's due and breached work."),
)
def _supervise(context: ActingContext, agency: Any) -> Decision:
    if denial := _must_sign_in(context):
        return denial
    if not (context.is_staff and context.role == Role.SUPERVISOR):
        return deny("forbidden", _("Only supervisors see this."))
    key = _agency_key(agency)
    if key is not None and key != context.agency_key:
        return deny("forbidden", _("This is another agency's work."))
    return allow()


@rule(
    "delivery.document.revoke",
    scope="write",
    description=gettext_lazy("Supervisors of the issuing agency revoke a document."),
)
def _revoke(context: ActingContext, document: Any) -> Decision:
    if denial := _must_sign_in(context):
        return denial
    if not (context.is_staff and context.role == Role.SUPERVISOR):
        return deny("forbidden", _("Only supervisors revoke documents."))
    if document is not None and document.issuer.key != context.agency_key:
        return deny("forbidden", _("Only the issuing agency revokes its documents."))
    return allow()
