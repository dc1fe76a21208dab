from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PerformanceConfig(AppConfig):
    name = "joinedup.performance"
    label = "performance"
    verbose_name = _("Performance")

    def ready(self) -> None:
        # Only once the app registry is ready (they use the models): policy rules, outbox
        # subscribers and periodic jobs register themselves at import.
        from . import policy, reactions, schedule  # noqa: F401
