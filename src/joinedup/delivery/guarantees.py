"""Money-back guarantees: when a service that carries one misses its standard, the fee is
refunded automatically, through the payment provider that took it.

Triggered twice, harmlessly: when the periodic breach check finds an application past its due
date, and when an application completes late. A refunded payment is never refunded again.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from .models import Application, Payment
from .payments import flows


def on_missed_standard(application: Application) -> list[Payment]:
    """Refund every paid fee of the application if its version carries the guarantee."""
    if not application.version.money_back_guarantee:
        return []
    refunded = []
    for payment in application.payments.filter(status=Payment.Status.SUCCEEDED):
        refunded.append(
            flows.refund(payment, str(_("Service standard missed: money-back guarantee")))
        )
    return refunded
