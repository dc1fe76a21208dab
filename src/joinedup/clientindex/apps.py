from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ClientIndexConfig(AppConfig):
    """The client index. Splink is not imported here: it loads in the linkage modules, on the
    first run, never when the web process starts."""

    name = "joinedup.clientindex"
    label = "clientindex"
    verbose_name = _("Client index")

    def ready(self) -> None:
        # Registering the policy's rules and the gate's field is what loading these does.
        from joinedup.identity import console  # asks the rules, which load with the apps

        from . import access, holdings, policy  # noqa: F401

        access.register()

        console.register(
            console.ConsoleEntry(
                "clientindex-steward",
                _("Client index"),
                _("Review the pairs the linkage could not decide; merge, split and undo."),
                "clientindex:console",
                "clientindex.steward",
                order=60,
            )
        )
