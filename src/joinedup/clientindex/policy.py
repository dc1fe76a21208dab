"""The client index's rules in the one authorisation policy (deny by default).

Only data stewards (and the linkage process, which acts without a request) see source
records; agencies submit their own lists; a caseworker sees the linked person only through
the data gate (`holdings`), never the raw lists; a person sees which agencies hold a record
linked to them.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from joinedup.identity.acting import ActingContext
from joinedup.identity.policy import Decision, Role, allow, deny, must_sign_in, rule

#: Who may submit an agency's client list besides its API clients.
SUBMITTERS = frozenset({Role.DATA_STEWARD, Role.ADMINISTRATOR})


@rule(
    "clientindex.submit",
    scope="write",
    description=gettext_lazy(
        "An agency's API client, data stewards and administrators submit the agency's own "
        "client list."
    ),
)
def _submit(context: ActingContext, agency: Any) -> Decision:
    if context.api_client_id is not None:
        if agency is None or agency.key == context.agency_key:
            return allow()
        return deny("forbidden", _("An agency submits only its own client list."))
    if denial := must_sign_in(context):
        return denial
    own = agency is None or agency.key == context.agency_key
    if context.is_staff and context.role in SUBMITTERS and own:
        return allow()
    return deny("forbidden", _("Only the agency's data stewards submit its client list."))


@rule(
    "clientindex.steward",
    description=gettext_lazy("Data stewards see the source records and the review queue."),
)
def _steward(context: ActingContext, resource: Any) -> Decision:
    if denial := must_sign_in(context):
        return denial
    if context.is_staff and context.role == Role.DATA_STEWARD:
        return allow()
    return deny("forbidden", _("Only data stewards see the client index's records."))


@rule(
    "clientindex.decide",
    scope="write",
    description=gettext_lazy(
        "Data stewards decide review pairs, merges and splits, and undo them."
    ),
)
def _decide(context: ActingContext, resource: Any) -> Decision:
    if denial := must_sign_in(context):
        return denial
    if context.is_staff and context.role == Role.DATA_STEWARD and context.user_id is not None:
        return allow()
    return deny("forbidden", _("Only data stewards decide links between records."))


@rule(
    "clientindex.mine",
    description=gettext_lazy("A person sees which agencies hold a record linked to them."),
)
def _mine(context: ActingContext, resource: Any) -> Decision:
    if context.user_id is None:
        return deny("sign_in", _("Sign in to continue."))
    if denial := must_sign_in(context):
        return denial
    if context.person_id is None or context.role is not None:
        return deny("forbidden", _("This page shows a person's own records."))
    return allow()
