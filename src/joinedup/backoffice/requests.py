"""Requests for shared services: an agency orders, the provider works it on the engine.

    request, created = submit_request(context, client, "on.onboarding", data, key)

The request is a delivery application whose applicant is the client agency, routed to the
provider of the agreement in force that covers the service; its standard is the level's
resolution time, so the engine's clock, queues, work items, documents and breach check work
it as any other application. No second workflow engine: this module only checks who may
order what under which agreement, and records the price and the level at the time.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from joinedup.delivery import applications, clock, formdefs
from joinedup.delivery.applications import SubmissionError
from joinedup.delivery.models import Application
from joinedup.federation.models import Agency, Channel, Offering, Service
from joinedup.identity import policy, presentation
from joinedup.identity.acting import ActingContext
from joinedup.identity.models import Person
from joinedup.sharing import categories, gate

from . import levels
from .models import Employee, Request, StatementLine, name_key_of

__all__ = ["SubmissionError", "submit_request"]

#: The purpose under which anyone reads the employee a request concerns (data-sharing rules
#: between a client agency and its provider name it).
EMPLOYEE_PURPOSE = "shared-services"
#: What of the employee a request's page shows (their identity, never pay figures: those stay
#: in the client agency's pay system).
EMPLOYEE_DATA = ("given_names", "family_name", "birth_date")


def _scope(context: ActingContext, client: Agency) -> str:
    who = (
        f"client:{context.api_client_id}"
        if context.api_client_id is not None
        else f"user:{context.user_id}"
    )
    return f"{who}:agency:{client.pk}"


def _fingerprint(service_key: str, data: dict, scope: str) -> str:
    canonical = json.dumps(
        {"service": service_key, "data": data, "scope": scope},
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _replay(scope: str, key: str, print_: str) -> Request | None:
    existing = (
        Request.objects.select_related("application", "level__service")
        .filter(application__idempotency_scope=scope, application__idempotency_key=key)
        .first()
    )
    if existing is not None and existing.application.fingerprint != print_:
        raise SubmissionError(
            "idempotency_conflict",
            _(
                "This idempotency key was already used for a different request. Use a new key "
                "for a new request."
            ),
        )
    return existing


def submit_request(
    context: ActingContext,
    client: Agency,
    service_key: str,
    data: dict[str, Any],
    idempotency_key: str = "",
    *,
    channel: str = Channel.ONLINE,
    disputes: StatementLine | None = None,
    employee: Person | None = None,
    at=None,
) -> tuple[Request, bool]:
    """Receive a client agency's request (see the module's description).

    `employee` is the person the request concerns (a pay change): it is linked, not read;
    whoever reads it later goes through the data gate (`employee_facts`).

    Raises PolicyDenied (not one of the agency's requesters) and SubmissionError (no
    agreement in force covers the service, bad answers, a key reused for other answers).
    """
    policy.require(context, "backoffice.request", client)
    service = Service.objects.filter(key=service_key, client_type=Service.ClientType.AGENCY).first()
    if service is None:
        raise SubmissionError(
            "unknown_service", _("There is no shared service with this catalogue key.")
        )
    if not isinstance(data, dict):
        raise SubmissionError("invalid", _("The answers must be a JSON object."))
    idempotency_key = (idempotency_key or "").strip()[:200]
    scope = _scope(context, client)
    print_ = _fingerprint(
        service_key, {**data, "employee": employee.pk} if employee else data, scope
    )
    if idempotency_key and (existing := _replay(scope, idempotency_key, print_)):
        return existing, False

    now = at or timezone.now()
    level = levels.level_for(client, service, timezone.localdate(now))
    if level is None:
        raise SubmissionError(
            "no_agreement",
            _("Your agency has no shared-service agreement in force that covers this service."),
        )
    provider = levels.provider_of(level.agreement)
    offering = (
        Offering.objects.filter(service=service, agency=provider).select_related("agency").first()
        if provider is not None
        else None
    )
    version = applications.current_version(service)
    if offering is None or version is None:
        raise SubmissionError(
            "not_available", _("The provider does not take requests for this service yet.")
        )
    cleaned, errors = formdefs.validate(version.form, data)
    if errors:
        raise SubmissionError("invalid", _("Some answers need correcting."), errors)
    application = applications.received(
        context,
        version,
        None,
        cleaned,
        channel,
        client.jurisdiction,
        offering,
        applicant_agency=client,
        submitted_at=now,
        scope=scope if idempotency_key else "",
        key=idempotency_key,
        print_=print_,
    )
    application.fee_amount = level.unit_price
    application.fee_currency = level.currency
    # The level's resolution time is the application's standard, on the provider's calendar.
    application.standard_days = level.resolution_days
    application.standard_day_kind = level.day_kind
    application.due_date = clock.due_date_of(application)
    request = Request(
        application=application,
        client=client,
        provider=provider,
        level=level,
        unit_price=level.unit_price,
        requested_by_id=context.user_id,
        submitted_at=application.submitted_at,
        disputes=disputes,
        employee=employee,
    )
    if level.response_hours is not None:
        request.response_due = levels.add_business_hours(
            levels.calendar_of(provider), application.submitted_at, level.response_hours
        )
    try:
        with transaction.atomic():
            applications.start(application, context)
            request.save(force_insert=True)
            if employee is not None:  # the client's employee, found by name from now on
                Employee.objects.update_or_create(
                    client=client, person=employee, defaults={"name_key": name_key_of(employee)}
                )
    except IntegrityError:
        if not idempotency_key:
            raise
        existing = _replay(scope, idempotency_key, print_)
        if existing is None:
            raise
        return existing, False
    return request, True


def of_client(client: Agency) -> QuerySet[Request]:
    """A client agency's requests, newest first, with what a list shows."""
    return (
        Request.objects.filter(client=client)
        .select_related("application", "level__service", "provider")
        .defer("application__process_state", "application__data")
        .order_by("-submitted_at")
    )


