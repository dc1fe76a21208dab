"""The engagement app's rules in the one authorisation policy (deny by default).

Consultations and their results are public. Taking part needs a signed-in person (who may
take part in a given consultation is decided by `participation`, with its own reasons).
The owner agency's supervisors and administrators moderate and decide. A complaint is
made by the person (or someone with a mandate to apply), or recorded for them by counter and
phone staff; it is seen by the person and by staff of the agencies it concerns. Change
initiatives are for staff; their measures for the owner's analysts and supervisors.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from joinedup.identity.acting import ActingContext
from joinedup.identity.policy import (
    ANALYTIC_ROLES,
    PERSON_FACING,
    Decision,
    Role,
    allow,
    deny,
    must_sign_in,
    rule,
    within_staff_scope,
)

#: Roles of the owner agency that moderate contributions and decide on proposals.
OWNER_ROLES = frozenset({Role.SUPERVISOR, Role.ADMINISTRATOR})


def _owner_key(resource: Any) -> str | None:
    if resource is None:
        return None
    consultation = getattr(resource, "consultation", resource)
    return consultation.owner.key


@rule(
    "engagement.contribute",
    scope="write",
    description=gettext_lazy(
        "A signed-in person takes part in a consultation (survey, proposal, comment, support)."
    ),
)
def _contribute(context: ActingContext, resource: Any) -> Decision:
    if denial := must_sign_in(context):
        return denial
    if context.is_staff:
        return allow()  # for their organisation, if the consultation invites it
    if context.person_id is None:
        return deny("forbidden", _("Only a person registered with us can take part."))
    if context.acting_for_other:
        return deny("forbidden", _("Take part in your own name, not for someone else."))
    return allow()


@rule(
    "engagement.moderate",
    scope="write",
    description=gettext_lazy(
        "Supervisors and administrators of the owner agency moderate a consultation."
    ),
)
def _moderate(context: ActingContext, resource: Any) -> Decision:
    if denial := must_sign_in(context):
        return denial
    if not (context.is_staff and context.role in OWNER_ROLES):
        return deny("forbidden", _("Only the owner's supervisors and administrators moderate."))
    owner = _owner_key(resource)
    if owner is not None and owner != context.agency_key:
        return deny("forbidden", _("This consultation belongs to another agency."))
    return allow()


@rule(
    "engagement.decide",
    scope="write",
    description=gettext_lazy(
        "Supervisors and administrators of the owner agency decide on proposals and link the "
        "changes they produced."
    ),
)
def _decide(context: ActingContext, resource: Any) -> Decision:
    return _moderate(context, resource)


@rule(
    "engagement.complain",
    scope="write",
    description=gettext_lazy(
        "A person complains (or someone with a mandate to apply for them); counter and phone "
        "staff record a complaint for a person they serve."
    ),
)
def _complain(context: ActingContext, person: Any) -> Decision:
    if denial := must_sign_in(context):
        return denial
    if context.is_staff:
        if context.role not in PERSON_FACING:
            return deny("forbidden", _("Only staff who serve people record complaints."))
        if person is not None and not within_staff_scope(context, person):
            return deny("forbidden", _("This person is outside your area."))
        return allow()
    if context.person_id is None:
        return deny("forbidden", _("Only a person registered with us can complain here."))
    if person is not None and person.pk != context.subject_id:
        return deny("forbidden", _("You may complain only for yourself or someone you act for."))
    if context.acting_for_other and "apply" not in context.mandate_scopes:
        return deny("forbidden", _("Your mandate does not cover this."))
    return allow()


def _concerns_agency(complaint: Any, agency_key: str | None) -> bool:
    return agency_key is not None and any(
        part.agency.key == agency_key for part in complaint.parts.select_related("agency")
    )


@rule(
    "engagement.complaint.view",
    description=gettext_lazy(
        "The person (or someone with a mandate to view) and staff of the agencies concerned."
    ),
)
def _complaint_view(context: ActingContext, complaint: Any) -> Decision:
    if denial := must_sign_in(context):
        return denial
    if complaint is None:
        return (
            allow()
            if (context.person_id or context.is_staff)
            else deny("forbidden", _("You may not see this complaint."))
        )
    if (
        not context.role
        and complaint.person_id == context.subject_id
        and (not context.acting_for_other or "view" in context.mandate_scopes)
    ):
        return allow()
    if (
        context.is_staff
        and context.role in PERSON_FACING
        and _concerns_agency(complaint, context.agency_key)
    ):
        return allow()
    return deny("forbidden", _("You may not see this complaint."))


@rule(
    "engagement.complaint.reply",
    scope="write",
    description=gettext_lazy("The person replies to, reopens or rates their complaint."),
)
def _complaint_reply(context: ActingContext, complaint: Any) -> Decision:
    if denial := must_sign_in(context):
        return denial
    if context.role or context.person_id is None:
        return deny("forbidden", _("Only the person who complained replies."))
    if complaint is not None and complaint.person_id != context.subject_id:
        return deny("forbidden", _("Only the person who complained replies."))
    if context.acting_for_other and "apply" not in context.mandate_scopes:
        return deny("forbidden", _("Your mandate does not cover this."))
    return allow()


@rule(
    "engagement.complaint.tag",
    scope="write",
    description=gettext_lazy("Staff of an agency concerned tag a complaint's themes."),
)
def _complaint_tag(context: ActingContext, complaint: Any) -> Decision:
    if denial := must_sign_in(context):
        return denial
    if not (context.is_staff and context.role in PERSON_FACING):
        return deny("forbidden", _("Only staff who work complaints tag them."))
    if complaint is not None and not _concerns_agency(complaint, context.agency_key):
        return deny("forbidden", _("This complaint does not concern your agency."))
    return allow()


@rule(
    "engagement.measures",
    description=gettext_lazy(
        "Analysts, supervisors, auditors and administrators read complaint and adoption "
        "measures (aggregate figures, never a person's record)."
    ),
)
def _measures(context: ActingContext, resource: Any) -> Decision:
    if denial := must_sign_in(context):
        return denial
    if not (context.is_staff and context.role in ANALYTIC_ROLES | {Role.ADMINISTRATOR}):
        return deny("forbidden", _("Only analysts, supervisors and administrators see this."))
    return allow()


@rule(
    "engagement.initiative",
    description=gettext_lazy(
        "Staff read the change initiatives, what changes for their role, and answer the "
        "readiness survey."
    ),
)
def _initiative(context: ActingContext, resource: Any) -> Decision:
    if denial := must_sign_in(context):
        return denial
    if not context.is_staff:
        return deny("forbidden", _("Change initiatives are for staff."))
    return allow()


@rule(
    "engagement.initiative.respond",
    scope="write",
    description=gettext_lazy("Staff answer a readiness survey and record completed training."),
)
def _initiative_respond(context: ActingContext, resource: Any) -> Decision:
    return _initiative(context, resource)
