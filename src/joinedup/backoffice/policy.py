"""The back office's rules in the one authorisation policy (deny by default).

A client agency's requesters order shared services for their own agency (in the portal or
by an API client acting as a requester); its requesters, supervisors and administrators
follow its requests, read its statements and acknowledge or dispute their lines. A
provider's staff see the requests of its clients and nothing else; its supervisors,
analysts and administrators read its dashboard and issue statements. Participants of a
joint procurement see it; their requesters, supervisors and administrators sign their
agency's commitment.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from joinedup.federation.models import Agency
from joinedup.identity import mandates
from joinedup.identity.acting import ActingContext
from joinedup.identity.models import Mandate
from joinedup.identity.policy import Decision, Role, allow, deny, must_sign_in, rule

#: Roles of a client agency that follow its requests and answer its statements.
CLIENT_ROLES = frozenset({Role.SERVICE_REQUESTER, Role.SUPERVISOR, Role.ADMINISTRATOR})
#: Roles of a provider that see its clients' requests.
PROVIDER_ROLES = frozenset(
    {
        Role.FRONT_LINE,
        Role.CASEWORKER,
        Role.CASE_MANAGER,
        Role.SUPERVISOR,
        Role.ANALYST,
        Role.ADMINISTRATOR,
        Role.AUDITOR,
    }
)
#: Roles of a provider that work requests' tasks and record the time they spent on them.
PROVIDER_WORKERS = frozenset({Role.FRONT_LINE, Role.CASEWORKER, Role.CASE_MANAGER, Role.SUPERVISOR})
#: Roles of a provider that read its figures and issue statements.
PROVIDER_MANAGERS = frozenset({Role.SUPERVISOR, Role.ANALYST, Role.ADMINISTRATOR})


def _staff(context: ActingContext) -> Decision | None:
    if denial := must_sign_in(context):
        return denial
    if not context.is_staff:
        return deny("forbidden", _("Only staff of an agency use the back-office portal."))
    return None


def _is_provider(key: str | None) -> bool:
    return Agency.objects.filter(key=key, kind=Agency.Kind.SHARED_SERVICES).exists()


def _key(agency: Any) -> str | None:
    return getattr(agency, "key", None)


@rule(
    "backoffice.request",
    scope="write",
    description=gettext_lazy("A service requester orders a shared service for their agency."),
)
def _request(context: ActingContext, client: Any) -> Decision:
    if denial := _staff(context):
        return denial
    if context.role != Role.SERVICE_REQUESTER:
        return deny("forbidden", _("Only your agency's service requesters order shared services."))
    if client is not None and _key(client) != context.agency_key:
        return deny("forbidden", _("You may order shared services only for your own agency."))
    return allow()


@rule(
    "backoffice.client",
    description=gettext_lazy(
        "A client agency's requesters, supervisors and administrators follow its requests "
        "and statements."
    ),
)
def _client(context: ActingContext, client: Any) -> Decision:
    if denial := _staff(context):
        return denial
    if context.role not in CLIENT_ROLES:
        return deny("forbidden", _("Your role does not follow your agency's shared services."))
    if client is not None and _key(client) != context.agency_key:
        return deny("forbidden", _("This belongs to another agency."))
    return allow()


@rule(
    "backoffice.respond",
    scope="write",
    description=gettext_lazy(
        "A client agency's requesters, supervisors and administrators acknowledge or dispute "
        "a statement line."
    ),
)
def _respond(context: ActingContext, statement: Any) -> Decision:
    return _client(context, getattr(statement, "client", statement))


@rule(
    "backoffice.provider",
    description=gettext_lazy("A shared-service provider's staff see their clients' requests."),
)
def _provider(context: ActingContext, provider: Any) -> Decision:
    if denial := _staff(context):
        return denial
    if context.role not in PROVIDER_ROLES:
        return deny("forbidden", _("Your role does not work shared-service requests."))
    if provider is not None and _key(provider) != context.agency_key:
        return deny("forbidden", _("These are another provider's clients."))
    return allow()


@rule(
    "backoffice.manage",
    description=gettext_lazy(
        "A provider's supervisors, analysts and administrators read its dashboard and issue "
        "statements."
    ),
)
def _manage(context: ActingContext, provider: Any) -> Decision:
    if denial := _staff(context):
        return denial
    if context.role not in PROVIDER_MANAGERS:
        return deny("forbidden", _("Only the provider's supervisors, analysts and administrators."))
    if provider is not None and _key(provider) != context.agency_key:
        return deny("forbidden", _("These are another provider's figures."))
    return allow()


@rule(
    "backoffice.statement",
    description=gettext_lazy(
        "A statement is read by its client agency (requesters, supervisors, administrators) "
        "and by its provider's supervisors, analysts and administrators."
    ),
)
def _statement(context: ActingContext, statement: Any) -> Decision:
    if denial := _staff(context):
        return denial
    if statement is None:
        if context.role in CLIENT_ROLES | PROVIDER_MANAGERS:
            return allow()
        return deny("forbidden", _("Your role does not read statements."))
    if context.agency_key == statement.client.key and context.role in CLIENT_ROLES:
        return allow()
    if context.agency_key == statement.provider.key and context.role in PROVIDER_MANAGERS:
        return allow()
    return deny("forbidden", _("This statement is another agency's."))


@rule(
    "backoffice.procurement",
    description=gettext_lazy("A joint procurement is seen by the staff of its participants."),
)
def _procurement(context: ActingContext, procurement: Any) -> Decision:
    if denial := _staff(context):
        return denial
    if procurement is None:
        return allow()
    keys = {p.agency.key for p in procurement.participants.all()} | {procurement.lead.key}
    if context.agency_key not in keys:
        return deny("forbidden", _("Your agency does not take part in this procurement."))
    return allow()


@rule(
    "backoffice.sign",
    scope="write",
    description=gettext_lazy(
        "A participant's requesters, supervisors and administrators sign its commitment."
    ),
)
def _sign(context: ActingContext, procurement: Any) -> Decision:
    decision = _procurement(context, procurement)
    if not decision.allowed:
        return decision
    if context.role not in CLIENT_ROLES:
        return deny("forbidden", _("Your role does not sign commitments."))
    return allow()


@rule(
    "backoffice.view_request",
    description=gettext_lazy(
        "A request is seen by its client agency's requesters, supervisors and administrators "
        "and by its provider's staff."
    ),
)
def _view_request(context: ActingContext, request: Any) -> Decision:
    if denial := _staff(context):
        return denial
    if request is None:
        if context.role in CLIENT_ROLES | PROVIDER_ROLES:
            return allow()
        return deny("forbidden", _("Your role does not follow shared-service requests."))
    if context.agency_key == request.client.key and context.role in CLIENT_ROLES:
        return allow()
    if context.agency_key == request.provider.key and context.role in PROVIDER_ROLES:
        return allow()
    return deny("forbidden", _("This request is another agency's."))


@rule(
    "backoffice.survey",
    scope="write",
    description=gettext_lazy(
        "A client agency's requesters, supervisors and administrators answer the satisfaction "
        "survey about its finished requests."
    ),
)
def _survey(context: ActingContext, request: Any) -> Decision:
    if denial := _staff(context):
        return denial
    if context.role not in CLIENT_ROLES:
        return deny("forbidden", _("Your role does not answer surveys for your agency."))
    if request is not None and _key(request.client) != context.agency_key:
        return deny("forbidden", _("Only the client agency answers the survey on its request."))
    return allow()


@rule(
    "backoffice.log_time",
    scope="write",
    description=gettext_lazy(
        "A provider's front-line workers, caseworkers, case managers and supervisors record "
        "the minutes they spent on a task of their clients' requests."
    ),
)
def _log_time(context: ActingContext, request: Any) -> Decision:
    if denial := _staff(context):
        return denial
    if context.role not in PROVIDER_WORKERS:
        return deny("forbidden", _("Only the provider's staff who work requests record time."))
    if request is not None and _key(request.provider) != context.agency_key:
        return deny("forbidden", _("This request is another provider's."))
    return allow()


def _representative(context: ActingContext, business: Any, scope: str) -> Decision:
    if denial := must_sign_in(context):
        return denial
    if context.is_staff or context.person_id is None:
        return deny("forbidden", _("A business is represented by a person who holds its mandate."))
    if business is None:
        return allow()
    held = mandates.in_force().filter(
        holder_id=context.person_id,
        business_id=getattr(business, "pk", None),
        kind=Mandate.Kind.BUSINESS_REPRESENTATIVE,
    )
    if not any(scope in m.scopes or Mandate.Scope.APPLY in m.scopes for m in held):
        if scope == Mandate.Scope.APPLY:
            return deny("forbidden", _("You hold no mandate in force to apply for this business."))
        return deny("forbidden", _("You hold no mandate in force to represent this business."))
    return allow()


@rule(
    "backoffice.business",
    description=gettext_lazy(
        "A business's representatives (a mandate in force) follow the business's applications."
    ),
)
def _business(context: ActingContext, business: Any) -> Decision:
    return _representative(context, business, Mandate.Scope.VIEW)


@rule(
    "backoffice.business_apply",
    scope="write",
    description=gettext_lazy(
        "A business's representatives with a mandate to apply order services for the business."
    ),
)
def _business_apply(context: ActingContext, business: Any) -> Decision:
    return _representative(context, business, Mandate.Scope.APPLY)


@rule(
    "backoffice.record_outage",
    scope="write",
    description=gettext_lazy(
        "A provider's supervisors and administrators record the outages of its running services."
    ),
)
def _record_outage(context: ActingContext, provider: Any) -> Decision:
    if denial := _staff(context):
        return denial
    if context.role not in {Role.SUPERVISOR, Role.ADMINISTRATOR}:
        return deny("forbidden", _("Only the provider's supervisors and administrators."))
    if provider is not None and _key(provider) != context.agency_key:
        return deny("forbidden", _("These are another provider's services."))
    return allow()


@rule(
    "backoffice.find_employee",
    description=gettext_lazy(
        "A provider's staff who work requests find its clients' employees by name; a client "
        "agency's supervisors find their own agency's employees."
    ),
)
def _find_employee(context: ActingContext, client: Any) -> Decision:
    if denial := _staff(context):
        return denial
    if context.role not in PROVIDER_WORKERS:
        return deny("forbidden", _("Your role does not look up employees' requests."))
    if context.role != Role.SUPERVISOR and not _is_provider(context.agency_key):
        return deny("forbidden", _("Your agency's supervisors look up its employees' requests."))
    if client is not None and _key(client) != context.agency_key:
        return deny("forbidden", _("You find only your own agency's employees."))
    return allow()