def of_provider(provider: Agency) -> QuerySet[Request]:
    """The requests of a provider's clients (never another provider's)."""
    return (
        Request.objects.filter(provider=provider)
        .select_related("application", "level__service", "client")
        .defer("application__process_state", "application__data")
        .order_by("-submitted_at")
    )


def mark_taken_up(application: Application, at=None) -> None:
    """The provider took the request up (its first step left the queue): the response."""
    Request.objects.filter(application=application, responded_at__isnull=True).update(
        responded_at=at or timezone.now()
    )


def rate(request: Request, score: int) -> None:
    """The client's satisfaction with a finished request (1 to 5)."""
    if not request.application.is_closed:
        raise SubmissionError("not_finished", _("Rate a request once it is finished."))
    if score not in range(1, 6):
        raise SubmissionError("invalid", _("Give a score from 1 to 5."))
    request.satisfaction = score
    request.save(update_fields=["satisfaction"])


def employee_facts(
    context: ActingContext, request: Request
) -> tuple[list[tuple[str, str]], str | None]:
    """The employee a request concerns, as (label, value) rows, read through the data gate
    for the shared-services purpose with the client agency as the holder (so the read, or
    the refusal, lands in the person's access ledger); or no rows and the gate's reason.
    A request that concerns nobody has neither."""
    if request.employee_id is None:
        return [], None
    try:
        disclosure = gate.disclose(
            context,
            request.employee,
            list(EMPLOYEE_DATA),
            EMPLOYEE_PURPOSE,
            holder=request.client,
            partial=True,
        )
    except gate.DisclosureRefused as error:
        return [], error.message
    rows = []
    for key, value in disclosure.fields.items():
        spec = categories.field(key)
        label = presentation.fact_label(spec.label) if spec else presentation.fact_label(key)
        rows.append((label, presentation.format_fact(key, value)))
    return rows, None
