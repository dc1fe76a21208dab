from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RulesConfig(AppConfig):
    """Rules as code. Nothing is loaded when the app is ready: OpenFisca and the rule
    packages load on the first computation, never at web start-up."""

    name = "joinedup.rules"
    label = "rules"
    verbose_name = _("Rules as code")

    def ready(self) -> None:
        # The what-if's rule in the policy (no OpenFisca: it loads on the first computation).
        from . import policy  # noqa: F401
