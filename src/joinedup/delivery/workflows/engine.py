"""The process engine: BPMN 2.0 processes run by SpiffWorkflow, one instance per application.

- A service version's BPMN is parsed and checked once, when it is deployed; the parsed
  definition is stored with the version and kept in memory per version, shared by every
  instance. An instance stores only its own state (tasks and data) on its application, so
  an application stays on the version it started with whatever is deployed later.
- Scripts and conditions run in the restricted interpreter (`scripting`), never `eval`.
- Service tasks call Python handlers registered by name (`@handler("issue_document")`).
- User tasks become work items: a task in lane "applicant" is the applicant's (send more
  information, pay the fee: the clock stops meanwhile); any other lane names the staff role
  of the delivering agency whose queue receives it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment
from SpiffWorkflow.bpmn.serializer.default.workflow import (
    BpmnWorkflowConverter,
    WorkflowConverter,
)
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.task import TaskState

from joinedup import prepared
from joinedup.identity.acting import ActingContext
from joinedup.identity.models import StaffMembership
from joinedup.sharing import outbox

from .. import clock, timeline
from ..backends import registry as backends
from ..models import Application, ApplicationStatus, ClockPause, ServiceVersion, WorkItem
from . import scripting

logger = logging.getLogger(__name__)

WORKITEM_EVENT = "org.joinedup.workitem."
DEFAULT_ROLE = "caseworker"
SYSTEM_LANES = {"", "system", "automatic"}
OUTCOMES = {
    "approve": ApplicationStatus.APPROVED,
    "approved": ApplicationStatus.APPROVED,
    "refuse": ApplicationStatus.REFUSED,
    "refused": ApplicationStatus.REFUSED,
    "refer": ApplicationStatus.REFERRED,
    "referred": ApplicationStatus.REFERRED,
    "withdraw": ApplicationStatus.WITHDRAWN,
    "withdrawn": ApplicationStatus.WITHDRAWN,
}


class ProcessError(Exception):
    """A process that cannot be deployed or run (bad BPMN, refused script, unknown handler)."""


class TaskNotOpen(Exception):
    """The work item's task is no longer waiting (done by someone else, or cancelled)."""


# --- Handlers -----------------------------------------------------------------------------


@dataclass
class Run:
    """What a handler knows while the engine advances one application."""

    application: Application
    context: ActingContext | None
    results: dict[str, Any] = field(default_factory=dict)
    #: The savepoint (an atomic block) opened before the first handler of this step writes
    #: anything: a step that runs no handler (most steps) needs none.
    writes: Any = None
    #: Whether the application's row exists. A process started on a new application inserts
    #: it once, with the state of its first step, instead of inserting then updating it.
    saved: bool = True

    def save_application(self) -> None:
        """Write the application with this step's changes: one INSERT or one UPDATE."""
        if self.saved:
            STEP_UPDATE.save(self.application, STEP_FIELDS)
        else:
            self.application.save(force_insert=True)
            self.saved = True

    def protect_writes(self) -> None:
        """Open a savepoint before a handler writes, so that a process error after it is
        rolled back to here (with the on-commit actions it registered) while the rest of the
        transaction (the work item completed, the hold recorded) stands. A new application
        is inserted first (outside the savepoint): handlers may read it or refer to it."""
        if self.writes is None:
            if not self.saved:
                self.application.save(force_insert=True)
                self.saved = True
            self.writes = transaction.atomic()
            self.writes.__enter__()

    def end_writes(self, error: BaseException | None = None) -> None:
        """Release the handlers' savepoint, or roll back to it when the step failed."""
        if self.writes is not None:
            writes, self.writes = self.writes, None
            if error is None:
                writes.__exit__(None, None, None)
            else:
                writes.__exit__(type(error), error, error.__traceback__)


Handler = Callable[..., dict | None]
_HANDLERS: dict[str, Handler] = {}


def handler(name: str) -> Callable[[Handler], Handler]:
    """Register a service-task handler: `fn(run, **parameters) -> dict` (JSON-able)."""

    def register(function: Handler) -> Handler:
        if name in _HANDLERS and _HANDLERS[name] is not function:
            raise ValueError(f"a handler named {name} is already registered")
        _HANDLERS[name] = function
        return function

    return register


def handlers() -> dict[str, Handler]:
    return dict(_HANDLERS)


