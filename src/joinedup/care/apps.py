from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class CareConfig(AppConfig):
    """Human services: the directory (HSDS 3), integrated cases, plans, teams, referrals."""

    name = "joinedup.care"
    label = "care"
    verbose_name = pgettext_lazy("human services", "Human services")

    def ready(self) -> None:
        # Imported here, not at the top: they use the models, which the app registry gives
        # only once it is ready. Policy rules, the gate's care fields and the
        # engine's care handlers and the periodic job register on import.
        from joinedup.identity import console

        from . import fields, policy, schedule, work  # noqa: F401

        console.register(
            console.ConsoleEntry(
                "care-workspace",
                _("My cases"),
                _("People you work with across agencies: plans, due actions, referrals, alerts."),
                "care:workspace",
                "care.workspace",
                order=25,
            )
        )
