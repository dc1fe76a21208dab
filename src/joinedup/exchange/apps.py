from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ExchangeConfig(AppConfig):
    """Node-to-node exchange between deployments (docs/exchange.md)."""

    name = "joinedup.exchange"
    label = "exchange"
    verbose_name = _("Exchange between nodes")

    def ready(self) -> None:
        # The built-in handlers (referrals, evidence, evidence requests) and the policy's
        # rules register when the app loads, so that a
        # message arriving in any process finds them.
        from joinedup.sharing import presentation

        from . import evidence, handlers, policy, readreceipts  # noqa: F401

        # "Who used my data" names the agencies of other nodes whose reads came back.
        presentation.register_agency_namer(readreceipts.agency_names)