# --- Reactions of the floors above --------------------------------------------------------

#: What must happen, in the same step and transaction, when an application completes after
#: its standard's due date. The modules above the engine fill it (the money-back guarantee:
#: `guarantees`), so the engine calls them without importing them.
_ON_COMPLETED_LATE: dict[str, Callable[[Application], Any]] = {}


def when_completed_late(function: Callable[[Application], Any]) -> Callable[[Application], Any]:
    """Register `fn(application)` to run when a process completes an application late
    (inside the step's transaction: what it writes stands or falls with the decision)."""
    _ON_COMPLETED_LATE[f"{function.__module__}.{function.__qualname__}"] = function
    return function


# --- The restricted script engine ---------------------------------------------------------


class RestrictedEnvironment(BasePythonScriptEngineEnvironment):
    """SpiffWorkflow's script environment, with the restricted interpreter in place of eval."""

    def evaluate(self, expression, context, external_context=None):
        variables = dict(external_context or {})
        variables.update(context)
        return scripting.evaluate(expression, variables)

    def execute(self, script, context, external_context=None):
        scripting.execute(script, context)
        return True

    def call_service(self, context, **kwargs):
        raise ProcessError("service tasks are run by the engine's handlers")


class Engine(PythonScriptEngine):
    """One per advancing instance: it knows the application its handlers act on."""

    def __init__(self, run: Run | None):
        super().__init__(environment=RestrictedEnvironment())
        self.run = run

    def call_service(self, task, operation_name=None, operation_params=None, **kwargs):
        function = _HANDLERS.get(operation_name or "")
        if function is None:
            raise ProcessError(f"no handler is registered for the service task {operation_name}")
        params = {name: p.get("value") for name, p in (operation_params or {}).items()}
        if self.run is None:
            return "{}"
        self.run.protect_writes()
        result = function(self.run, **params)
        return json.dumps(result or {}, default=str)


# --- Process definitions: parsed once per version -----------------------------------------


def _registry():
    config = dict(SPIFF_CONFIG)
    config[BpmnWorkflow] = StateConverter
    return BpmnWorkflowSerializer.configure(config)


