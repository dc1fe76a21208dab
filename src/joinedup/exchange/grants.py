"""Access granted by the provider: which client node may ask which of this node's agencies
for which service. Publishing a service grants nothing; the provider grants it per service
and per client node, and may end or revoke the grant, as a data-sharing rule in `sharing`
is made per provider, recipient and purpose.

A message kind that asks a service of the receiver (a referral, a bundle leg) is registered
with `per_service=True` (handlers.py) and names, in its body, the receiving agency
(`to_agency`) and the service (`service`, the catalogue key). `receiving` refuses it (403,
`not_granted`, logged) unless a grant of that agency and service to the sending node is in
force when it arrives.
"""

from __future__ import annotations

import datetime

from django.utils import timezone
from django.utils.translation import gettext as _

from joinedup.federation.models import Agency, Service

from .models import PeerNode, ServiceGrant


class GrantError(ValueError):
    """The grant cannot be made; the message (translated) says why."""


def grant(
    provider_key: str,
    service_key: str,
    node_id: str,
    *,
    valid_to: datetime.datetime | None = None,
) -> ServiceGrant:
    """Let `node_id` ask agency `provider_key` for service `service_key` (until `valid_to`).
    Granting again renews a grant that was ended or revoked."""
    provider = Agency.objects.filter(key=provider_key).first()
    if provider is None:
        raise GrantError(_("No agency of this node has the key %(key)s.") % {"key": provider_key})
    service = Service.objects.filter(key=service_key).first()
    if service is None:
        raise GrantError(_("No service has the key %(key)s.") % {"key": service_key})
    node = PeerNode.objects.filter(node_id=node_id).first()
    if node is None:
        raise GrantError(_("The trust list names no node %(node)s.") % {"node": node_id})
    if valid_to is not None and valid_to <= timezone.now():
        raise GrantError(_("The end of the grant must be in the future."))
    made, _created = ServiceGrant.objects.update_or_create(
        provider=provider,
        service=service,
        client_node=node,
        defaults={"granted_at": timezone.now(), "valid_to": valid_to, "revoked_at": None},
    )
    return made


def revoke(provider_key: str, service_key: str, node_id: str) -> int:
    """End the grant now; the number of grants revoked (0 when there was none in force)."""
    return ServiceGrant.objects.filter(
        provider__key=provider_key,
        service__key=service_key,
        client_node__node_id=node_id,
        revoked_at=None,
    ).update(revoked_at=timezone.now())


def granted(node: PeerNode, provider_key: str, service_key: str) -> bool:
    """Whether `node` may ask `provider_key` for `service_key` now."""
    now = timezone.now()
    return any(
        found.in_force_at(now)
        for found in ServiceGrant.objects.filter(
            client_node=node, provider__key=provider_key, service__key=service_key
        )
    )
