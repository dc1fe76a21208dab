"""The rules app's rules in the one authorisation policy (deny by default).

The screener is public. The what-if — the law with a figure changed, run on a synthetic
population — is for staff who study policy: analysts, supervisors and administrators of any
agency. It reads no one's data and changes nothing in force.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from joinedup.identity.acting import ActingContext
from joinedup.identity.policy import Decision, Role, allow, deny, must_sign_in, rule

#: Staff roles that run what-ifs.
ANALYSING_ROLES = frozenset({Role.ANALYST, Role.SUPERVISOR, Role.ADMINISTRATOR})


@rule(
    "rules.what_if",
    description=gettext_lazy(
        "Analysts, supervisors and administrators run the law with a figure changed on a "
        "synthetic population (nothing in force changes)."
    ),
)
def _what_if(context: ActingContext, resource: Any) -> Decision:
    if denial := must_sign_in(context):
        return denial
    if not (context.is_staff and context.user_id and context.role in ANALYSING_ROLES):
        return deny("forbidden", _("Only analysts, supervisors and administrators run a what-if."))
    return allow()
