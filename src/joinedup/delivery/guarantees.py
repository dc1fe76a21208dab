"""Money-back guarantees: when a service that carries one misses its standard, the fee is
refunded automatically, through the payment provider that took it.

Triggered twice, harmlessly: when the periodic breach check finds an application past its due
date (the `reactions` subscriber to `org.joinedup.application.breached`), and when an
application completes late (the process engine calls it through `engine.when_completed_late`,
in the same transaction as the decision, without importing this module). A refunded payment
is never refunded again.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from .models import Application, Payment
from .payments import flows
from .workflows import engine


@engine.when_completed_late
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
