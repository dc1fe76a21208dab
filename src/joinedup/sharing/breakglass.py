"""Break-glass: emergency access to a person's data when no rule allows it and lives or safety
cannot wait.

Opening it needs a stated reason and ends by itself after a time limit; every supervisor of
the agency is alerted at once (by e-mail, through the outbox); each case then waits in the
supervisors' review queue until one of them, not the person who opened it, closes it with a
finding. The gate records every read made under it in the ledger with its id.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from joinedup.federation.models import Agency
from joinedup.identity.acting import ActingContext
from joinedup.identity.models import Person, StaffMembership, User
from joinedup.identity.policy import PERSON_FACING

from . import categories as data_categories
from . import outbox
from .models import BreakGlass, validate_reason
from .subscribers import Event, subscriber

SOURCE = "/joinedup/sharing/break-glass"
OPENED = "org.joinedup.breakglass.opened"
REVIEWED = "org.joinedup.breakglass.reviewed"
REVIEWER_ROLES = {StaffMembership.Role.SUPERVISOR}


def _supervisors(agency: Agency, excluding: int | None) -> list[User]:
    memberships = StaffMembership.objects.filter(
        agency=agency, role=StaffMembership.Role.SUPERVISOR
    ).select_related("user")
    return [
        m.user
        for m in memberships
        if m.is_in_force() and m.user.is_active and m.user_id != excluding
    ]


def open_break_glass(
    context: ActingContext,
    subject: Person,
    *,
    reason: str,
    categories: Iterable[str],
    minutes: int | None = None,
) -> BreakGlass:
    """Open emergency access for the acting staff member; alerts the supervisors."""
    if not (context.is_staff and context.user_id and context.role in PERSON_FACING):
        raise PermissionDenied(_("Only front-line and case staff can use emergency access."))
    minutes = minutes or settings.BREAK_GLASS_DEFAULT_MINUTES
    errors: dict[str, str] = {}
    try:
        validate_reason(reason)
    except ValidationError as error:
        errors["reason"] = error.messages[0]
    categories = list(dict.fromkeys(categories))
    unknown = sorted(set(categories) - data_categories.known_categories())
    if not categories or unknown:
        errors["categories"] = _("Choose the data categories you need.")
    if not 1 <= minutes <= settings.BREAK_GLASS_MAX_MINUTES:
        errors["minutes"] = _("Emergency access lasts between 1 and %(max)s minutes.") % {
            "max": settings.BREAK_GLASS_MAX_MINUTES
        }
    if errors:
        raise ValidationError(errors)
    agency = Agency.objects.get(key=context.agency_key)
    now = timezone.now()
    with transaction.atomic():
        supervisors = _supervisors(agency, excluding=context.user_id)
        grant = BreakGlass.objects.create(
            user_id=context.user_id,
            agency=agency,
            role=context.role,
            subject=subject,
            reason=reason.strip(),
            categories=categories,
            opened_at=now,
            expires_at=now + timedelta(minutes=minutes),
            supervisors_alerted=[u.pk for u in supervisors],
        )
        outbox.emit(
            OPENED,
            source=SOURCE,
            subject=f"break-glass/{grant.pk}",
            data={
                "break_glass_id": grant.pk,
                "agency": agency.key,
                "user_id": context.user_id,
                "role": context.role,
                "person_id": subject.pk,
                "categories": categories,
                "expires_at": grant.expires_at.isoformat(),
                "supervisors": grant.supervisors_alerted,
            },
        )
    return grant


def open_grant(
    context: ActingContext, subject_id: int, categories: Iterable[str]
) -> BreakGlass | None:
    """The acting staff member's open emergency access to this person covering these
    categories, if any."""
    if not context.user_id or not context.agency_key:
        return None
    wanted = set(categories)
    now = timezone.now()
    for grant in BreakGlass.objects.filter(
        user_id=context.user_id,
        agency__key=context.agency_key,
        subject_id=subject_id,
        closed_at__isnull=True,
        expires_at__gt=now,
    ).order_by("-opened_at"):
        if wanted <= set(grant.categories):
            return grant
    return None


def close(grant: BreakGlass, context: ActingContext) -> BreakGlass:
    """End emergency access early (the person who opened it, or a reviewer)."""
    if context.user_id != grant.user_id and not _may_review(context, grant):
        raise PermissionDenied(_("You may not close this emergency access."))
    if grant.closed_at is None:
        grant.closed_at = timezone.now()
        grant.save(update_fields=["closed_at"])
    return grant


def _may_review(context: ActingContext, grant: BreakGlass) -> bool:
    return bool(
        context.is_staff
        and context.role in REVIEWER_ROLES
        and context.agency_key == grant.agency.key
        and context.user_id != grant.user_id
    )


def review(grant: BreakGlass, context: ActingContext, *, outcome: str, notes: str) -> BreakGlass:
    """Close a case in the review queue with a finding; still-open access ends with it."""
    if not _may_review(context, grant):
        raise PermissionDenied(
            _("A supervisor of the agency, other than the person who used it, reviews this.")
        )
    errors = {}
    if outcome not in BreakGlass.Outcome.values:
        errors["outcome"] = _("Say whether the access was justified.")
    try:
        validate_reason(notes)
    except ValidationError as error:
        errors["notes"] = error.messages[0]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        locked = BreakGlass.objects.select_for_update().get(pk=grant.pk)
        if locked.reviewed_at is not None:
            raise ValidationError(_("This case was already reviewed."))
        now = timezone.now()
        locked.outcome = outcome
        locked.review_notes = notes.strip()
        locked.reviewed_by_id = context.user_id
        locked.reviewed_at = now
        locked.closed_at = locked.closed_at or min(now, locked.expires_at)
        locked.save()
        outbox.emit(
            REVIEWED,
            source=SOURCE,
            subject=f"break-glass/{locked.pk}",
            data={"break_glass_id": locked.pk, "outcome": outcome, "reviewer_id": context.user_id},
        )
    return locked


def review_queue(context: ActingContext) -> QuerySet[BreakGlass]:
    """The cases waiting for a review in the acting supervisor's agency, oldest first."""
    if not (context.is_staff and context.role in REVIEWER_ROLES):
        return BreakGlass.objects.none()
    return (
        BreakGlass.objects.filter(agency__key=context.agency_key, reviewed_at__isnull=True)
        .exclude(user_id=context.user_id)
        .select_related("user", "subject", "agency")
        .order_by("opened_at")
    )


@subscriber(OPENED, name="sharing.alert-supervisors")
def alert_supervisors(event: Event) -> None:
    """E-mail each supervisor named in the event (the alert; the queue is the follow-up)."""
    for user in User.objects.filter(pk__in=event.data.get("supervisors", []), is_active=True):
        with translation.override(user.preferred_language or "en"):
            subject = _("Emergency access opened in %(agency)s") % {
                "agency": event.data.get("agency")
            }
            body = _(
                "A staff member opened emergency access to a person's data (case "
                "%(id)s, until %(until)s). Review it in the break-glass review queue."
            ) % {"id": event.data.get("break_glass_id"), "until": event.data.get("expires_at")}
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [user.email])
