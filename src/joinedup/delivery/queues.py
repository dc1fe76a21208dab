"""Agency queues: work items waiting for staff, claimed, decided with reasons, completed.

Every write asks the policy first and runs in one transaction with the process step it
causes, so a decision and its consequences (the next work item, a document, a status
change, the outbox events) are recorded together or not at all.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from joinedup import prepared
from joinedup.federation.localization import pick
from joinedup.federation.models import Agency
from joinedup.identity import policy as identity_policy
from joinedup.identity import presentation
from joinedup.identity.acting import ActingContext
from joinedup.identity.models import StaffMembership
from joinedup.identity.policy import Role
from joinedup.sharing import categories, gate, outbox

from . import clock, decision_support, formdefs, timeline
from .models import Application, ApplicationStatus, Payment, ServiceVersion, WorkItem
from .party import party_of
from .payments import flows
from .policy import WORKS, works_roles
from .workflows import engine, names

#: Decisions that must come with reasons the applicant can read.
REASONED = {"refuse", "request_information", "refer"}
MAX_REASONS = 4000
#: Decisions that decide nothing about an entitlement: no record of the rules is asked.
NOT_AGAINST_RULES = {"request_information"}


@dataclass(frozen=True)
class RulesRecord:
    """Whether a decision followed what the rules compute (decision support), and why not:
    `followed` None when the caseworker said nothing; `departure` one of
    `WorkItem.RulesDeparture`; `per_month` the amount the rules computed, kept with the
    decision (None when the answers lacked what the rules need)."""

    followed: bool | None
    departure: str = ""
    note: str = ""
    per_month: Decimal | None = None

    @classmethod
    def from_form(cls, followed: str, departure: str, note: str, per_month=None) -> RulesRecord:
        """From a form's yes/no answer ("yes", "no", or nothing)."""
        choice = {"yes": True, "no": False}.get((followed or "").strip())
        return cls(choice, (departure or "").strip(), (note or "").strip(), per_month)


def _check_rules_record(decision: str, record: RulesRecord | None) -> RulesRecord | None:
    """The record to keep with the decision, or a QueueError saying what is missing."""
    if record is None or decision in NOT_AGAINST_RULES:
        return None
    if record.followed is None:
        raise QueueError(
            "follows_rules", _("Say whether the decision follows what the rules compute.")
        )
    if record.followed:
        return RulesRecord(True, per_month=record.per_month)
    if record.departure not in WorkItem.RulesDeparture.values:
        raise QueueError(
            "rules_departure",
            _("Choose why the decision departs from what the rules compute."),
        )
    if not record.note:
        raise QueueError(
            "rules_note", _("Write a note on why the decision departs from what the rules compute.")
        )
    if len(record.note) > MAX_REASONS:
        raise QueueError(
            "too_long", _("Reasons are limited to %(n)s characters.") % {"n": MAX_REASONS}
        )
    return record


