from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ChannelsConfig(AppConfig):
    name = "joinedup.channels"
    label = "channels"
    verbose_name = _("Counter, phone and partner channels")

    def ready(self) -> None:
        # Only once the app registry is ready (they use the models): policy rules and outbox
        # subscribers register themselves at import time.
        from . import policy, reactions  # noqa: F401
