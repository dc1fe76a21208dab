from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BackofficeConfig(AppConfig):
    """Shared services for agencies: service levels, requests, chargeback, joint procurement."""

    name = "joinedup.backoffice"
    label = "backoffice"
    verbose_name = _("Back-office shared services")

    def ready(self) -> None:
        # Registering the policy rules, the outbox subscribers and the work-item page's panel
        # needs the app registry ready.
        from . import panels, policy, reactions  # noqa: F401

        panels.register()
