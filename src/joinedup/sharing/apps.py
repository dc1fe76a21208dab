from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SharingConfig(AppConfig):
    name = "joinedup.sharing"
    label = "sharing"
    verbose_name = _("Data sharing")

    def ready(self) -> None:
        # Only once the app registry is ready (they use the models): policy rules, internal
        # subscribers and retention rules register at import time; the scheduler asks for a
        # ledger checkpoint after appends in every process; identity shows people's records
        # only through the gate, installed once apps load.
        from joinedup.identity import disclosure

        from . import breakglass, gate, policy, retention, schedule, sharing_rules  # noqa: F401

        disclosure.install(gate.disclose)