class StateConverter(BpmnWorkflowConverter):
    """Serialises an instance without its process definition (kept once per version)."""

    def to_dict(self, workflow):
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct, spec=None, subprocess_specs=None):
        if spec is None:
            raise ProcessError("restoring an instance needs its version's process definition")
        workflow = self.target_class(spec, subprocess_specs or {}, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], uuid.UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(uuid.UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


REGISTRY = _registry()
SERIALIZER = BpmnWorkflowSerializer(REGISTRY)
_SPECS: dict[tuple[int, str], tuple[Any, dict]] = {}
_SPECS_LOCK = threading.Lock()


def parse(bpmn: str, process_id: str | None = None) -> tuple[Any, dict, str]:
    """Parse BPMN XML; returns (process spec, subprocess specs, process id)."""
    parser = SpiffBpmnParser()
    try:
        parser.add_bpmn_str(bpmn.encode() if isinstance(bpmn, str) else bpmn, "process.bpmn")
        ids = parser.get_process_ids()
        if process_id is None:
            executable = list(ids)
            if len(executable) != 1:
                raise ProcessError(
                    f"the file holds {len(executable)} processes; name the one to run"
                )
            process_id = executable[0]
        spec = parser.get_spec(process_id)
        subprocesses = parser.get_subprocess_specs(process_id)
    except ProcessError:
        raise
    except Exception as error:  # the parser's own errors are many and untyped
        raise ProcessError(f"the BPMN could not be read: {error}") from None
    return spec, subprocesses, process_id


def _all_task_specs(spec, subprocesses: dict):
    for process in [spec, *subprocesses.values()]:
        yield from process.task_specs.values()


def check(spec, subprocesses: dict) -> None:
    """Refuse unknown handlers and scripts outside the restricted language, at deployment."""
    for task_spec in _all_task_specs(spec, subprocesses):
        name = getattr(task_spec, "bpmn_id", None) or task_spec.name
        try:
            if getattr(task_spec, "script", None):
                scripting.validate_script(task_spec.script)
            for attr in ("prescript", "postscript"):
                if getattr(task_spec, attr, None):
                    scripting.validate_script(getattr(task_spec, attr))
            for condition, _target in getattr(task_spec, "cond_task_specs", []) or []:
                if condition is not None:
                    scripting.validate_expression(condition.args[0])
            operation = getattr(task_spec, "operation_name", None)
            if operation is not None:
                if operation not in _HANDLERS:
                    raise ProcessError(f"{name}: no handler is registered for {operation!r}")
                for param in (task_spec.operation_params or {}).values():
                    scripting.validate_expression(param["value"])
        except scripting.ScriptError as error:
            raise ProcessError(f"{name}: {error}") from None
        lane = (task_spec.lane or "").strip()
        if (
            type(task_spec).__name__ == "UserTask"
            and lane not in SYSTEM_LANES
            and lane != WorkItem.APPLICANT
            and lane not in StaffMembership.Role.values
        ):
            raise ProcessError(
                f"{name}: lane {lane!r} is neither 'applicant' nor a staff role "
                f"({', '.join(StaffMembership.Role.values)})"
            )


def compile_process(bpmn: str, process_id: str | None = None) -> tuple[dict, str]:
    """Parse and check a process; returns (serialised definition, process id)."""
    spec, subprocesses, process_id = parse(bpmn, process_id)
    check(spec, subprocesses)
    serialised = {
        "spec": REGISTRY.convert(spec),
        "subprocess_specs": {name: REGISTRY.convert(s) for name, s in subprocesses.items()},
    }
    return json.loads(json.dumps(serialised)), process_id


def spec_for(version: ServiceVersion) -> tuple[Any, dict]:
    """The version's process definition, restored once per process and shared."""
    key = (version.pk, version.checksum)
    found = _SPECS.get(key)
    if found is not None:
        return found
    with _SPECS_LOCK:
        found = _SPECS.get(key)
        if found is None:
            stored = version.spec or {}
            if stored.get("spec"):
                spec = REGISTRY.restore(stored["spec"])
                subprocesses = {
                    n: REGISTRY.restore(s) for n, s in stored.get("subprocess_specs", {}).items()
                }
            else:
                spec, subprocesses, _pid = parse(version.bpmn, version.process_id)
            found = _SPECS[key] = (spec, subprocesses)
    return found


def checksum(*parts: Any) -> str:
    raw = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(raw.encode()).hexdigest()


# --- Instances -----------------------------------------------------------------------------


def dump_state(workflow: BpmnWorkflow) -> str:
    dct = SERIALIZER.to_dict(workflow)
    dct[SERIALIZER.VERSION_KEY] = SERIALIZER.VERSION
    return json.dumps(dct, cls=SERIALIZER._encoder_cls, separators=(",", ":"))


def load_state(application: Application, run: Run) -> BpmnWorkflow:
    spec, subprocesses = spec_for(application.version)
    dct = json.loads(application.process_state)
    dct.pop(SERIALIZER.VERSION_KEY, None)
    workflow = REGISTRY.restore(dct, spec=spec, subprocess_specs=subprocesses)
    workflow.script_engine = Engine(run)
    return workflow


def initial_data(application: Application) -> dict[str, Any]:
    """What the process sees at its start: the answers and a few facts of the application."""
    return {
        "answers": application.data,
        "service": application.service.key,
        "agency": application.agency.key,
        "channel": application.channel,
        "language": application.language,
        "fee": float(application.fee_amount),
        "currency": application.fee_currency,
    }


def start(
    application: Application, context: ActingContext | None = None, *, saved: bool = True
) -> None:
    """Start the application's process (in the caller's transaction) and run it as far as
    it goes without anyone: up to the first work item, or to the end.

    `saved=False`: the application is new and not inserted yet; it is inserted once, with
    its first step's state (a submission then writes its row once, not twice)."""
    spec, subprocesses = spec_for(application.version)
    run = Run(application, context, saved=saved)
    if not saved:
        application.has_open_pause = False  # a new application has never been paused
    workflow = BpmnWorkflow(spec, subprocesses, script_engine=Engine(run))
    workflow.task_tree.data.update(initial_data(application))
    with transaction.atomic(savepoint=False), outbox.batch(), timeline.batch():
        _advance(run, workflow, first=True)


#: The columns a step of the engine changes on its application (written once per step).
STEP_FIELDS = [
    "status",
    "process_state",
    "process_error",
    "due_date",
    "paused_days",
    "met_standard",
    "completed_at",
    "outcome_reasons",
    "updated_at",
]

#: That UPDATE, written once per database (`joinedup.prepared`; nothing listens to an
#: application's saves).
STEP_UPDATE = prepared.Update(Application)


def _advance(
    run: Run,
    workflow: BpmnWorkflow,
    first: bool = False,
    known: frozenset[uuid.UUID] = frozenset(),
) -> None:
    """Run the instance as far as it goes, then bring the records in line with it and save
    its state. `known` are the user tasks that already have work items (READY before the
    step). Must run inside the caller's transaction."""
    application = run.application
    try:
        workflow.do_engine_steps()
    except BaseException as error:
        run.end_writes(error)
        if not isinstance(error, SpiffWorkflowException | ProcessError | scripting.ScriptError):
            raise
        # Nothing is lost: the application stays, held for staff, with the reason recorded.
        # What this step's handlers wrote is undone; what the caller did (the work item it
        # completed) stands, so the hold is visible.
        logger.warning("process of %s stopped: %s", application.reference, error)
        if first:
            application.process_state = ""
        else:
            application.refresh_from_db()
        application.process_error = str(error)[:2000]
        timeline.record_status(
            application, ApplicationStatus.NEEDS_ATTENTION, None, str(error)[:500], save=False
        )
        run.save_application()
        return
    run.end_writes()
    _sync(run, workflow, known)
    application.process_state = dump_state(workflow)
    application.process_error = ""
    run.save_application()


def _ready_user_tasks(workflow: BpmnWorkflow):
    return workflow.get_tasks(state=TaskState.READY, manual=True)


def _lane_of(task) -> str:
    """The role a user task is for: the applicant, a staff role, or the default role."""
    lane = (task.task_spec.lane or "").strip()
    if lane == WorkItem.APPLICANT:
        return WorkItem.APPLICANT
    return lane if lane not in SYSTEM_LANES else DEFAULT_ROLE


def _work_item_for(application: Application, task) -> WorkItem:
    spec = task.task_spec
    role = _lane_of(task)
    properties = (getattr(spec, "extensions", None) or {}).get("properties") or {}
    decisions = [d.strip() for d in properties.get("decisions", "").split(",") if d.strip()]
    kind = properties.get("kind") or ("information" if role == WorkItem.APPLICANT else "review")
    return WorkItem(
        application=application,
        agency=application.agency,
        role=role,
        task_id=task.id,
        task_name=getattr(spec, "bpmn_id", None) or spec.name,
        title=(spec.bpmn_name or spec.name)[:200],
        kind=kind,
        decisions=decisions,
        message=str(task.data.get("message_to_applicant", ""))[:4000]
        if role == WorkItem.APPLICANT
        else "",
    )


def announce_item(item: WorkItem, verb: str, extra: dict | None = None) -> None:
    data = {
        "work_item": item.pk,
        "application": str(item.application_id),
        "agency": item.agency.key if item.agency_id else None,
        "role": item.role,
        "task": item.task_name,
        "kind": item.kind,
        "status": item.status,
    }
    data.update(extra or {})
    outbox.emit(WORKITEM_EVENT + verb, source=timeline.SOURCE, subject=str(item.pk), data=data)


#: A step's new work items, their INSERT written once (`joinedup.prepared`).
_NEW_ITEMS = prepared.Insert(WorkItem)


def _sync(run: Run, workflow: BpmnWorkflow, known: frozenset[uuid.UUID]) -> None:
    """Bring work items, the clock and the status in line with the instance's state.

    Every READY user task has an open work item (this function keeps it so, in the same
    transaction as the state), so the items to open and to cancel follow from the tasks
    READY before and after the step, without reading the items back."""
    application = run.application
    ready = {task.id: task for task in _ready_user_tasks(workflow)}
    gone = [task_id for task_id in known if task_id not in ready]
    if gone:
        for item in application.work_items.filter(
            task_id__in=gone,
            status__in=[WorkItem.Status.OPEN, WorkItem.Status.CLAIMED, WorkItem.Status.FORWARDED],
        ).select_related("agency"):
            item.status = WorkItem.Status.CANCELLED
            item.completed_at = timezone.now()
            item.save(update_fields=["status", "completed_at"])
            announce_item(item, "cancelled")
    waiting_for_applicant = False
    # The new work items in one INSERT (the application's row may come later in the same
    # transaction: foreign keys are checked at the commit).
    new_items = _NEW_ITEMS.create(
        [_work_item_for(application, task) for tid, task in ready.items() if tid not in known]
    )
    for item in new_items:
        announce_item(item, "created")
        if item.role != WorkItem.APPLICANT:
            backends.open_item(item)
    for task in ready.values():
        if _lane_of(task) == WorkItem.APPLICANT:
            waiting_for_applicant = True

    if workflow.completed:
        _finish(run, workflow)
        return
    if waiting_for_applicant:
        if application.status != ApplicationStatus.WAITING:
            clock.pause(application, _("Waiting for the applicant"))
        timeline.record_status(application, ApplicationStatus.WAITING, run.context, save=False)
        return
    if application.status == ApplicationStatus.WAITING:
        clock.resume(application, save=False)
    timeline.record_status(application, ApplicationStatus.IN_PROGRESS, run.context, save=False)


def _finish(run: Run, workflow: BpmnWorkflow) -> None:
    application = run.application
    data = workflow.last_task.data if workflow.last_task is not None else workflow.data
    raw = str(data.get("outcome") or data.get("decision") or "approve").lower()
    outcome = OUTCOMES.get(raw, ApplicationStatus.APPROVED)
    now = timezone.now()
    # The lock says whether a pause is open (`has_open_pause`): no query when none is.
    if getattr(application, "has_open_pause", None) is False:
        clock.finish(application, now, current=None)
    else:
        clock.finish(application, now)
    application.completed_at = now
    application.outcome_reasons = str(data.get("reasons") or "")[:4000]
    timeline.record_status(
        application, outcome, run.context, application.outcome_reasons, save=False
    )
    if application.met_standard is False:
        for reaction in list(_ON_COMPLETED_LATE.values()):
            reaction(application)


#: What a step of the engine reads with its application: the version (without its BPMN
#: text and parsed definition, which are kept once per process by `spec_for`), the service,
#: the delivering agency and its back-end (which every new staff work item is opened in).
#: No more: PostgreSQL plans a query's joins anew each time, and planning a join of eight
#: tables cost more than running it (the applicant and the agency's jurisdiction are read
#: when a step needs them).
LOCK_RELATED = ("version", "service", "agency__backend")
LOCK_DEFERRED = ("version__spec", "version__bpmn", "version__form")


def open_pause_exists(application_ref: str = "pk"):
    """Whether the application has an open clock pause, as a column of the lock's query
    (`has_open_pause`): a step that completes the application then reads no pause when
    there is none."""
    return Exists(
        ClockPause.objects.filter(application_id=OuterRef(application_ref), ended_at__isnull=True)
    )


def lock(application_id) -> Application:
    """The application, locked for one step of its process (one query)."""
    return (
        Application.objects.select_for_update(of=("self",))
        .select_related(*LOCK_RELATED)
        .defer(*LOCK_DEFERRED)
        .annotate(has_open_pause=open_pause_exists())
        .get(pk=application_id)
    )


def complete_task(
    application: Application,
    task_id: uuid.UUID,
    data: dict[str, Any],
    context: ActingContext | None,
    *,
    locked: bool = False,
) -> Application:
    """Complete one waiting task with the data it produced (a decision, answers) and run the
    process on. Raises TaskNotOpen when the task is no longer waiting. `locked`: the caller
    already holds the application's row lock (and loaded it as `lock` does)."""
    with transaction.atomic(savepoint=False), outbox.batch(), timeline.batch():
        if not locked:
            application = lock(application.pk)
        if not application.process_state:
            raise TaskNotOpen(_("This application's process is not running."))
        run = Run(application, context)
        workflow = load_state(application, run)
        task = workflow.get_task_from_id(task_id) if task_id in workflow.tasks else None
        if task is None or task.state != TaskState.READY:
            raise TaskNotOpen(_("This task is no longer waiting."))
        known = frozenset(t.id for t in _ready_user_tasks(workflow))
        task.data.update(data)
        task.run()
        _advance(run, workflow, known=known - {task_id})
    return application


def open_tasks(application: Application) -> list[dict[str, Any]]:
    """The tasks the instance is waiting on (for pages and tests)."""
    if not application.process_state:
        return []
    workflow = load_state(application, Run(application, None))
    return [
        {"id": t.id, "name": t.task_spec.bpmn_id, "lane": t.task_spec.lane}
        for t in _ready_user_tasks(workflow)
    ]
