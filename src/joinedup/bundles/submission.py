"""Submitting a bundle: accepted at once, each leg started by the task workers.

    submission, created = submit_bundle(context, "newborn", answers, consents=["sin", …],
                                        dropped_legs=["education-savings"],
                                        idempotency_key=key, screening={...})

Everything is checked first (screening, the unified form, every leg's own form, routing, the
consent for every leg kept, whether the person may apply) and every problem is reported at
once. Then the bundle is **accepted** in one short transaction of a few statements: the
submission, each leg's consent (sharing), the legs with what was checked for them (answers,
place, version, agency, the due date promised) and the events that start them, one per
agency. The answer comes at once, each leg "received" with its due date; the task workers
then make each leg's application and start its agency's process, exactly once
(`starting.py`). As everything that could be refused was refused before, an accepted bundle
does not fail later for its answers; a leg that cannot start for another reason is held up
and retried, never dropped. The same idempotency key from the same account returns the first
submission; the same key with different answers is refused.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from joinedup import prepared
from joinedup.delivery import applications, clock
from joinedup.delivery import formdefs as forms
from joinedup.delivery.models import CLOSED_STATUSES, ApplicationStatus
from joinedup.federation import routing
from joinedup.federation.models import Channel
from joinedup.identity import acting, policy
from joinedup.identity.acting import ActingContext
from joinedup.identity.models import Person, User, addresses_remembered
from joinedup.sharing import consent as sharing_consent
from joinedup.sharing import outbox

from . import definitions, prefill, preview, screening, starting
from .models import Bundle, BundleLeg, BundleSubmission

EVENT_PREFIX = "org.joinedup.bundle."
SOURCE = "/joinedup/bundles"
MAX_KEY = 200


class BundleError(Exception):
    """The bundle cannot be submitted. `code` is for machines, `message` for people;
    `errors` lists each problem (`field`, `message`, and the `leg` it concerns)."""

    def __init__(self, code: str, message: str, errors: list[dict[str, str]] | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.errors = errors or []


@dataclass
class Checked:
    """Everything a valid submission needs, computed before anything is written."""

    bundle: Bundle
    subject: Person
    screening: dict[str, Any]
    answers: dict[str, Any]
    legs: list[preview.LegPreview] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    #: The data categories the database knows, read by the preview.
    categories: set[str] = field(default_factory=set)


def _field_errors(errors: Iterable[forms.FieldError], leg: str = "") -> list[dict[str, str]]:
    out = []
    for error in errors:
        item = error.as_dict()
        if leg:
            item["leg"] = leg
        out.append(item)
    return out


def fingerprint(
    bundle_key: str,
    subject_id: int,
    screening_answers: Mapping,
    answers: Mapping,
    consents_given: Iterable[str],
    dropped: Iterable[str],
) -> str:
    canonical = json.dumps(
        {
            "bundle": bundle_key,
            "subject": subject_id,
            "screening": screening_answers,
            "answers": answers,
            "consents": sorted(set(consents_given)),
            "dropped": sorted(set(dropped)),
        },
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def check(
    context: ActingContext,
    bundle: Bundle,
    answers: Mapping[str, Any],
    consents_given: Iterable[str],
    dropped_legs: Iterable[str],
    screening_answers: Mapping[str, Any],
) -> Checked:
    """Check a submission through and through; raises BundleError listing every problem."""
    if not isinstance(answers, Mapping) or not isinstance(screening_answers, Mapping):
        raise BundleError("invalid", _("The answers must be a JSON object."))
    subject = acting.subject_of(context)
    if subject is None:
        raise BundleError("no_applicant", _("Only a person can apply for a life event."))
    cleaned_screening, errors = forms.validate(
        definitions.screening_form(bundle), screening_answers
    )
    if errors:
        raise BundleError(
            "invalid_screening",
            _("Some answers to the first questions need correcting."),
            _field_errors(errors),
        )
    plans = screening.plan(bundle, context, subject, cleaned_screening, route=False)
    by_key = {p.key: p for p in plans}
    dropped = sorted(set(dropped_legs))
    unknown = [key for key in dropped if key not in by_key]
    if unknown:
        raise BundleError(
            "unknown_leg",
            _("This life event has no part called: %(keys)s.") % {"keys": ", ".join(unknown)},
        )
    required = [by_key[key] for key in dropped if by_key[key].required and by_key[key].included]
    if required:
        raise BundleError(
            "required_leg",
            _("“%(service)s” is the heart of this life event: it cannot be left out.")
            % {"service": required[0].service.name},
        )
    kept = preview.kept_leg_keys(plans, dropped)
    if not kept:
        raise BundleError(
            "nothing_to_submit", _("Nothing is left to apply for: keep at least one service.")
        )
    given = set(consents_given)
    missing = [by_key[key] for key in kept if key not in given]
    if missing:
        raise BundleError(
            "consent_missing",
            _("Give your consent for each service you keep, or leave it out."),
            [
                {
                    "leg": p.key,
                    "field": "consents",
                    "message": _("Consent to send your answers for “%(service)s”.")
                    % {"service": p.service.name},
                    "code": "consent",
                }
                for p in missing
            ],
        )
    known = prefill.known(context, subject, bundle)
    merged = prefill.merge(known.values, answers)
    form = definitions.unified_form(bundle, kept)
    properties = forms.schema_of(form).get("properties") or {}
    extra = sorted(
        set(answers) - set(forms.schema_of(bundle.definition["form"]).get("properties") or {})
    )
    if extra:
        raise BundleError(
            "invalid",
            _("This form has no question “%(name)s”.") % {"name": ", ".join(extra)},
        )
    merged = {name: value for name, value in merged.items() if name in properties}
    cleaned, errors = forms.validate(form, merged)
    if errors:
        raise BundleError("invalid", _("Some answers need correcting."), _field_errors(errors))
    built = preview.build(
        context, subject, bundle, cleaned_screening, cleaned, dropped, plans=plans, summaries=False
    )
    problems: list[dict[str, str]] = []
    for leg in built.legs:
        problems.extend(_field_errors(leg.errors, leg.key))
        if leg.agency is None:
            problems.append(
                {"leg": leg.key, "field": "", "message": leg.route_problem, "code": "routing"}
            )
    if problems:
        raise BundleError("invalid", _("Some answers need correcting."), problems)
    if context.role is None:
        # Refused now, not when a worker starts the leg: an accepted bundle does not fail.
        for leg in built.legs:
            policy.require(context, "service.apply", leg.service)
    return Checked(
        bundle, subject, cleaned_screening, cleaned, built.legs, dropped, built.categories
    )


#: The submission an idempotency key already made, its statement compiled once
#: (`joinedup.prepared`): every submission with a key asks it first.
_BY_KEY = prepared.Instances(
    "bundles.submission_by_key",
    lambda a: BundleSubmission.objects.filter(
        idempotency_scope=a.text("scope"), idempotency_key=a.text("key")
    )[:1],
)


def _existing(scope: str, key: str, print_: str) -> BundleSubmission | None:
    found = next(iter(_BY_KEY.all(scope=scope, key=key)), None)
    if found is not None and found.fingerprint != print_:
        raise BundleError(
            "idempotency_conflict",
            _(
                "This idempotency key was already used for a different submission. Use a new "
                "key for a new submission."
            ),
        )
    return found


def submit_bundle(
    context: ActingContext,
    bundle_key: str,
    answers: Mapping[str, Any],
    consents: Iterable[str],
    dropped_legs: Iterable[str],
    idempotency_key: str = "",
    *,
    screening: Mapping[str, Any] | None = None,
    channel: str = Channel.ONLINE,
    origin: str = "",
) -> tuple[BundleSubmission, bool]:
    """Submit a bundle (see the module's description). Returns (submission, created).

    `origin`: where it came from, for the caller's hook when each leg starts (the counter's
    visit, "visit:<id>"; see `starting.when_started`).

    Raises BundleError (with every problem) and PolicyDenied (not allowed to apply).
    """
    bundle = definitions.get_bundle(bundle_key)
    if bundle is None:
        raise BundleError(
            "unknown_bundle",
            _("There is no life event called “%(key)s”.") % {"key": bundle_key},
        )
    policy.require(context, "bundles.apply")
    consents = list(consents or [])
    dropped_legs = list(dropped_legs or [])
    screening = dict(screening or {})
    if not all(isinstance(k, str) for k in [*consents, *dropped_legs]):
        raise BundleError("invalid", _("Name legs by their keys."))
    key = (idempotency_key or "").strip()
    if len(key) > MAX_KEY:
        raise BundleError("invalid_key", _("An idempotency key has at most 200 characters."))
    scope = applications.idempotency_scope(context)
    print_ = fingerprint(
        bundle.key, context.subject_id or 0, screening, answers, consents, dropped_legs
    )
    if key:
        found = _existing(scope, key, print_)
        if found is not None:
            return found, False

    # Routing is asked once per leg: the preview's answer is the one the legs are sent by.
    # The person's address is read once, though screening, preview, prefill and the data
    # gate each ask for it.
    with routing.remembered(), addresses_remembered():
        checked = check(context, bundle, answers, consents, dropped_legs, screening)
        return _write(context, bundle, checked, channel, scope, key, print_, origin)


#: The acceptance's own rows, each table's insert made once (`joinedup.prepared`).
_SUBMISSIONS = prepared.Rows(BundleSubmission)
_LEGS = prepared.Rows(BundleLeg)


def _write(
    context: ActingContext,
    bundle: Bundle,
    checked: Checked,
    channel: str,
    scope: str,
    key: str,
    print_: str,
    origin: str = "",
) -> tuple[BundleSubmission, bool]:
    """Accept a checked submission: the submission, its consents, its legs and the events
    that start them, in one transaction and a few statements (or nothing at all)."""
    user = User(pk=context.user_id) if context.user_id else None
    language = (get_language() or "en").split("-")[0]
    now = timezone.now()
    # The due date each leg promises: its application, made later with the same time
    # received, keeps it (delivery's `received`; nothing is written).
    promised = [
        clock.promised_due_date(leg.version, leg.offering, leg.place, now) for leg in checked.legs
    ]
    try:
        with transaction.atomic(), outbox.batch():
            submission = BundleSubmission(
                reference=applications.new_reference("B"),
                bundle=bundle,
                subject=checked.subject,
                acting_person_id=context.person_id if context.acting_for_other else None,
                submitted_by=user,
                channel=channel,
                language=language,
                screening=checked.screening,
                answers=checked.answers,
                dropped=checked.dropped,
                definition_checksum=bundle.checksum,
                submitted_at=now,
                idempotency_scope=scope if key else "",
                idempotency_key=key,
                fingerprint=print_,
                actor=json.loads(context.to_json()),
                origin=origin,
            )
            consents = sharing_consent.consents_to_record(
                checked.subject,
                [
                    sharing_consent.Grant(
                        recipients=[leg.agency],
                        purposes=leg.leg["consent"]["purposes"],
                        categories=leg.leg["consent"]["categories"],
                        notice=leg.consent_text,
                    )
                    for leg in checked.legs
                ],
                method="online" if channel == Channel.ONLINE else "counter",
                language=language,
                recorded_by=user,
                known_categories=checked.categories,
            )
            made = [
                BundleLeg(
                    submission=submission,
                    key=leg.key,
                    position=position,
                    service=leg.service,
                    agency=leg.agency,
                    consent=record,
                    version=leg.version,
                    offering=leg.offering,
                    place=leg.place,
                    data=leg.data,
                    due_date=due,
                )
                for position, (leg, record, due) in enumerate(
                    zip(checked.legs, consents.records, promised, strict=True)
                )
            ]
            if connection.vendor == "postgresql":
                # The submission, the consents with their links and events, and the legs in
                # one statement: one round trip, its text made once (`joinedup.prepared`).
                prepared.insert_together(
                    [(_SUBMISSIONS, [submission]), *consents.parts, (_LEGS, made)],
                    returning=True,
                )
            else:
                submission.save(force_insert=True)
                consents.write()
                BundleLeg.objects.bulk_create(made)
            consents.announce()
            _announce(submission, bundle, checked.subject, made)
            # The legs as written (all "received", none started yet): the API's answer to
            # this request is made from them instead of reading them back. Read with
            # `legs_of` for anything later: the workers start them.
            submission.accepted_legs = made
    except IntegrityError:
        if not key:
            raise
        # Another request with the same key won the race: answer with its submission.
        found = _existing(scope, key, print_)
        if found is None:
            raise
        return found, False
    return submission, True


def _announce(
    submission: BundleSubmission, bundle: Bundle, subject: Person, made: list[BundleLeg]
) -> None:
    """The bundle's own event, and one per agency that starts that agency's legs (the task
    workers share the agencies out; `starting.start_legs`)."""
    outbox.emit(
        EVENT_PREFIX + "submitted",
        source=SOURCE,
        subject=str(submission.pk),
        data={
            "submission": str(submission.pk),
            "reference": submission.reference,
            "bundle": bundle.key,
            "person": subject.pk,
            "legs": [
                {
                    "leg": item.key,
                    "service": item.service.key,
                    "agency": item.agency.key,
                    "due_date": item.due_date.isoformat() if item.due_date else None,
                }
                for item in made
            ],
        },
    )
    by_agency: dict[str, list[BundleLeg]] = {}
    for item in made:
        by_agency.setdefault(item.agency.key, []).append(item)
    for agency, items in by_agency.items():
        outbox.emit(
            starting.LEGS_RECEIVED,
            source=SOURCE,
            subject=str(submission.pk),
            data={
                "submission": str(submission.pk),
                "agency": agency,
                "legs": [item.pk for item in items],
            },
        )


# --- Reading a submission back ---------------------------------------------------------


@dataclass
class LegStatus:
    leg: BundleLeg
    label: str
    due_date: Any
    waiting_for_you: bool


OPEN_WAITING = ApplicationStatus.WAITING
#: The statuses of a leg that is decided or ended (here or on another node).
CLOSED = CLOSED_STATUSES


def legs_of_each(found: list[BundleSubmission]) -> dict[uuid.UUID, list[BundleLeg]]:
    """The legs of several submissions, in one query: a list of bundles reads its legs once,
    not once per bundle."""
    legs: dict[uuid.UUID, list[BundleLeg]] = {s.pk: [] for s in found}
    for leg in (
        BundleLeg.objects.filter(submission__in=list(legs))
        .select_related("service", "agency__jurisdiction", "application", "application__service")
        .order_by("submission", "position")
    ):
        if leg.application_id and leg.application.agency_id == leg.agency_id:
            # The same agency, read once: its calendar gives each leg's days left.
            leg.application.agency = leg.agency
        legs[leg.submission_id].append(leg)
    return legs


def legs_of(submission: BundleSubmission) -> list[BundleLeg]:
    return legs_of_each([submission])[submission.pk]


def status_of(legs: list[BundleLeg]) -> tuple[str, str]:
    """The bundle's own status, from its legs': (code, label). A leg accepted and not
    started yet counts as received; one that could not start, as held up."""
    statuses = [
        ApplicationStatus.SUBMITTED
        if leg.status in (BundleLeg.State.RECEIVED, BundleLeg.State.ELSEWHERE)
        else ApplicationStatus.NEEDS_ATTENTION
        if leg.status == BundleLeg.State.HELD_UP
        else leg.status
        for leg in legs
    ]
    if not statuses:
        return "empty", _("Nothing was applied for")
    if any(s == ApplicationStatus.WAITING for s in statuses):
        return "waiting_for_applicant", _("Waiting for you")
    closed = [s for s in statuses if s in CLOSED]
    if len(closed) == len(statuses):
        return "completed", _("Completed")
    if closed:
        return "in_progress", _("Partly decided: %(done)s of %(all)s") % {
            "done": len(closed),
            "all": len(statuses),
        }
    if any(s == ApplicationStatus.NEEDS_ATTENTION for s in statuses):
        return "needs_attention", _("Held up: our staff are looking into it")
    if all(s == ApplicationStatus.SUBMITTED for s in statuses):
        return "submitted", _("Received")
    return "in_progress", _("Being worked on")


def due_date_of(legs: list[BundleLeg]):
    """The bundle's due date: when its last open leg is due."""
    dates = [
        leg.current_due_date
        for leg in legs
        if leg.current_due_date is not None and leg.status not in CLOSED
    ]
    return max(dates) if dates else None


