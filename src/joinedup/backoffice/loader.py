"""Loading service levels from a data file, and deploying the shared services' versions.

    levels:
      <agreement key>:
        <service key>: {response_hours: 4, resolution_days: 5, target: 0.9,
                        unit_price: "412.50", forecast_monthly_volume: 12, credit_rate: 0.1}
        <hosting key>: {..., availability_target: 0.999, availability_credit_rate: 0.1}

The agreements and services are the federation's (loaded before, from its own files); each
level's service is deployed on the back office's process (the dispute form for a service
that produces the chargeback-dispute evidence). Loading again updates the levels in place.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from pathlib import Path

import yaml
from django.db import transaction
from django.utils.translation import gettext as _

from joinedup.federation.models import Agreement, Service

from . import catalogue
from .models import ServiceLevel

FIELDS = {
    "response_hours": int,
    "resolution_days": int,
    "day_kind": str,
    "target": Decimal,
    "availability_target": Decimal,
    "unit_price": Decimal,
    "currency": str,
    "forecast_monthly_volume": int,
    "credit_rate": Decimal,
    "availability_credit_rate": Decimal,
}


class LevelsRejected(ValueError):
    """The file names an unknown agreement, service or field, or a bad value."""


def _values(where: str, raw: dict) -> dict:
    values = {}
    for name, value in (raw or {}).items():
        kind = FIELDS.get(name)
        if kind is None:
            raise LevelsRejected(_("%(where)s: unknown field %(name)s.") % locals())
        try:
            values[name] = kind(str(value)) if kind is Decimal else kind(value)
        except (InvalidOperation, ValueError, TypeError):
            raise LevelsRejected(
                _("%(where)s: %(name)s is not a valid value.") % locals()
            ) from None
    if "resolution_days" not in values or "unit_price" not in values:
        raise LevelsRejected(_("%(where)s: give resolution_days and unit_price.") % locals())
    return values


@transaction.atomic
def load_levels(path: Path) -> int:
    """Load one levels file (all or nothing); returns how many levels it holds."""
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    count = 0
    for agreement_key, services in (data.get("levels") or {}).items():
        agreement = Agreement.objects.filter(
            key=agreement_key, kind=Agreement.Kind.SHARED_SERVICE
        ).first()
        if agreement is None:
            raise LevelsRejected(
                _("%(path)s: there is no shared-service agreement %(key)s.")
                % {"path": path, "key": agreement_key}
            )
        for service_key, raw in (services or {}).items():
            where = f"{path}: {agreement_key}/{service_key}"
            service = Service.objects.filter(
                key=service_key, client_type=Service.ClientType.AGENCY
            ).first()
            if service is None:
                raise LevelsRejected(_("%(where)s: there is no shared service.") % locals())
            ServiceLevel.objects.update_or_create(
                agreement=agreement, service=service, defaults=_values(where, raw)
            )
            agreement.services.add(service)
            dispute = catalogue.DISPUTE_EVIDENCE in (service.evidence or [])
            catalogue.deploy(service.key, catalogue.DISPUTE_FORM if dispute else None)
            count += 1
    return count
