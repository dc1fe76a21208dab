from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BundlesConfig(AppConfig):
    name = "joinedup.bundles"
    label = "bundles"
    verbose_name = _("Life events and bundles")

    def ready(self) -> None:
        # Policy rules, outbox subscribers and periodic jobs register themselves at import.
        from . import policy, reactions, schedule  # noqa: F401
