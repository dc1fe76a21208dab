"""A business as a client: its representative orders and follows services for it.

A business is a party the engine carries (`Application.applicant_business`); a person acts
for it through a business representative's mandate in force (identity's mandates): with the
scope "view" they follow the business's applications, with "apply" they also order. The
services a business orders here are the catalogue's services for businesses that take
applications online: those whose current version takes the short request form (what is
needed, how many, for when; `catalogue.REQUEST_FORM`) on one page of the portal, and those
with a fuller form (a licence, a registration) page by page through delivery's form engine
(`formdefs`). Either way the answers are checked by the version's form, the application goes
where the form's place field says (else where the business is registered), and a replay is
found by the engine's own fingerprint and lookup (`applications.existing_submission`).

    application, created = order(context, business, "ca.business-hosting", {"details": ...})
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from joinedup.delivery import applications, formdefs
from joinedup.delivery.applications import SubmissionError
from joinedup.delivery.models import Application, ServiceVersion
from joinedup.federation.models import Channel, Service
from joinedup.federation.routing import RoutingError, route_for
from joinedup.identity import mandates, policy
from joinedup.identity.acting import ActingContext
from joinedup.identity.models import Business, Mandate

from .catalogue import REQUEST_FORM

__all__ = [
    "SubmissionError",
    "applications_of",
    "order",
    "orderable",
    "represented",
    "takes_short_form",
    "version_to_order",
]

SHORT_FORM_FIELDS = frozenset(REQUEST_FORM["schema"]["properties"])


def represented(context: ActingContext) -> list[Mandate]:
    """The business representative mandates in force the acting person holds."""
    if context.person_id is None:
        return []
    return list(
        mandates.in_force()
        .filter(holder_id=context.person_id, kind=Mandate.Kind.BUSINESS_REPRESENTATIVE)
        .select_related("business")
        .order_by("business__legal_name", "pk")
    )


def may_apply(context: ActingContext, business: Business) -> bool:
    return policy.decide(context, "backoffice.business_apply", business).allowed


def takes_short_form(version: ServiceVersion) -> bool:
    """Whether the version's form is the short request form (one page in the portal)."""
    properties = (version.form or {}).get("schema", {}).get("properties", {})
    return bool(properties) and set(properties) <= SHORT_FORM_FIELDS


def orderable() -> list[Service]:
    """Services for businesses with a current version to apply with (one query, whatever
    the number of services)."""
    current: dict[int, ServiceVersion] = {}
    for version in (
        ServiceVersion.objects.filter(service__client_type=Service.ClientType.BUSINESS, active=True)
        .select_related("service")
        .only("number", "service__key", "service__names", "service__client_type")
        .order_by("service_id", "-number")
    ):
        current.setdefault(version.service_id, version)
    return sorted((v.service for v in current.values()), key=lambda s: s.name)


def version_to_order(service_key: str) -> ServiceVersion | None:
    """The current version of a service for businesses, or None (not one, or not online)."""
    service = Service.objects.filter(
        key=service_key, client_type=Service.ClientType.BUSINESS
    ).first()
    return applications.current_version(service) if service is not None else None


def applications_of(business: Business) -> QuerySet[Application]:
    """The business's applications, newest first, with what a list shows."""
    return (
        Application.objects.filter(applicant_business=business)
        .select_related("service", "agency")
        .defer("process_state", "data")
        .order_by("-submitted_at")
    )


def _scope(context: ActingContext, business: Business) -> str:
    return f"user:{context.user_id}:business:{business.pk}"


def order(
    context: ActingContext,
    business: Business,
    service_key: str,
    data: Any,
    idempotency_key: str = "",
    channel: str = Channel.ONLINE,
) -> tuple[Application, bool]:
    """Receive an application whose applicant is the business, made by its representative.

    Raises PolicyDenied (no mandate in force with the scope "apply" for this business) and
    SubmissionError (not a service a business orders here, bad answers, nowhere to route it,
    a key reused for other answers)."""
    policy.require(context, "backoffice.business_apply", business)
    version = version_to_order(service_key)
    if version is None:
        raise SubmissionError("unknown_service", _("This is not a service a business orders here."))
    service = version.service
    if not isinstance(data, dict):
        raise SubmissionError("invalid", _("The answers must be a JSON object."))
    idempotency_key = (idempotency_key or "").strip()[:200]
    scope = _scope(context, business)
    print_ = applications.fingerprint(service_key, data, None, actor=scope)
    if idempotency_key and (
        existing := applications.existing_submission(scope, idempotency_key, print_)
    ):
        return existing, False
    cleaned, errors = formdefs.validate(version.form, data)
    if errors:
        raise SubmissionError("invalid", _("Some answers need correcting."), errors)
    place = (
        applications.place_in_answers(version, cleaned) or business.jurisdiction or service.scope
    )
    try:
        route = route_for(service, place, explain=False)
    except RoutingError as error:
        raise SubmissionError(error.reason, error.message) from None
    application = applications.received(
        context,
        version,
        None,
        cleaned,
        channel,
        place,
        route.offering,
        applicant_business=business,
        submitted_at=timezone.now(),
        scope=scope if idempotency_key else "",
        key=idempotency_key,
        print_=print_,
    )
    try:
        with transaction.atomic():
            applications.start(application, context)
    except IntegrityError:
        if not idempotency_key:
            raise
        existing = applications.existing_submission(scope, idempotency_key, print_)
        if existing is None:
            raise
        return existing, False
    return application, True
