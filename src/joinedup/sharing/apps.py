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

        from joinedup.identity import console  # asks the rules, which load with the apps

        console.register(
            console.ConsoleEntry(
                "sharing-break-glass",
                _("Emergency access to review"),
                _("Cases where staff of your agency opened a record in an emergency."),
                "sharing:review-queue",
                "sharing.break_glass.review",
                order=50,
            )
        )
