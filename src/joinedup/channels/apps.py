from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ChannelsConfig(AppConfig):
    name = "joinedup.channels"
    label = "channels"
    verbose_name = _("Counter, phone and partner channels")

    def ready(self) -> None:
        # Only once the app registry is ready (they use the models): policy rules and outbox
        # subscribers register themselves at import time.
        from joinedup.identity import console  # asks the rules, which load with the apps

        from . import policy, reactions  # noqa: F401

        console.register(
            console.ConsoleEntry(
                "channels-counter",
                _("Counter"),
                _("Serve a person at the counter: check who they are, apply, print, take payment."),
                "channels:counter",
                "channels.counter",
                order=30,
            )
        )
        console.register(
            console.ConsoleEntry(
                "channels-phone",
                _("Phone console"),
                _("Serve a caller: confirm who they are, answer, transfer or book a callback."),
                "channels:phone",
                "channels.phone",
                order=40,
            )
        )
