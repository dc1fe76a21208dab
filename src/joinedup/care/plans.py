"""The plan around the person: needs → goals → actions, reviews, notes and alerts.

Only the members on the team now write to it: the lead professional and navigators shape the
plan (needs, goals, reviews); any member records notes, raises alerts and updates the actions
their own agency is responsible for. Every write checks its input first and writes in one
transaction, so a refused form leaves nothing behind.
"""

from __future__ import annotations

import datetime
import logging
import zoneinfo

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Prefetch, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from joinedup.delivery import queues
from joinedup.delivery.models import WorkItem
from joinedup.federation.models import Agency
from joinedup.federation.routing import RoutingError
from joinedup.identity.acting import ActingContext
from joinedup.identity.policy import PolicyDenied

from .models import (
    Action,
    Alert,
    Domain,
    Goal,
    IntegratedCase,
    Need,
    Note,
    PlanRequest,
    Review,
    TeamMember,
)
from .team import NotOnTeam, active_member
from .work import area_for, open_due_review_work

log = logging.getLogger(__name__)

COORDINATORS = (TeamMember.Role.LEAD, TeamMember.Role.NAVIGATOR)


def _member(context: ActingContext, case: IntegratedCase) -> TeamMember:
    member = active_member(context, case)
    if member is None:
        raise NotOnTeam(_("You are not a member of this case's team."))
    return member


def _coordinator(context: ActingContext, case: IntegratedCase) -> TeamMember:
    member = _member(context, case)
    if member.role not in COORDINATORS:
        raise PermissionDenied(_("Only the lead professional or a navigator changes the plan."))
    return member


def _text(value: str, name: str, message: str) -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationError({name: message})
    if len(value) > 4000:
        raise ValidationError({name: _("Keep it under 4,000 characters.")})
    return value


def _domain(value: str) -> str:
    if value not in Domain.values:
        raise ValidationError({"domain": _("Choose what it is about.")})
    return value


def add_need(context: ActingContext, case: IntegratedCase, domain: str, description: str) -> Need:
    _coordinator(context, case)
    return Need.objects.create(
        case=case,
        domain=_domain(domain),
        description=_text(description, "description", _("Describe the need.")),
    )


def add_goal(
    context: ActingContext, need: Need, description: str, target_date: datetime.date | None
) -> Goal:
    _coordinator(context, need.case)
    return Goal.objects.create(
        need=need,
        description=_text(description, "description", _("Describe the goal.")),
        target_date=target_date,
    )


def add_action(
    context: ActingContext,
    goal: Goal,
    description: str,
    agency: Agency,
    due_date: datetime.date,
    responsible_id: int | None = None,
) -> Action:
    _coordinator(context, goal.need.case)
    if due_date is None:
        raise ValidationError({"due_date": _("Give a due date.")})
    return Action.objects.create(
        goal=goal,
        description=_text(description, "description", _("Describe the action.")),
        agency=agency,
        responsible_id=responsible_id,
        due_date=due_date,
    )


def set_action_status(context: ActingContext, action: Action, status: str) -> Action:
    member = _member(context, action.goal.need.case)
    if member.role not in COORDINATORS and member.membership.agency_id != action.agency_id:
        raise PermissionDenied(_("Only the organisation responsible updates this action."))
    if status not in Action.Status.values:
        raise ValidationError({"status": _("Choose a status.")})
    action.status = status
    action.save(update_fields=["status"])
    return action


def record_outcome(context: ActingContext, goal: Goal, outcome: str) -> Goal:
    _coordinator(context, goal.need.case)
    if outcome not in Goal.Outcome.values or not outcome:
        raise ValidationError({"outcome": _("Choose the goal's outcome.")})
    goal.outcome = outcome
    goal.save(update_fields=["outcome"])
    return goal


def record_review(
    context: ActingContext,
    case: IntegratedCase,
    *,
    held_on: datetime.date,
    attendee_ids: list[int],
    decisions: str,
    next_review: datetime.date | None,
) -> Review:
    """A case conference: who attended (members of the team), what was decided, and when the
    next one is (which becomes the case's review date)."""
    _coordinator(context, case)
    decisions = _text(decisions, "decisions", _("Write down what was decided."))
    attendees = list(TeamMember.objects.filter(case=case, pk__in=attendee_ids))
    if not attendees or len(attendees) != len(set(attendee_ids)):
        raise ValidationError({"attendees": _("Choose who attended, among the team.")})
    if next_review is not None and next_review <= held_on:
        raise ValidationError({"next_review": _("The next review comes after this one.")})
    with transaction.atomic():
        review = Review.objects.create(
            case=case,
            held_on=held_on,
            decisions=decisions,
            next_review=next_review,
            recorded_by_id=context.user_id,
        )
        review.attendees.set(attendees)
        case.review_date = next_review
        case.save(update_fields=["review_date"])
        _answer_requests(context, case)
    return review


