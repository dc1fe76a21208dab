"""The channels app's rules in the one authorisation policy (deny by default).

The counter and phone consoles are for front-line and case staff (with their second
factor); partner endpoints are for agencies' API clients only (never a person's account);
appointments are booked by a person for themselves or by staff for the people they serve.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from joinedup.identity.acting import ActingContext
from joinedup.identity.policy import PERSON_FACING, Decision, allow, deny, must_sign_in, rule


def _front_line(context: ActingContext) -> Decision:
    if denial := must_sign_in(context):
        return denial
    if (
        context.is_staff
        and context.user_id is not None
        and context.api_client_id is None
        and context.role in PERSON_FACING
    ):
        return allow()
    return deny("forbidden", _("The consoles are for front-line and case staff."))


@rule(
    "channels.counter",
    scope="write",
    description=gettext_lazy("Front-line and case staff serve people at a counter."),
)
def _counter(context: ActingContext, resource: Any) -> Decision:
    return _front_line(context)


@rule(
    "channels.phone",
    scope="write",
    description=gettext_lazy("Front-line and case staff serve callers on the phone."),
)
def _phone(context: ActingContext, resource: Any) -> Decision:
    return _front_line(context)


def _client(context: ActingContext) -> Decision:
    if context.is_anonymous:
        return deny("sign_in", _("Sign in to continue."))
    if context.api_client_id is None:
        return deny("forbidden", _("Only an agency's partner system (an API client) does this."))
    return allow()


@rule(
    "channels.partner.read",
    description=gettext_lazy(
        "An agency's API client reads what it sent and the status of its agency's applications."
    ),
)
def _partner_read(context: ActingContext, resource: Any) -> Decision:
    return _client(context)


@rule(
    "channels.partner.write",
    scope="write",
    description=gettext_lazy(
        "An agency's API client with the write scope sends notices (a hospital's notice of "
        "birth) and registers its webhooks."
    ),
)
def _partner_write(context: ActingContext, resource: Any) -> Decision:
    return _client(context)


@rule(
    "channels.appointments.book",
    scope="write",
    description=gettext_lazy(
        "A person books an appointment for themselves; front-line staff for people they serve."
    ),
)
def _book(context: ActingContext, resource: Any) -> Decision:
    if denial := must_sign_in(context):
        return denial
    if context.api_client_id is not None:
        return deny("forbidden", _("An API client does not book appointments."))
    if context.person_id is not None or (context.is_staff and context.role in PERSON_FACING):
        return allow()
    return deny("forbidden", _("Only a person registered with us books an appointment."))


@rule(
    "channels.appointments.mine",
    scope="write",
    description=gettext_lazy(
        "A person sees, books and cancels their own appointments (or, under a mandate, those "
        "of the person they act for) in My services."
    ),
)
def _mine(context: ActingContext, resource: Any) -> Decision:
    if context.is_anonymous:
        return deny("sign_in", _("Sign in to continue."))
    if context.api_client_id is not None or context.subject_id is None:
        return deny("forbidden", _("Only a person registered with us books an appointment."))
    return allow()
