"""Closed-loop referrals: from a member of a case to a service of the directory, and back.

    sent ──accept──▶ accepted ──contact──▶ contacted ──deliver──▶ delivered ──close──▶ closed
      └──decline──▶ declined        └────────────close (with an outcome)────────────▶ closed

The sender says why, how urgent, and which kinds of data go with it; the person's consent to
share them with the receiving organisation is recorded with the referral (the preview shows
exactly those categories). The receiver — staff of the organisation that runs the service —
accepts or declines with a reason, records contact, delivery and an outcome; the sender and
the person see each step. A referral past its answer date without an answer is overdue and
shows in the sending agency's supervisors' queue. The same idempotency key from the same
agency gives back the same referral. Each step announces itself through the outbox.

A referral to an agency of the registry IS an application of that agency's referral service
(`work.referral_version`), carried by delivery's engine: the receiver's steps complete the
work items of the referral process in its queue, and the process writes them back here.
Only a service off the platform (reached by e-mail) keeps its steps in care alone.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from django.conf import settings
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from joinedup.delivery import queues
from joinedup.delivery.applications import SubmissionError, submit_application
from joinedup.federation.models import Jurisdiction
from joinedup.identity.acting import ActingContext, agency_of
from joinedup.identity.policy import PERSON_FACING
from joinedup.sharing import consent as consents
from joinedup.sharing.models import ConsentRecord

from .fields import CARE_CATEGORIES
from .models import IntegratedCase, Referral, ReferralStep, Service
from .team import PURPOSE, active_member
from .work import (
    REFERRAL_CHANNEL,
    announce,
    answer_due,
    apply_step,
    area_for,
    decision_for,
    on_platform,
    referral_version,
)

Status = Referral.Status

#: Which step leads from which state.
MOVES: dict[str, tuple[str, ...]] = {
    Status.ACCEPTED: (Status.SENT,),
    Status.DECLINED: (Status.SENT,),
    Status.CONTACTED: (Status.ACCEPTED,),
    Status.DELIVERED: (Status.ACCEPTED, Status.CONTACTED),
    Status.CLOSED: (Status.ACCEPTED, Status.CONTACTED, Status.DELIVERED),
}
#: Days to answer, by urgency: business days on the receiver's calendar when the receiver is
#: on the platform (the engine's calendar), calendar days for a receiver reached by e-mail.
ANSWER_DAYS = {
    Referral.Urgency.URGENT: 1,
    Referral.Urgency.SOON: 3,
    Referral.Urgency.ROUTINE: 10,
}


def send_referral(
    context: ActingContext,
    case: IntegratedCase,
    service: Service,
    *,
    reason: str,
    urgency: str,
    categories: Iterable[str],
    due_date: datetime.date | None = None,
    idempotency_key: str = "",
    method: str = ConsentRecord.Method.COUNTER,
) -> tuple[Referral, bool]:
    """Send a referral for the case's person; answers (referral, created)."""
    member = active_member(context, case)
    if member is None:
        raise PermissionDenied(_("You are not a member of this case's team."))
    agency = member.membership.agency
    idempotency_key = (idempotency_key or "").strip()[:200]
    if idempotency_key:
        existing = Referral.objects.filter(
            from_agency=agency, idempotency_key=idempotency_key
        ).first()
        if existing is not None:
            return existing, False
    errors: dict[str, str] = {}
    reason = (reason or "").strip()
    if not reason:
        errors["reason"] = _("Say why you refer the person.")
    if urgency not in Referral.Urgency.values:
        errors["urgency"] = _("Say how urgent it is.")
    chosen = list(dict.fromkeys(categories))
    if set(chosen) - set(CARE_CATEGORIES):
        errors["categories"] = _("Choose the kinds of data to share among those offered.")
    if service.status != Service.Status.ACTIVE:
        errors["service"] = _("This service does not take people at the moment.")
    today = timezone.localdate()
    if due_date is not None and due_date < today:
        errors["due_date"] = _("The answer date cannot be in the past.")
    if errors:
        raise ValidationError(errors)
    receiver = service.organization.agency
    asked_date = due_date
    due_date = due_date or today + datetime.timedelta(days=ANSWER_DAYS[urgency])
    try:
        with transaction.atomic():
            consent = None
            if chosen and receiver is not None:
                consent = consents.record_consent(
                    case.person,
                    recipients=[receiver],
                    purposes=[PURPOSE],
                    categories=chosen,
                    method=method,
                    provider=case.agency,
                )
            referral = Referral.objects.create(
                case=case,
                person=case.person,
                from_agency=agency,
                to_agency=receiver,
                service=service,
                sent_by_id=context.user_id,
                reason=reason,
                urgency=urgency,
                shared_categories=chosen,
                consent=consent,
                due_date=due_date,
                idempotency_key=idempotency_key,
                place=person_place(case.person),
            )
            ReferralStep.objects.create(
                referral=referral, status=Status.SENT, by_id=context.user_id
            )
            if on_platform(receiver):
                _carry(context, referral, receiver, asked_date)
            announce(referral, "sent")
            if receiver is None and service.referral_email:
                transaction.on_commit(lambda: _email_link(referral))
    except IntegrityError:
        existing = Referral.objects.filter(
            from_agency=agency, idempotency_key=idempotency_key
        ).first()
        if not idempotency_key or existing is None:
            raise
        return existing, False
    return referral, True