def _answer_requests(context: ActingContext, case: IntegratedCase) -> None:
    """A review held answers the person's open requests: their tasks in the engine's queue
    are completed (the process marks each request handled), where the actor may work them."""
    items = WorkItem.objects.filter(
        application__care_request__case=case,
        application__care_request__handled_at__isnull=True,
        kind="plan_review",
        status__in=[WorkItem.Status.OPEN, WorkItem.Status.CLAIMED],
    ).select_related("agency", "application")
    for item in items:
        try:
            queues.complete(context, item, "reviewed", reasons=_("The plan was reviewed."))
        except (queues.QueueError, PolicyDenied):
            continue  # another agency's or role's task: it stays in its queue


def open_requests(case: IntegratedCase):
    """The person's requests still waiting for an answer."""
    return PlanRequest.objects.filter(case=case, handled_at__isnull=True)


#: The furthest ahead of UTC any place's calendar runs (UTC+14): no review date later than
#: UTC's today plus this can have come anywhere yet.
_AHEAD = datetime.timedelta(hours=14)


def due_reviews(now: datetime.datetime | None = None) -> QuerySet[IntegratedCase]:
    """Open cases whose review date may have come (somewhere) and that have no review task
    for that date yet. Cheap: the scheduler asks it before enqueueing the job."""
    horizon = ((now or timezone.now()) + _AHEAD).date()
    opened = PlanRequest.objects.filter(
        case=OuterRef("pk"), kind=PlanRequest.Kind.DUE_REVIEW, due_on=OuterRef("review_date")
    )
    return IntegratedCase.objects.filter(
        status=IntegratedCase.Status.OPEN,
        review_date__isnull=False,
        review_date__lte=horizon,
    ).filter(~Exists(opened))


def open_due_reviews(now: datetime.datetime | None = None) -> list[PlanRequest]:
    """Open the review task of every plan whose review date has come, on the calendar of the
    place whose agency leads it: an application of the lead agency's plan-review service, its
    task in that agency's queue and in the lead professional's workspace. Holding the review
    (`record_review`) answers it, like a person's request.

    Idempotent: one task per case and review date (a unique constraint; a second run, or two
    schedulers at once, open nothing more). Returns the requests opened by this call."""
    now = now or timezone.now()
    leads = TeamMember.objects.filter(
        role=TeamMember.Role.LEAD, left_at__isnull=True
    ).select_related("membership__agency__jurisdiction")
    cases = (
        due_reviews(now)
        .select_related("person", "agency__jurisdiction")
        .prefetch_related(Prefetch("team", queryset=leads, to_attr="leads"))
        .order_by("review_date", "pk")
    )
    opened = []
    for case in cases:
        agency = case.leads[0].membership.agency if case.leads else case.agency
        try:
            area = area_for(agency, case.person)
        except ValueError:
            log.warning("care: no place to route the due review of case %s", case.pk)
            continue
        if now.astimezone(zoneinfo.ZoneInfo(area.time_zone)).date() < case.review_date:
            continue  # not yet the review date where the lead agency works
        try:
            with transaction.atomic():
                request = PlanRequest.objects.create(
                    case=case, kind=PlanRequest.Kind.DUE_REVIEW, due_on=case.review_date
                )
                request.application = open_due_review_work(request, agency, area)
                request.save(update_fields=["application"])
        except IntegrityError:
            continue  # another run opened it meanwhile
        except RoutingError:
            log.warning("care: no plan-review service offered for case %s", case.pk)
            continue
        opened.append(request)
    return opened


def add_note(context: ActingContext, case: IntegratedCase, domain: str, text: str) -> Note:
    member = _member(context, case)
    return Note.objects.create(
        case=case,
        domain=_domain(domain),
        text=_text(text, "text", _("Write the note.")),
        author_id=context.user_id,
        agency_id=member.membership.agency_id,
    )


def raise_alert(context: ActingContext, case: IntegratedCase, domain: str, text: str) -> Alert:
    _member(context, case)
    return Alert.objects.create(
        case=case,
        domain=_domain(domain),
        text=_text(text, "text", _("Describe the concern.")),
        raised_by_id=context.user_id,
    )


def close_alert(context: ActingContext, alert: Alert) -> Alert:
    _coordinator(context, alert.case)
    alert.closed_at = alert.closed_at or timezone.now()
    alert.save(update_fields=["closed_at"])
    return alert
