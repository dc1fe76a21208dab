from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SharingConfig(AppConfig):
    name = "joinedup.sharing"
    label = "sharing"
    verbose_name = _("Data sharing")

    def ready(self) -> None:
        # Only once the app registry is ready (they use the models): policy rules, internal
        # subscribers and retention rules register at import time.
        from . import breakglass, policy, retention, sharing_rules  # noqa: F401
