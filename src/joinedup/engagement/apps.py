from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EngagementConfig(AppConfig):
    """Consultations, feedback and complaints, change initiatives."""

    name = "joinedup.engagement"
    label = "engagement"
    verbose_name = _("Engagement")

    def ready(self) -> None:
        # Registering the policy rules and the process handlers needs the app registry ready.
        from . import complaint_steps, policy, schedule  # noqa: F401
