"""The bundles app's rules in the one authorisation policy (deny by default).

A person applies for a life event for themselves, or for someone who gave them a mandate to
apply (a parent for their child); they see their bundles, their offers and everything in
"My services" for themselves or for those who gave them a mandate to view.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from joinedup.identity import mandates
from joinedup.identity.acting import ActingContext
from joinedup.identity.policy import Decision, allow, deny, must_sign_in, rule


def _as_person(context: ActingContext) -> Decision | None:
    """Signed in, and a person registered with us (not only a staff or client account)."""
    if denial := must_sign_in(context):
        return denial
    if context.person_id is None:
        return deny("forbidden", _("Only a person registered with us can do this."))
    return None


def _may_for(context: ActingContext, subject_id: int | None, scope: str) -> bool:
    """The actor's own affairs, or a person's who gave them a mandate covering `scope`."""
    if subject_id is None:
        return False
    if subject_id == context.person_id:
        return True
    mandate = mandates.mandate_for(context.person_id, subject_id)
    return mandate is not None and scope in mandate.scopes


def _acting_within(context: ActingContext, scope: str) -> Decision | None:
    if context.acting_for_other and scope not in context.mandate_scopes:
        return deny("forbidden", _("Your mandate for this person does not cover this."))
    return None


@rule(
    "bundles.apply",
    scope="write",
    description=gettext_lazy(
        "A person applies for a life event (or accepts an offer) for themselves, or for "
        "someone who gave them a mandate to apply."
    ),
)
def _apply(context: ActingContext, resource: Any) -> Decision:
    if denial := _as_person(context):
        return denial
    if denial := _acting_within(context, "apply"):
        return denial
    offer_person = getattr(resource, "person_id", None)
    if offer_person is not None and not _may_for(context, offer_person, "apply"):
        return deny("forbidden", _("This offer was made to someone else."))
    return allow()


@rule(
    "bundles.view",
    description=gettext_lazy(
        "A person sees their bundles, offers and services (or those of someone who gave them "
        "a mandate to view)."
    ),
)
def _view(context: ActingContext, resource: Any) -> Decision:
    if denial := _as_person(context):
        return denial
    if denial := _acting_within(context, "view"):
        return denial
    if resource is None:
        return allow()
    subject_id = getattr(resource, "subject_id", None) or getattr(resource, "person_id", None)
    if _may_for(context, subject_id, "view") or (
        getattr(resource, "acting_person_id", None) == context.person_id
    ):
        return allow()
    return deny("forbidden", _("You may not see this."))
