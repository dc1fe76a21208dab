from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BundlesConfig(AppConfig):
    name = "joinedup.bundles"
    label = "bundles"
    verbose_name = _("Life events and bundles")

    def ready(self) -> None:
        # Only once the app registry is ready (they use the models): policy rules, outbox
        # subscribers and periodic jobs register themselves at import time.
        from . import policy, reactions, schedule  # noqa: F401