# --- The benchmark's floor ------------------------------------------------------------

#: The first check of each person's submission, kept by the floor operation (per process).
_FLOOR_CHECKED: dict[tuple[str, int | None], Checked] = {}


def write_floor(
    context: ActingContext,
    bundle_key: str,
    answers: Mapping[str, Any],
    consents: Iterable[str],
    dropped_legs: Iterable[str],
    screening: Mapping[str, Any],
) -> BundleSubmission:
    """The acceptance's writes alone, for `bench/bundles.py`'s floor: the same transaction,
    rows and statements as `submit_bundle`'s write, with the checks done once per person
    and process and kept (so a request costs authentication plus the bulk insert). Exists
    for the benchmark only; its operation is off unless `settings.BENCH_FLOOR`."""
    bundle = definitions.get_bundle(bundle_key)
    if bundle is None:
        raise BundleError(
            "unknown_bundle", _("There is no life event called “%(key)s”.") % {"key": bundle_key}
        )
    found = _FLOOR_CHECKED.get((bundle.key, context.subject_id))
    if found is None:
        with routing.remembered():
            found = check(context, bundle, answers, list(consents), list(dropped_legs), screening)
        _FLOOR_CHECKED[(bundle.key, context.subject_id)] = found
    made, _created = _write(context, bundle, found, Channel.ONLINE, "", "", "")
    return made
