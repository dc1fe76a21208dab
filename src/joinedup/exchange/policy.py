"""The exchange's rules in the one authorisation policy (deny by default): a person (or
someone holding their mandate) sees the evidence other nodes ask of them, and decides."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from joinedup.identity.acting import ActingContext
from joinedup.identity.policy import Decision, allow, deny, must_sign_in, rule


def _as_person(context: ActingContext, scope: str, resource: Any) -> Decision:
    if denial := must_sign_in(context):
        return denial
    if context.person_id is None:
        return deny("forbidden", _("Only a person registered with us has these records."))
    if context.acting_for_other and scope not in context.mandate_scopes:
        return deny("forbidden", _("Your mandate for this person does not cover this."))
    if resource is not None and resource.subject_id != context.subject_id:
        return deny("forbidden", _("This request is not about you."))
    return allow()


@rule(
    "exchange.evidence.view",
    description=gettext_lazy(
        "A person (or someone with a mandate to view) sees the evidence another government "
        "asks about them, before anything is sent."
    ),
)
def _view(context: ActingContext, resource: Any) -> Decision:
    return _as_person(context, "view", resource)


@rule(
    "exchange.evidence.decide",
    scope="write",
    description=gettext_lazy(
        "A person (or someone with a mandate to manage) agrees to send evidence to another "
        "government, or refuses."
    ),
)
def _decide(context: ActingContext, resource: Any) -> Decision:
    return _as_person(context, "manage", resource)
