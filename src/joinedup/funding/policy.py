"""The funding app's rules in the one authorisation policy (deny by default).

The explorer is public for what is published; staff see everything. A funder's
supervisors and administrators change its allocations and approve outcome payments; its
analysts build scenarios; a recipient's staff report their own expenditures; a data owner's
staff report its indicators; an overseer's staff record reviews. The resource is the agency
on whose behalf the action is taken (the funder, the recipient, the data owner).
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from joinedup.identity.acting import ActingContext
from joinedup.identity.policy import Decision, Role, allow, decide, deny, must_sign_in, rule

#: Who changes a funder's allocations and approves what it pays.
ALLOCATING_ROLES = frozenset({Role.SUPERVISOR, Role.ADMINISTRATOR})
#: Who reports an agency's expenditures and indicator values.
REPORTING_ROLES = frozenset({Role.ANALYST, Role.SUPERVISOR, Role.ADMINISTRATOR})
#: Who builds scenarios and reads unpublished figures.
ANALYSING_ROLES = frozenset({Role.ANALYST, Role.SUPERVISOR, Role.ADMINISTRATOR, Role.AUDITOR})


def unpublished_of(context: ActingContext) -> str | None:
    """The agency whose unpublished allocations the reader sees beside the published ones:
    their own when `funding.analyse` allows them, nobody's otherwise."""
    if decide(context, "funding.analyse").allowed and context.agency_key:
        return context.agency_key
    return None


def visible(rows: QuerySet, agency_key: str | None, *, through: str = "") -> QuerySet:
    """The one rule of what a reader sees of the allocations (the pages, the API, the
    comparison): the published ones, and the unpublished ones `agency_key` funded (see
    `unpublished_of`). `through` is the path to the allocation (`"allocation__"`)."""
    published = Q(**{f"{through}published": True})
    if agency_key:
        return rows.filter(published | Q(**{f"{through}funder__key": agency_key}))
    return rows.filter(published)


def _staff_of(context: ActingContext, agency: Any, roles: frozenset[str], refusal: str) -> Decision:
    if denial := must_sign_in(context):
        return denial
    if not (context.is_staff and context.role in roles):
        return deny("forbidden", refusal)
    if agency is not None and getattr(agency, "key", agency) != context.agency_key:
        return deny("forbidden", _("You may act only for your own agency."))
    return allow()


@rule(
    "funding.explore", scope="public", description=gettext_lazy("Anyone reads published funding.")
)
def _explore(context: ActingContext, resource: Any) -> Decision:
    return allow()


@rule(
    "funding.allocate",
    scope="write",
    description=gettext_lazy("A funder's supervisors and administrators change its allocations."),
)
def _allocate(context: ActingContext, funder: Any) -> Decision:
    return _staff_of(
        context,
        funder,
        ALLOCATING_ROLES,
        _("Only the funder's supervisors and administrators change its allocations."),
    )


@rule(
    "funding.report",
    scope="write",
    description=gettext_lazy(
        "A recipient's staff report its own expenditures; a data owner's its indicator values."
    ),
)
def _report(context: ActingContext, agency: Any) -> Decision:
    return _staff_of(
        context,
        agency,
        REPORTING_ROLES,
        _("Only the agency's analysts, supervisors and administrators report its figures."),
    )


@rule(
    "funding.analyse",
    description=gettext_lazy("Staff analysts read unpublished funding and build scenarios."),
)
def _analyse(context: ActingContext, agency: Any) -> Decision:
    return _staff_of(
        context,
        agency,
        ANALYSING_ROLES,
        _("Only analysts, supervisors, administrators and auditors analyse funding."),
    )


@rule(
    "funding.oversee",
    scope="write",
    description=gettext_lazy("An overseer's staff record reviews and findings."),
)
def _oversee(context: ActingContext, overseer: Any) -> Decision:
    return _staff_of(
        context,
        overseer,
        ANALYSING_ROLES,
        _("Only an overseer's analysts, supervisors, administrators and auditors record reviews."),
    )


#: Who reads oversight reviews of a provider: every staff role that acts for an agency.
READING_ROLES = frozenset({Role.ANALYST, Role.SUPERVISOR, Role.ADMINISTRATOR, Role.AUDITOR})


@rule(
    "funding.oversight",
    description=gettext_lazy(
        "A review and its findings are read by the overseer, the provider and its funders' staff."
    ),
)
def _read_oversight(context: ActingContext, review: Any) -> Decision:
    if denial := must_sign_in(context):
        return denial
    if not (context.is_staff and context.role in READING_ROLES and context.agency_key):
        return deny("forbidden", _("Only staff of an agency read oversight reviews."))
    if review is None:
        return allow()
    # The loader names the parties (`oversight.load_review`): the policy reads no records.
    if context.agency_key in getattr(review, "parties", ()):
        return allow()
    return deny("forbidden", _("Only the overseer, the provider and its funders read this review."))


@rule(
    "funding.places",
    description=gettext_lazy(
        "Analysts read places (everything counted in one place) and the evaluation of pilots."
    ),
)
def _places(context: ActingContext, resource: Any) -> Decision:
    return _staff_of(
        context,
        None,
        ANALYSING_ROLES,
        _("Only analysts, supervisors, administrators and auditors read places and pilots."),
    )


#: Who records pilots: the roles that analyse, less the auditors, who read without writing.
PILOTING_ROLES = frozenset({Role.ANALYST, Role.SUPERVISOR, Role.ADMINISTRATOR})


@rule(
    "funding.pilots.record",
    scope="write",
    description=gettext_lazy(
        "Analysts, supervisors and administrators record pilots: what changes, where, since "
        "when, the measure watched and the comparison places."
    ),
)
def _record_pilot(context: ActingContext, resource: Any) -> Decision:
    return _staff_of(
        context,
        None,
        PILOTING_ROLES,
        _("Only analysts, supervisors and administrators record pilots."),
    )
