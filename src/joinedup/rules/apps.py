from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RulesConfig(AppConfig):
    """Rules as code. Nothing is loaded when the app is ready: OpenFisca and the rule
    packages load on the first computation, never at web start-up."""

    name = "joinedup.rules"
    label = "rules"
    verbose_name = _("Rules as code")

    def ready(self) -> None:
        # The what-if's rule in the policy and its tool on the staff console (no OpenFisca:
        # it loads on the first computation).
        from joinedup.identity import console

        from . import policy  # noqa: F401

        console.register(
            console.ConsoleEntry(
                "rules-what-if",
                _("What if the law changed?"),
                _("Change a figure of the law and see its cost and whom it touches."),
                "rules:what-if",
                "rules.what_if",
                order=65,
            )
        )