def person_place(person) -> Jurisdiction | None:
    """The most local jurisdiction of the person's current address (their municipality),
    kept with the referral so referrals can be counted by place; None when no address is
    known. Only the jurisdiction is kept, never the address."""
    address = person.current_address()
    return address.jurisdiction if address is not None else None


def _carry(
    context: ActingContext,
    referral: Referral,
    receiver,
    asked_date: datetime.date | None,
) -> None:
    """Make the referral an application of the receiver's referral service, made by the
    referrer for the person on the channel "referral": the engine starts the referral process
    (the receiver's first task waits in its queue) and its clock on the receiver's calendar."""
    try:
        area = area_for(receiver, referral.person, referral.from_agency)
    except ValueError:
        raise ValidationError(
            {"service": _("We do not know where the person lives: add their address first.")}
        ) from None
    version = referral_version(receiver, area)
    try:
        application, _created = submit_application(
            context,
            version.service.key,
            {"referral": str(referral.pk), "urgency": referral.urgency},
            channel=REFERRAL_CHANNEL,
            applicant=referral.person,
            version=version,
            place=area,
        )
    except SubmissionError as error:
        raise ValidationError({"service": error.message}) from None
    referral.application = application
    referral.due_date = asked_date or answer_due(application, ANSWER_DAYS[referral.urgency])
    referral.save(update_fields=["application", "due_date"])


def _receiver_may(context: ActingContext, referral: Referral) -> bool:
    return (
        context.is_staff
        and context.role in PERSON_FACING
        and referral.to_agency_id is not None
        and context.agency_key == referral.to_agency.key
    )


def move(
    context: ActingContext,
    referral: Referral,
    status: str,
    *,
    note: str = "",
    outcome: str = "",
) -> Referral:
    """The receiver's step: accept, decline (with a reason), contact, deliver, close (with an
    outcome). A step that does not follow from the current state is refused."""
    if not _receiver_may(context, referral):
        raise PermissionDenied(_("Only the receiving organisation answers this referral."))
    return _step(referral, status, note, outcome, context.user_id, context)


def move_by_link(token: str, status: str, *, note: str = "", outcome: str = "") -> Referral:
    """The same step, taken by a receiver off the platform through the signed link they were
    e-mailed (no account): the link names one referral and expires."""
    return _step(referral_of_link(token), status, note, outcome, None)


