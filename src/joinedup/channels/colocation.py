"""Virtual co-location: a front-line worker of one agency serving another agency's service.

It is allowed only under a joint-delivery agreement in force that covers the service and has
both agencies among its parties. Every such act — allowed or refused — is written to the
access ledger naming both agencies: the agent's (`actor_agency`) and the delivering agency
(`holder_agency`), with the agreement (`agreement_key`) and the purpose `joint-delivery`.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from joinedup.federation.models import Agency, Agreement, Service
from joinedup.identity.acting import ActingContext
from joinedup.identity.models import Person
from joinedup.sharing import ledger
from joinedup.sharing.models import AccessEvent, LegalBasis

PURPOSE = "joint-delivery"


class NotCoLocated(Exception):
    """No joint-delivery agreement lets this agent serve this agency's service."""

    def __init__(self, message: str, agency: str = "", service: str = ""):
        super().__init__(message)
        self.message = message
        self.agency = agency
        self.service = service


def agreement_for(agent_agency: str, service: Service, delivering: Agency) -> Agreement | None:
    """The joint-delivery agreement in force today letting `agent_agency` serve `service`
    for `delivering`, or None."""
    return (
        Agreement.objects.in_force_on(timezone.localdate())
        .filter(kind=Agreement.Kind.JOINT_DELIVERY, services=service)
        .filter(parties__agency__key=agent_agency)
        .filter(pk__in=Agreement.objects.filter(parties__agency=delivering).values("pk"))
        .order_by("key")
        .first()
    )


def _record(
    context: ActingContext,
    person: Person | None,
    delivering: Agency,
    service: Service,
    agreement: Agreement | None,
) -> AccessEvent | None:
    if person is None:
        return None
    return ledger.append(
        subject_id=person.pk,
        actor_user_id=context.user_id,
        actor_person_id=None,
        api_client_id=context.api_client_id,
        actor_agency=context.agency_key or "",
        actor_role=context.role or "",
        holder_agency=delivering.key,
        action=AccessEvent.Action.WRITE,
        categories=[],
        fields=[f"service:{service.key}"],
        purpose=PURPOSE,
        legal_basis=LegalBasis.PUBLIC_TASK if agreement else "",
        agreement_key=agreement.key if agreement else "",
        consent_id="",
        break_glass_id=None,
        outcome=AccessEvent.Outcome.DISCLOSED if agreement else AccessEvent.Outcome.REFUSED,
        reason="" if agreement else "no_agreement",
        channel=context.channel or "",
    )


def check(context: ActingContext, service: Service, delivering: Agency) -> Agreement | None:
    """None for the agent's own agency; the agreement when co-located; else NotCoLocated
    (nothing written: see `authorise` and `record_refusal`)."""
    if delivering.key == context.agency_key:
        return None
    agreement = agreement_for(context.agency_key or "", service, delivering)
    if agreement is None:
        raise NotCoLocated(
            _(
                "Your agency has no joint-delivery agreement in force with %(agency)s for "
                "“%(service)s”, so you cannot serve it here."
            )
            % {"agency": delivering.name, "service": service.name},
            delivering.key,
            service.key,
        )
    return agreement


def record_refusal(
    context: ActingContext, service: Service, delivering: Agency, person: Person | None
) -> None:
    """Keep the refusal in the ledger, in its own transaction (whatever the caller undid)."""
    with transaction.atomic():
        _record(context, person, delivering, service, None)


def authorise(
    context: ActingContext, service: Service, delivering: Agency, person: Person | None
) -> Agreement | None:
    """Check, and write the ledger row: with the caller's transaction when allowed (it stands
    or falls with the act), on its own when refused. Raises NotCoLocated."""
    try:
        agreement = check(context, service, delivering)
    except NotCoLocated:
        record_refusal(context, service, delivering, person)
        raise
    if agreement is not None:
        _record(context, person, delivering, service, agreement)
    return agreement


def authorise_within(context: ActingContext, application, person: Person | None):
    """`check` for an application's service and agency, writing the ledger row when allowed
    (in the caller's transaction). A refusal is recorded by `record_refusal_for` once the
    caller's transaction is undone."""
    agreement = check(context, application.service, application.agency)
    if agreement is not None:
        _record(context, person, application.agency, application.service, agreement)
    return agreement


def record_refusal_for(context: ActingContext, refusal: NotCoLocated, person: Person | None):
    delivering = Agency.objects.filter(key=refusal.agency).first()
    service = Service.objects.filter(key=refusal.service).first()
    if delivering is not None and service is not None:
        record_refusal(context, service, delivering, person)