class QueueError(Exception):
    """A queue action that cannot be done (claimed by someone else, decision not offered)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def queue(
    context: ActingContext,
    agency: Agency,
    *,
    status: str | None = None,
    role: str | None = None,
    service: str | None = None,
    mine: bool = False,
) -> QuerySet[WorkItem]:
    """The agency's open staff work items this person may work, oldest due first.

    Each row's clock needs its application's agency (the calendar is its jurisdiction's):
    it is joined here, or every row of the page would read it (docs/performance.md)."""
    identity_policy.require(context, "delivery.queue.read", agency)
    items = (
        WorkItem.objects.filter(agency=agency, role__in=works_roles(context))
        .exclude(role=WorkItem.APPLICANT)
        .select_related("application__service", "application__agency", "assignee", "agency")
        .defer("application__process_state", "application__data")
    )
    if status:
        items = items.filter(status=status)
    else:
        items = items.filter(
            status__in=[WorkItem.Status.OPEN, WorkItem.Status.CLAIMED, WorkItem.Status.FORWARDED]
        )
    if role:
        items = items.filter(role=role)
    if service:
        items = items.filter(application__service__key=service)
    if mine:
        items = items.filter(assignee_id=context.user_id)
    return items.order_by("application__due_date", "created_at", "pk")


def _lock(item: WorkItem) -> WorkItem:
    return WorkItem.objects.select_for_update(of=("self",)).select_related("agency").get(pk=item.pk)


def claim(context: ActingContext, item: WorkItem) -> WorkItem:
    """Take a work item; nobody else can complete it until it is released."""
    identity_policy.require(context, "delivery.work_item.work", item)
    with transaction.atomic():
        item = _lock(item)
        if item.status not in {WorkItem.Status.OPEN, WorkItem.Status.CLAIMED}:
            raise QueueError("not_open", _("This task is no longer waiting."))
        if item.assignee_id and item.assignee_id != context.user_id:
            raise QueueError("claimed", _("Someone else is working on this task."))
        item.status = WorkItem.Status.CLAIMED
        item.assignee_id = context.user_id
        item.claimed_at = timezone.now()
        item.save(update_fields=["status", "assignee", "claimed_at"])
        engine.announce_item(item, "claimed", {"by": context.user_id})
    return item


def release(context: ActingContext, item: WorkItem) -> WorkItem:
    identity_policy.require(context, "delivery.work_item.work", item)
    with transaction.atomic():
        item = _lock(item)
        if item.status != WorkItem.Status.CLAIMED:
            return item
        if item.assignee_id != context.user_id and context.role != "supervisor":
            raise QueueError("claimed", _("Someone else is working on this task."))
        item.status = WorkItem.Status.OPEN
        item.assignee = None
        item.claimed_at = None
        item.save(update_fields=["status", "assignee", "claimed_at"])
        engine.announce_item(item, "released")
    return item


def complete(
    context: ActingContext,
    item: WorkItem,
    decision: str,
    reasons: str = "",
    message: str = "",
    rules: RulesRecord | None = None,
) -> WorkItem:
    """Decide a work item with reasons and run the application's process on.

    `rules`: whether the decision follows what the rules compute, for a service some rule
    package grants (the work item's page asks it); a departure needs a reason and a note.
    Nothing is recorded for a request for more information."""
    identity_policy.require(context, "delivery.work_item.work", item)
    decision = (decision or "").strip()
    reasons = (reasons or "").strip()
    message = (message or "").strip()
    if item.decisions and decision not in item.decisions:
        raise QueueError(
            "decision",
            _("Choose one of the decisions offered: %(choices)s.")
            % {"choices": ", ".join(item.decisions)},
        )
    if not decision:
        raise QueueError("decision", _("Choose a decision."))
    if decision in REASONED and not reasons:
        raise QueueError("reasons", _("Give the reasons for this decision."))
    if decision == "request_information" and not message:
        message = reasons
    if len(reasons) > MAX_REASONS or len(message) > MAX_REASONS:
        raise QueueError(
            "too_long", _("Reasons are limited to %(n)s characters.") % {"n": MAX_REASONS}
        )
    rules = _check_rules_record(decision, rules)
    # One step: its events and timeline rows written together when the block ends.
    with transaction.atomic(), outbox.batch(), timeline.batch():
        item = _lock_with_application(item)
        if not item.is_open:
            raise QueueError("not_open", _("This task is no longer waiting."))
        if (
            item.status == WorkItem.Status.CLAIMED
            and item.assignee_id not in (None, context.user_id)
            and context.role != "supervisor"
        ):
            raise QueueError("claimed", _("Someone else is working on this task."))
        _close(item, decision, reasons, context, rules)
        completed = {"decision": decision}
        if rules is not None:
            completed["follows_rules"] = rules.followed
            completed["rules_departure"] = rules.departure
        engine.announce_item(item, "completed", completed)
        try:
            engine.complete_task(
                item.application,
                item.task_id,
                {"decision": decision, "reasons": reasons, "message_to_applicant": message},
                context,
                locked=True,
            )
        except engine.TaskNotOpen as error:
            raise QueueError("not_open", str(error)) from None
    return item


def _require_supervisor(context: ActingContext, item: WorkItem) -> None:
    identity_policy.require(context, "delivery.supervise", item.agency)
    if item.role == WorkItem.APPLICANT or item.status not in {
        WorkItem.Status.OPEN,
        WorkItem.Status.CLAIMED,
    }:
        raise QueueError("not_open", _("This task is no longer waiting for the agency."))


def assignable_staff(item: WorkItem) -> list[StaffMembership]:
    """Who may be given this task: staff of its agency, in force, whose role works its lane."""
    memberships = StaffMembership.objects.filter(agency_id=item.agency_id).select_related(
        "user", "agency"
    )
    return sorted(
        (m for m in memberships if m.is_in_force() and item.role in WORKS.get(m.role, ())),
        key=lambda m: (m.user.email, m.role),
    )


def reassign(context: ActingContext, item: WorkItem, membership_id: int) -> WorkItem:
    """A supervisor gives a task to someone of the agency whose role works it: it is theirs
    (claimed in their name) until they release it or complete it."""
    _require_supervisor(context, item)
    chosen = next((m for m in assignable_staff(item) if m.pk == membership_id), None)
    if chosen is None:
        raise QueueError("not_assignable", _("Choose someone of the agency who works this task."))
    with transaction.atomic():
        item = _lock(item)
        _require_supervisor(context, item)
        item.status = WorkItem.Status.CLAIMED
        item.assignee_id = chosen.user_id
        item.claimed_at = timezone.now()
        item.save(update_fields=["status", "assignee", "claimed_at"])
        engine.announce_item(item, "reassigned", {"by": context.user_id, "to": chosen.user_id})
    return item


def escalate(context: ActingContext, item: WorkItem) -> WorkItem:
    """Move a task to the supervisors' lane: nobody below a supervisor can complete it now,
    and it waits, unclaimed, in the supervisors' queue."""
    _require_supervisor(context, item)
    with transaction.atomic():
        item = _lock(item)
        _require_supervisor(context, item)
        previous = item.role
        item.role = Role.SUPERVISOR
        item.status = WorkItem.Status.OPEN
        item.assignee = None
        item.claimed_at = None
        item.save(update_fields=["role", "status", "assignee", "claimed_at"])
        engine.announce_item(item, "escalated", {"by": context.user_id, "from_role": previous})
    return item


def _waiting(a: prepared.Stand, *, kind: bool = False) -> QuerySet:
    found = WorkItem.objects.select_related("agency").filter(
        application_id=a.identifier("application"),
        status__in=[WorkItem.Status.OPEN, WorkItem.Status.CLAIMED],
    )
    if kind:
        found = found.filter(kind=a.text("kind"))
    return found.order_by("created_at", "pk")[:1]


#: `waiting_item`'s statements, compiled once per database (`joinedup.prepared`).
_WAITING = prepared.Instances("delivery.waiting_item", _waiting)
_WAITING_OF_KIND = prepared.Instances(
    "delivery.waiting_item_of_kind", lambda a: _waiting(a, kind=True)
)


def waiting_item(application_id: uuid.UUID, kind: str | None = None) -> WorkItem | None:
    """The first task still waiting on the application (open or claimed), with its agency;
    of this kind when one is named: what a step decided elsewhere completes (a referral's
    step taken on the care page, say), or a client that knows the application, not the
    task (`bench/delivery.py` stands for one)."""
    if kind is None:
        found = _WAITING.all(application=application_id)
    else:
        found = _WAITING_OF_KIND.all(application=application_id, kind=kind)
    return found[0] if found else None


#: The lock of a step, compiled once per database (`joinedup.prepared`): building this
#: statement (three joins, the deferred columns, the lock, the EXISTS) cost the ORM more
#: CPU than anything else a step does.
_LOCK_WITH_APPLICATION = prepared.Instances(
    "delivery.lock_with_application",
    lambda a: (
        WorkItem.objects.select_for_update(of=("self", "application"))
        .select_related(*(f"application__{name}" for name in engine.LOCK_RELATED))
        .defer(*(f"application__{name}" for name in engine.LOCK_DEFERRED))
        .annotate(application_has_open_pause=engine.open_pause_exists("application_id"))
        .filter(pk=a.number("pk"))
    ),
)


def _lock_with_application(item: WorkItem) -> WorkItem:
    """The work item and its application, both locked and loaded for a step of the process,
    in one query (the application's lock serialises the steps of its process)."""
    locked = _LOCK_WITH_APPLICATION.get(pk=item.pk)
    locked.application.has_open_pause = locked.application_has_open_pause
    if locked.agency_id == locked.application.agency_id:
        locked.agency = locked.application.agency  # one agency object, read once
    return locked


def _close(
    item: WorkItem,
    decision: str,
    reasons: str,
    context: ActingContext | None,
    rules: RulesRecord | None = None,
) -> None:
    item.status = WorkItem.Status.COMPLETED
    item.decision = decision
    item.reasons = reasons
    fields = []
    if rules is not None:
        item.follows_rules = rules.followed
        item.rules_departure = rules.departure
        item.rules_note = rules.note
        item.rules_per_month = rules.per_month
        item.rules_version = decision_support.versions_of(item.application.service.key)
        fields = [
            "follows_rules",
            "rules_departure",
            "rules_note",
            "rules_per_month",
            "rules_version",
        ]
    item.completed_at = timezone.now()
    item.completed_by_id = context.user_id if context else None
    item.completed_by_label = timeline.actor_label(context)
    _ITEM_UPDATE.save(
        item,
        [
            "status",
            "decision",
            "reasons",
            "completed_at",
            "completed_by",
            "completed_by_label",
            *fields,
        ],
    )


#: A work item's completion, its UPDATE written once (`joinedup.prepared`).
_ITEM_UPDATE = prepared.Update(WorkItem)


def applicant_task(application: Application, kind: str | None = None) -> WorkItem | None:
    items = application.work_items.filter(role=WorkItem.APPLICANT, status=WorkItem.Status.OPEN)
    if kind:
        items = items.filter(kind=kind)
    return items.order_by("created_at").first()


def respond(
    context: ActingContext | None,
    application: Application,
    answer: str,
    *,
    kind: str = "information",
    extra: dict | None = None,
) -> WorkItem:
    """The applicant answers a request for information (or a payment completes their task);
    the clock restarts and the process goes on."""
    if context is not None:
        identity_policy.require(context, "delivery.application.respond", application)
    answer = (answer or "").strip()
    if kind == "information" and not answer:
        raise QueueError("answer", _("Write your answer."))
    if len(answer) > MAX_REASONS:
        raise QueueError(
            "too_long", _("Answers are limited to %(n)s characters.") % {"n": MAX_REASONS}
        )
    with transaction.atomic(), outbox.batch(), timeline.batch():
        item = applicant_task(application, kind)
        if item is None:
            raise QueueError("not_open", _("Nothing is waiting for your answer."))
        item = _lock_with_application(item)
        if item.status != WorkItem.Status.OPEN:
            raise QueueError("not_open", _("Nothing is waiting for your answer."))
        _close(item, "answered" if kind == "information" else "paid", answer, context)
        engine.announce_item(item, "completed", {"decision": item.decision})
        data = {"applicant_answer": answer}
        data.update(extra or {})
        engine.complete_task(item.application, item.task_id, data, context, locked=True)
    return item


@flows.when_paid
def continue_after_payment(payment: Payment) -> None:
    """A paid fee completes the applicant's "pay the fee" task, so the process (and the
    clock, which stood still meanwhile) goes on, in the webhook's transaction."""
    application = payment.application
    if applicant_task(application, "payment") is not None:
        respond(None, application, "", kind="payment", extra={"paid": True})


#: What staff working an application see of the applicant, through the data gate.
APPLICANT_DATA = ("identity", "contact")
APPLICANT_DATA_PURPOSE = "service-delivery"


# --- A task in words ----------------------------------------------------------------------

#: The engine's own decisions, as staff read them.
DECISION_LABELS: dict[str, Callable[[], str]] = {
    "approve": lambda: _("Approve"),
    "refuse": lambda: _("Refuse"),
    "request_information": lambda: _("Ask the applicant for more information"),
    "refer": lambda: _("Refer to another agency"),
}


@dataclass(frozen=True)
class Wording:
    """How an app whose work the engine carries (care's referrals, its plan reviews) shows
    that work in words: its answers, read from the app's own record (None: the form's own
    summary), and the labels of its tasks' decisions."""

    answers: Callable[[Application], list[tuple[str, str]] | None] | None = None
    decisions: Mapping[str, Callable[[], str]] | None = None


#: Service key prefix → wording; an app registers its own at import (`register_wording`).
WORDINGS: dict[str, Wording] = {}


def register_wording(prefix: str, wording: Wording) -> None:
    WORDINGS[prefix] = wording


def _wording(application: Application) -> Wording | None:
    key = application.service.key
    return next((w for prefix, w in WORDINGS.items() if key.startswith(prefix)), None)


def answers_in_words(application: Application) -> list[tuple[str, str]]:
    """(question, answer) as staff read them: labels and chosen options, never field names,
    codes or identifiers."""
    wording = _wording(application)
    if wording is not None and wording.answers is not None:
        rows = wording.answers(application)
        if rows is not None:
            return rows
    summary = formdefs.summary(application.version.form, application.data)
    return [(question, answer) for _page, question, answer in summary]


def decisions_in_words(item: WorkItem) -> list[tuple[str, str]]:
    """The task's decisions as (value, label): the app's labels, else the engine's, else the
    decision as the process names it."""
    return decisions_in_words_for(item, item.decisions)


def decisions_in_words_for(item: WorkItem, decisions: list[str]) -> list[tuple[str, str]]:
    wording = _wording(item.application)
    labels = dict(DECISION_LABELS)
    if wording is not None and wording.decisions:
        labels.update(wording.decisions)
    return [(d, str(labels[d]()) if d in labels else d) for d in decisions]


def decision_label(item: WorkItem) -> str:
    """A decided task's decision in words."""
    return dict(decisions_in_words_for(item, [item.decision])).get(item.decision, item.decision)


def rules_record_in_words(item: WorkItem) -> str:
    """Whether a decision followed what the rules compute, in words ("" when not recorded)."""
    if item.follows_rules is None:
        return ""
    if item.follows_rules:
        return _("It follows what the rules compute.")
    return _("It departs from what the rules compute (%(reason)s): %(note)s") % {
        "reason": item.get_rules_departure_display(),
        "note": item.rules_note,
    }


@dataclass(frozen=True)
class HistoryRow:
    at: datetime.datetime
    text: str


#: Task names by process, parsed once per process text: {version checksum: {task: names}}.
_TASK_NAMES: dict[str, dict[str, dict[str, str]]] = {}


def name_tasks(items: Iterable[WorkItem]) -> list[WorkItem]:
    """Give each work item `shown_title`: its task's name in the reader's language, from its
    process (the title it was created with when the process names it in no language of
    ours). Two queries at most, whatever the number of items: the versions' checksums, and
    the process texts not parsed yet."""
    items = list(items)
    version_ids = {item.application.version_id for item in items}
    checksums = dict(
        ServiceVersion.objects.filter(pk__in=version_ids).values_list("pk", "checksum")
    )
    unparsed = {pk for pk, checksum in checksums.items() if checksum not in _TASK_NAMES}
    for checksum, bpmn in ServiceVersion.objects.filter(pk__in=unparsed).values_list(
        "checksum", "bpmn"
    ):
        _TASK_NAMES[checksum] = names.task_names(bpmn)
    language = get_language()
    for item in items:
        texts = _TASK_NAMES.get(checksums.get(item.application.version_id, ""), {})
        item.shown_title = pick(texts.get(item.task_name) or {}, language) or item.title
    return items


def history(application: Application) -> list[HistoryRow]:
    """The application's history as staff read it: its status changes and the decisions
    taken on its tasks (with whether each followed the rules), oldest first; four queries at
    most (the tasks named in the reader's language by `name_tasks`)."""
    rows = [
        HistoryRow(
            change.at, f"{change.to_label}: {change.reason}" if change.reason else change.to_label
        )
        for change in application.timeline.all()
    ]
    decided = (
        application.work_items.filter(status=WorkItem.Status.COMPLETED)
        .exclude(role=WorkItem.APPLICANT)
        .exclude(decision="")
        .order_by("completed_at", "pk")
    )
    decided = list(decided)
    for item in decided:
        item.application = application
    for item in name_tasks(decided):
        text = _("Decision on “%(task)s”: %(decision)s.") % {
            "task": item.shown_title,
            "decision": decision_label(item),
        }
        record = rules_record_in_words(item)
        rows.append(HistoryRow(item.completed_at, f"{text} {record}" if record else text))
    return sorted(rows, key=lambda row: row.at)


def applicant_facts(
    context: ActingContext, application: Application
) -> tuple[list[tuple[str, str]], str | None]:
    """The applicant's data a staff member working the application may see, as (label,
    value) rows, read through the data gate (which records the access in the ledger);
    or no rows and the gate's reason for refusing. An organisation's request (a business's,
    an agency's) is no person's data: its name is shown as it is."""
    if application.applicant_id is None:
        party = party_of(application)
        return [(party.kind_label, party.name)], None
    try:
        disclosure = gate.disclose(
            context,
            application.applicant,
            list(APPLICANT_DATA),
            APPLICANT_DATA_PURPOSE,
            partial=True,
        )
    except gate.DisclosureRefused as error:
        return [], error.message
    rows = []
    for key, value in disclosure.fields.items():
        spec = categories.field(key)
        # As people read them: "Preferred language: English", not "preferred language: en".
        label = presentation.fact_label(spec.label) if spec else presentation.fact_label(key)
        rows.append((label, presentation.format_fact(key, value)))
    return rows, None


#: The catalogue field that names a person's applications (registered by the app's ready()).
APPLICATIONS_FIELD = "applications"


#: Compiled once per process (`joinedup.prepared`): a case page asks for every person it shows.
_APPLICATIONS_OF = prepared.Instances(
    "delivery.applications_of",
    lambda a: (
        Application.objects.filter(applicant_id=a.number("person"))
        .order_by("submitted_at")
        .values_list("reference")
    ),
)


def applications_of(person) -> list[str]:
    """The catalogue's reader of the field: the references of the person's applications."""
    return [row[0] for row in _APPLICATIONS_OF.rows(person=person.pk)]


def read_application(context: ActingContext, application: Application) -> None:
    """Record, through the data gate, that someone other than the applicant (staff of the
    delivering agency, someone with a mandate) reads one of the applicant's applications;
    the applicant's own reads pass without an entry. Raises the gate's DisclosureRefused
    (a PermissionDenied) when the gate says no. An organisation's request names no person:
    there is nothing to record."""
    if application.applicant_id is None:
        return
    gate.disclose(
        context,
        application.applicant,
        [APPLICATIONS_FIELD],
        APPLICANT_DATA_PURPOSE,
        holder=application.agency if context.role else None,
        partial=False,
    )


@dataclass(frozen=True)
class SupervisorRow:
    application: Application
    state: clock.ClockState
    open_items: int
    #: The first open staff task, which the supervisor opens from the row (None: the
    #: application waits for the applicant, or for the agency's own system).
    item_id: int | None = None


def supervisor_view(
    context: ActingContext, agency: Agency, at: datetime.datetime | None = None
) -> dict[str, list[SupervisorRow]]:
    """Open applications of the agency in three groups: breached, due soon, on track (and
    paused), each by due date. Each row's count of open tasks is counted by the database
    with the row (a subquery), not by reading every open task of the agency."""
    identity_policy.require(context, "delivery.supervise", agency)
    groups: dict[str, list[SupervisorRow]] = {"breached": [], "at_risk": [], "on_track": []}
    open_items = (
        WorkItem.objects.filter(
            application=OuterRef("pk"),
            agency=agency,
            status__in=[WorkItem.Status.OPEN, WorkItem.Status.CLAIMED, WorkItem.Status.FORWARDED],
        )
        .order_by()
        .values("application")
        .annotate(n=Count("pk"))
        .values("n")
    )
    open_apps = (
        Application.objects.filter(agency=agency)
        .exclude(status__in=[s.value for s in ApplicationStatus if s.value in _CLOSED])
        .select_related("service", "agency__jurisdiction", "place")
        .defer("process_state", "data")
        .annotate(
            open_items=Coalesce(Subquery(open_items), 0),
            first_item=Subquery(
                WorkItem.objects.filter(
                    application=OuterRef("pk"),
                    agency=agency,
                    status__in=[WorkItem.Status.OPEN, WorkItem.Status.CLAIMED],
                )
                .exclude(role=WorkItem.APPLICANT)
                .order_by("created_at", "pk")
                .values("pk")[:1]
            ),
        )
        .order_by("due_date", "submitted_at")
    )
    for application in open_apps[:500]:
        state = clock.state(application, at)
        group = state.code if state.code in groups else "on_track"
        groups[group].append(
            SupervisorRow(application, state, application.open_items, application.first_item)
        )
    return groups


_CLOSED = {"approved", "refused", "referred", "withdrawn"}
