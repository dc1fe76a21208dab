from importlib import import_module

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

#: The modules whose generators `generate_history` runs; each registers itself at import
#: (see `joinedup.demo.history`). Add a module here to add a generator.
HISTORY_GENERATORS = (
    "joinedup.demo.history.transactions",
    "joinedup.demo.history.overheads",
    "joinedup.demo.history.surveys",
    "joinedup.demo.history.backoffice",
    "joinedup.demo.history.rollups",
    "joinedup.demo.history.places",
    "joinedup.demo.history.rosters",
)


class DemoConfig(AppConfig):
    name = "joinedup.demo"
    label = "demo"
    verbose_name = _("Demonstration")

    def ready(self) -> None:
        # The history registry imports none of its generators: each registers at import.
        for module in HISTORY_GENERATORS:
            import_module(module)