def _step(
    referral: Referral,
    status: str,
    note: str,
    outcome: str,
    by_id: int | None,
    context: ActingContext | None = None,
) -> Referral:
    if status not in MOVES:
        raise ValidationError({"status": _("Choose a step.")})
    note = (note or "").strip()
    if status == Status.DECLINED and not note:
        raise ValidationError({"note": _("Say why you decline.")})
    if status == Status.CLOSED and outcome not in Referral.Outcome.values:
        raise ValidationError({"outcome": _("Say what came of it.")})
    with transaction.atomic():
        locked = Referral.objects.select_for_update(of=("self",)).select_related(
            "from_agency", "to_agency"
        )
        referral = locked.get(pk=referral.pk)
        if referral.status not in MOVES[status]:
            raise ValidationError(
                {
                    "status": _("This referral is %(state)s: that step does not follow.")
                    % {"state": referral.get_status_display().lower()}
                }
            )
        if referral.application_id is None or context is None:
            return apply_step(referral, status, note, outcome, by_id)
        # Carried by the engine: the receiver completes the task waiting in its queue, and
        # the process records the step (care_referral_step) in this transaction.
        item = queues.waiting_item(referral.application_id, kind="referral")
        if item is None:
            raise ValidationError({"status": _("This referral is not waiting for a step.")})
        try:
            queues.complete(context, item, decision_for(status, outcome), reasons=note)
        except queues.QueueError as error:
            raise ValidationError({"status": error.message}) from None
        referral.refresh_from_db()
    return referral


# --- Receivers off the platform -----------------------------------------------------------

LINK_SALT = "joinedup.care.referral-link"
LINK_DAYS = 60


def link_token(referral: Referral) -> str:
    return signing.dumps({"referral": str(referral.pk)}, salt=LINK_SALT)


def referral_of_link(token: str) -> Referral:
    """The referral a signed link names; PermissionDenied when forged or expired."""
    try:
        data = signing.loads(token, salt=LINK_SALT, max_age=datetime.timedelta(days=LINK_DAYS))
    except signing.BadSignature:
        raise PermissionDenied(_("This link is not valid, or it has expired.")) from None
    referral = (
        Referral.objects.select_related("service__organization", "from_agency")
        .filter(pk=data.get("referral"), to_agency__isnull=True)
        .first()
    )
    if referral is None:
        raise PermissionDenied(_("This link is not valid, or it has expired."))
    return referral


def _email_link(referral: Referral) -> None:
    """E-mail the receiver a signed link on which they report back without an account. The
    person's data is not in the message: the link shows the referral's reason only."""
    url = settings.PUBLIC_URL.rstrip("/") + reverse(
        "care:referral-link", kwargs={"token": link_token(referral)}
    )
    send_mail(
        _("A referral to %(service)s") % {"service": referral.service.name},
        _(
            "%(agency)s refers someone to your service %(service)s. Please answer by "
            "%(due)s, and tell us what came of it, on this page: %(url)s"
        )
        % {
            "agency": referral.from_agency.name,
            "service": referral.service.name,
            "due": referral.due_date.isoformat(),
            "url": url,
        },
        None,
        [referral.service.referral_email],
    )


def incoming(context: ActingContext) -> QuerySet[Referral]:
    """Referrals to the actor's agency still waiting for a step from it."""
    # By the agency's id, not a join on its key: the planner then knows from its statistics
    # how many referrals that one agency has (none: an index read, not a scan of them all).
    agency = agency_of(context)
    if agency is None:
        return Referral.objects.none()
    return (
        Referral.objects.filter(
            to_agency=agency,
            status__in=[Status.SENT, Status.ACCEPTED, Status.CONTACTED, Status.DELIVERED],
        )
        .select_related("service", "from_agency", "person")
        .order_by("due_date", "sent_at")
    )


def overdue(context: ActingContext, today: datetime.date | None = None) -> QuerySet[Referral]:
    """Referrals the actor's agency sent that are past their answer date without an answer
    (the supervisor's queue)."""
    today = today or timezone.localdate()
    agency = agency_of(context)
    if agency is None:
        return Referral.objects.none()
    return (
        Referral.objects.filter(from_agency=agency, status=Status.SENT, due_date__lt=today)
        .select_related("service", "to_agency")
        .order_by("due_date")
    )
